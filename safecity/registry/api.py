"""Registry REST API: the same list/detail/create/edit/archive/import/export for every kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from safecity.core.config import get_settings
from safecity.core.deps import db, now, principal
from safecity.core.errors import invalid
from safecity.core.scope import Principal
from safecity.registry import io, service
from safecity.registry import map as map_layers
from safecity.registry.kinds import KINDS, Kind

router = APIRouter(prefix="/api/v1", tags=["registry"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    if sort and sort.lstrip("-") not in kind.sortable:
        options = ", ".join(kind.sortable)
        raise invalid(
            "sort",
            f"排序：取值应为 {options}（前加 - 为倒序）",
            f"sort: must be one of {options} (prefix - for descending)",
        )
    division = qp.get("division") or None
    if division is not None and not (division.isdigit() and len(division) <= 12):
        raise invalid("division", "行政区划：应为行政区划代码", "division: must be a division code")
    filters = {f: qp[f] for f in kind.exact_filters if f in qp}
    for name, value in filters.items():
        if value and name in kind.choices and value not in kind.choices[name]:
            zh, en = kind.label(name)
            raise invalid(name, f"{zh}：取值无效", f"{en}: unknown value")
    return service.ListParams(
        q=qp.get("q") or None,
        division=division,
        filters=filters,
        sort=sort.lstrip("-") or None,
        desc=sort.startswith("-"),
        page=_bounded_int(qp, "page", 1, 10**9),
        size=_bounded_int(qp, "size", 50, service.MAX_PAGE_SIZE),
        include_archived=qp.get("archived") in ("1", "true"),
    )


def _register(kind: Kind) -> None:
    base = f"/{kind.plural}"

    @router.get(base, name=f"list_{kind.name}", summary=f"List {kind.en} ({kind.zh})")
    def list_(
        request: Request,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
    ) -> dict[str, Any]:
        page = service.list_objects(session, who, kind, list_params(request, kind))
        return {
            "total": page.total,
            "page": page.page,
            "size": page.size,
            "items": [service.to_dict(kind, o) for o in page.items],
        }

    @router.get(base + "/export", name=f"export_{kind.name}", summary=f"Export {kind.en}")
    def export(
        request: Request,
        format: str = Query("xlsx", pattern="^(xlsx|csv|geojson)$"),
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
    ) -> Response:
        content, media, filename = io.export(session, who, kind, list_params(request, kind), format)
        return Response(
            content,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @router.get(
        base + "/template",
        name=f"template_{kind.name}",
        summary=f"Empty XLSX with the import columns of {kind.en}",
    )
    def template(_who: Principal = Depends(principal)) -> Response:
        return Response(
            io.template(kind),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{kind.plural}-template.xlsx"'},
        )

    @router.post(base + "/import", name=f"import_{kind.name}", summary=f"Import {kind.en}")
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
        report = io.import_file(
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

    @router.get(base + "/{key}", name=f"get_{kind.name}", summary=f"Get one {kind.en}")
    def get(
        key: str,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
    ) -> dict[str, Any]:
        obj = service.get_object(session, who, kind, key)
        return service.to_dict(kind, obj, with_geometry=True)

    @router.post(base, name=f"create_{kind.name}", status_code=201, summary=f"Create {kind.en}")
    def create(
        data: dict[str, Any] = Body(...),
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
        at: datetime = Depends(now),
    ) -> dict[str, Any]:
        obj = service.create_object(session, who, kind, data, at)
        return service.to_dict(kind, obj, with_geometry=True)

    @router.patch(base + "/{key}", name=f"update_{kind.name}", summary=f"Edit {kind.en}")
    def update(
        key: str,
        data: dict[str, Any] = Body(...),
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
        at: datetime = Depends(now),
    ) -> dict[str, Any]:
        obj = service.update_object(session, who, kind, key, data, at)
        return service.to_dict(kind, obj, with_geometry=True)

    @router.post(base + "/{key}/archive", name=f"archive_{kind.name}", summary=f"Archive {kind.en}")
    def archive(
        key: str,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
        at: datetime = Depends(now),
    ) -> dict[str, Any]:
        return service.to_dict(kind, service.archive_object(session, who, kind, key, at))

    @router.post(base + "/{key}/restore", name=f"restore_{kind.name}", summary=f"Restore {kind.en}")
    def restore(
        key: str,
        session: Session = Depends(db, scope="function"),
        who: Principal = Depends(principal),
        at: datetime = Depends(now),
    ) -> dict[str, Any]:
        obj = service.archive_object(session, who, kind, key, at, archived=False)
        return service.to_dict(kind, obj)


for _kind in KINDS.values():
    _register(_kind)


@router.get("/map/layers/{name}", tags=["map"], summary="GeoJSON layer for the one map")
def map_layer(
    name: str,
    division: str | None = None,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    return map_layers.layer(session, who, name, division)
