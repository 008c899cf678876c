"""HTTP group commit: groups of different sensors are written at the same time, a group sharing a
sensor with one in flight waits for it (so one sensor's readings are evaluated in the order they
came), and a group that fails leaves the rule engine where it was."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from sqlalchemy import select

from safecity.monitoring import pipeline as pipeline_module
from safecity.monitoring.models import Alarm, AlarmAction, Reading
from safecity.monitoring.pipeline import GROUP_MAX, Pipeline, _Ticket
from tests.monitoring.conftest import make_sensors, msg

# submit() judges readings by the real clock (HTTP has no other): recent ones, so neither the
# future/retention checks nor the offline sweep (it runs every few seconds) depend on the day.
T0_MS = int(time.time() * 1000) - 300_000


@pytest.fixture(autouse=True)
def _recent_t0() -> None:
    """Five minutes before each test starts, not before the module was imported: on a loaded
    machine a test can start half an hour after collection, and its readings would then be old
    enough for the offline sweep to raise alarms the test does not expect."""
    global T0_MS
    T0_MS = int(time.time() * 1000) - 300_000


def tickets(*sensor_sets: set[int]) -> list[_Ticket]:
    return [_Ticket(None, frozenset(s)) for s in sensor_sets]  # type: ignore[arg-type]


def test_take_forms_groups_without_sharing_sensors_in_flight(engine, sensors) -> None:
    pipe = Pipeline(engine)
    pipe.groups_in_flight = 2
    waiting = tickets({1}, {2}, {1}, {3})
    pipe._waiting = list(waiting)
    assert pipe._take() == waiting and pipe._waiting == []  # nothing in flight: all of them
    assert pipe._flying == [frozenset({1, 2, 3})]
    pipe._flying = [frozenset({1})]
    pipe._waiting = tickets({2}, {3}, {1, 5}, {4})
    group = pipe._take()
    assert [set(t.sensors) for t in group] == [{2}, {3}]  # stops at the first sharing sensor 1
    assert [set(t.sensors) for t in pipe._waiting] == [{1, 5}, {4}]  # {4} keeps its turn
    assert pipe._flying == [frozenset({1}), frozenset({2, 3})]
    assert pipe._take() == []  # both slots taken
    pipe._flying = [frozenset({1})]
    assert pipe._take() == []  # the oldest waiting ticket shares sensor 1: all wait
    pipe._flying = []
    pipe._waiting = tickets(*({k} for k in range(GROUP_MAX + 3)))
    assert len(pipe._take()) == GROUP_MAX and len(pipe._waiting) == 3


class GatedWrites:
    """write_parts wrapped: records who entered and left, and holds one sensor's writes until
    released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, hold_sensor: int) -> None:
        self.log: list[tuple[str, tuple[int, ...]]] = []
        self.hold_sensor = hold_sensor
        self.release = threading.Event()
        self.lock = threading.Lock()
        real = pipeline_module.write_parts

        def gated(conn, sid, *args, **kwargs):  # type: ignore[no-untyped-def]
            who = tuple(sorted(set(sid.tolist())))
            with self.lock:
                self.log.append(("enter", who))
            if self.hold_sensor in who and not self.release.is_set():
                assert self.release.wait(20)
            try:
                return real(conn, sid, *args, **kwargs)
            finally:
                with self.lock:
                    self.log.append(("leave", who))

        monkeypatch.setattr(pipeline_module, "write_parts", gated)

    def wait_for(self, entry: tuple[str, tuple[int, ...]], timeout: float = 10) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if entry in self.log:
                    return True
            time.sleep(0.01)
        return False


def batch(device: str, start: int, value: float, n: int = 5) -> list[tuple]:
    return [msg(device, T0_MS + (start + i) * 1000, value) for i in range(n)]


def test_groups_overlap_unless_they_share_a_sensor(engine, sensors, monkeypatch) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: one group in flight")
    a, b = sensors[0].id, sensors[1].id
    gate = GatedWrites(monkeypatch, hold_sensor=a)
    pipe = Pipeline(engine)
    results: dict[str, object] = {}

    def submit(name: str, messages: list[tuple]) -> threading.Thread:
        def run() -> None:
            results[name] = pipe.submit(messages, "http")

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    first = submit("a1", batch("GAS-0001", 0, 12.0))  # yellow, held in its write
    assert gate.wait_for(("enter", (a,)))
    other = submit("b", batch("GAS-0002", 0, 1.0))
    assert gate.wait_for(("leave", (b,)))  # written and committed while a1 is still held
    other.join(10)
    assert results["b"].inserted == 5  # type: ignore[attr-defined]
    later = submit("a2", batch("GAS-0001", 10, 30.0))  # orange, same sensor as the held group
    time.sleep(0.5)
    assert gate.log.count(("enter", (a,))) == 1  # a2 waits for a1
    gate.release.set()
    first.join(10)
    later.join(10)
    assert [e for e in gate.log if a in e[1]] == [
        ("enter", (a,)),
        ("leave", (a,)),
        ("enter", (a,)),
        ("leave", (a,)),
    ]
    assert results["a1"].inserted == results["a2"].inserted == 5  # type: ignore[attr-defined]
    with engine.connect() as conn:
        alarm = conn.execute(select(Alarm).where(Alarm.sensor_id == a)).one()
        actions = conn.execute(
            select(AlarmAction.action, AlarmAction.level)
            .where(AlarmAction.alarm_id == alarm.id)
            .order_by(AlarmAction.id)
        ).all()
    # Evaluated in the order they came: raised yellow by a1, escalated to orange by a2 (had a2
    # gone first, a1's older readings would have been ignored and the alarm raised orange).
    assert [tuple(r) for r in actions] == [("raise", "yellow"), ("escalate", "orange")]
    assert (alarm.level, alarm.last_ts, alarm.value) == ("orange", T0_MS + 10_000, 30.0)


def test_failed_write_leaves_the_engine_where_it_was(engine, sensors, monkeypatch) -> None:
    pipe = Pipeline(engine)
    real = pipeline_module.write_parts
    calls = {"n": 0}

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        raise RuntimeError("database went away")

    monkeypatch.setattr(pipeline_module, "write_parts", failing)
    with pytest.raises(RuntimeError):
        pipe.submit(batch("GAS-0001", 0, 12.0), "http")
    assert calls["n"] == 1
    monkeypatch.setattr(pipeline_module, "write_parts", real)
    again = pipe.submit(batch("GAS-0001", 0, 12.0), "http")  # the device sends again
    assert again.inserted == 5
    with engine.connect() as conn:
        assert (
            conn.scalar(select(Alarm.level).where(Alarm.sensor_id == sensors[0].id)) == "yellow"
        )  # the retry was evaluated: the failed attempt had not moved the engine
        assert len(conn.execute(select(Reading.ts)).all()) == 5


def test_many_concurrent_gateways_match_one_at_a_time(engine, session, sensors) -> None:
    """Eight gateways posting at once (each its own sensor, batches in order, values crossing
    the thresholds up and down) leave the same readings and alarm histories as the same
    batches processed one after another."""
    more = make_sensors(session, 8, prefix="GW")
    rng = np.random.default_rng(5)
    plans = {
        s.device_id: [
            batch(s.device_id, k * 20, float(v), n=20)
            for k, v in enumerate(rng.choice([1.0, 12.0, 30.0, 60.0], 6))
        ]
        for s in more
    }

    def histories() -> dict[str, list[tuple]]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Alarm.sensor_id, Alarm.rule, AlarmAction.action, AlarmAction.level)
                .join(AlarmAction, AlarmAction.alarm_id == Alarm.id)
                .where(Alarm.sensor_id.is_not(None))
                .order_by(AlarmAction.id)
            ).all()
        out: dict[str, list[tuple]] = {}
        for sid, rule, action, level in rows:
            out.setdefault(f"{sid}:{rule}", []).append((action, level))
        return out

    def counts() -> int:
        with engine.connect() as conn:
            return len(conn.execute(select(Reading.ts)).all())

    pipe = Pipeline(engine)
    threads = [
        threading.Thread(target=lambda p=plan: [pipe.submit(m, "http") for m in p])
        for plan in plans.values()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    concurrent = histories()
    assert counts() == 8 * 6 * 20
    with engine.begin() as conn:  # the same again, one batch at a time, from scratch
        for table in (
            "alarm_actions",
            "alarms",
            "readings",
            "readings_1m",
            "readings_1h",
            "sensor_latest",
            "readings_inbox",
        ):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    pipe = Pipeline(engine)
    for plan in plans.values():
        for m in plan:
            pipe.submit(m, "http")
    assert counts() == 8 * 6 * 20
    assert concurrent == histories() and len(concurrent) >= 6
