"""Monitoring use cases beyond the sensor kind's generic ones (safecity.monitoring.kinds):
a sensor's device token and alarm settings, and the versioned alarm rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.core import kinds_service as kinds
from safecity.core.errors import FieldError, Forbidden, Invalid
from safecity.core.scope import Principal
from safecity.monitoring import rules
from safecity.monitoring.catalog import TYPES
from safecity.monitoring.kinds import SENSOR
from safecity.monitoring.models import Alarm, Reading, RuleVersion, Sensor, SensorLatest
from safecity.monitoring.telemetry import hash_token, new_token

RULE_EDITORS = frozenset({"admin", "risk_analyst"})


def get_sensor(session: Session, principal: Principal, sensor_id: int | str) -> Sensor:
    """One sensor the caller may see (404 otherwise, as for every kind)."""
    sensor: Sensor = kinds.get_object(session, principal, SENSOR, sensor_id)
    return sensor


def online_by_type(
    session: Session, principal: Principal, now: datetime, minutes: int
) -> list[dict[str, Any]]:
    """Active sensors the caller may see, by type (most first): how many, and how many
    reported within ``minutes`` (the city's vital signs)."""
    since_ms = int((now - timedelta(minutes=minutes)).timestamp() * 1000)
    online = func.sum(case((SensorLatest.ts >= since_ms, 1), else_=0))
    stmt = (
        select(Sensor.sensor_type, func.count(Sensor.id), online)
        .outerjoin(SensorLatest, SensorLatest.sensor_id == Sensor.id)
        .where(
            kinds.scope_clause(SENSOR, principal),
            Sensor.archived.is_(False),
            Sensor.status == "active",
        )
        .group_by(Sensor.sensor_type)
    )
    out = []
    for kind, total, up in session.execute(stmt):
        t = TYPES.get(kind)
        out.append(
            {
                "type": kind,
                "zh": t.zh if t else kind,
                "en": t.en if t else kind,
                "total": int(total),
                "online": int(up or 0),
            }
        )
    return sorted(out, key=lambda r: -r["total"])


def sensors_by_device(
    session: Session, principal: Principal, device_ids: list[str]
) -> dict[str, int]:
    """device id → sensor id, for the devices registered here that the caller may see (a
    vehicle's tracker terminal named by another capability, e.g. a rescue team's equipment)."""
    wanted = [d for d in dict.fromkeys(device_ids) if d]
    if not wanted:
        return {}
    stmt = select(Sensor.device_id, Sensor.id).where(
        Sensor.device_id.in_(wanted),
        kinds.scope_clause(SENSOR, principal),
        Sensor.archived.is_(False),
    )
    return {device: sid for device, sid in session.execute(stmt)}


def last_positions(
    session: Session, principal: Principal, sensor_ids: list[int], now: datetime
) -> dict[int, dict[str, Any]]:
    """Where each tracker (a sensor that reports a position, e.g. a vehicle) last reported,
    when, and how long ago; only sensors the caller may see and that ever sent a position."""
    ids = [i for i in dict.fromkeys(sensor_ids) if i is not None]
    if not ids:
        return {}
    rows = session.execute(
        select(Sensor.id, Sensor.device_id, Sensor.name, SensorLatest)
        .join(SensorLatest, SensorLatest.sensor_id == Sensor.id)
        .where(Sensor.id.in_(ids), kinds.scope_clause(SENSOR, principal))
    ).all()
    now_ms = int(now.timestamp() * 1000)
    out: dict[int, dict[str, Any]] = {}
    for sid, device, name, latest in rows:
        ts, lon, lat = latest.ts, latest.lon, latest.lat
        if lon is None or lat is None:
            # the newest reading came without a fix: the last one that had one
            found = session.execute(
                select(Reading.ts, Reading.lon, Reading.lat)
                .where(Reading.sensor_id == sid, Reading.lon.is_not(None), Reading.lat.is_not(None))
                .order_by(Reading.ts.desc())
                .limit(1)
            ).first()
            if found is None:
                continue
            ts, lon, lat = found
        out[sid] = {
            "sensor_id": sid,
            "device_id": device,
            "name": name,
            "lon": lon,
            "lat": lat,
            "ts": ts,
            "at": datetime.fromtimestamp(ts / 1000, UTC).isoformat(),
            "age_s": max(0, (now_ms - ts) // 1000),
        }
    return out


def _writable(session: Session, principal: Principal, sensor_id: int | str) -> Sensor:
    sensor = get_sensor(session, principal, sensor_id)
    values = {f: getattr(sensor, f) for f in SENSOR.schema.model_fields}
    kinds.check_write(principal, SENSOR, values, sensor, session)
    return sensor


def rotate_token(session: Session, principal: Principal, sensor_id: int, now: datetime) -> str:
    """A new device credential (shown once); the old one stops working at once."""
    sensor = _writable(session, principal, sensor_id)
    token = new_token()
    sensor.token_hash = hash_token(token)
    sensor.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="rotate_token",
        object_type=SENSOR.name,
        object_id=sensor.id,
        before=None,
        after={"device_id": sensor.device_id},
        now=now,
    )
    return token


def _check_route(route: Any) -> None:
    if not (
        isinstance(route, dict)
        and route.get("type") == "LineString"
        and rules.corridor_polygon(route, 10) is not None
    ):
        raise Invalid(
            [
                FieldError(
                    "route",
                    "路线：应为 GeoJSON LineString",
                    "route: must be a GeoJSON LineString",
                )
            ]
        )


def set_alarm_settings(
    session: Session,
    principal: Principal,
    sensor_id: int,
    patch: dict[str, Any],
    now: datetime,
) -> Sensor:
    """Change a sensor's own rule override and/or route (only the keys given; null clears)."""
    sensor = _writable(session, principal, sensor_id)
    if patch.get("rule_override") is not None:
        errors = rules.validate_rule(patch["rule_override"], "rule_override")
        if errors:
            raise Invalid(errors)
    if patch.get("route") is not None:
        _check_route(patch["route"])
    before = {"rule_override": sensor.rule_override, "route": sensor.route}
    for name in ("rule_override", "route"):
        if name in patch:
            setattr(sensor, name, patch[name])
    sensor.updated_at = now  # the pipeline reloads sensors when this moves
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="alarm_settings",
        object_type=SENSOR.name,
        object_id=sensor.id,
        before=before,
        after={"rule_override": sensor.rule_override, "route": sensor.route},
        now=now,
    )
    return sensor


# ---------------------------------------------------------------------------------------------
# Rules: versioned, validated, edited by analysts
# ---------------------------------------------------------------------------------------------


def save_rules(
    session: Session, principal: Principal, definition: Any, note: str, now: datetime
) -> RuleVersion:
    if principal.role not in RULE_EDITORS:
        raise Forbidden("只有风险管理员可以修改报警规则", "only risk analysts may edit alarm rules")
    errors = rules.validate_rule_set(definition)
    if errors:
        raise Invalid(errors)
    latest = session.scalar(select(func.max(RuleVersion.version))) or 0
    version = RuleVersion(
        version=latest + 1,
        definition=definition,
        author=principal.username,
        note=note[:1000],
        created_at=now,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="update",
        object_type="alarm_rules",
        object_id=version.version,
        before=None,
        after=definition,
        now=now,
    )
    return version


def rule_versions(session: Session) -> list[RuleVersion]:
    return list(session.scalars(select(RuleVersion).order_by(RuleVersion.version.desc()).limit(50)))


def alarm_peak_level(session: Session, alarm_id: int) -> str | None:
    """The highest level an alarm reached (an incident opened from it is graded with it); not
    scoped: the caller holds the alarm's id from an object it may see."""
    return session.scalar(select(Alarm.peak_level).where(Alarm.id == alarm_id))
