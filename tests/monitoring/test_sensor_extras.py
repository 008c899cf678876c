"""The sensor list's and map layer's latest readings and open-alarm counts: the same answer read
by IN (…) for a few sensors and read whole for more than one IN holds."""

from __future__ import annotations

import pytest

from safecity.monitoring import kinds
from safecity.monitoring.models import Alarm, SensorLatest
from tests.conftest import NOW


def _alarm(sensor_id: int, rule: str, open_: bool) -> Alarm:
    return Alarm(
        open_key=f"{sensor_id}:{rule}" if open_ else None,
        sensor_id=sensor_id,
        division_code="370602",
        rule=rule,
        level="red",
        peak_level="red",
        first_ts=1,
        last_ts=2,
        raised_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize("chunk", [500, 2])  # a few ids / more than one IN (…) holds
def test_latest_and_open_alarms_by_either_path(session, monkeypatch, chunk: int) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(kinds, "_CHUNK", chunk)
    session.add_all(
        [
            SensorLatest(sensor_id=1, ts=100, value=1.5, lon=121.4, lat=37.5),
            SensorLatest(sensor_id=2, ts=200, value=0.0, lon=None, lat=None),
            SensorLatest(sensor_id=9, ts=300, value=7.0, lon=121.5, lat=37.6),  # not asked for
            _alarm(1, "high", True),
            _alarm(1, "rate", True),
            _alarm(2, "high", False),  # closed: not counted
            _alarm(9, "high", True),  # not asked for
        ]
    )
    session.commit()
    ids = [1, 2, 3]
    latest = kinds.latest_of(session, ids)
    assert {k: (r.ts, r.value, r.lon, r.lat) for k, r in latest.items()} == {
        1: (100, 1.5, 121.4, 37.5),
        2: (200, 0.0, None, None),
    }
    assert kinds._open_alarms(session, ids) == {1: 2}
    assert kinds.latest_of(session, []) == {} and kinds._open_alarms(session, []) == {}
