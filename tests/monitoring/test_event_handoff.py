"""Alarm event handlers run off the ingestion thread: a storm of alarms does not hold the readings
behind it, the hand-off is bounded, failing handlers are retried alone, and events a crashed
process had not handled come back from the alarms table."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core import events
from safecity.monitoring.handoff import Handoff
from safecity.monitoring.models import Alarm, Reading
from safecity.monitoring.pipeline import Pipeline
from tests.monitoring.conftest import T0_MS, make_sensors, msg

NOW = datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)
STORM = 12  # gas sensors crossing the red threshold in one batch


class Gate:
    """An event handler that blocks on a gate; calls made on the caller's own thread (i.e.
    inside the ingestion batch) are recorded instead, so an inline hand-off fails at once."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.ingestion = threading.current_thread()
        self.inline: list[events.Event] = []
        self.entered = 0
        self.seen: list[events.Event] = []

    def __call__(self, event: events.Event) -> None:
        if threading.current_thread() is self.ingestion:
            self.inline.append(event)
            return
        self.entered += 1
        assert self.open.wait(60), "gate never opened"
        self.seen.append(event)


def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    """Polls a condition; the bound only keeps a broken build from hanging the suite."""
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what() if callable(what) else what}"
        time.sleep(0.01)


def storm(pipe: Pipeline, ts: int, value: float) -> int:
    return pipe.process(
        [msg(f"STORM-{i:04d}", ts, value) for i in range(1, STORM + 1)], "mqtt", now=NOW
    ).inserted


def alarm_ids(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return [str(i) for i in s.scalars(select(Alarm.id).order_by(Alarm.id))]


def test_a_storm_of_alarms_does_not_hold_the_next_batch(engine, session, city) -> None:
    make_sensors(session, STORM, prefix="STORM")
    gate = Gate()
    pipe = Pipeline(engine, publish=gate)
    assert storm(pipe, T0_MS, 60.0) == STORM  # 12 red alarms (+ the cell's gas-leak alarm)
    raised = alarm_ids(engine)
    assert len(raised) == STORM + 1
    # The next batch clears every one of them (and the cell's): stored and committed while the handler thread
    # is still stuck in the first event's handler.
    assert storm(pipe, T0_MS + 1000, 1.0) == STORM
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Reading)) == 2 * STORM
        assert s.scalar(select(func.count()).where(Alarm.condition_active.is_(True))) == 0
    assert gate.inline == []  # no handler ran in the batches' thread
    wait_for(lambda: gate.entered == 1, "the hand-off thread took the first event")
    assert gate.seen == [] and pipe.handoff.pending == 2 * (STORM + 1)  # all waiting, none lost
    gate.open.set()
    assert pipe.drain_events()
    kinds = [(type(e).__name__, e.alarm_id) for e in gate.seen]  # type: ignore[attr-defined]
    assert sorted(kinds[: STORM + 1]) == sorted(("AlarmRaised", a) for a in raised)
    assert sorted(kinds[STORM + 1 :]) == sorted(("AlarmCleared", a) for a in raised)


def test_the_hand_off_is_bounded_and_the_readings_are_stored_before_it_waits(
    engine, session, city
) -> None:
    make_sensors(session, STORM, prefix="STORM")
    gate = Gate()
    pipe = Pipeline(engine, publish=gate)
    pipe.handoff.max_pending = 5
    gate.ingestion = None  # type: ignore[assignment]  # the batch runs on a thread of its own
    batch = threading.Thread(target=storm, args=(pipe, T0_MS, 60.0), daemon=True)
    batch.start()
    wait_for(lambda: pipe.handoff.stats["submitted"] == 6, "the batch handed over 6 events")
    wait_for(lambda: gate.entered == 1, "the hand-off thread took the first event")
    # 13 events: one in the stuck handler, 5 queued (the bound), the batch waits with the rest.
    assert batch.is_alive() and gate.entered == 1 and len(pipe.handoff._queue) == 5
    assert pipe.handoff.stats["waited"] == 1
    with Session(engine) as s:  # what waits is the hand-over, not the committed readings
        assert s.scalar(select(func.count()).select_from(Reading)) == STORM
        assert s.scalar(select(func.count()).select_from(Alarm)) == STORM + 1
    gate.open.set()
    batch.join(20)
    assert not batch.is_alive() and pipe.drain_events()
    assert sorted(e.alarm_id for e in gate.seen) == sorted(alarm_ids(engine))  # type: ignore[attr-defined]


def test_a_failing_handler_is_retried_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "_handlers", defaultdict(list))
    ok: list[str] = []
    flaky: dict[str, int] = defaultdict(int)
    broken: list[str] = []

    def good(event: events.AlarmCleared) -> None:
        ok.append(event.alarm_id)

    def fails_once(event: events.AlarmCleared) -> None:
        flaky[event.alarm_id] += 1
        if flaky[event.alarm_id] == 1:
            raise RuntimeError("database went away")

    def always_fails(event: events.AlarmCleared) -> None:
        broken.append(event.alarm_id)
        raise RuntimeError("bug")

    for handler in (good, fails_once, always_fails):
        events.subscribe(events.AlarmCleared, handler)
    handoff = Handoff(events.deliver, retry_delays_s=(0.0, 0.0))
    handoff.submit([events.AlarmCleared(NOW, "1"), events.AlarmCleared(NOW, "2")])
    assert handoff.drain(20, retries=True)
    assert ok == ["1", "2"]  # the good handler is not run again
    assert flaky == {"1": 2, "2": 2}  # retried once each, then done
    assert sorted(broken) == ["1", "1", "1", "2", "2", "2"]  # first try + 2 retries, then given up
    assert (handoff.stats["handled"], handoff.stats["given_up"]) == (2, 2)


def test_events_a_crashed_process_had_not_handled_come_back_from_the_alarms_table(
    engine, session, city
) -> None:
    make_sensors(session, 3, prefix="STORM")
    lost = Gate()  # the first process "crashes": its handlers never finish
    first = Pipeline(engine, publish=lost)
    first.process([msg("STORM-0001", T0_MS, 60.0), msg("STORM-0002", T0_MS, 30.0)], "mqtt", now=NOW)
    first.process([msg("STORM-0002", T0_MS + 1000, 1.0)], "mqtt", now=NOW)  # cleared again
    with Session(engine) as s:
        alarms = {
            a.sensor_id: a for a in s.scalars(select(Alarm).where(Alarm.sensor_id.is_not(None)))
        }
    red, cleared = (str(a.id) for a in sorted(alarms.values(), key=lambda a: a.sensor_id))
    seen: list[events.Event] = []
    second = Pipeline(engine, publish=seen.append)  # the restarted process
    replayed = second.replay_events(NOW)
    assert second.drain_events() and replayed == len(seen)
    got = {(type(e).__name__, e.alarm_id, getattr(e, "level", None)) for e in seen}  # type: ignore[attr-defined]
    assert ("AlarmRaised", red, "red") in got and ("AlarmCleared", cleared, None) in got
    assert not any(e.alarm_id == cleared and isinstance(e, events.AlarmRaised) for e in seen)  # type: ignore[attr-defined]
    # Handlers (the warning draft) refuse naive times; SQLite returns stored times without zone.
    assert all(e.occurred_at.utcoffset() is not None for e in seen)
    # A worker that owns other sensors replays none of these.
    other = Pipeline(engine, publish=seen.append, owns=lambda device: device == "nobody")
    assert other.replay_events(NOW) == 0
    lost.open.set()  # let the "crashed" process's thread finish
