"""Generic registry pages (NetBox-style): one list/detail/form/import set serving every kind."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from safecity.core.config import get_settings
from safecity.core.deps import db, now
from safecity.core.errors import Forbidden, Invalid, NotFound
from safecity.core.scope import Principal
from safecity.registry import io, service
from safecity.registry.api import list_params
from safecity.registry.kinds import DIVISION, ENTERPRISE, KINDS, Kind
from safecity.registry.models import Division
from safecity.registry.rules import INDUSTRY_DIVISIONS
from safecity.web import forms
from safecity.web.guard import form_data, web_user
from safecity.web.i18n import pick
from safecity.web.render import lang_of, render

router = APIRouter(prefix="/registry", include_in_schema=False)

# Long contact/address columns stay on the detail page so the list fits more rows per screen.
LIST_HIDDEN = {
    "lon",
    "lat",
    "name_en",
    "address",
    "responsible_department",
    "grid_member_phone",
    "safety_officer_phone",
    "contact_phone",
    "industry_section",
}
FILE_LABEL = ("文件", "file")
# 一企一档: each built capability's page filtered to the enterprise; None = not built yet.
ONE_FILE_SECTIONS = (
    ("one_file_risk", "/risk/points?enterprise_id={id}"),
    ("one_file_hazard_sources", "/risk/major-hazards?enterprise_id={id}"),
    ("one_file_hidden", "/hazards/list?enterprise_id={id}"),
    ("one_file_sensors", "/monitoring/sensors?enterprise_id={id}"),
    ("one_file_enforcement", None),
    ("one_file_plans", None),
    ("one_file_credit", None),
)


def _kind(plural: str) -> Kind:
    kind = KINDS.get(plural)
    if kind is None:
        raise NotFound("数据类型", "object type")
    return kind


def _require_writer(who: Principal, kind: Kind) -> None:
    if not who.can_write(kind.name):
        raise Forbidden("当前角色无权修改" + kind.zh, f"your role may not change {kind.en}")


def scope_divisions(session: Session, who: Principal) -> list[Division]:
    """Divisions the user may see, for filter selects and code → name display."""
    stmt = select(Division).where(service.scope_clause(DIVISION, who), Division.archived.is_(False))
    return list(session.scalars(stmt.order_by(Division.code)))


def _names(divisions: list[Division]) -> dict[str, str]:
    return {d.code: d.name for d in divisions}


def _detail_url(kind: Kind, obj: Any) -> str:
    return f"/registry/{kind.plural}/{getattr(obj, kind.key)}"


@router.get("/{plural}")
def list_page(
    plural: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    kind = _kind(plural)
    params = list_params(request, kind)
    page = service.list_objects(session, who, kind, params)
    divisions = scope_divisions(session, who)
    columns = [c for c in kind.columns if c not in LIST_HIDDEN]
    link_col = "name" if "name" in columns else columns[0]
    export_query = {
        k: v for k, v in request.query_params.items() if k not in ("page", "size", "sort") and v
    }
    return render(
        request,
        "registry_list.html",
        kind=kind,
        page=page,
        columns=columns,
        link_col=link_col,
        pages=max(1, math.ceil(page.total / page.size)),
        divisions=divisions,
        names=_names(divisions),
        params=params,
        sort=request.query_params.get("sort", ""),
        filters=_filter_widgets(kind),
        can_write=who.can_write(kind.name),
        export_base=f"/api/v1/{kind.plural}/export?" + urlencode(export_query),
        detail_url=lambda obj: _detail_url(kind, obj),
    )


def _filter_widgets(kind: Kind) -> list[tuple[str, str, list[tuple[str, tuple[str, str]]]]]:
    """(field, widget, options) for each exact filter: choice select, yes/no, division or text."""
    out: list[tuple[str, str, list[tuple[str, tuple[str, str]]]]] = []
    for name in kind.exact_filters:
        if name in kind.choices:
            out.append((name, "select", list(kind.choices[name].items())))
        elif name == "is_hazchem":
            out.append((name, "select", [("true", ("是", "Yes")), ("false", ("否", "No"))]))
        elif name == "parent_code":
            out.append((name, "division", []))
        else:
            out.append((name, "text", []))
    return out


@router.get("/{plural}/new")
def new_form(
    plural: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    kind = _kind(plural)
    _require_writer(who, kind)
    return _form_page(request, session, who, kind, None, forms.defaults(kind), None)


@router.post("/{plural}/new")
def create(
    plural: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    kind = _kind(plural)
    raw = forms.raw_values(kind, form or FormData())
    try:
        obj = service.create_object(session, who, kind, forms.parse(kind, raw), at)
    except Invalid as exc:
        session.rollback()
        return _form_page(request, session, who, kind, None, raw, exc)
    session.commit()
    return RedirectResponse(_detail_url(kind, obj), status_code=303)


def _form_page(
    request: Request,
    session: Session,
    who: Principal,
    kind: Kind,
    obj: Any,
    raw: dict[str, str],
    exc: Invalid | None,
) -> Response:
    labels = {n: kind.label(n) for n in kind.schema.model_fields}
    by_field, general = forms.field_messages(exc, labels, lang_of(request)) if exc else ({}, [])
    return render(
        request,
        "registry_form.html",
        422 if exc else 200,
        kind=kind,
        obj=obj,
        fields=forms.form_fields(kind),
        values=raw,
        errors=by_field,
        general=general,
        divisions=scope_divisions(session, who),
        industries=INDUSTRY_DIVISIONS,
        detail_url=_detail_url(kind, obj) if obj is not None else None,
    )


@router.get("/{plural}/import")
def import_form(plural: str, request: Request, who: Principal = Depends(web_user)) -> Response:
    kind = _kind(plural)
    _require_writer(who, kind)
    return render(request, "registry_import.html", kind=kind)


@router.post("/{plural}/import")
def import_upload(
    plural: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    kind = _kind(plural)
    _require_writer(who, kind)
    upload = (form or FormData()).get("file")
    options = {"valid_only": _ticked(form, "valid_only"), "dry_run": _ticked(form, "dry_run")}
    page: dict[str, Any] = {"kind": kind, "options": options}
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_failed(request, page, 422, "请选择要上传的文件", "choose a file to upload")
    limit = get_settings().max_upload_mb * 1024 * 1024
    content = upload.file.read(limit + 1)  # already spooled to disk by the form parser
    if len(content) > limit:
        mb = limit // 1048576
        return _import_failed(request, page, 413, f"超过 {mb} MB 上限", f"larger than {mb} MB")
    page["filename"] = upload.filename
    try:
        report = io.import_file(session, who, kind, upload.filename, content, at, **options)
    except Invalid as exc:
        session.rollback()  # a refused file writes nothing
        rows = [(e.row, e.field, e.zh, e.en) for e in exc.errors]
        return render(
            request,
            "registry_import.html",
            422,
            refused=True,
            errors=_error_rows(kind, rows, lang_of(request)),
            **page,
        )
    session.commit()
    result = report.as_dict()
    rows = [(e["row"], e["column"], e["message"], e["message_en"]) for e in result["errors"]]
    return render(
        request,
        "registry_import.html",
        report=result,
        errors=_error_rows(kind, rows, lang_of(request)),
        **page,
    )


def _import_failed(
    request: Request,
    page: dict[str, Any],
    status: int,
    zh: str,
    en: str,
) -> Response:
    rows = _error_rows(page["kind"], [(None, "file", zh, en)], lang_of(request))
    return render(request, "registry_import.html", status, refused=True, errors=rows, **page)


def _error_rows(
    kind: Kind,
    rows: list[tuple[Any, str, str, str]],
    lang: str,
) -> list[tuple[str, str, str]]:
    """(行, 列, 原因) as shown: row number, the column's label, the message in the page language."""
    out = []
    for row, column, zh, en in rows:
        pair = (FILE_LABEL if column == "file" else kind.label(column)) if column else ("", "")
        label = pick(pair, lang)
        # Messages repeat the column label as a prefix; the table already has a column for it.
        reason = pick((zh.removeprefix(pair[0] + "："), en.removeprefix(pair[1] + ": ")), lang)
        out.append((str(row) if row else "—", label or "—", reason))
    return out


def _ticked(form: FormData | None, name: str) -> bool:
    return form is not None and form.get(name) in ("on", "true", "1")


@router.get("/{plural}/template")
def template(plural: str, _who: Principal = Depends(web_user)) -> Response:
    kind = _kind(plural)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        io.template(kind),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{kind.plural}-template.xlsx"'},
    )


@router.get("/{plural}/{key}")
def detail(
    plural: str,
    key: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    kind = _kind(plural)
    obj = service.get_object(session, who, kind, key)
    extra = [f for f in kind.schema.model_fields if f not in kind.columns and f != "geometry"]
    fields = [c for c in kind.columns if c != "archived"] + extra + ["updated_at"]
    return render(
        request,
        "registry_detail.html",
        kind=kind,
        obj=obj,
        fields=fields,
        names=_names(scope_divisions(session, who)),
        geometry=_geometry(obj),
        can_write=who.can_write(kind.name),
        is_enterprise=kind is ENTERPRISE,
        one_file=ONE_FILE_SECTIONS,
        url=_detail_url(kind, obj),
    )


def _geometry(obj: Any) -> dict[str, Any] | None:
    if getattr(obj, "geometry", None):
        return obj.geometry  # type: ignore[no-any-return]
    if obj.lon is not None and obj.lat is not None:
        return {"type": "Point", "coordinates": [obj.lon, obj.lat]}
    return None


@router.get("/{plural}/{key}/edit")
def edit_form(
    plural: str,
    key: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    kind = _kind(plural)
    _require_writer(who, kind)
    obj = service.get_object(session, who, kind, key)
    return _form_page(request, session, who, kind, obj, forms.values_of(kind, obj), None)


@router.post("/{plural}/{key}/edit")
def update(
    plural: str,
    key: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    kind = _kind(plural)
    obj = service.get_object(session, who, kind, key)
    raw = forms.raw_values(kind, form or FormData())
    if kind is DIVISION:
        raw["code"] = obj.code  # the code is the division's identity and is shown read-only
    try:
        obj = service.update_object(session, who, kind, key, forms.parse(kind, raw), at)
    except Invalid as exc:
        session.rollback()
        obj = service.get_object(session, who, kind, key)
        return _form_page(request, session, who, kind, obj, raw, exc)
    session.commit()
    return RedirectResponse(_detail_url(kind, obj), status_code=303)


@router.post("/{plural}/{key}/{action}")
def archive(
    plural: str,
    key: str,
    action: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    kind = _kind(plural)
    if action not in ("archive", "restore"):
        raise NotFound("操作", "action")
    obj = service.archive_object(session, who, kind, key, at, archived=action == "archive")
    session.commit()
    return RedirectResponse(_detail_url(kind, obj), status_code=303)
