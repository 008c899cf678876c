"""Generic pages for every kind (NetBox-style): list, filter, detail, form, edit, archive, import.

``router_for(kinds)`` registers concrete paths per kind (``/<prefix>/<plural>/…``) in the order
that keeps ``new``/``import``/``template`` ahead of ``{key}``; the templates are shared
(``kind_list.html``, ``kind_detail.html``, ``kind_form.html``, ``kind_import.html``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from safecity import plugins
from safecity.core import kinds_service as service
from safecity.core import tabular
from safecity.core.clock import utcnow
from safecity.core.config import get_settings
from safecity.core.deps import db, now
from safecity.core.errors import Forbidden, Invalid
from safecity.core.kinds import Kind
from safecity.core.kinds_api import list_params
from safecity.core.kinds_api import router_for as api_router_for
from safecity.core.scope import Principal
from safecity.registry.kinds import DIVISION
from safecity.registry.models import Division
from safecity.registry.rules import INDUSTRY_DIVISIONS
from safecity.web import forms
from safecity.web.guard import form_data, web_user
from safecity.web.i18n import pick
from safecity.web.render import lang_of, render

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
DIVISION_COLUMNS = ("division_code", "parent_code")
FILE_LABEL = ("文件", "file")


def _page_context(session: Session, who: Principal, kind: Kind) -> dict[str, Any]:
    return kind.page_context(session, who) if kind.page_context is not None else {}


def _render(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    """``render`` plus two helpers for a capability's own panels on the kind pages:
    ``tt(zh, en)`` (a text in the page language) and ``lab(options, key)`` (a choice's label)."""
    lang = lang_of(request)
    return render(
        request,
        template,
        status,
        tt=lambda zh, en: en if lang == "en" else zh,
        lab=lambda options, key: pick(options.get(key, (key, key)), lang) if key else "—",
        **ctx,
    )


def scope_divisions(session: Session, who: Principal) -> list[Division]:
    """Divisions the user may see, for filter selects and code → name display."""
    stmt = select(Division).where(service.scope_clause(DIVISION, who), Division.archived.is_(False))
    return list(session.scalars(stmt.order_by(Division.code)))


def _names(divisions: list[Division]) -> dict[str, str]:
    return {d.code: d.name for d in divisions}


def _heading(kind: Kind, obj: Any) -> str:
    return str(getattr(obj, "name", None) or getattr(obj, kind.key))


def _require_writer(who: Principal, kind: Kind) -> None:
    if not kind.may_write(who):
        raise Forbidden("当前角色无权修改" + kind.zh, f"your role may not change {kind.en}")


def _filter_widgets(kind: Kind) -> list[tuple[str, str, list[tuple[str, tuple[str, str]]]]]:
    """(field, widget, options) for each exact filter: choice select, yes/no, division or text;
    then each query filter: a checkbox (one option), a select or text."""
    out: list[tuple[str, str, list[tuple[str, tuple[str, str]]]]] = []
    for name, wanted in kind.query_filters.items():
        options = list(wanted.options.items())
        widget = "check" if len(options) == 1 else ("select" if options else "text")
        out.append((name, widget, options))
    for name in kind.exact_filters:
        if name in kind.choices:
            out.append((name, "select", list(kind.choices[name].items())))
        elif service._column_is_bool(kind, name):
            out.append((name, "select", [("true", ("是", "Yes")), ("false", ("否", "No"))]))
        elif name in DIVISION_COLUMNS:
            out.append((name, "division", []))
        elif name.endswith("_id"):
            out.append((name, "ref", []))  # set by a link (an enterprise's own list), not typed
        else:
            out.append((name, "text", []))
    queries = len(kind.query_filters)
    return out[queries:] + out[:queries]


def _ticked(form: FormData | None, name: str) -> bool:
    return form is not None and form.get(name) in ("on", "true", "1")


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


def _form_page(
    request: Request,
    session: Session,
    who: Principal,
    kind: Kind,
    obj: Any,
    raw: dict[str, Any],
    exc: Invalid | None,
) -> Response:
    labels = {n: kind.label(n) for n in kind.schema.model_fields}
    by_field, general = forms.field_messages(exc, labels, lang_of(request)) if exc else ({}, [])
    more = _page_context(session, who, kind)
    if kind.form_context is not None:
        more |= kind.form_context(session, who)
    return _render(
        request,
        "kind_form.html",
        422 if exc else 200,
        kind=kind,
        obj=obj,
        heading=_heading(kind, obj) if obj is not None else "",
        fields=forms.form_fields(kind),
        values=raw,
        errors=by_field,
        general=general,
        divisions=scope_divisions(session, who),
        industries=INDUSTRY_DIVISIONS,
        detail_url=kind.detail_url(obj) if obj is not None else None,
        **more,
    )


def _import_failed(
    request: Request,
    page: dict[str, Any],
    status: int,
    zh: str,
    en: str,
) -> Response:
    rows = _error_rows(page["kind"], [(None, "file", zh, en)], lang_of(request))
    return _render(request, "kind_import.html", status, refused=True, errors=rows, **page)


def _geometry(kind: Kind, obj: Any) -> dict[str, Any] | None:
    return service.geometry_of(obj, kind)


def _row(kind: Kind, obj: Any, columns: list[str], extras: dict[Any, dict[str, Any]]) -> list[Any]:
    """The values of one list row: stored columns from the object, computed ones from extras."""
    mine = extras.get(getattr(obj, kind.key), {})
    return [mine.get(c) if c in mine else getattr(obj, c, None) for c in columns]


def _form_shown(kind: Kind, form: FormData) -> dict[str, Any]:
    """What a posted form shows again (on 422): its own parse, else the raw strings."""
    if kind.form_parse is not None:
        return kind.form_parse(form)
    return forms.raw_values(kind, form)


def _form_data(kind: Kind, shown: dict[str, Any]) -> dict[str, Any]:
    """The service's input from what the form shows (the generated form validates it whole)."""
    return shown if kind.form_parse is not None else forms.parse(kind, shown)


def _form_start(kind: Kind, obj: Any, request: Request, who: Principal) -> dict[str, Any]:
    if kind.form_values is not None:
        return kind.form_values(obj, request.query_params)
    return forms.values_of(kind, obj) if obj is not None else forms.defaults(kind)


def detail_page(
    request: Request,
    session: Session,
    who: Principal,
    kind: Kind,
    obj: Any,
    status: int = 200,
    **extra: Any,
) -> Response:
    """The generic detail page; a capability's own action re-renders it with ``extra`` context
    (its form's errors, 422)."""
    return _detail_page(request, session, who, kind, obj, status=status, **extra)


def _detail_page(
    request: Request,
    session: Session,
    who: Principal,
    kind: Kind,
    obj: Any,
    secret: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    inputs = [f for f in kind.schema.model_fields if f not in kind.columns and f != "geometry"]
    fields = [c for c in kind.columns if c != "archived"] + inputs
    if hasattr(kind.model, "updated_at"):
        fields.append("updated_at")
    more = _page_context(session, who, kind)
    if kind.detail_context is not None:
        more |= kind.detail_context(session, who, obj)
    # Other capabilities' sections (一企一档: an enterprise's inspections and cases …).
    sections = plugins.collect(
        "safecity_detail_sections", session=session, who=who, kind=kind, obj=obj, now=utcnow()
    )
    return _render(
        request,
        "kind_detail.html",
        status,
        kind=kind,
        obj=obj,
        heading=_heading(kind, obj),
        fields=fields,
        names=_names(scope_divisions(session, who)),
        geometry=_geometry(kind, obj),
        can_write=kind.may_write(who),
        url=kind.detail_url(obj),
        secret=secret,
        sections=sections,
        **{**more, **extra},
    )


def router_for(kinds: Iterable[Kind]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for kind in kinds:
        _register(router, kind)
    return router


def _register(router: APIRouter, kind: Kind) -> None:  # noqa: C901 one closure per page
    base = kind.url

    @router.get(base, name=f"page_list_{kind.prefix}_{kind.name}")
    def list_page(
        request: Request,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(web_user),
    ) -> Response:
        params = list_params(request, kind)
        page = service.list_objects(session, who, kind, params)
        divisions = scope_divisions(session, who)
        columns = list(kind.list_columns or [c for c in kind.columns if c not in LIST_HIDDEN])
        link_col = next((c for c in ("name", "title") if c in columns), columns[0])
        extras = service.extras_of(session, kind, page.items)
        rows = [(obj, _row(kind, obj, columns, extras)) for obj in page.items]
        summary = kind.list_summary(session, who, params) if kind.list_summary else {}
        export_query = {
            k: v for k, v in request.query_params.items() if k not in ("page", "size", "sort") and v
        }
        return _render(
            request,
            "kind_list.html",
            kind=kind,
            page=page,
            rows=rows,
            columns=columns,
            link_col=link_col,
            pages=max(1, math.ceil(page.total / page.size)),
            divisions=divisions,
            names=_names(divisions),
            params=params,
            sort=request.query_params.get("sort", ""),
            filters=_filter_widgets(kind),
            can_write=kind.may_write(who),
            can_act=who.role in kind.writers,
            export_base=f"{kind.api_url}/export?" + urlencode(export_query),
            detail_url=kind.detail_url,
            summary=summary,
            **_page_context(session, who, kind),
            new_query=urlencode(
                {f: v for f in kind.exact_filters if (v := request.query_params.get(f))}
            ),
        )

    if not kind.workflow_only:
        _register_forms(router, kind)

    @router.get(base + "/{key}")
    def detail(
        key: str,
        request: Request,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(web_user),
    ) -> Response:
        obj = service.get_object(session, who, kind, key)
        if kind.detail_page is not None:
            return kind.detail_page(request, session, who, obj)  # type: ignore[no-any-return]
        return _detail_page(request, session, who, kind, obj)

    if kind.workflow_only:
        return  # created and changed on the capability's own workflow pages

    @router.get(base + "/{key}/edit")
    def edit_form(
        key: str,
        request: Request,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(web_user),
    ) -> Response:
        _require_writer(who, kind)
        obj = service.get_object(session, who, kind, key)
        return _form_page(
            request, session, who, kind, obj, _form_start(kind, obj, request, who), None
        )

    @router.post(base + "/{key}/edit")
    def update(
        key: str,
        request: Request,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(web_user),
        at: datetime = Depends(now),
        form: FormData | None = Depends(form_data),
    ) -> Response:
        obj = service.get_object(session, who, kind, key)
        raw = _form_shown(kind, form or FormData())
        if kind.key != "id" and kind.key in raw:
            raw[kind.key] = str(getattr(obj, kind.key))  # the identity is shown read-only
        try:
            data = _form_data(kind, raw)
            obj = service.update_object(session, who, kind, key, data, at)
        except Invalid as exc:
            session.rollback()
            obj = service.get_object(session, who, kind, key)
            return _form_page(request, session, who, kind, obj, raw, exc)
        session.commit()
        return RedirectResponse(kind.detail_url(obj), status_code=303)

    if not kind.has_archive:
        return

    for action in ("archive", "restore"):
        _register_archive(router, kind, action)


def _register_forms(router: APIRouter, kind: Kind) -> None:  # noqa: C901 one closure per page
    """The new, import and template pages (before ``{key}``, which would read them as keys)."""
    base = kind.url

    @router.get(base + "/new")
    def new_form(
        request: Request,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(web_user),
    ) -> Response:
        _require_writer(who, kind)
        return _form_page(
            request, session, who, kind, None, _form_start(kind, None, request, who), None
        )

    @router.post(base + "/new")
    def create(
        request: Request,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(web_user),
        at: datetime = Depends(now),
        form: FormData | None = Depends(form_data),
    ) -> Response:
        issued: dict[str, str] = {}
        raw = _form_shown(kind, form or FormData())
        try:
            data = _form_data(kind, raw)
            obj = service.create_object(session, who, kind, data, at, issued=issued)
        except Invalid as exc:
            session.rollback()
            return _form_page(request, session, who, kind, None, raw, exc)
        session.commit()
        if issued and kind.credential is not None:
            # The secret is shown on this one answer (never in a URL), then only its hash is kept.
            return _detail_page(request, session, who, kind, obj, issued[kind.credential.field])
        return RedirectResponse(kind.detail_url(obj), status_code=303)

    @router.get(base + "/import")
    def import_form(request: Request, who: Principal = Depends(web_user)) -> Response:
        _require_writer(who, kind)
        return _render(request, "kind_import.html", kind=kind)

    @router.post(base + "/import")
    def import_upload(
        request: Request,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(web_user),
        at: datetime = Depends(now),
        form: FormData | None = Depends(form_data),
    ) -> Response:
        _require_writer(who, kind)
        upload = (form or FormData()).get("file")
        options = {"valid_only": _ticked(form, "valid_only"), "dry_run": _ticked(form, "dry_run")}
        page: dict[str, Any] = {"kind": kind, "options": options}
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _import_failed(
                request, page, 422, "请选择要上传的文件", "choose a file to upload"
            )
        limit = get_settings().max_upload_mb * 1024 * 1024
        content = upload.file.read(limit + 1)  # already spooled to disk by the form parser
        if len(content) > limit:
            mb = limit // 1048576
            return _import_failed(request, page, 413, f"超过 {mb} MB 上限", f"larger than {mb} MB")
        page["filename"] = upload.filename
        try:
            report = tabular.import_file(
                session, who, kind, upload.filename, content, at, **options
            )
        except Invalid as exc:
            session.rollback()  # a refused file writes nothing
            rows = [(e.row, e.field, e.zh, e.en) for e in exc.errors]
            return _render(
                request,
                "kind_import.html",
                422,
                refused=True,
                errors=_error_rows(kind, rows, lang_of(request)),
                **page,
            )
        session.commit()
        result = report.as_dict()
        rows = [(e["row"], e["column"], e["message"], e["message_en"]) for e in result["errors"]]
        return _render(
            request,
            "kind_import.html",
            report=result,
            errors=_error_rows(kind, rows, lang_of(request)),
            **page,
        )

    @router.get(base + "/template")
    def template(_who: Principal = Depends(web_user)) -> Response:
        return Response(
            tabular.template_of(kind),
            media_type=tabular.XLSX_MEDIA,
            headers={"Content-Disposition": f'attachment; filename="{kind.plural}-template.xlsx"'},
        )


def _register_archive(router: APIRouter, kind: Kind, action: str) -> None:
    @router.post(f"{kind.url}/{{key}}/{action}")
    def archive(
        key: str,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(web_user),
        at: datetime = Depends(now),
    ) -> Response:
        obj = service.archive_object(session, who, kind, key, at, archived=action == "archive")
        session.commit()
        return RedirectResponse(kind.detail_url(obj), status_code=303)


def routers_for(kinds: Iterable[Kind], tags: list[str] | None = None) -> list[APIRouter]:
    """The API and page routers of ``kinds``, for a plug-in's ``safecity_routers`` (after its
    own specific paths, so ``/resources/stock`` is not read as a kind's ``{key}``)."""
    kinds = list(kinds)
    return [api_router_for(kinds, tags=tags), router_for(kinds)]
