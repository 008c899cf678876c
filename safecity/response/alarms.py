"""An incident opened from a monitoring alarm in one click: its place, sensor, enterprise and
time carried over; the same alarm never opens two incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from safecity.core.scope import Principal
from safecity.monitoring.alarms import get_alarm
from safecity.monitoring.context import sensor_type
from safecity.response import service as svc
from safecity.response.models import Incident
from safecity.response.schemas import IncidentIn

# Sensor type → the GB/T 35561 type a duty officer starts from (they may change it later).
INCIDENT_TYPE = {
    "gas": "accident_disaster.public_facility",
    "pipe_pressure": "accident_disaster.public_facility",
    "water_pressure": "accident_disaster.public_facility",
    "hydrant_pressure": "accident_disaster.public_facility",
    "bridge_strain": "accident_disaster.public_facility",
    "bridge_deflection": "accident_disaster.public_facility",
    "elevator": "accident_disaster.public_facility",
    "smoke": "accident_disaster.fire",
    "temperature": "accident_disaster.fire",
    "residual_current": "accident_disaster.fire",
    "water_level": "natural_disaster.flood_drought.flood",
    "rainfall": "natural_disaster.flood_drought.flood",
    "crowd": "social_security",
    "vehicle": "accident_disaster.transport.road_traffic",
}


def incident_type(session: Session, alarm: Any) -> str:
    """The incident type an alarm (from monitoring's get_alarm) suggests, by its sensor."""
    return INCIDENT_TYPE.get(sensor_type(session, alarm), "accident_disaster.public_facility")


def incident_from_alarm(
    session: Session, who: Principal, alarm_id: int, now: datetime
) -> tuple[Incident, list[dict[str, Any]], bool]:
    """(incident, duplicates, created): an existing incident of the alarm is returned as is."""
    svc.require(who, "receive")
    alarm = get_alarm(session, who, alarm_id)  # 404 outside scope
    existing = svc.by_alarm(session, who, alarm.id)
    if existing is not None:
        return existing, [], False
    data = IncidentIn(
        title=(alarm.message or f"监测报警 #{alarm.id}")[:200],
        description=f"由监测报警 #{alarm.id} 转为事件：{alarm.message}",
        type_key=incident_type(session, alarm),
        production_safety=False,
        source="alarm",
        source_ref=f"alarm:{alarm.id}",
        alarm_id=alarm.id,
        occurred_at=svc.as_utc(alarm.raised_at),
        reporter_name="城市安全运行监测中心",
        division_code=alarm.division_code,
        lon=alarm.lon,
        lat=alarm.lat,
        enterprise_id=alarm.enterprise_id,
    )
    inc, dups = svc.receive(session, who, data, now)
    inc.sensor_id = alarm.sensor_id
    session.flush()
    return inc, dups, True
