"""Monitoring demo data: sensors, a day of aggregates, open alarms; a second load does nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from safecity.monitoring import demo
from safecity.monitoring.models import (
    Alarm,
    Reading,
    ReadingHour,
    ReadingMinute,
    Sensor,
    SensorLatest,
)
from safecity.monitoring.telemetry import hash_token
from tests.conftest import NOW


def test_demo_load_is_idempotent(session, city) -> None:
    counts = demo.load(session, NOW)
    session.commit()
    assert counts["sensors"] == demo.COUNT
    assert counts["hourly_aggregates"] == demo.COUNT * 24
    assert session.scalar(select(func.count()).select_from(ReadingHour)) == demo.COUNT * 24
    open_alarms = session.scalar(
        select(func.count()).select_from(Alarm).where(Alarm.open_key.is_not(None))
    )
    assert open_alarms == counts["alarms"] >= 10
    # Every open alarm has its reading in the data: raw row, latest value, minute and hour max.
    for alarm in session.scalars(select(Alarm).where(Alarm.open_key.is_not(None))):
        assert session.get(Reading, (alarm.sensor_id, alarm.first_ts)).value == alarm.value
        assert session.get(SensorLatest, alarm.sensor_id).value == alarm.value
        for model, width in ((ReadingMinute, 60_000), (ReadingHour, 3_600_000)):
            agg = session.get(model, (alarm.sensor_id, alarm.first_ts - alarm.first_ts % width))
            assert alarm.value in (agg.vmin, agg.vmax)  # a spike: above or below the rest
            assert agg.n == (7 if width == 60_000 else 361)  # 6 or 360 simulated, plus this one
    one = session.scalars(select(Sensor).limit(1)).one()
    assert one.token_hash == hash_token(demo.demo_token(one.device_id))
    assert demo.load(session, NOW) == {}
