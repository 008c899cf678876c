"""Risk grading web pages: risk points with assessments and approval, XLSX import, major hazard
units (GB 18218) with exposure, grading settings and the calculators. Chinese first."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from safecity.core.config import get_settings
from safecity.core.deps import db, now
from safecity.core.errors import Forbidden, Invalid, NotFound
from safecity.core.scope import Principal
from safecity.registry import service as registry
from safecity.registry.kinds import DIVISION, ENTERPRISE, GRID_CELL, PROTECTED_TARGET
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.registry.rules import INDUSTRY_SECTIONS
from safecity.risk import hazmat, io, lec, matrix, service
from safecity.risk.api import point_query
from safecity.risk.matrix import RiskLevel
from safecity.risk.schemas import (
    ACCIDENT_TYPES,
    CONTROL_LEVELS,
    FACTOR_CATEGORIES,
    LABELS,
    MEASURE_TYPES,
    OWNER_KINDS,
    UNIT_KINDS,
)
from safecity.web.guard import form_data, web_user
from safecity.web.i18n import pick
from safecity.web.render import lang_of, render

router = APIRouter(include_in_schema=False)

FACTOR_ROWS, MEASURE_ROWS, SUBSTANCE_ROWS = 4, 5, 8
LEVELS = {lv.key: (lv.zh, lv.en.capitalize()) for lv in RiskLevel}
GRADES = {
    1: ("一级", "Grade 1"),
    2: ("二级", "Grade 2"),
    3: ("三级", "Grade 3"),
    4: ("四级", "Grade 4"),
}
STATUS = {
    "draft": ("待审核", "Draft"),
    "approved": ("已通过", "Approved"),
    "rejected": ("已驳回", "Rejected"),
}
_CAS = re.compile(r"^\s*\d{2,7}\s*[-‐–—]\s*\d{2}\s*[-‐–—]\s*\d\s*$")


def _page(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    lang = lang_of(request)
    return render(
        request,
        template,
        status,
        tt=lambda zh, en: en if lang == "en" else zh,
        lab=lambda options, key: pick(options.get(key, (key, key)), lang) if key else "—",
        LEVELS=LEVELS,
        GRADES=GRADES,
        STATUS=STATUS,
        OWNER_KINDS=OWNER_KINDS,
        FACTOR_CATEGORIES=FACTOR_CATEGORIES,
        ACCIDENT_TYPES=ACCIDENT_TYPES,
        MEASURE_TYPES=MEASURE_TYPES,
        CONTROL_LEVELS=CONTROL_LEVELS,
        UNIT_KINDS=UNIT_KINDS,
        **ctx,
    )


def _divisions(session: Session, who: Principal) -> list[Division]:
    stmt = select(Division).where(
        registry.scope_clause(DIVISION, who), Division.archived.is_(False)
    )
    return list(session.scalars(stmt.order_by(Division.code)))


def _enterprise_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids))).all()
    )


def _enterprise_choices(
    session: Session, who: Principal, limit: int = 800
) -> list[tuple[int, str]]:
    stmt = (
        select(Enterprise.id, Enterprise.name)
        .where(registry.scope_clause(ENTERPRISE, who), Enterprise.archived.is_(False))
        .order_by(Enterprise.is_hazchem.desc(), Enterprise.name)
        .limit(limit)
    )
    return [(i, n) for i, n in session.execute(stmt)]


def _choices(
    session: Session, who: Principal, model: Any, limit: int = 500
) -> list[tuple[int, str]]:
    """Grid cells or protected targets in scope for the form's pick lists (largest first)."""
    kind = GRID_CELL if model is GridCell else PROTECTED_TARGET
    order = model.population.desc() if model is GridCell else model.capacity.desc()
    stmt = (
        select(model.id, model.name)
        .where(registry.scope_clause(kind, who), model.archived.is_(False))
        .order_by(order, model.id)
        .limit(limit)
    )
    return [(i, n) for i, n in session.execute(stmt)]


def _messages(exc: Invalid, lang: str) -> tuple[dict[str, list[str]], list[str]]:
    """Errors beside their top-level field (label prefix dropped), the rest listed above."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for err in exc.errors:
        text = pick((err.zh, err.en), lang)
        name = re.split(r"[.\[]", err.field)[0]
        if name in LABELS and name == err.field:
            prefix = pick(LABELS[name], lang) + ("：" if lang != "en" else ": ")
            by_field.setdefault(name, []).append(text.removeprefix(prefix))
        else:
            general.append(text.removeprefix("body：").removeprefix("body: "))
    return by_field, general


# --------------------------------------------------------------------------- risk points


@router.get("/risk/points")
def points_list(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    query = point_query(request, at)
    page = service.list_points(session, who, query)
    ent_level = None
    if query.enterprise_id is not None:
        ent_level = service.enterprise_level(session, who, query.enterprise_id)
    names = _enterprise_names(session, {p.enterprise_id for p in page.items if p.enterprise_id})
    return _page(
        request,
        "risk/points.html",
        page=page,
        query=query,
        ent_level=ent_level,
        pages=max(1, math.ceil(page.total / page.size)),
        divisions=_divisions(session, who),
        enterprise_names=names,
        sort=request.query_params.get("sort", ""),
        sections=INDUSTRY_SECTIONS,
        can_write=who.role in service.WRITERS,
        today=query.today,
    )


def _point_form_values(point: Any) -> dict[str, Any]:
    if point is None:
        return {
            "owner_kind": "enterprise",
            "accident_types": [],
            "hazard_factors": [],
            "control_measures": [],
        }
    data = {
        f: getattr(point, f)
        for f in (
            "code",
            "name",
            "owner_kind",
            "enterprise_id",
            "grid_cell_id",
            "protected_target_id",
            "facility_name",
            "division_code",
            "lon",
            "lat",
            "description",
            "hazard_factors",
            "accident_types",
            "control_measures",
            "review_date",
        )
    }
    data["review_date"] = point.review_date.isoformat() if point.review_date else ""
    return data


def _form_text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def parse_point_form(form: FormData) -> dict[str, Any]:
    """Posted fields → service input; blank optional values are left out (None)."""
    data: dict[str, Any] = {}
    for name in (
        "code",
        "name",
        "owner_kind",
        "facility_name",
        "division_code",
        "description",
        "review_date",
    ):
        data[name] = _form_text(form, name) or None
    for name in ("enterprise_id", "grid_cell_id", "protected_target_id", "lon", "lat"):
        data[name] = _form_text(form, name) or None
    data["facility_name"] = data["facility_name"] or ""
    data["description"] = data["description"] or ""
    if not data["name"]:
        del data["name"]  # so the schema answers "为必填项"
    data["accident_types"] = [str(v) for v in form.getlist("accident_types")]
    data["hazard_factors"] = [
        {
            "category": _form_text(form, f"hf_category_{i}"),
            "description": _form_text(form, f"hf_desc_{i}"),
        }
        for i in range(FACTOR_ROWS * 3)
        if _form_text(form, f"hf_desc_{i}")
    ]
    data["control_measures"] = [
        {
            "type": _form_text(form, f"cm_type_{i}"),
            "description": _form_text(form, f"cm_desc_{i}"),
            "level": _form_text(form, f"cm_level_{i}") or "post",
            "person": _form_text(form, f"cm_person_{i}"),
        }
        for i in range(MEASURE_ROWS * 3)
        if _form_text(form, f"cm_desc_{i}")
    ]
    return data


def _point_form(
    request: Request,
    session: Session,
    who: Principal,
    point: Any,
    values: dict[str, Any],
    exc: Invalid | None = None,
) -> Response:
    errors, general = _messages(exc, lang_of(request)) if exc else ({}, [])
    return _page(
        request,
        "risk/points_form.html",
        422 if exc else 200,
        point=point,
        values=values,
        errors=errors,
        general=general,
        divisions=_divisions(session, who),
        enterprises=_enterprise_choices(session, who),
        factor_rows=FACTOR_ROWS,
        grid_cells=_choices(session, who, GridCell),
        places=_choices(session, who, ProtectedTarget),
        measure_rows=MEASURE_ROWS,
    )


def _require_writer(who: Principal) -> None:
    if who.role not in service.WRITERS:
        raise Forbidden("当前角色无权修改风险数据", "your role may not change risk data")


@router.get("/risk/points/new")
def point_new(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    _require_writer(who)
    values = _point_form_values(None)
    chosen = request.query_params.get("enterprise_id") or who.enterprise_id
    if chosen:
        values["enterprise_id"] = chosen
    return _point_form(request, session, who, None, values)


@router.post("/risk/points/new")
def point_create(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    data = parse_point_form(form or FormData())
    try:
        service.validate_point(data)  # the whole form first, so every problem shows at once
        point = service.create_point(session, who, data, at)
    except Invalid as exc:
        session.rollback()
        return _point_form(request, session, who, None, data, exc)
    session.commit()
    return RedirectResponse(f"/risk/points/{point.id}", status_code=303)


@router.get("/risk/points/template")
def point_template(_who: Principal = Depends(web_user)) -> Response:
    return Response(
        io.template(),
        media_type=io.registry_io.XLSX_MEDIA,
        headers={"Content-Disposition": 'attachment; filename="risk-points-template.xlsx"'},
    )


@router.get("/risk/points/import")
def point_import_form(request: Request, who: Principal = Depends(web_user)) -> Response:
    _require_writer(who)
    return _page(request, "risk/points_import.html", options={})


@router.post("/risk/points/import")
def point_import(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    _require_writer(who)
    form = form or FormData()
    upload = form.get("file")
    options = {"valid_only": form.get("valid_only") in ("on", "true", "1")}
    lang = lang_of(request)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(
            request,
            options,
            None,
            [("—", "文件", pick(("请选择要上传的文件", "choose a file to upload"), lang))],
            422,
        )
    limit = get_settings().max_upload_mb * 1024 * 1024
    content = upload.file.read(limit + 1)
    if len(content) > limit:
        return _import_page(
            request,
            options,
            None,
            [("—", "文件", pick((f"超过 {limit // 1048576} MB 上限", "file too large"), lang))],
            413,
        )
    try:
        report = io.import_points(session, who, upload.filename, content, at, **options)
    except Invalid as exc:
        session.rollback()  # a refused file writes nothing
        rows = [
            (str(e.row or "—"), _column_label(e.field, lang), pick((e.zh, e.en), lang))
            for e in exc.errors
        ]
        return _import_page(request, options, None, rows, 422, upload.filename)
    session.commit()
    result = report.as_dict()
    rows = [
        (
            str(e["row"] or "—"),
            _column_label(e["column"], lang),
            pick((e["message"], e["message_en"]), lang),
        )
        for e in result["errors"]
    ]
    return _import_page(request, options, result, rows, 200, upload.filename)


def _column_label(column: str, lang: str) -> str:
    if column == "file":
        return pick(("文件", "file"), lang)
    return pick(io.ROW_LABELS.get(column, (column or "—", column or "—")), lang)


def _import_page(
    request: Request,
    options: dict[str, Any],
    report: dict[str, Any] | None,
    errors: list[tuple[str, str, str]],
    status: int,
    filename: str = "",
) -> Response:
    return _page(
        request,
        "risk/points_import.html",
        status,
        options=options,
        report=report,
        errors=errors,
        refused=report is None,
        filename=filename,
    )


@router.get("/risk/points/{point_id}")
def point_detail(
    point_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    point = service.get_point(session, who, point_id)
    return _detail_page(request, session, who, point)


def _detail_page(
    request: Request,
    session: Session,
    who: Principal,
    point: Any,
    exc: Invalid | None = None,
    posted: dict[str, Any] | None = None,
) -> Response:
    history = service.list_assessments(session, who, point.id)
    ent = session.get(Enterprise, point.enterprise_id) if point.enterprise_id else None
    ent_level = (
        service.enterprise_level(session, who, ent.id)
        if ent is not None and registry._visible(who, ENTERPRISE, ent)
        else None
    )
    errors = [pick((e.zh, e.en), lang_of(request)) for e in exc.errors] if exc else []
    geometry = (
        {"type": "Point", "coordinates": [point.lon, point.lat]} if point.lon is not None else None
    )
    return _page(
        request,
        "risk/points_detail.html",
        422 if exc else 200,
        point=point,
        history=history,
        enterprise=ent,
        ent_level=ent_level,
        assess_errors=errors,
        posted=posted or {},
        can_write=_can_write_point(who, point),
        can_approve=who.role in service.ANALYSTS,
        l_table=lec.L_TABLE,
        e_table=lec.E_TABLE,
        c_table=lec.C_TABLE,
        geometry=geometry,
        bands=service.lec_bands(session, point.division_code),
        matrix=service.risk_matrix(session, point.division_code),
    )


def _can_write_point(who: Principal, point: Any) -> bool:
    if who.role not in service.WRITERS or not who.covers(point.division_code):
        return False
    return who.role != "enterprise_officer" or point.enterprise_id == who.enterprise_id


@router.get("/risk/points/{point_id}/edit")
def point_edit(
    point_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    point = service.get_point(session, who, point_id)
    if not _can_write_point(who, point):
        raise Forbidden("当前角色无权修改该风险点", "you may not change this risk point")
    return _point_form(request, session, who, point, _point_form_values(point))


@router.post("/risk/points/{point_id}/edit")
def point_update(
    point_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    data = parse_point_form(form or FormData())
    try:
        service.validate_point(data)
        point = service.update_point(session, who, point_id, data, at)
    except Invalid as exc:
        session.rollback()
        return _point_form(
            request, session, who, service.get_point(session, who, point_id), data, exc
        )
    session.commit()
    return RedirectResponse(f"/risk/points/{point.id}", status_code=303)


@router.post("/risk/points/{point_id}/assess")
def point_assess(
    point_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    form = form or FormData()
    method = _form_text(form, "method")
    data: dict[str, Any] = {"method": method, "note": _form_text(form, "note")}
    if method == "lec":
        data |= {k: _form_text(form, k) or None for k in ("L", "E", "C")}
    else:
        data |= {
            "L": _int_or_text(_form_text(form, "ML")),
            "S": _int_or_text(_form_text(form, "MS")),
        }
    try:
        service.assess(session, who, point_id, data, at)
    except Invalid as exc:
        session.rollback()
        return _detail_page(
            request, session, who, service.get_point(session, who, point_id), exc, dict(form)
        )
    session.commit()
    return RedirectResponse(f"/risk/points/{point_id}#assessments", status_code=303)


def _int_or_text(value: str) -> Any:
    return int(value) if value.isdigit() else (value or None)


@router.post("/risk/assessments/{assessment_id}/{action}")
def assessment_decide(
    assessment_id: str,
    action: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    if action not in ("approve", "reject"):
        raise NotFound("操作", "action")
    note = _form_text(form or FormData(), "note")
    row = service.decide(session, who, assessment_id, action == "approve", at, note)
    session.commit()
    return RedirectResponse(f"/risk/points/{row.risk_point_id}#assessments", status_code=303)


@router.post("/risk/points/{point_id}/{action}")
def point_archive(
    point_id: str,
    action: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    if action not in ("archive", "restore"):
        raise NotFound("操作", "action")
    point = service.archive_point(session, who, point_id, at, archived=action == "archive")
    session.commit()
    return RedirectResponse(f"/risk/points/{point.id}", status_code=303)


# --------------------------------------------------------------------------- settings


@router.get("/risk/settings")
def settings_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    return _settings_page(request, session, who)


def _settings_page(
    request: Request,
    session: Session,
    who: Principal,
    exc: Invalid | None = None,
    posted: dict[str, str] | None = None,
) -> Response:
    view = service.settings_view(session, who)
    errors = [pick((e.zh, e.en), lang_of(request)) for e in exc.errors] if exc else []
    return _page(
        request,
        "risk/points_settings.html",
        422 if exc else 200,
        view=view,
        errors=errors,
        posted=posted or {},
        can_change=who.role in service.ANALYSTS and len(who.prefix) <= 4,
        classic=lec.CLASSIC_BANDS,
    )


@router.post("/risk/settings")
def settings_save(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    form = form or FormData()
    key = _form_text(form, "key")
    posted = {k: str(v) for k, v in form.items() if k != "csrf"}
    value: Any
    if _form_text(form, "reset"):
        value = None
    elif key == service.LEC_KEY:
        value = {
            "thresholds": [_number(_form_text(form, f"t{i}")) for i in (1, 2, 3)],
            "closed": _form_text(form, "closed") or "right",
            "name": _form_text(form, "name") or "custom",
            "source": _form_text(form, "source") or "城市自定义LEC分级",
        }
    else:
        value = {
            "thresholds": {
                k: _number(_form_text(form, k)) for k in ("red_min", "orange_min", "yellow_min")
            },
            "name": _form_text(form, "name") or "custom",
            "source": _form_text(form, "source"),
        }
    try:
        service.set_setting(session, who, key, value, at)
    except Invalid as exc:
        session.rollback()
        return _settings_page(request, session, who, exc, posted)
    session.commit()
    return RedirectResponse("/risk/settings", status_code=303)


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


# --------------------------------------------------------------------------- major hazards


@router.get("/risk/major-hazards")
def hazards_list(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    qp = request.query_params
    level = qp.get("level")
    query = service.HazardQuery(
        q=qp.get("q") or None,
        division=qp.get("division") or None,
        level=int(level) if level and level.isdigit() else None,
        major_only=qp.get("major") == "1",
        include_archived=qp.get("archived") == "1",
        enterprise_id=int(qp["enterprise_id"]) if qp.get("enterprise_id", "").isdigit() else None,
        page=int(qp["page"]) if qp.get("page", "").isdigit() else 1,
    )
    page = service.list_hazards(session, who, query)
    names = _enterprise_names(session, {h.enterprise_id for h in page.items})
    return _page(
        request,
        "risk/major_hazards.html",
        page=page,
        query=query,
        pages=max(1, math.ceil(page.total / page.size)),
        divisions=_divisions(session, who),
        enterprise_names=names,
        can_write=who.role in service.WRITERS,
    )


def _substance_rows(values: dict[str, Any]) -> list[dict[str, Any]]:
    rows = list(values.get("substances") or [])
    return rows + [{}] * max(0, SUBSTANCE_ROWS - len(rows))


def parse_hazard_form(form: FormData) -> dict[str, Any]:
    substances = []
    for i in range(SUBSTANCE_ROWS * 3):
        ident, qty = _form_text(form, f"sub_name_{i}"), _form_text(form, f"sub_qty_{i}")
        category = _form_text(form, f"sub_cat_{i}")
        if not ident and not qty:
            continue
        row: dict[str, Any] = {"cas" if _CAS.match(ident) else "name": ident or None}
        row["quantity_t"] = _number(qty) if qty else None
        if category:
            row["category"] = category
        substances.append(row)
    boundary_text = _form_text(form, "boundary")
    data: dict[str, Any] = {
        "enterprise_id": _form_text(form, "enterprise_id") or None,
        "name": _form_text(form, "name"),
        "unit_kind": _form_text(form, "unit_kind"),
        "substances": substances,
        "lon": _form_text(form, "lon") or None,
        "lat": _form_text(form, "lat") or None,
        "boundary": None,
    }
    if boundary_text:
        try:
            data["boundary"] = json.loads(boundary_text)
        except ValueError:
            data["boundary"] = boundary_text  # the schema reports it
    return data


def _hazard_form(
    request: Request,
    session: Session,
    who: Principal,
    hazard: Any,
    values: dict[str, Any],
    exc: Invalid | None = None,
) -> Response:
    errors, general = _messages(exc, lang_of(request)) if exc else ({}, [])
    boundary = values.get("boundary")
    if isinstance(boundary, dict):
        values = {**values, "boundary": json.dumps(boundary, ensure_ascii=False)}
    return _page(
        request,
        "risk/major_hazards_form.html",
        422 if exc else 200,
        hazard=hazard,
        values=values,
        rows=_substance_rows(values),
        errors=errors,
        general=general,
        enterprises=_enterprise_choices(session, who),
    )


@router.get("/risk/major-hazards/new")
def hazard_new(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    _require_writer(who)
    values: dict[str, Any] = {
        "unit_kind": "storage",
        "enterprise_id": request.query_params.get("enterprise_id") or who.enterprise_id or "",
    }
    return _hazard_form(request, session, who, None, values)


@router.post("/risk/major-hazards/new")
def hazard_create(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    data = parse_hazard_form(form or FormData())
    try:
        hazard = service.create_hazard(session, who, data, at)
    except Invalid as exc:
        session.rollback()
        return _hazard_form(request, session, who, None, data, exc)
    session.commit()
    return RedirectResponse(f"/risk/major-hazards/{hazard.id}", status_code=303)


@router.get("/risk/major-hazards/{hazard_id}")
def hazard_detail(
    hazard_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    hazard = service.get_hazard(session, who, hazard_id)
    return _hazard_detail(request, session, who, hazard)


def _hazard_detail(
    request: Request,
    session: Session,
    who: Principal,
    hazard: Any,
    exc: Invalid | None = None,
    posted: dict[str, Any] | None = None,
) -> Response:
    ent = session.get(Enterprise, hazard.enterprise_id)
    geometry = hazard.boundary or (
        {"type": "Point", "coordinates": [hazard.lon, hazard.lat]}
        if hazard.lon is not None
        else None
    )
    errors = [pick((e.zh, e.en), lang_of(request)) for e in exc.errors] if exc else []
    can_write = (
        who.role in service.WRITERS
        and who.covers(hazard.division_code)
        and (who.role != "enterprise_officer" or hazard.enterprise_id == who.enterprise_id)
    )
    return _page(
        request,
        "risk/major_hazards_detail.html",
        422 if exc else 200,
        hazard=hazard,
        enterprise=ent,
        geometry=geometry,
        override_errors=errors,
        posted=posted or {},
        can_write=can_write,
        can_override=who.role in service.ANALYSTS,
    )


@router.get("/risk/major-hazards/{hazard_id}/edit")
def hazard_edit(
    hazard_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    hazard = service.get_hazard(session, who, hazard_id)
    _require_writer(who)
    values = {
        f: getattr(hazard, f)
        for f in ("enterprise_id", "name", "unit_kind", "substances", "lon", "lat", "boundary")
    }
    return _hazard_form(request, session, who, hazard, values)


@router.post("/risk/major-hazards/{hazard_id}/edit")
def hazard_update(
    hazard_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    data = parse_hazard_form(form or FormData())
    try:
        hazard = service.update_hazard(session, who, hazard_id, data, at)
    except Invalid as exc:
        session.rollback()
        return _hazard_form(
            request, session, who, service.get_hazard(session, who, hazard_id), data, exc
        )
    session.commit()
    return RedirectResponse(f"/risk/major-hazards/{hazard.id}", status_code=303)


@router.post("/risk/major-hazards/{hazard_id}/exposure")
def hazard_exposure(
    hazard_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    form = form or FormData()
    raw = _form_text(form, "exposed_population")
    data: dict[str, Any] = {
        "reason": _form_text(form, "reason"),
        "exposed_population": None if _form_text(form, "clear") else (_number(raw) if raw else ""),
    }
    try:
        service.override_exposure(session, who, hazard_id, data, at)
    except Invalid as exc:
        session.rollback()
        return _hazard_detail(
            request, session, who, service.get_hazard(session, who, hazard_id), exc, dict(form)
        )
    session.commit()
    return RedirectResponse(f"/risk/major-hazards/{hazard_id}", status_code=303)


@router.post("/risk/major-hazards/{hazard_id}/{action}")
def hazard_archive(
    hazard_id: str,
    action: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    if action not in ("archive", "restore"):
        raise NotFound("操作", "action")
    hazard = service.archive_hazard(session, who, hazard_id, at, archived=action == "archive")
    session.commit()
    return RedirectResponse(f"/risk/major-hazards/{hazard.id}", status_code=303)


# --------------------------------------------------------------------------- calculators


@router.get("/risk/calculator")
def calculator(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    qp = request.query_params
    tab = qp.get("tab") or "lec"
    lang = lang_of(request)
    bands = service.lec_bands(session, who.division_code)
    table = service.risk_matrix(session, who.division_code)
    out: dict[str, Any] = {
        "tab": tab,
        "q": dict(qp),
        "bands": bands,
        "matrix": table,
        "l_table": lec.L_TABLE,
        "e_table": lec.E_TABLE,
        "c_table": lec.C_TABLE,
        "errors": [],
        "result": None,
    }
    try:
        if tab == "lec" and qp.get("L"):
            out["result"] = lec.assess_lec(qp.get("L"), qp.get("E"), qp.get("C"), bands).as_dict()
        elif tab == "matrix" and qp.get("ML"):
            out["result"] = matrix.assess_matrix(
                _int_or_text(qp.get("ML", "")), _int_or_text(qp.get("MS", "")), table
            ).as_dict()
        elif tab == "hazmat" and qp.get("go"):
            out["result"] = hazmat.identify(_hazmat_payload(qp))
    except (lec.LecInputError, matrix.MatrixInputError) as exc:
        out["errors"] = [pick((e.message_zh, e.message_en), lang) for e in exc.errors]
    except hazmat.HazmatInputError as exc:
        out["errors"] = [pick((e.message_zh, e.message_en), lang) for e in exc.errors]
    out["hz_rows"] = [
        (qp.get(f"n{i}", ""), qp.get(f"q{i}", ""), qp.get(f"c{i}", ""))
        for i in range(SUBSTANCE_ROWS)
    ]
    return _page(request, "risk/calculator.html", 422 if out["errors"] else 200, **out)


def _hazmat_payload(qp: Any) -> dict[str, Any]:
    substances = []
    for i in range(SUBSTANCE_ROWS):
        ident, qty, cat = (
            qp.get(f"n{i}", "").strip(),
            qp.get(f"q{i}", "").strip(),
            qp.get(f"c{i}", "").strip(),
        )
        if not ident and not qty:
            continue
        row: dict[str, Any] = {
            "cas" if _CAS.match(ident) else "name": ident or None,
            "quantity_t": _number(qty) if qty else None,
        }
        if cat:
            row["category"] = cat
        substances.append(row)
    pop = qp.get("pop", "").strip()
    return {
        "units": [
            {
                "name": qp.get("unit") or "单元",
                "kind": qp.get("kind") or "storage",
                "substances": substances,
            }
        ],
        "exposed_population": _number(pop) if pop else None,
    }
