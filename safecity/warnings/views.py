"""Warnings web pages: the public page (no login), and the console for drafting, approving,
issuing, delivery status and coverage. The list (/warnings) and one warning's page are the
generic kind's (safecity.warnings.kinds, its panel warnings/detail_panel.html); the workflow's
actions post here."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import RedirectResponse, Response
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from safecity.core.clock import BEIJING
from safecity.core.deps import db, now
from safecity.core.errors import FieldError, Invalid, NotFound
from safecity.core.scope import Principal
from safecity.core.sql import code_within
from safecity.monitoring.context import warning_draft_for
from safecity.registry.models import Division
from safecity.registry.rules import TARGET_TYPES
from safecity.warnings import cap, channels, rules, service
from safecity.warnings.api import dispatch_soon
from safecity.warnings.models import Warning
from safecity.web.guard import current, form_data, web_user
from safecity.web.i18n import pick
from safecity.web.render import lang_of, render

router = APIRouter(include_in_schema=False)
PUBLIC_STATUSES = ("issued", "updated", "cancelled", "expired", "external")
ACTIONS = ("submit", "approve", "reject", "issue", "update", "cancel", "retry")


def _helpers(request: Request) -> dict[str, Any]:
    lang = lang_of(request)

    def when(value: datetime | None) -> str:
        if value is None:
            return "—"
        aware = service._aware(value)
        return aware.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")

    return {
        "when": when,
        "level_name": lambda lv: pick(cap.LEVEL_NAMES.get(lv, (lv, lv)), lang),
        "status_name": lambda st: pick(rules.STATUSES.get(st, (st, st)), lang),
        "event_name": lambda ev: pick(rules.EVENT_TYPES.get(ev, (ev, ev, ""))[:2], lang),
        "channel_name": lambda ch: pick(channels.CHANNEL_NAMES.get(ch, (ch, ch)), lang),
        "delivery_status": lambda st: pick(channels.DELIVERY_STATUSES.get(st, (st, st)), lang),
        "pct": lambda v: "—" if v is None else f"{v * 100:.1f}%",
        "headline_of": lambda w: (w.headline_en or w.headline) if lang == "en" else w.headline,
        "text_of": lambda w, f: (
            (getattr(w, f + "_en") or getattr(w, f)) if lang == "en" else getattr(w, f)
        ),
        "levels": cap.LEVELS,
        "event_types": rules.EVENT_TYPES,
        "target_type": lambda k: pick(TARGET_TYPES.get(k, (k, k)), lang),
        "msg_type_name": lambda m: pick(rules.MSG_TYPES.get(m, (m, m)), lang),
    }


def _public_divisions(session: Session) -> list[Division]:
    return list(
        session.scalars(
            select(Division)
            .where(Division.archived.is_(False), Division.level.in_(("city", "county")))
            .order_by(Division.code)
        )
    )


# ---------------------------------------------------------------- public


@router.get("/public/warnings")
def public_page(
    request: Request,
    division: str = "",
    session: Session = Depends(db, scope="function"),
    at: datetime = Depends(now),
) -> Response:
    current(request, session)  # show the signed-in user in the top bar, if any
    code = division if division.isdigit() else ""
    rows = service.current_public(session, code or None, at)
    return render(
        request,
        "warnings/public.html",
        rows=rows,
        division=code,
        divisions=_public_divisions(session),
        **_helpers(request),
    )


@router.get("/public/warnings/{warning_id}")
def public_detail(
    warning_id: int, request: Request, session: Session = Depends(db, scope="function")
) -> Response:
    current(request, session)
    w = session.get(Warning, warning_id)
    if w is None or w.status not in PUBLIC_STATUSES:
        raise NotFound("预警", "warning")
    return render(
        request,
        "warnings/public_detail.html",
        w=w,
        geometry=_geometry(session, w),
        **_helpers(request),
    )


def _geometry(session: Session, w: Warning) -> dict[str, Any] | None:
    geom = service.geometry_of(session, rules.areas_from_json(w.areas))
    return None if geom.is_empty else mapping(geom)


# ---------------------------------------------------------------- console


@router.get("/warnings/list")
def old_list(request: Request) -> Response:
    """The list's address before warnings were a kind (/warnings): old links and bookmarks."""
    query = request.url.query
    return RedirectResponse("/warnings" + (f"?{query}" if query else ""), status_code=303)


def _draft_divisions(session: Session, who: Principal) -> list[Division]:
    return list(
        session.scalars(
            select(Division)
            .where(Division.archived.is_(False), code_within(Division.code, who.prefix))
            .order_by(Division.code)
        )
    )


@router.get("/warnings/new")
def new_page(
    request: Request,
    from_alarm: int | None = None,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    values = {"division_code": who.division_code, "level": "yellow", "event_type": "rainstorm"}
    if from_alarm is not None:  # 起草预警 on an alarm: its place, level and message prefilled
        values |= warning_draft_for(session, who, from_alarm)
    return _form(request, session, who, values, None)


def _form(
    request: Request,
    session: Session,
    who: Principal,
    values: dict[str, Any],
    exc: Invalid | None,
    status: int = 200,
) -> Response:
    lang = lang_of(request)
    errors: dict[str, list[str]] = {}
    for e in exc.errors if exc else []:
        key = e.field.split(".")[0] if e.field.startswith("areas") else e.field
        errors.setdefault(key, []).append(pick((e.zh, e.en), lang))
    return render(
        request,
        "warnings/form.html",
        status,
        values=values,
        errors=errors,
        divisions=_draft_divisions(session, who),
        **_helpers(request),
    )


def _local_time(raw: str, name: str) -> datetime | None:
    if not raw.strip():
        return None
    try:
        return datetime.fromisoformat(raw.strip()).replace(tzinfo=BEIJING)
    except ValueError:
        raise Invalid(
            [FieldError(name, f"{name}：时间格式不正确", f"{name}: not a valid time")]
        ) from None


def _area_from_form(form: FormData) -> dict[str, Any]:
    area: dict[str, Any] = {
        "desc": str(form.get("area_desc") or "").strip(),
        "polygons": [],
        "circles": [],
        "divisions": [str(d) for d in form.getlist("area_divisions") if str(d).strip()],
    }
    try:
        points = json.loads(str(form.get("polygon") or "[]"))
    except ValueError:
        points = []
    if isinstance(points, list) and len(points) >= 3:
        ring = [[float(p[0]), float(p[1])] for p in points]
        area["polygons"] = [ring + [ring[0]]]
    circle = [str(form.get(k) or "").strip() for k in ("circle_lon", "circle_lat", "circle_km")]
    if all(circle):
        try:
            area["circles"] = [[float(c) for c in circle]]
        except ValueError:
            raise Invalid(
                [FieldError("areas.0", "圆形区域：应为数字", "circle: must be numbers")]
            ) from None
    return area


def _form_values(form: FormData) -> dict[str, Any]:
    data = {
        k: str(form.get(k) or "").strip()
        for k in (
            "event_type",
            "level",
            "division_code",
            "headline",
            "description",
            "instruction",
            "headline_en",
            "description_en",
            "instruction_en",
        )
    }
    for name in ("effective", "expires"):
        data[name] = _local_time(str(form.get(name) or ""), name)
    data["areas"] = [_area_from_form(form)]
    return data


@router.post("/warnings/new")
def new_submit(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    assert form is not None
    raw: dict[str, Any] = {k: str(v) for k, v in form.items() if not isinstance(v, UploadFile)}
    raw["area_divisions"] = form.getlist("area_divisions")
    try:
        w = service.create_warning(session, who, _form_values(form), at)
    except Invalid as exc:
        session.rollback()
        return _form(request, session, who, raw, exc, 422)
    return RedirectResponse(f"/warnings/{w.id}", status_code=303)


@router.get("/warnings/coverage")
def coverage_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    months = service.monthly_coverage(session, who, at, 24)
    return render(request, "warnings/coverage.html", months=months, **_helpers(request))


@router.post("/warnings/import")
async def import_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    assert form is not None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid([FieldError("file", "文件：请选择 CAP 文件", "file: choose a CAP file")])
    data = await upload.read(cap.MAX_BYTES + 1)
    report = service.import_cap(session, who, data, at)
    lang = lang_of(request)
    msg = pick(
        (
            "已导入 {n} 条，重复 {m} 条，解除 {c} 条，更新 {u} 条，未找到所引用的预警 {x} 条",
            "{n} imported, {m} already known, {c} cancelled, {u} superseded, "
            "{x} references not held",
        ),
        lang,
    ).format(
        n=len(report.created),
        m=len(report.unchanged),
        c=len(report.cancelled),
        u=len(report.superseded),
        x=len(report.unknown_references),
    )

    return RedirectResponse(f"/warnings?msg={quote(msg)}", status_code=303)


def _values_of(w: Warning) -> dict[str, Any]:
    values: dict[str, Any] = {
        f: getattr(w, f) or ""
        for f in (
            "event_type",
            "level",
            "division_code",
            "headline",
            "description",
            "instruction",
            "headline_en",
            "description_en",
            "instruction_en",
        )
    }
    for name in ("effective", "expires"):
        value = getattr(w, name)
        values[name] = (
            service._aware(value).astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M") if value else ""
        )
    area = (w.areas or [{}])[0]
    values["area_desc"] = area.get("desc", "")
    values["polygon"] = json.dumps(area["polygons"][0][:-1]) if area.get("polygons") else ""
    if area.get("circles"):
        values["circle_lon"], values["circle_lat"], values["circle_km"] = area["circles"][0]
    values["area_divisions"] = area.get("divisions", [])
    return values


@router.get("/warnings/{warning_id}/edit")
def edit_page(
    warning_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    w = service.get_warning(session, who, warning_id)
    rules.next_status(w.status, "edit")
    return _form(request, session, who, _values_of(w), None)


@router.post("/warnings/{warning_id}/edit")
def edit_submit(
    warning_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    assert form is not None
    raw: dict[str, Any] = {k: str(v) for k, v in form.items() if not isinstance(v, UploadFile)}
    raw["area_divisions"] = form.getlist("area_divisions")
    try:
        w = service.edit_warning(session, who, warning_id, _form_values(form), at)
    except Invalid as exc:
        session.rollback()
        return _form(request, session, who, raw, exc, 422)
    return RedirectResponse(f"/warnings/{w.id}", status_code=303)


@router.post("/warnings/{warning_id}/{action}")
def action_submit(
    warning_id: str,
    action: str,
    request: Request,
    tasks: BackgroundTasks,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    if action not in ACTIONS:
        raise NotFound("操作", "action")
    target = warning_id
    if action == "submit":
        service.submit(session, who, warning_id, at)
    elif action in ("approve", "reject"):
        service.approve(session, who, warning_id, at, reject=action == "reject")
    elif action == "issue":
        _w, fresh = service.issue(session, who, warning_id, at)
        session.commit()
        if fresh:
            dispatch_soon(tasks)
    elif action == "update":
        target = str(service.start_update(session, who, warning_id, at).id)
    elif action == "retry":
        if service.retry_failed(session, who, warning_id, at):
            session.commit()
            dispatch_soon(tasks)
    elif action == "cancel":
        note = str((form.get("note") if form else "") or "")
        target = str(service.cancel(session, who, warning_id, at, note).id)
        session.commit()
        dispatch_soon(tasks)
    return RedirectResponse(f"/warnings/{target}", status_code=303)
