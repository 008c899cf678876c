"""An alarm in context: what lies around it (protected targets, major hazards, enterprises,
people) with distances, its district's name, and a warning draft prefilled from it."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.kinds_service import scope_clause as kind_scope
from safecity.core.scope import Principal
from safecity.core.sql import code_within
from safecity.monitoring import alarms as alarm_service
from safecity.monitoring.alarms import get_alarm
from safecity.monitoring.catalog import TYPES
from safecity.monitoring.kinds import SENSOR, reading_text
from safecity.monitoring.models import Alarm, Sensor, SensorLatest
from safecity.monitoring.pipeline import current_rules
from safecity.monitoring.rules import LEVEL_NUM, LEVEL_ZH, RULE_EN, RULE_ZH, effective_rule
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
        from safecity.risk.major_hazards.service import hazards_near  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:  # the risk capability is not installed
        return []
    return hazards_near(session, who, lon, lat, radius_m)


SENSORS_SHOWN = 20  # the nearest; the count says how many more lie inside the ring
ALARMS_SHOWN = 30
OPEN_ALARM = tuple(k for k in alarm_service.STATUSES if k not in alarm_service.CLOSED)
SENSOR_STATES = {
    "alarm": ("报警", "in alarm"),
    "offline": ("离线", "offline"),
    "no_data": ("无数据", "no data"),
    "maintenance": ("维护中", "maintenance"),
    "disabled": ("停用", "disabled"),
    "normal": ("正常", "normal"),
}


def _box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(0.1, math.cos(math.radians(lat))))
    return lon - dlon, lon + dlon, lat - dlat, lat + dlat


def _sensor_rows(
    session: Session, who: Principal, lon: float, lat: float, radius_m: float
) -> list[tuple[Any, ...]]:
    """Sensors registered inside the box, and moving ones (vehicles) whose last reported
    position is inside it, each with its newest reading; the viewer's scope applies."""
    x0, x1, y0, y1 = _box(lon, lat, radius_m)
    cols = (
        Sensor.id,
        Sensor.name,
        Sensor.sensor_type,
        Sensor.status,
        Sensor.rule_override,
        Sensor.lon,
        Sensor.lat,
        SensorLatest.ts,
        SensorLatest.value,
        SensorLatest.lon,
        SensorLatest.lat,
    )
    alive = (kind_scope(SENSOR, who), Sensor.archived.is_(False))
    fixed = (
        select(*cols)
        .outerjoin(SensorLatest, SensorLatest.sensor_id == Sensor.id)
        .where(Sensor.lon.between(x0, x1), Sensor.lat.between(y0, y1), *alive)
    )
    moving = (
        select(*cols)
        .join(SensorLatest, SensorLatest.sensor_id == Sensor.id)
        .where(
            Sensor.sensor_type == "vehicle",
            SensorLatest.lon.between(x0, x1),
            SensorLatest.lat.between(y0, y1),
            *alive,
        )
    )
    rows = {r[0]: tuple(r) for r in session.execute(fixed)}
    rows.update({r[0]: tuple(r) for r in session.execute(moving)})
    return list(rows.values())


def _iso_ms(ts: int | None) -> str | None:
    return datetime.fromtimestamp(ts / 1000, UTC).isoformat() if ts is not None else None


def monitoring_near(
    session: Session,
    who: Principal,
    lon: float,
    lat: float,
    radius_m: float,
    now: datetime,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Sensors (latest value and state; a vehicle where it last reported) and open alarms
    (level, status) within radius_m of a point, nearest first, inside the viewer's scope.

    Returns the items (at most SENSORS_SHOWN sensors and ALARMS_SHOWN alarms, in the shape
    of nearby()) and how many of each lie inside the ring in all."""
    now_ms = int(now.timestamp() * 1000)
    x0, x1, y0, y1 = _box(lon, lat, radius_m)
    alarms = list(
        session.scalars(
            select(Alarm).where(
                Alarm.status.in_(OPEN_ALARM),
                Alarm.lon.between(x0, x1),
                Alarm.lat.between(y0, y1),
                alarm_service.scope_clause(who),
            )
        )
    )
    alarm_items = []
    worst: dict[int, str] = {}
    for a in alarms:
        d = distance_m(lon, lat, a.lon, a.lat)  # type: ignore[arg-type]
        if d > radius_m:
            continue
        if a.sensor_id is not None and LEVEL_NUM.get(a.level, 0) > LEVEL_NUM.get(
            worst.get(a.sensor_id, "none"), 0
        ):
            worst[a.sensor_id] = a.level
        zh_status, en_status = alarm_service.STATUSES.get(a.status, (a.status, a.status))
        alarm_items.append(
            {
                "kind": "alarm",
                "id": a.id,
                "name": a.message or f"报警 #{a.id}",
                "lon": a.lon,
                "lat": a.lat,
                "distance_m": round(d),
                "detail": {
                    "level": a.level,
                    "level_zh": LEVEL_ZH.get(a.level, a.level),
                    "status": a.status,
                    "status_zh": zh_status,
                    "status_en": en_status,
                    "rule_zh": RULE_ZH.get(a.rule, a.rule),
                    "rule_en": RULE_EN.get(a.rule, a.rule),
                    "message_en": a.message_en,
                    "sensor_id": a.sensor_id,
                    "raised_at": a.raised_at.isoformat() if a.raised_at else None,
                },
                "href": f"/monitoring/alarms/{a.id}",
            }
        )
    alarm_items.sort(key=lambda i: (-LEVEL_NUM.get(i["detail"]["level"], 0), i["distance_m"]))

    _version, rule_set = current_rules(session)
    sensor_items = []
    for sid, name, stype, status, override, slon, slat, ts, value, llon, llat in _sensor_rows(
        session, who, lon, lat, radius_m
    ):
        moving = stype == "vehicle" and llon is not None and llat is not None
        x, y = (llon, llat) if moving else (slon, slat)
        if x is None or y is None:
            continue
        d = distance_m(lon, lat, x, y)
        if d > radius_m:
            continue
        age_s = max(0, (now_ms - ts) // 1000) if ts is not None else None
        offline_s = effective_rule(rule_set, stype, override).get("offline_s")
        if sid in worst:
            state = "alarm"
        elif status != "active":
            state = status if status in SENSOR_STATES else "disabled"
        elif age_s is None:
            state = "no_data"
        elif offline_s and age_s > offline_s:
            state = "offline"
        else:
            state = "normal"
        t = TYPES.get(stype)
        shown = reading_text(value, t.unit if t else "")
        sensor_items.append(
            {
                "kind": "sensor",
                "id": sid,
                "name": name,
                "lon": x,
                "lat": y,
                "distance_m": round(d),
                "detail": {
                    "type": stype,
                    "type_zh": t.zh if t else stype,
                    "type_en": t.en if t else stype,
                    "value": value,
                    "reading_zh": shown[0] if shown else None,
                    "reading_en": shown[1] if shown else None,
                    "at": _iso_ms(ts),
                    "age_s": age_s,
                    "state": state,
                    "state_zh": SENSOR_STATES[state][0],
                    "state_en": SENSOR_STATES[state][1],
                    "level": worst.get(sid),
                    "moving": moving,
                },
                "href": f"/monitoring/sensors/{sid}",
            }
        )
    sensor_items.sort(key=lambda i: i["distance_m"])
    counts = {"sensor": len(sensor_items), "alarm": len(alarm_items)}
    return alarm_items[:ALARMS_SHOWN] + sensor_items[:SENSORS_SHOWN], counts


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
