"""Readings storage: whichever path a batch takes (PostgreSQL's straight COPY when every row is
new, the staged ON CONFLICT path after a unique violation, SQLite's inline path), the raw rows,
the aggregates and the latest values equal a plain-Python reference."""

from __future__ import annotations

import threading
from collections import defaultdict

import numpy as np
import pytest
from sqlalchemy import text

from safecity.monitoring.store import HOUR_MS, MINUTE_MS, copy_payload, rollup, write_parts
from tests.monitoring.conftest import T0_MS


def reference(batches: list[tuple]) -> dict[str, object]:
    """What the tables must hold after the batches: first delivery of each (sensor, ts) wins."""
    rows: dict[tuple[int, int], tuple] = {}
    for sid, ts, val, lon, lat in batches:
        for s, t, v, x, y in zip(
            sid.tolist(), ts.tolist(), val.tolist(), lon.tolist(), lat.tolist(), strict=True
        ):
            rows.setdefault((s, t), (v, None if x != x else x, None if y != y else y))
    aggs: dict[str, dict] = {}
    for name, width in (("readings_1m", MINUTE_MS), ("readings_1h", HOUR_MS)):
        groups: dict[tuple[int, int], list[float]] = defaultdict(list)
        for (s, t), (v, _x, _y) in rows.items():
            groups[(s, t - t % width)].append(v)
        aggs[name] = {k: (len(v), min(v), max(v), round(sum(v), 9)) for k, v in groups.items()}
    latest = {}
    for (s, t), (v, x, y) in sorted(rows.items()):
        latest[s] = (t, v, x, y)
    return {"raw": {k: v for k, v in rows.items()}, **aggs, "latest": latest}


def stored(engine) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        while rollup(conn):  # anything deferred is folded first
            pass
    with engine.connect() as conn:
        out: dict[str, object] = {
            "raw": {
                (s, t): (v, x, y)
                for s, t, v, x, y in conn.execute(
                    text("SELECT sensor_id, ts, value, lon, lat FROM readings")
                )
            }
        }
        for name in ("readings_1m", "readings_1h"):
            out[name] = {
                (s, b): (n, lo, hi, round(total, 9))
                for s, b, n, lo, hi, total in conn.execute(
                    text(f"SELECT sensor_id, bucket, n, vmin, vmax, vsum FROM {name}")
                )
            }
        out["latest"] = {
            s: (t, v, x, y)
            for s, t, v, x, y in conn.execute(
                text("SELECT sensor_id, ts, value, lon, lat FROM sensor_latest")
            )
        }
    return out


def random_batch(rng: np.random.Generator, ids: list[int], n: int) -> tuple:
    sid = rng.choice(ids, n).astype(np.int64)
    ts = T0_MS + rng.integers(0, 40, n) * 20_000  # 40 slots over ~13 minutes: many repeats
    val = np.round(rng.normal(10, 3, n), 3)
    has_pos = rng.random(n) < 0.5  # positions on and off within one batch
    lon = np.where(has_pos, 121 + rng.random(n), np.nan)
    lat = np.where(has_pos, 37 + rng.random(n), np.nan)
    return sid, ts, val, lon, lat


@pytest.mark.parametrize("deferred", [False, True])
def test_every_path_matches_the_reference(engine, sensors, deferred: bool) -> None:
    rng = np.random.default_rng(7)
    ids = [s.id for s in sensors]
    batches = [random_batch(rng, ids, n) for n in (30, 25, 40, 10, 60)]
    # The same batch twice in a row: the second is a pure redelivery.
    batches.insert(2, batches[1])
    seen: set[tuple[int, int]] = set()
    for sid, ts, val, lon, lat in batches:
        keys = set(zip(sid.tolist(), ts.tolist(), strict=True))
        part = np.zeros(len(sid), np.int32)
        with engine.begin() as conn:
            counts = write_parts(conn, sid, ts, val, lon, lat, part, 1, deferred)
        assert counts.tolist() == [len(keys - seen)]
        seen |= keys
    assert stored(engine) == reference(batches)


def test_a_batch_with_one_old_row_keeps_the_transaction_usable(engine, sensors) -> None:
    a = sensors[0].id
    nan = np.full(3, np.nan)
    with engine.begin() as conn:
        write_parts(
            conn,
            np.full(1, a),
            np.array([T0_MS]),
            np.array([1.0]),
            nan[:1],
            nan[:1],
            np.zeros(1, np.int32),
            1,
        )
    with engine.begin() as conn:
        counts = write_parts(
            conn,
            np.full(3, a),
            T0_MS + np.array([0, 1000, 2000]),
            np.array([9.0, 2.0, 3.0]),
            nan,
            nan,
            np.array([0, 0, 1], np.int32),
            2,
        )
        # After the refused COPY the same transaction goes on and can still write.
        conn.execute(text("UPDATE sensors SET name = 'after' WHERE id = :id"), {"id": a})
    assert counts.tolist() == [1, 1]
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT name FROM sensors WHERE id = :id"), {"id": a}) == "after"
        assert conn.execute(text("SELECT ts, value FROM readings ORDER BY ts")).all() == [
            (T0_MS, 1.0),
            (T0_MS + 1000, 2.0),
            (T0_MS + 2000, 3.0),
        ]
        assert conn.scalar(text("SELECT n FROM readings_1m")) == 3


def test_concurrent_writers_of_the_same_rows_store_them_once(engine, sensors) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    a, b = sensors[0].id, sensors[1].id
    sid = np.array([a, a, b], np.int64)
    ts = T0_MS + np.array([0, 1000, 0])
    nan = np.full(3, np.nan)
    one = np.zeros(3, np.int32)
    first = engine.connect()
    trans = first.begin()
    assert write_parts(first, sid, ts, np.ones(3), nan, nan, one, 1).tolist() == [3]
    result: list[int] = []

    def second() -> None:  # waits on the first's uncommitted keys, then finds them taken
        with engine.begin() as conn:
            result.extend(
                write_parts(
                    conn,
                    np.r_[sid, a],
                    np.r_[ts, T0_MS + 5000],
                    np.full(4, 2.0),
                    np.r_[nan, nan[0]],
                    np.r_[nan, nan[0]],
                    np.zeros(4, np.int32),
                    1,
                ).tolist()
            )

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(1.0)
    assert thread.is_alive()  # blocked on the first transaction's rows
    trans.commit()
    first.close()
    thread.join(10)
    assert result == [1]
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM readings")) == 4
        assert conn.scalar(text("SELECT sum(n) FROM readings_1m")) == 4
        assert conn.scalar(text("SELECT value FROM readings WHERE ts = :t"), {"t": T0_MS}) == 1.0


def test_copy_payload_keeps_row_order_across_position_runs() -> None:
    sid = np.array([1, 2, 3, 4, 5])
    ts = np.array([10, 20, 30, 40, 50])
    val = np.array([0.5, 1.5, 2.5, 3.5, 4.5])
    lon = np.array([np.nan, 121.0, 122.0, np.nan, 123.0])
    lat = np.array([np.nan, 37.0, 38.0, np.nan, 39.0])
    data = copy_payload(sid, ts, val, lon, lat)
    body = data[19:-2]  # header (11 signature + 4 flags + 4 extension), trailer
    decoded, k = [], 0
    while k < len(body):
        fields = int.from_bytes(body[k : k + 2], "big")
        k += 2
        row = []
        for _ in range(fields):
            size = int.from_bytes(body[k : k + 4], "big", signed=True)
            k += 4
            row.append(None if size < 0 else body[k : k + size])
            k += max(size, 0)
        decoded.append(
            (
                int.from_bytes(row[0], "big"),
                int.from_bytes(row[1], "big"),
                np.frombuffer(row[2], ">f8")[0],
                row[3] is None,
            )
        )
        assert fields == 5
    assert decoded == [
        (1, 10, 0.5, True),
        (2, 20, 1.5, False),
        (3, 30, 2.5, False),
        (4, 40, 3.5, True),
        (5, 50, 4.5, False),
    ]
