"""The API every kind gets: list, export, template, import, layer, detail, create, edit, archive.

``router_for(kinds)`` builds one router with concrete paths per kind (``/api/v1/<prefix>/<plural>``)
so the route table — and the tests that walk it — show every kind's endpoints by name.
Request bodies are the kind's input schema, answers a model generated from its columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, create_model
from sqlalchemy.orm import Session

from safecity.core import apidoc, tabular
from safecity.core import kinds_service as service
from safecity.core.config import get_settings
from safecity.core.deps import db, now, principal
from safecity.core.errors import invalid
from safecity.core.kinds import Kind
from safecity.core.scope import Principal


def _bounded_int(qp: Any, name: str, default: int, high: int) -> int:
    raw = qp.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise invalid(
            name,
            f"{name}：应为 1 到 {high} 之间的整数",
            f"{name}: must be a whole number from 1 to {high}",
        )
    return int(raw)


def list_params(request: Request, kind: Kind) -> service.ListParams:
    """Query parameters of a list, refused (422) when hostile or unknown — never replaced."""
    qp = request.query_params
    sort = qp.get("sort") or ""
    if sort and sort.removeprefix("-") not in kind.sortable:  # "--id" is no sort key
        options = ", ".join(kind.sortable)
        raise invalid(
            "sort",
            f"排序：取值应为 {options}（前加 - 为倒序）",
            f"sort: must be one of {options} (prefix - for descending)",
        )
    division = qp.get("division") or None
    if division is not None and not (division.isdigit() and len(division) <= 12):
        raise invalid("division", "行政区划：应为行政区划代码", "division: must be a division code")
    filters = {f: qp[f] for f in (*kind.exact_filters, *kind.query_filters) if f in qp}
    for name, value in filters.items():
        if value and name in kind.query_filters:
            _check_query_filter(kind, name, value)
        elif value and name in kind.choices and value not in kind.choices[name]:
            zh, en = kind.label(name)
            raise invalid(name, f"{zh}：取值无效", f"{en}: unknown value")
        if value and service.column_type(kind, name) in (int, float):
            try:
                number = service.filter_value(kind, name, value)
                if isinstance(number, int) and not -(2**31) <= number < 2**31:
                    raise ValueError(value)  # past any INTEGER column (PostgreSQL would fail)
            except ValueError:
                zh, en = kind.label(name)
                raise invalid(name, f"{zh}：应为数字", f"{en}: must be a number") from None
    return service.ListParams(
        q=qp.get("q") or None,
        division=division,
        filters=filters,
        sort=sort.removeprefix("-") or None,
        desc=sort.startswith("-"),
        page=_bounded_int(qp, "page", 1, 10**9),
        size=_bounded_int(qp, "size", 50, service.MAX_PAGE_SIZE),
        include_archived=qp.get("archived") in ("1", "true"),
    )


def _check_query_filter(kind: Kind, name: str, value: str) -> None:
    wanted = kind.query_filters[name]
    zh, en = wanted.label
    try:
        wanted.where(value)  # the filter refuses what it cannot read
    except ValueError:
        raise invalid(name, f"{zh}：取值无效", f"{en}: unknown value") from None


# ---------------------------------------------------------------------- typed shapes


def _python_type(kind: Kind, name: str) -> Any:
    col = getattr(kind.model, name, None)
    try:
        found = col.type.python_type  # type: ignore[union-attr]
    except (AttributeError, NotImplementedError):
        return Any
    return found if found in (str, int, float, bool, dict, list, datetime, date) else Any


def _camel(kind: Kind) -> str:
    return "".join(part.capitalize() for part in kind.name.split("_"))


_OUT: dict[tuple[str, str], type[BaseModel]] = {}


def out_model(kind: Kind) -> type[BaseModel]:
    """The answer for one object: the kind's columns (+ archived, geometry, computed fields).

    One class per kind, so a capability's own route answering with it shares the component.
    A kind that shapes its own answer (``out_schema``) answers with that model."""
    if kind.out_schema is not None:
        return kind.out_schema
    ident = (kind.prefix, kind.name)
    if ident not in _OUT:
        _OUT[ident] = _build_out_model(kind)
    return _OUT[ident]


def _build_out_model(kind: Kind) -> type[BaseModel]:
    fields: dict[str, Any] = {c: (_python_type(kind, c) | None, None) for c in kind.columns}
    fields.update({name: (ftype | None, None) for name, ftype in kind.extra_fields.items()})
    if kind.has_archive:
        fields["archived"] = (bool, False)
    if hasattr(kind.model, "geometry"):
        fields["geometry"] = (dict[str, Any] | None, None)
    prefix = "".join(p.capitalize() for p in kind.prefix.split("-"))
    return create_model(f"{prefix}{_camel(kind)}Out", __doc__=f"{kind.zh} / {kind.en}", **fields)


def created_model(kind: Kind, out: type[BaseModel]) -> type[BaseModel]:
    """The create answer: the object, plus its credential (shown this once) if it has one."""
    if kind.credential is None:
        return out
    name = kind.credential.field
    return create_model(
        out.__name__.removesuffix("Out") + "Created", __base__=out, **{name: (str, ...)}
    )


def page_model(kind: Kind, item: type[BaseModel]) -> type[BaseModel]:
    return create_model(
        item.__name__.removesuffix("Out") + "Page",
        total=(int, ...),
        page=(int, ...),
        size=(int, ...),
        items=(list[item], ...),  # type: ignore[valid-type]
    )


_BINARY = {"schema": {"type": "string", "format": "binary"}}
FILES = {tabular.XLSX_MEDIA: _BINARY, "text/csv": _BINARY, tabular.GEOJSON_MEDIA: _BINARY}


class ImportResult(BaseModel):
    ok: bool
    total_rows: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    error_count: int
    dry_run: bool
    errors: list[dict[str, Any]]
    # Each created object's credential (a device token), shown this once: {key column, field}.
    credentials: list[dict[str, Any]] = []


class FeatureCollection(BaseModel):
    type: str = "FeatureCollection"
    layer: str
    features: list[dict[str, Any]]


def _body(kind: Kind, partial: bool) -> dict[str, Any]:
    """OpenAPI request body from the kind's schema (the route reads the JSON itself, so the
    service reports problems with the kind's bilingual field labels)."""
    schema = kind.schema.model_json_schema(ref_template="#/components/schemas/{model}")
    apidoc.nested(schema.pop("$defs", {}))
    if partial:
        schema = {**schema, "required": [], "title": schema.get("title", "") + "Patch"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise invalid("body", "请求体：不是有效的 JSON", "body: not valid JSON") from None
    if not isinstance(data, dict):
        raise invalid("body", "请求体：应为 JSON 对象", "body: must be a JSON object")
    return data


# ---------------------------------------------------------------------- routes


def _one(session: Session, kind: Kind, obj: Any) -> dict[str, Any]:
    return service.answer(kind, obj, service.extras_of(session, kind, [obj]), with_geometry=True)


def router_for(kinds: Iterable[Kind], tags: list[str] | None = None) -> APIRouter:
    router = APIRouter()
    for kind in kinds:
        _register(router, kind, tags or [kind.prefix or "registry"])
    return router


def _register(router: APIRouter, kind: Kind, tags: list[str]) -> None:  # noqa: C901
    base = kind.api_url
    out = out_model(kind)
    page = kind.page_schema or page_model(kind, out)
    name = kind.name
    if kind.prefix and kind.api_prefix is None:
        name = f"{kind.prefix}_{kind.name}"

    @router.get(
        base,
        name=f"list_{name}",
        summary=f"List {kind.en} ({kind.zh})",
        response_model=page,
        response_model_exclude_unset=kind.list_summary is not None,
        tags=tags,
    )
    def list_(
        request: Request,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
    ) -> dict[str, Any]:
        params = list_params(request, kind)
        found = service.list_objects(session, who, kind, params)
        extras = service.extras_of(session, kind, found.items)
        summary = kind.list_summary(session, who, params) if kind.list_summary else {}
        return {
            "total": found.total,
            "page": found.page,
            "size": found.size,
            "items": [service.answer(kind, o, extras) for o in found.items],
            **summary,
        }

    if not kind.workflow_only:  # before {key}, which would read "template" as a key

        @router.get(
            base + "/template",
            name=f"template_{name}",
            summary=f"Empty XLSX with the import columns of {kind.en}",
            tags=tags,
        )
        def template(_who: Principal = Depends(principal)) -> Response:
            return Response(
                tabular.template_of(kind),
                media_type=tabular.XLSX_MEDIA,
                headers={
                    "Content-Disposition": f'attachment; filename="{kind.plural}-template.xlsx"'
                },
            )

    @router.get(
        base + "/export",
        name=f"export_{name}",
        summary=f"Export {kind.en}",
        tags=tags,
        response_class=Response,
        responses={200: {"description": "XLSX, CSV or GeoJSON file", "content": FILES}},
    )
    def export(
        request: Request,
        format: str = Query("xlsx", pattern="^(xlsx|csv|geojson)$"),
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
    ) -> Response:
        content, media, filename = tabular.export(
            session, who, kind, list_params(request, kind), format
        )
        return Response(
            content,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    if kind.map_props:

        @router.get(
            base + "/layer",
            name=f"layer_{name}",
            summary=f"{kind.en} map layer (GeoJSON)",
            response_model=FeatureCollection,
            tags=[*tags, "map"],
        )
        def layer(
            division: str | None = None,
            session: Session = Depends(db, scope="function"),
            who: Principal = Depends(principal),
        ) -> dict[str, Any]:
            return service.layer(session, who, kind, division)

    @router.get(
        base + "/{key}",
        name=f"get_{name}",
        summary=f"Get one {kind.en}",
        response_model=kind.detail_schema or out,
        tags=tags,
    )
    def get(
        key: str,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
    ) -> dict[str, Any]:
        obj = service.get_object(session, who, kind, key)
        if kind.detail_answer is not None:
            return kind.detail_answer(session, who, obj)
        return _one(session, kind, obj)

    if kind.workflow_only:
        return  # created and changed by the capability's own workflow routes

    @router.post(
        base + "/import",
        name=f"import_{name}",
        summary=f"Import {kind.en}",
        response_model=ImportResult,
        tags=tags,
    )
    async def import_(
        file: UploadFile = File(...),
        valid_only: bool = Form(False),
        dry_run: bool = Form(False),
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
        at: datetime = Depends(now),
    ) -> dict[str, Any]:
        limit = get_settings().max_upload_mb * 1024 * 1024
        content = await file.read(limit + 1)
        if len(content) > limit:
            raise invalid(
                "file",
                f"文件：超过 {limit // 1048576} MB 上限",
                f"file: larger than {limit // 1048576} MB",
            )
        report = tabular.import_file(
            session,
            who,
            kind,
            file.filename or "",
            content,
            at,
            valid_only=valid_only,
            dry_run=dry_run,
        )
        return report.as_dict()

    @router.post(
        base,
        name=f"create_{name}",
        status_code=201,
        summary=f"Create {kind.en}",
        response_model=created_model(kind, out),
        openapi_extra=_body(kind, partial=False),
        tags=tags,
    )
    def create(
        data: dict[str, Any] = Depends(_json),
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
        at: datetime = Depends(now),
    ) -> dict[str, Any]:
        issued: dict[str, str] = {}
        obj = service.create_object(session, who, kind, data, at, issued=issued)
        return {**_one(session, kind, obj), **issued}

    @router.patch(
        base + "/{key}",
        name=f"update_{name}",
        summary=f"Edit {kind.en}",
        response_model=out,
        openapi_extra=_body(kind, partial=True),
        tags=tags,
    )
    def update(
        key: str,
        data: dict[str, Any] = Depends(_json),
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
        at: datetime = Depends(now),
    ) -> dict[str, Any]:
        obj = service.update_object(session, who, kind, key, data, at)
        return _one(session, kind, obj)

    if not kind.has_archive:
        return

    @router.post(
        base + "/{key}/archive",
        name=f"archive_{name}",
        summary=f"Archive {kind.en}",
        response_model=out,
        tags=tags,
    )
    def archive(
        key: str,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
        at: datetime = Depends(now),
    ) -> dict[str, Any]:
        return service.answer(kind, service.archive_object(session, who, kind, key, at))

    @router.post(
        base + "/{key}/restore",
        name=f"restore_{name}",
        summary=f"Restore {kind.en}",
        response_model=out,
        tags=tags,
    )
    def restore(
        key: str,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
        at: datetime = Depends(now),
    ) -> dict[str, Any]:
        obj = service.archive_object(session, who, kind, key, at, archived=False)
        return service.answer(kind, obj)
