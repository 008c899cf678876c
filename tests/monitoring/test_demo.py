"""Monitoring demo data: sensors, a day of aggregates, open alarms; a second load does nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from safecity.monitoring import demo
from safecity.monitoring.models import Alarm, ReadingHour, Sensor
from safecity.monitoring.telemetry import hash_token
from tests.conftest import NOW


def test_demo_load_is_idempotent(session, city) -> None:
    counts = demo.load(session, NOW)
    session.commit()
    assert counts["sensors"] == demo.COUNT
    assert counts["hourly_aggregates"] == demo.COUNT * 24
    assert session.scalar(select(func.count()).select_from(ReadingHour)) == demo.COUNT * 24
    open_alarms = session.scalar(select(func.count()).select_from(Alarm)
                                 .where(Alarm.open_key.is_not(None)))
    assert open_alarms == counts["alarms"] >= 10
    one = session.scalars(select(Sensor).limit(1)).one()
    assert one.token_hash == hash_token(demo.demo_token(one.device_id))
    assert demo.load(session, NOW) == {}
