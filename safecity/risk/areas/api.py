"""Four-colour risk map (四色图) and area rule REST API.

Importing this module (the app does, at assembly) subscribes the dynamic-risk handlers to the
event bus, and every app start subscribes them again (idempotent), so alarms and overdue hidden
dangers raise area levels as soon as the app runs; app shutdown makes them inert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy.orm import Session

from safecity.core.apidoc import json_body
from safecity.core.deps import db, now, principal
from safecity.core.errors import invalid
from safecity.core.scope import Principal
from safecity.risk.areas import dynamic, layers
from safecity.risk.areas import explain as area_explain
from safecity.risk.areas import service as area_service
from safecity.risk.areas.schemas import (
    AreaRuleIn,
    AreaRuleSetting,
    ExplainOut,
    HazardMarkersOut,
    RiskMapOut,
)

DB = Annotated[Session, Depends(db, scope="function")]
Who = Annotated[Principal, Depends(principal)]
Now = Annotated[datetime, Depends(now)]


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
) -> RiskMapOut:
    return layers.map_layer(session, who, unit, resolution, _division(division))


@router.get("/map/explain", summary="区域为何是该颜色 / why an area has its colour")
def risk_map_explain(
    session: DB,
    who: Who,
    id: Annotated[str, Query(max_length=64)],
    unit: str = "grid",
    resolution: int | None = None,
) -> ExplainOut:
    return area_explain.explain(session, who, unit, id, resolution)


@router.get("/map/hazards", summary="重大危险源标注 (GeoJSON) / major hazard markers")
def risk_map_hazards(session: DB, who: Who, division: str | None = None) -> HazardMarkersOut:
    return layers.hazard_markers(session, who, _division(division))


# ---------------------------------------------------------------- area rule


@router.get("/area-rule", summary="区域风险等级规则 / the city's area risk rule")
def area_rule(session: DB, who: Who, division: str | None = None) -> AreaRuleSetting:
    return area_service.rule_setting(session, who, _division(division))


@router.put(
    "/area-rule",
    summary="修改区域风险等级规则 / change the city's area risk rule",
    openapi_extra=json_body(AreaRuleIn),
)
def put_area_rule(
    session: DB, who: Who, at: Now, rule: Annotated[Any, Body()], division: str | None = None
) -> AreaRuleSetting:
    return area_service.save_rule(session, who, rule, at, _division(division))
