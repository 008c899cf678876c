"""Store and pipeline on SQLite and PostgreSQL: idempotent writes, aggregates, rejections, alarms."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select, text

from safecity.core import events
from safecity.monitoring.models import (
    Alarm,
    DeadLetter,
    Reading,
    ReadingHour,
    ReadingMinute,
    SensorLatest,
)
from safecity.monitoring.pipeline import Pipeline
from safecity.monitoring.store import write_parts, write_readings
from tests.monitoring.conftest import T0_MS, msg, token_of

NOW = datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)


def test_writes_are_idempotent_and_aggregated(engine, sensors) -> None:
    sid = np.array([sensors[0].id] * 3 + [sensors[1].id], np.int64)
    ts = np.array([T0_MS, T0_MS + 1000, T0_MS + 61_000, T0_MS], np.int64)
    val = np.array([1.0, 3.0, 5.0, 7.0])
    nan = np.full(4, np.nan)
    with engine.begin() as conn:
        assert write_readings(conn, sid, ts, val, nan, nan) == 4
    with engine.begin() as conn:  # the same batch again, plus an in-batch repeat
        assert (
            write_readings(
                conn,
                np.r_[sid, sid[:1]],
                np.r_[ts, ts[:1]],
                np.r_[val, val[:1]],
                np.r_[nan, nan[:1]],
                np.r_[nan, nan[:1]],
            )
            == 0
        )
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Reading)) == 4
        minute = conn.execute(
            select(ReadingMinute.n, ReadingMinute.vmin, ReadingMinute.vmax, ReadingMinute.vsum)
            .where(ReadingMinute.sensor_id == sensors[0].id)
            .order_by(ReadingMinute.bucket)
        ).all()
        assert [tuple(r) for r in minute] == [(2, 1.0, 3.0, 4.0), (1, 5.0, 5.0, 5.0)]
        hour = conn.execute(
            select(ReadingHour.n, ReadingHour.vsum).where(ReadingHour.sensor_id == sensors[0].id)
        ).one()
        assert tuple(hour) == (3, 9.0)
        latest = conn.execute(
            select(SensorLatest.ts, SensorLatest.value).where(
                SensorLatest.sensor_id == sensors[0].id
            )
        ).one()
        assert tuple(latest) == (T0_MS + 61_000, 5.0)


def test_positions_are_stored(engine, sensors) -> None:
    with engine.begin() as conn:
        write_readings(
            conn,
            np.array([sensors[0].id]),
            np.array([T0_MS]),
            np.array([50.0]),
            np.array([121.5]),
            np.array([37.4]),
        )
        row = conn.execute(text("SELECT lon, lat FROM readings")).one()
    assert tuple(row) == (121.5, 37.4)


def test_every_bad_input_reason_is_rejected_counted_and_kept(engine, sensors) -> None:
    pipe = Pipeline(engine)
    good = msg("GAS-0001", T0_MS, 1.0)
    messages = [
        good,
        ("GAS-0001", b"{not json"),
        ("NOPE-1", json.dumps({"token": "x", "ts": T0_MS, "value": 1}).encode()),
        msg("GAS-0002", T0_MS, 1.0, token="wrong"),
        ("GAS-0003", b'{"token": "tok-GAS-0003", "ts": 1795424400000, "value": NaN}'),
        msg("GAS-0003", T0_MS + 1, float("inf")),
        msg("GAS-0004", T0_MS + 5 * 60_000 + 30_001, 1.0),  # > 5 min ahead of NOW
        msg("GAS-0004", T0_MS - 401 * 86_400_000, 1.0),  # older than retention (400 days)
        ("GAS-0004", b"x" * (256 * 1024 + 1)),
        msg("GAS-0002", T0_MS, "12"),
        msg("GAS-0002", T0_MS, 1.0, quantity="pressure"),
    ]
    result = pipe.process(messages, "mqtt", now=NOW)
    assert result.accepted == 1 and result.inserted == 1
    assert dict(result.rejected) == {
        "malformed_json": 1,
        "unknown_device": 1,
        "bad_credential": 1,
        "non_finite": 2,
        "future_timestamp": 1,
        "too_old": 1,
        "oversized": 1,
        "invalid_payload": 1,
        "wrong_quantity": 1,
    }
    with engine.connect() as conn:
        stored = dict(
            conn.execute(select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)).all()
        )
    assert stored == dict(result.rejected)
    # exactly 5 minutes ahead is still accepted
    ok = pipe.process([msg("GAS-0004", T0_MS + 30_000 + 5 * 60_000, 1.0)], "mqtt", now=NOW)
    assert ok.inserted == 1


def test_batch_payload_and_repeated_delivery(engine, sensors) -> None:
    pipe = Pipeline(engine)
    body = json.dumps(
        {
            "token": token_of("GAS-0001"),
            "readings": [{"ts": T0_MS + i * 1000, "value": 1.0 + i} for i in range(10)],
        }
    ).encode()
    first = pipe.process([("GAS-0001", body)], "mqtt", now=NOW)
    again = pipe.process([("GAS-0001", body)], "mqtt", now=NOW)
    assert (first.inserted, again.inserted, again.duplicates) == (10, 0, 10)
    iso = pipe.process([msg("GAS-0001", "2026-11-23T17:00:20+08:00", 2.0)], "mqtt", now=NOW)
    assert iso.inserted == 1


def test_alarm_raise_repeat_escalate_clear(engine, sensors) -> None:
    seen: list = []
    pipe = Pipeline(engine, publish=seen.append)
    pipe.process([msg("GAS-0001", T0_MS, 12.0)], "mqtt", now=NOW)  # yellow (≥10)
    pipe.process([msg("GAS-0001", T0_MS + 1000, 13.0)], "mqtt", now=NOW)  # repeat
    pipe.process([msg("GAS-0001", T0_MS + 2000, 30.0)], "mqtt", now=NOW)  # orange
    with engine.connect() as conn:
        alarm = conn.execute(select(Alarm)).one()
    assert (alarm.level, alarm.status, alarm.occurrences, alarm.value) == (
        "orange",
        "active",
        3,
        30.0,
    )
    assert pipe.drain_events()  # handlers run on the hand-off thread, after the commit
    assert [type(e).__name__ for e in seen] == ["AlarmRaised", "AlarmRaised"]
    assert seen[1].level == "orange" and seen[1].division_code == "370602"
    pipe.process([msg("GAS-0001", T0_MS + 3000, 1.0)], "mqtt", now=NOW)
    with engine.connect() as conn:
        alarm = conn.execute(select(Alarm)).one()
    assert alarm.condition_active is False and alarm.peak_level == "orange"
    assert pipe.drain_events()
    assert isinstance(seen[-1], events.AlarmCleared) and seen[-1].alarm_id == str(alarm.id)


def test_restart_keeps_one_alarm_and_gas_leak_composite(engine, sensors) -> None:
    pipe = Pipeline(engine)
    pipe.process([msg("GAS-0001", T0_MS, 12.0)], "mqtt", now=NOW)
    pipe = Pipeline(engine)  # a new process: state comes back from the database
    pipe.process(
        [msg("GAS-0001", T0_MS + 1000, 12.5), msg("GAS-0002", T0_MS + 1000, 11.0)], "mqtt", now=NOW
    )
    with engine.connect() as conn:
        rows = conn.execute(
            select(Alarm.sensor_id, Alarm.rule, Alarm.level).order_by(Alarm.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (sensors[0].id, "threshold", "yellow"),
        (sensors[1].id, "threshold", "yellow"),
        (None, "gas_leak", "red"),
    ]


def test_offline_sweep_raises_alarm(engine, sensors) -> None:
    pipe = Pipeline(engine)
    pipe.process([msg("GAS-0001", T0_MS, 1.0)], "mqtt", now=NOW)
    assert pipe.tick(NOW + timedelta(seconds=569)) == 0  # reading at NOW - 30 s, limit 600 s
    assert pipe.tick(NOW + timedelta(seconds=570)) == 1
    with engine.connect() as conn:
        assert conn.execute(select(Alarm.rule, Alarm.level)).one() == ("offline", "yellow")


def test_parts_stored_together_each_get_their_own_counts(engine, sensors) -> None:
    a, b = sensors[0].id, sensors[1].id
    # caller 0: two new; caller 1: one new, one the same as caller 0's first; caller 2: nothing
    sid = np.array([a, a, b, a], np.int64)
    ts = np.array([T0_MS, T0_MS + 1000, T0_MS, T0_MS], np.int64)
    part = np.array([0, 0, 1, 1], np.int32)
    nan = np.full(4, np.nan)
    with engine.begin() as conn:
        counts = write_parts(conn, sid, ts, np.arange(4.0), nan, nan, part, 3)
    assert counts.tolist() == [2, 1, 0]
    with engine.connect() as conn:
        rows = conn.execute(
            select(Reading.sensor_id, Reading.ts, Reading.value).order_by(
                Reading.sensor_id, Reading.ts
            )
        ).all()
        assert conn.scalar(select(func.sum(ReadingMinute.n))) == 3
    assert [tuple(r) for r in rows] == [(a, T0_MS, 0.0), (a, T0_MS + 1000, 1.0), (b, T0_MS, 2.0)]


def test_concurrent_submits_are_grouped_and_counted_per_caller(engine, sensors) -> None:
    pipe = Pipeline(engine)
    start = threading.Barrier(6)
    results: dict[int, object] = {}

    def caller(k: int) -> None:
        device = f"GAS-000{1 + k % 4}"
        # callers 4 and 5 repeat callers 0 and 1: each reading is stored once in all
        base = T0_MS + (k % 4) * 100_000
        messages = [msg(device, base + i * 1000, 1.0 + i % 3) for i in range(50)]
        start.wait()
        results[k] = pipe.submit(messages, "http")

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == list(range(6))
    assert all(r.accepted == 50 and not r.rejected for r in results.values())
    stored = [results[k].inserted for k in range(6)]
    assert sum(stored) == 200  # 4 devices × 50 readings, whatever the grouping
    assert stored[0] + stored[4] == 50 and stored[1] + stored[5] == 50
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Reading)) == 200
        assert conn.scalar(select(func.sum(ReadingMinute.n))) == 200
