"""Four lists (四张清单), four-colour map (四色图) and area rule REST API.

Importing this module (the app does, at assembly) subscribes the dynamic-risk handlers to the
event bus, and every app start subscribes them again (idempotent), so alarms and overdue hidden
dangers raise area levels as soon as the app runs; app shutdown makes them inert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from safecity.core.deps import db, now, principal
from safecity.core.errors import invalid
from safecity.core.scope import Principal
from safecity.risk import dynamic, lists, riskmap

DB = Annotated[Session, Depends(db, scope="function")]
Who = Annotated[Principal, Depends(principal)]
Now = Annotated[datetime, Depends(now)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PAGE_SIZE = 500


def register_handlers() -> None:
    """Subscribe the dynamic-risk handlers (AlarmRaised … HiddenDangerClosed) to the bus."""
    dynamic.register()


# Unsubscribed (made inert) when the app stops, so a stopped app's database is never written.
router = APIRouter(
    prefix="/api/v1/risk",
    tags=["risk"],
    on_startup=[register_handlers],
    on_shutdown=[dynamic.unregister],
)
register_handlers()


def _division(value: str | None) -> str | None:
    value = (value or "").strip() or None
    if value is not None and (not value.isdigit() or len(value) > 12):
        raise invalid("division", "行政区划：应为数字代码", "division: a numeric division code")
    return value


# ---------------------------------------------------------------- four-colour map


@router.get("/map", summary="四色风险图图层 (GeoJSON) / four-colour risk map layer")
def risk_map(
    session: DB,
    who: Who,
    unit: Annotated[str, Query(description="grid | street | district | h3")] = "grid",
    resolution: Annotated[int | None, Query(description="H3 分辨率 4–10")] = None,
    division: Annotated[str | None, Query(description="行政区划代码")] = None,
) -> dict[str, Any]:
    return riskmap.map_layer(session, who, unit, resolution, _division(division))


@router.get("/map/explain", summary="区域为何是该颜色 / why an area has its colour")
def risk_map_explain(
    session: DB,
    who: Who,
    id: Annotated[str, Query(max_length=64)],
    unit: str = "grid",
    resolution: int | None = None,
) -> dict[str, Any]:
    return riskmap.explain(session, who, unit, id, resolution)


@router.get("/map/hazards", summary="重大危险源标注 (GeoJSON) / major hazard markers")
def risk_map_hazards(session: DB, who: Who, division: str | None = None) -> dict[str, Any]:
    return riskmap.hazard_markers(session, who, _division(division))


# ---------------------------------------------------------------- area rule


@router.get("/area-rule", summary="区域风险等级规则 / the city's area risk rule")
def area_rule(session: DB, who: Who, division: str | None = None) -> dict[str, Any]:
    return riskmap.rule_setting(session, who, _division(division))


@router.put("/area-rule", summary="修改区域风险等级规则 / change the city's area risk rule")
def put_area_rule(
    session: DB, who: Who, at: Now, rule: Annotated[Any, Body()], division: str | None = None
) -> dict[str, Any]:
    return riskmap.save_rule(session, who, rule, at, _division(division))


# ---------------------------------------------------------------- four lists


@router.get("/lists", summary="四张清单概览 / the four lists with their totals")
def four_lists(session: DB, who: Who) -> dict[str, Any]:
    return {"lists": lists.overview(session, who)}


@router.get(
    "/lists/{name}",
    summary="清单内容或 XLSX 导出 / one list, or its XLSX export",
    responses={200: {"content": {XLSX: {}}}},
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
