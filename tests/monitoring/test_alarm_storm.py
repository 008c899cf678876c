"""Alarm storms: offline defaults per sensor type, and instrument alarms kept off district colours."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import events
from safecity.monitoring import alarms
from safecity.monitoring.catalog import DEFAULT_RULES
from safecity.monitoring.rules import OFFLINE_LEVEL, Transition
from safecity.risk.models import RiskSignal
from tests.factories import NOW
from tests.risk.test_dynamic import LS_LAT, LS_LON, bus, laishan  # noqa: F401


def test_parked_hazmat_vehicles_are_not_offline_alarms() -> None:
    assert not DEFAULT_RULES["vehicle"]["offline_s"]  # off duty = terminal off, not a fault
    # Field sensors that should never fall silent keep a short window.
    assert DEFAULT_RULES["gas"]["offline_s"] <= 900
    assert DEFAULT_RULES["rainfall"]["offline_s"] >= 3600  # dry hours: heartbeat only


def test_offline_alarm_event_names_its_rule() -> None:
    info = alarms.SensorInfo(1, "危化品车辆1", "gas", "370613", None, None, LS_LON, LS_LAT)

    class FakeSession:
        def scalars(self, _stmt):  # type: ignore[no-untyped-def]
            return []

        def add(self, alarm):  # type: ignore[no-untyped-def]
            alarm.id = 7

        def flush(self) -> None:
            pass

        def add_all(self, _rows):  # type: ignore[no-untyped-def]
            pass

    t = Transition(1, "offline", OFFLINE_LEVEL, 1_000, None)
    out = alarms.apply_transitions(FakeSession(), [t], {1: info}, {}, NOW)  # type: ignore[arg-type]
    assert [(type(e).__name__, e.rule) for e in out] == [("AlarmRaised", "offline")]


def test_instrument_alarms_do_not_raise_district_colours(session: Session, bus: dict) -> None:  # noqa: F811
    assert laishan(session) == "yellow"
    for i in range(5):  # a storm of red offline / stuck alarms in the cell
        events.publish(
            events.AlarmRaised(
                NOW + timedelta(seconds=i),
                f"OFF-{i}",
                "red",
                "370613",
                LS_LON,
                LS_LAT,
                rule="offline",
            )
        )
    events.publish(
        events.AlarmRaised(NOW, "STUCK-1", "red", "370613", LS_LON, LS_LAT, rule="stuck")
    )
    assert laishan(session) == "yellow"
    assert session.scalars(select(RiskSignal)).all() == []
    events.publish(
        events.AlarmRaised(NOW, "GAS-1", "red", "370613", LS_LON, LS_LAT, rule="threshold")
    )
    assert laishan(session) == "orange"  # a real hazard still raises it
