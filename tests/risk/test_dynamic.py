"""Dynamic risk adjustment: alarms and overdue hidden dangers published on the event bus raise
an area's level while they last; clearing restores it; repeated events do not double-raise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safecity.core import events
from safecity.core.events import AlarmCleared, AlarmRaised, HiddenDangerClosed, HiddenDangerOverdue
from safecity.core.models import AuditEntry
from safecity.core.scope import Principal
from safecity.risk.areas import dynamic, layers
from safecity.risk.areas import explain as area_explain
from safecity.risk.models import RiskSignal
from tests.conftest import login
from tests.factories import NOW
from tests.risk.area_seed import seed_areas

ADMIN = Principal(user_id=1, username="admin", role="admin", division_code="370600")
# Inside the 莱山区 grid cell (10 blue points: score 3.0 → yellow).
LS_LON, LS_LAT = 121.435, 37.365


@pytest.fixture
def bus(engine, session: Session, city: dict) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    seeded = seed_areas(session, city)
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    @contextmanager
    def scope() -> Iterator[Session]:
        s = factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    dynamic.register(scope)
    yield seeded
    dynamic.unregister()


def grid_levels(session: Session) -> dict[str, str]:
    session.expire_all()
    fc = layers.map_layer(session, ADMIN, "grid")
    return {f["properties"]["name"]: f["properties"]["level"] for f in fc["features"]}


def laishan(session: Session) -> str:
    return grid_levels(session)["莱山区第0001网格"]


def alarm(ref: str, level: str, minutes: int = 0, **where: object) -> AlarmRaised:
    place = where or {"lon": LS_LON, "lat": LS_LAT}
    return AlarmRaised(
        occurred_at=NOW + timedelta(minutes=minutes),
        alarm_id=ref,
        level=level,
        division_code="370613",
        **place,
    )  # type: ignore[arg-type]


def test_red_alarm_raises_and_clearing_restores(session: Session, bus: dict) -> None:
    assert laishan(session) == "yellow"
    events.publish(alarm("GAS-1", "red"))
    assert laishan(session) == "orange"
    assert grid_levels(session)["芝罘区第0001网格"] == "orange"  # the other cell is untouched
    events.publish(AlarmCleared(occurred_at=NOW + timedelta(minutes=5), alarm_id="GAS-1"))
    assert laishan(session) == "yellow"
    signal = session.scalars(select(RiskSignal)).one()
    assert signal.active is False and signal.cleared_at is not None


def test_duplicate_events_do_not_double_raise(session: Session, bus: dict) -> None:
    for _ in range(3):
        events.publish(alarm("GAS-1", "red"))
    assert session.scalars(select(RiskSignal)).all().__len__() == 1
    assert laishan(session) == "orange"
    # a second red alarm in the same cell: signals combine by the largest step, not the sum
    events.publish(alarm("GAS-2", "red", 1))
    assert laishan(session) == "orange"
    # clearing one leaves the other raising the cell
    events.publish(AlarmCleared(occurred_at=NOW + timedelta(minutes=2), alarm_id="GAS-1"))
    assert laishan(session) == "orange"
    events.publish(AlarmCleared(occurred_at=NOW + timedelta(minutes=3), alarm_id="GAS-2"))
    assert laishan(session) == "yellow"


def test_late_copy_after_clearing_is_ignored(session: Session, bus: dict) -> None:
    events.publish(alarm("GAS-1", "red"))
    events.publish(AlarmCleared(occurred_at=NOW + timedelta(minutes=5), alarm_id="GAS-1"))
    events.publish(alarm("GAS-1", "red"))  # the raise, delivered again late (older than clear)
    assert laishan(session) == "yellow"
    events.publish(alarm("GAS-1", "red", 10))  # the same alarm raised again later: counts
    assert laishan(session) == "orange"


def test_orange_alarm_is_recorded_but_does_not_raise_until_it_escalates(
    session: Session, bus: dict
) -> None:
    events.publish(alarm("WATER-1", "orange"))
    assert laishan(session) == "yellow"
    signal = session.scalars(select(RiskSignal)).one()
    assert (signal.severity, signal.raise_steps, signal.active) == ("orange", 0, True)
    events.publish(alarm("WATER-1", "red", 1))  # escalation updates the same signal
    assert laishan(session) == "orange"
    session.expire_all()
    signal = session.scalars(select(RiskSignal)).one()
    assert (signal.severity, signal.raise_steps) == ("red", 1)
    events.publish(alarm("WATER-1", "orange", 2))  # a downgrade notice does not lower it
    session.expire_all()
    assert session.scalars(select(RiskSignal)).one().severity == "red"


def test_overdue_major_hidden_danger_raises_general_does_not(session: Session, bus: dict) -> None:
    def overdue(ref: str, grade: str) -> HiddenDangerOverdue:
        return HiddenDangerOverdue(
            occurred_at=NOW,
            hidden_danger_id=ref,
            grade=grade,
            division_code="370613",
            lon=LS_LON,
            lat=LS_LAT,
        )

    events.publish(overdue("HD-9", "general"))
    assert laishan(session) == "yellow"
    events.publish(overdue("HD-7", "major"))
    events.publish(overdue("HD-7", "major"))
    assert laishan(session) == "orange"
    events.publish(HiddenDangerClosed(occurred_at=NOW + timedelta(days=1), hidden_danger_id="HD-7"))
    assert laishan(session) == "yellow"


def test_signal_placed_by_grid_cell_or_enterprise(session: Session, bus: dict) -> None:
    # By grid cell id, without coordinates
    events.publish(alarm("A-1", "red", lon=None, lat=None, grid_cell_id=bus["laishan_cell"]))
    assert laishan(session) == "orange"
    # By enterprise: 测试企业1 is at 121.4, 37.5 (no grid cell there), in 芝罘区's district
    events.publish(
        AlarmRaised(
            occurred_at=NOW,
            alarm_id="A-2",
            level="red",
            division_code="370602",
            enterprise_id=bus["enterprises"][0].id,
        )
    )
    session.expire_all()
    sig = session.scalars(select(RiskSignal).where(RiskSignal.source_ref == "A-2")).one()
    assert (sig.lon, sig.lat) == (121.4, 37.5)
    district = layers.map_layer(session, ADMIN, "district")
    assert {f["id"]: f["properties"]["signals"] for f in district["features"]} == {
        "370602": 1,
        "370613": 1,
    }


def test_explanation_shows_the_signal_and_audit_has_it(session: Session, bus: dict) -> None:
    events.publish(alarm("GAS-1", "red"))
    session.expire_all()
    e = area_explain.explain(session, ADMIN, "grid", str(bus["laishan_cell"]))
    assert (e["base_level"], e["raise_steps"], e["level"]) == ("yellow", 1, "orange")
    assert [(s["source"], s["source_ref"], s["severity"]) for s in e["signals"]] == [
        ("alarm", "GAS-1", "red")
    ]
    assert "动态信号上调 1 级" in e["summary_zh"]
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_type == "risk_signal")
    ).all()
    assert actions == ["risk_signal.raise"]


def test_unregistered_handlers_are_inert(session: Session, bus: dict) -> None:
    dynamic.unregister()
    events.publish(alarm("GAS-1", "red"))
    assert session.scalars(select(RiskSignal)).all() == []


def test_the_running_app_consumes_events(client, session: Session, city: dict) -> None:  # type: ignore[no-untyped-def]
    # No explicit registration here: the app subscribed the handlers when it started.
    seed_areas(session, city)
    h = login(client, "laishan")

    def level() -> str:
        fc = client.get("/api/v1/risk/map?unit=grid", headers=h).json()
        return fc["features"][0]["properties"]["level"]

    assert level() == "yellow"
    events.publish(alarm("APP-1", "red"))
    assert level() == "orange"
    events.publish(AlarmCleared(occurred_at=NOW + timedelta(hours=1), alarm_id="APP-1"))
    assert level() == "yellow"
