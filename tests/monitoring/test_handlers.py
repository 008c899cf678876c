"""Ingestion processes run the event handlers: a red alarm raised there raises area risk and
drafts a warning, exactly as it does in the web app."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import events
from safecity.core.db import reset_engine
from safecity.monitoring import runners
from safecity.monitoring.models import Alarm
from safecity.plugins import register_handlers
from safecity.risk.areas import dynamic
from safecity.risk.models import RiskSignal
from safecity.warnings import alarms as warning_alarms
from safecity.warnings.models import Warning
from tests.monitoring.conftest import T0_MS, token_of

NOW = datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)


@pytest.fixture
def fresh_process(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The bus as a newly started `safecity ingest` process sees it: nothing subscribed."""
    monkeypatch.setattr(events, "_handlers", defaultdict(list))
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    factory = dynamic._state["factory"]
    reset_engine()
    yield
    warning_alarms.drain(20)
    dynamic._state["factory"] = factory
    reset_engine()


def test_red_gas_alarm_in_an_ingestion_process_raises_risk_and_drafts_a_warning(
    engine, sensors, database_url, fresh_process
) -> None:
    pipe = runners._pipeline(database_url)  # what `safecity mqtt` / `safecity ingest` build
    body = json.dumps({"token": token_of("GAS-0001"), "ts": T0_MS, "value": 60.0}).encode()
    result = pipe.process([("GAS-0001", body)], "mqtt", now=NOW)
    assert result.inserted == 1
    assert pipe.drain_events(20)  # the alarm's handlers run on the hand-off thread
    assert warning_alarms.drain(20)
    with Session(engine) as s:
        alarm = s.scalars(select(Alarm)).one()
        assert alarm.level == "red"
        drafts = s.scalars(select(Warning).where(Warning.alarm_id == str(alarm.id))).all()
        signals = s.scalars(
            select(RiskSignal).where(
                RiskSignal.source == "alarm", RiskSignal.source_ref == str(alarm.id)
            )
        ).all()
    assert [(w.status, w.level, w.auto) for w in drafts] == [("draft", "red", True)]
    assert [(r.severity, r.active, r.division_code) for r in signals] == [("red", True, "370602")]


def test_registering_twice_subscribes_each_handler_once(fresh_process) -> None:
    register_handlers()
    register_handlers()
    raised = events._handlers[events.AlarmRaised]
    assert len(raised) == len(set(raised)) == 2
    assert warning_alarms.on_alarm_raised in raised
