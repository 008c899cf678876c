"""Four lists (四张清单) REST API: the lists with their totals, one list filtered, XLSX export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from safecity.core.deps import db, now, principal
from safecity.core.errors import invalid
from safecity.core.scope import Principal
from safecity.risk.lists import service as lists
from safecity.risk.lists.schemas import FourListOut, ListIndexOut

DB = Annotated[Session, Depends(db, scope="function")]
Who = Annotated[Principal, Depends(principal)]
Now = Annotated[datetime, Depends(now)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PAGE_SIZE = 500


router = APIRouter(prefix="/api/v1/risk", tags=["risk"])


def _division(value: str | None) -> str | None:
    value = (value or "").strip() or None
    if value is not None and (not value.isdigit() or len(value) > 12):
        raise invalid("division", "行政区划：应为数字代码", "division: a numeric division code")
    return value


# ---------------------------------------------------------------- four lists


@router.get("/lists", summary="四张清单概览 / the four lists with their totals")
def four_lists(session: DB, who: Who) -> ListIndexOut:
    return {"lists": lists.overview(session, who)}


@router.get(
    "/lists/{name}",
    summary="清单内容或 XLSX 导出 / one list, or its XLSX export",
    response_model=FourListOut,
    responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
)
def four_list(
    name: str,
    session: DB,
    who: Who,
    division: str | None = None,
    industry: Annotated[str | None, Query(max_length=8)] = None,
    level: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[str | None, Query(max_length=8)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    format: Annotated[str, Query(pattern="^(json|xlsx)$")] = "json",
) -> Any:
    filters = lists.filters_from(_division(division), industry, level, kind)
    result = lists.get_list(session, who, name, filters)
    if format == "xlsx":
        return xlsx_response(result)
    body = result.as_dict()
    body.update(
        total=len(result.rows), page=page, size=size, rows=lists.page_rows(result.rows, page, size)
    )
    return body


def xlsx_response(result: lists.FourList) -> Response:
    zh = f"{result.title[0]}.xlsx"
    fallback = f"{result.name}.xlsx"
    return Response(
        lists.export_xlsx(result),
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(zh)}",
            "Cache-Control": "no-store",
        },
    )
