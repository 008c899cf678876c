"""An alarm in context: what lies around it (protected targets, major hazards, enterprises,
people) with distances, its district's name, and a warning draft prefilled from it."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.scope import Principal
from safecity.core.sql import code_within
from safecity.monitoring.alarms import get_alarm
from safecity.monitoring.catalog import TYPES
from safecity.monitoring.models import Alarm, Sensor
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget

RADIUS_M = 2000  # a gas leak or pipe burst is felt within a street block or two
PER_KIND = 8
KIND_NAMES = {
    "protected_target": ("防护目标", "Protected target"),
    "major_hazard": ("重大危险源", "Major hazard"),
    "enterprise": ("企业", "Enterprise"),
    "grid_cell": ("网格人口", "Grid cell"),
}

# Sensor type → the warning event type a duty officer would start from (CAP <event>).
WARNING_EVENT = {
    "gas": "gas_leak",
    "pipe_pressure": "pipeline",
    "water_pressure": "pipeline",
    "hydrant_pressure": "pipeline",
    "bridge_strain": "bridge",
    "bridge_deflection": "bridge",
    "smoke": "fire",
    "temperature": "fire",
    "residual_current": "fire",
    "water_level": "waterlogging",
    "rainfall": "rainstorm",
    "crowd": "crowd",
    "vehicle": "hazchem_leak",
    "elevator": "other",
}


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance on the mean Earth radius (metres)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def sensor_type(session: Session, alarm: Alarm) -> str:
    if alarm.sensor_id is None:
        return "gas"  # a grid cell's joint alarm comes from its gas detectors
    sensor = session.get(Sensor, alarm.sensor_id)
    return sensor.sensor_type if sensor else ""


def division_name(session: Session, code: str) -> str:
    name = session.scalar(select(Division.name).where(Division.code == code))
    return name or code


def _near(
    session: Session,
    who: Principal,
    model: Any,
    lon: float,
    lat: float,
    radius_m: float,
    *extra: Any,
) -> list[Any]:
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(0.1, math.cos(math.radians(lat))))
    stmt = select(model).where(
        model.lon.between(lon - dlon, lon + dlon),
        model.lat.between(lat - dlat, lat + dlat),
        code_within(model.division_code, who.prefix),
        *extra,
    )
    if hasattr(model, "archived"):
        stmt = stmt.where(model.archived.is_(False))
    return list(session.scalars(stmt))


def nearby(
    session: Session, who: Principal, alarm: Alarm, radius_m: float = RADIUS_M
) -> list[dict[str, Any]]:
    """Objects within radius_m of the alarm, nearest first per kind, inside the viewer's scope."""
    if alarm.lon is None or alarm.lat is None:
        return []
    lon, lat = alarm.lon, alarm.lat
    found: list[dict[str, Any]] = []

    def add(kind: str, rows: list[Any], detail: Any, href: Any) -> None:
        items = []
        for r in rows:
            d = distance_m(lon, lat, r.lon, r.lat)
            if d <= radius_m:
                items.append(
                    {
                        "kind": kind,
                        "id": r.id,
                        "name": r.name,
                        "lon": r.lon,
                        "lat": r.lat,
                        "distance_m": round(d),
                        "detail": detail(r),
                        "href": href(r),
                    }
                )
        found.extend(sorted(items, key=lambda i: i["distance_m"])[:PER_KIND])

    add(
        "protected_target",
        _near(session, who, ProtectedTarget, lon, lat, radius_m),
        lambda r: {"people": r.occupancy or r.capacity or 0, "type": r.target_type},
        lambda r: f"/protected-targets/{r.id}",
    )
    add(
        "major_hazard",
        _major_hazards(session, who, lon, lat, radius_m),
        lambda r: {"level": r.level},
        lambda r: f"/risk/major-hazards/{r.id}",
    )
    add(
        "enterprise",
        _near(session, who, Enterprise, lon, lat, radius_m),
        lambda r: {"hazchem": bool(r.is_hazchem), "people": r.employees or 0},
        lambda r: f"/enterprises/{r.id}",
    )
    add(
        "grid_cell",
        _near(session, who, GridCell, lon, lat, radius_m),
        lambda r: {"people": r.population or 0},
        lambda r: f"/grid-cells/{r.id}",
    )
    return found


def _major_hazards(
    session: Session, who: Principal, lon: float, lat: float, radius_m: float
) -> list[Any]:
    try:
        from safecity.risk.models import MajorHazard  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:  # the risk capability is not installed
        return []
    return _near(session, who, MajorHazard, lon, lat, radius_m)


def people_within(items: list[dict[str, Any]]) -> int:
    """People around the alarm: residents of the grid cells plus those in protected targets."""
    return sum(
        int(i["detail"].get("people") or 0)
        for i in items
        if i["kind"] in ("grid_cell", "protected_target")
    )


def warning_draft_for(session: Session, who: Principal, alarm_id: int) -> dict[str, Any]:
    """warning_draft() for an alarm the drafter can see (404 otherwise)."""
    return warning_draft(session, get_alarm(session, who, alarm_id))


def warning_draft(session: Session, alarm: Alarm) -> dict[str, Any]:
    """Form values for a warning drafted from this alarm (the drafter edits before saving)."""
    stype = sensor_type(session, alarm)
    place = division_name(session, alarm.division_code)
    kind = TYPES[stype].zh if stype in TYPES else ""
    values: dict[str, Any] = {
        "event_type": WARNING_EVENT.get(stype, "other"),
        "level": alarm.level,
        "division_code": alarm.division_code,
        "headline": f"{place}{kind}监测报警：{alarm.message}"[:200],
        "description": f"{alarm.message}（报警 #{alarm.id}）",
        "area_desc": f"{place} 报警点周边 1 公里",
    }
    if alarm.lon is not None and alarm.lat is not None:
        values |= {
            "circle_lon": f"{alarm.lon:.6f}",
            "circle_lat": f"{alarm.lat:.6f}",
            "circle_km": "1",
        }
    return values
