"""Deferred roll-up (PostgreSQL): readings now, aggregates and latest values a few seconds later,
each stored row counted exactly once however the roll-ups interleave with new batches."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from sqlalchemy import func, select, text

from safecity.monitoring import pipeline
from safecity.monitoring.models import (
    Reading,
    ReadingHour,
    ReadingMinute,
    SensorLatest,
    readings_inbox,
)
from safecity.monitoring.pipeline import Pipeline, _spread
from safecity.monitoring.store import MINUTE_MS, rollup, write_readings
from safecity.monitoring.telemetry import Decoded
from tests.monitoring.conftest import T0_MS, token_of

pytestmark = pytest.mark.postgres


def _pg(engine) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name != "postgresql":
        pytest.skip("the inbox is PostgreSQL's; SQLite folds inline")


def counts(engine) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return {
            "raw": conn.scalar(select(func.count()).select_from(Reading)),
            "inbox": conn.scalar(select(func.count()).select_from(readings_inbox)),
            "minute_n": conn.scalar(select(func.coalesce(func.sum(ReadingMinute.n), 0))),
            "hour_n": conn.scalar(select(func.coalesce(func.sum(ReadingHour.n), 0))),
            "latest": {
                r.sensor_id: (r.ts, r.value)
                for r in conn.execute(
                    select(SensorLatest.sensor_id, SensorLatest.ts, SensorLatest.value)
                )
            },
        }


def test_deferred_rows_wait_in_the_inbox_then_fold_exactly_once(engine, sensors) -> None:
    _pg(engine)
    a, b = sensors[0].id, sensors[1].id
    sid = np.array([a, a, a, b], np.int64)
    ts = np.array([T0_MS, T0_MS + 1000, T0_MS + MINUTE_MS, T0_MS], np.int64)
    val = np.array([1.0, 3.0, 5.0, 7.0])
    nan = np.full(4, np.nan)
    with engine.begin() as conn:
        assert write_readings(conn, sid, ts, val, nan, nan, deferred=True) == 4
    with engine.begin() as conn:  # a redelivery: nothing new, nothing for the inbox
        assert write_readings(conn, sid, ts, val, nan, nan, deferred=True) == 0
    before = counts(engine)
    assert (before["raw"], before["inbox"], before["minute_n"], before["latest"]) == (4, 4, 0, {})
    with engine.begin() as conn:
        assert rollup(conn) == 4
    with engine.begin() as conn:
        assert rollup(conn) == 0  # the inbox is empty: folding again adds nothing
    after = counts(engine)
    assert (after["inbox"], after["minute_n"], after["hour_n"]) == (0, 4, 4)
    assert after["latest"] == {a: (T0_MS + MINUTE_MS, 5.0), b: (T0_MS, 7.0)}
    with engine.connect() as conn:
        first = conn.execute(
            select(ReadingMinute).where(
                ReadingMinute.sensor_id == a, ReadingMinute.bucket == T0_MS - T0_MS % MINUTE_MS
            )
        ).one()
    assert (first.n, first.vmin, first.vmax, first.vsum) == (2, 1.0, 3.0, 4.0)


def test_roll_up_is_one_at_a_time(engine, sensors) -> None:
    _pg(engine)
    nan = np.full(1, np.nan)
    with engine.begin() as conn:
        write_readings(
            conn,
            np.array([sensors[0].id]),
            np.array([T0_MS]),
            np.array([1.0]),
            nan,
            nan,
            deferred=True,
        )
    with engine.begin() as holder:
        assert rollup(holder) == 1
        with engine.begin() as other:  # while the first has not committed
            assert rollup(other) is None


def test_batches_and_roll_ups_racing_count_every_row_once(engine, sensors) -> None:
    _pg(engine)
    pipe = Pipeline(engine, rollup_interval_s=0.001)
    assert pipe.deferred
    stop = threading.Event()
    sent: set[tuple[str, int]] = set()

    def roller() -> None:  # another process's roll-up, as fast as it can
        while not stop.is_set():
            pipe.rollup()

    thread = threading.Thread(target=roller)
    thread.start()
    try:
        for k in range(40):
            # even batches: one reading per minute row, deferred to the inbox; odd batches: a
            # run of readings in few minute rows, folded at once. Both kinds mix in the rows.
            step = 60_000 if k % 2 == 0 else 1
            messages = [
                (
                    f"GAS-000{1 + i % 4}",
                    json.dumps(
                        {
                            "token": token_of(f"GAS-000{1 + i % 4}"),
                            "ts": T0_MS + k * 10_000 + i * step,
                            "value": 1.0,
                        }
                    ).encode(),
                )
                for i in range(50)
            ]
            sent.update((d, json.loads(body)["ts"]) for d, body in messages)
            pipe.process(messages + messages[:10], "mqtt")  # with in-batch repeats
    finally:
        stop.set()
        thread.join(30)
    pipe.rollup()
    result = counts(engine)
    expected = len(sent)  # some (sensor, ts) come again in later batches
    assert pipe.totals["inserted"] == expected > 1500
    assert (result["raw"], result["inbox"], result["minute_n"], result["hour_n"]) == (
        expected,
        0,
        expected,
        expected,
    )
    with engine.connect() as conn:
        total = conn.execute(text("SELECT sum(vsum) FROM readings_1m")).scalar_one()
    assert total == pytest.approx(float(expected))


def test_runs_of_one_sensor_fold_at_once_single_readings_wait() -> None:

    def batch(sid: list[int], ts: list[int]) -> Decoded:
        n = len(sid)
        return Decoded(
            np.array(sid, np.int64),
            np.array(ts, np.int64),
            np.ones(n),
            np.full(n, np.nan),
            np.full(n, np.nan),
        )

    gateway = batch([1] * 100, [T0_MS + i * 1000 for i in range(100)])  # 2-3 minute rows
    singles = batch(list(range(100)), [T0_MS] * 100)  # 100 minute rows
    assert not _spread(gateway)
    assert _spread(singles)
    # the boundary: rows × 4 > readings defers; 25 rows for 100 readings does not
    assert not _spread(batch([i % 25 for i in range(100)], [T0_MS] * 100))
    assert _spread(batch([i % 26 for i in range(100)], [T0_MS] * 100))


def test_the_roll_up_vacuums_the_inbox_now_and_then(engine, sensors, monkeypatch) -> None:
    _pg(engine)
    monkeypatch.setattr(pipeline, "VACUUM_INBOX_EVERY_S", 0.0)
    pipe = Pipeline(engine, rollup_interval_s=1)
    nan = np.full(200, np.nan)
    with engine.begin() as conn:
        write_readings(
            conn,
            np.full(200, sensors[0].id),
            T0_MS + np.arange(200) * 60_000,
            np.ones(200),
            nan,
            nan,
            deferred=True,
        )
    assert pipe.rollup() == 200
    with engine.connect() as conn:
        vacuumed = conn.execute(
            text(
                "SELECT vacuum_count + autovacuum_count FROM pg_stat_user_tables"
                " WHERE relname = 'readings_inbox'"
            )
        ).scalar_one()
    assert vacuumed >= 1
