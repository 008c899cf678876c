"""Idempotent batched writes of readings with their 1-minute / 1-hour aggregates and latest value.

PostgreSQL, fast path: the batch (deduplicated and sorted in numpy) is COPYed straight into
readings inside a savepoint. The primary key refuses the whole COPY if any row was stored
before (a redelivery), so when it succeeds every row is new and the aggregates and latest
values are computed in numpy and upserted (or the rows appended to readings_inbox, "deferred").
On a unique violation the savepoint is rolled back and the slow path runs: binary COPY into a
temporary staging table, then one statement inserts the new rows (ON CONFLICT DO NOTHING) and
folds exactly those. The fast path halves the database's work per row (no staging table, no
speculative insertion); redeliveries are rare, so the wasted COPY is paid seldom.
Deferred is what the ingestion processes use for single readings from many sensors: the
aggregate and latest-value upserts were three quarters of the database's work per single
reading, and folding a few seconds of readings at a time touches each (sensor, minute) row once
instead of once per reading; rollup() later folds and empties the inbox in one transaction.
SQLite: inline, through executemany. A repeated delivery adds nothing anywhere, so
at-least-once transport gives exactly-once storage, and every stored row is counted exactly
once in the aggregates.
"""

from __future__ import annotations

import numpy as np
import psycopg
from sqlalchemy import Connection, text

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
_PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_PG_TRAILER = (-1).to_bytes(2, "big", signed=True)

_AGG_PG = """
INSERT INTO {table} AS a (sensor_id, bucket, n, vmin, vmax, vsum)
SELECT sensor_id, ts - ts % {width}, count(*), min(value), max(value), sum(value)
FROM ins GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (sensor_id, bucket) DO UPDATE SET n = a.n + excluded.n,
  vmin = least(a.vmin, excluded.vmin), vmax = greatest(a.vmax, excluded.vmax),
  vsum = a.vsum + excluded.vsum
RETURNING 1"""

_PG_STATEMENT = f"""
WITH ins AS (
  INSERT INTO readings (sensor_id, ts, value, lon, lat)
  SELECT sensor_id, ts, value, lon, lat FROM _stage_readings
  ON CONFLICT DO NOTHING RETURNING sensor_id, ts, value, lon, lat
), m AS ({_AGG_PG.format(table="readings_1m", width=MINUTE_MS)}
), h AS ({_AGG_PG.format(table="readings_1h", width=HOUR_MS)}
), l AS (
  INSERT INTO sensor_latest AS s (sensor_id, ts, value, lon, lat)
  SELECT DISTINCT ON (sensor_id) sensor_id, ts, value, lon, lat FROM ins
  ORDER BY sensor_id, ts DESC
  ON CONFLICT (sensor_id) DO UPDATE SET ts = excluded.ts, value = excluded.value,
    lon = excluded.lon, lat = excluded.lat WHERE s.ts < excluded.ts
  RETURNING 1
)
SELECT 0, count(*) FROM ins"""
_INBOX = """), x AS (
  INSERT INTO readings_inbox (sensor_id, ts, value, lon, lat)
  SELECT sensor_id, ts, value, lon, lat FROM ins RETURNING 1
)"""
# Deferred: the new rows go to the inbox instead of the aggregates.
_PG_DEFERRED = (
    _PG_STATEMENT[: _PG_STATEMENT.index("), m AS (")] + _INBOX + "\nSELECT 0, count(*) FROM ins"
)
# The roll-up: the same folding, fed by the rows it takes out of the inbox (at most `limit`).
_PG_ROLLUP = (
    "WITH ins AS (DELETE FROM readings_inbox WHERE ctid = ANY(ARRAY("
    "SELECT ctid FROM readings_inbox LIMIT %(limit)s)) "
    "RETURNING sensor_id, ts, value, lon, lat"
    + _PG_STATEMENT[_PG_STATEMENT.index("), m AS (") :].replace("%", "%%")
)
ROLLUP_LOCK = 0x5AFEC17  # one roll-up at a time (pg advisory lock key)
# Several requests stored in one transaction: who stored what. A (sensor, ts) sent by two of
# them counts for the first.
_BY_PART = """SELECT part, count(*)
FROM (SELECT DISTINCT ON (s.sensor_id, s.ts) s.part FROM ins JOIN _stage_readings s
      USING (sensor_id, ts) ORDER BY s.sensor_id, s.ts, s.part) x GROUP BY part"""
_PG_STATEMENT_PARTS = _PG_STATEMENT.replace("SELECT 0, count(*) FROM ins", _BY_PART)
_PG_DEFERRED_PARTS = _PG_DEFERRED.replace("SELECT 0, count(*) FROM ins", _BY_PART)
_STAGE_PG = (
    "CREATE TEMP TABLE IF NOT EXISTS _stage_readings (sensor_id int4, ts int8,"
    " value float8, lon float8, lat float8, part int4) ON COMMIT DELETE ROWS"
)

_AGG_SQLITE = """
INSERT INTO {table} (sensor_id, bucket, n, vmin, vmax, vsum)
SELECT sensor_id, ts - ts % {width}, count(*), min(value), max(value), sum(value)
FROM _stage_readings WHERE 1 GROUP BY 1, 2
ON CONFLICT (sensor_id, bucket) DO UPDATE SET n = n + excluded.n,
  vmin = min(vmin, excluded.vmin), vmax = max(vmax, excluded.vmax), vsum = vsum + excluded.vsum"""


def copy_payload(
    sid: np.ndarray,
    ts: np.ndarray,
    value: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    part: np.ndarray | None = None,
) -> bytes:
    """PostgreSQL binary COPY data for (sensor_id int4, ts int8, value, lon, lat float8[, part
    int4]) in the given row order (concurrent writers inserting in the same key order cannot
    deadlock on each other's keys); part=None leaves the part column out."""
    has_pos = np.isfinite(lon) & np.isfinite(lat)
    # Rows with and without a position differ in size; runs of each keep the order.
    edges = np.flatnonzero(has_pos[1:] != has_pos[:-1]) + 1
    bounds = np.concatenate(([0], edges, [len(sid)]))
    parts = [_PG_HEADER]
    for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if end > start:
            parts.append(
                _rows(slice(start, end), bool(has_pos[start]), sid, ts, value, lon, lat, part)
            )
    parts.append(_PG_TRAILER)
    return b"".join(parts)


def _rows(
    run: slice,
    pos: bool,
    sid: np.ndarray,
    ts: np.ndarray,
    value: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    part: np.ndarray | None,
) -> bytes:
    fields = [
        ("nf", ">i2"),
        ("l1", ">i4"),
        ("sid", ">i4"),
        ("l2", ">i4"),
        ("ts", ">i8"),
        ("l3", ">i4"),
        ("v", ">f8"),
        ("l4", ">i4"),
    ]
    fields += [("lon", ">f8"), ("l5", ">i4"), ("lat", ">f8")] if pos else [("l5", ">i4")]
    fields += [("l6", ">i4"), ("part", ">i4")] if part is not None else []
    rows = np.empty(run.stop - run.start, np.dtype(fields))
    rows["nf"] = 5 if part is None else 6
    rows["l1"], rows["l2"], rows["l3"] = 4, 8, 8
    rows["sid"], rows["ts"], rows["v"] = sid[run], ts[run], value[run]
    if pos:
        rows["l4"], rows["l5"], rows["lon"], rows["lat"] = 8, 8, lon[run], lat[run]
    else:
        rows["l4"], rows["l5"] = -1, -1
    if part is not None:
        rows["l6"], rows["part"] = 4, part[run]
    return rows.tobytes()


def write_readings(
    conn: Connection,
    sid: np.ndarray,
    ts: np.ndarray,
    value: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    deferred: bool = False,
) -> int:
    """Store a batch inside the caller's transaction; returns how many rows were new."""
    return int(
        write_parts(conn, sid, ts, value, lon, lat, np.zeros(len(sid), np.int32), 1, deferred).sum()
    )


def write_parts(
    conn: Connection,
    sid: np.ndarray,
    ts: np.ndarray,
    value: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    part: np.ndarray,
    parts: int,
    deferred: bool = False,
) -> np.ndarray:
    """Store several callers' readings at once (part = caller 0..parts-1 of each reading);
    returns how many rows were new per caller. deferred (PostgreSQL only): aggregates and
    latest values wait for rollup()."""
    if len(sid) == 0:
        return np.zeros(parts, np.int64)
    if conn.dialect.name == "postgresql":
        rows = _write_pg(conn, sid, ts, value, lon, lat, part, parts, deferred)
    else:
        rows = _write_sqlite(conn, sid, ts, value, lon, lat, part)
    counts = np.zeros(parts, np.int64)
    for k, n in rows:
        counts[int(k)] = int(n)
    return counts


def _write_pg(
    conn: Connection,
    sid: np.ndarray,
    ts: np.ndarray,
    value: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    part: np.ndarray,
    parts: int,
    deferred: bool,
) -> list[tuple[int, int]]:
    keep = _dedupe(sid, ts)  # also sorts by (sensor, ts): inserts walk the index in order
    sid, ts, value, lon, lat, part = (a[keep] for a in (sid, ts, value, lon, lat, part))
    raw = conn.connection.driver_connection
    data = copy_payload(sid, ts, value, lon, lat)
    if _copy_if_all_new(raw, data):
        if deferred:
            _copy(raw, "readings_inbox", data)
        else:
            _fold(raw, sid, ts, value, lon, lat)
        return list(enumerate(np.bincount(part, minlength=parts).tolist()))
    conn.execute(text(_STAGE_PG))
    data = copy_payload(sid, ts, value, lon, lat, part)
    sql = "COPY _stage_readings (sensor_id, ts, value, lon, lat, part) FROM STDIN (FORMAT binary)"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        copy.write(data)
    statement = (
        (_PG_DEFERRED_PARTS if parts > 1 else _PG_DEFERRED)
        if deferred
        else (_PG_STATEMENT_PARTS if parts > 1 else _PG_STATEMENT)
    )
    # ON COMMIT DELETE ROWS empties the stage; no TRUNCATE (it costs a new file each time).
    return [(int(k), int(n)) for k, n in conn.execute(text(statement))]


def _copy(raw: psycopg.Connection, table: str, data: bytes) -> None:
    sql = f"COPY {table} (sensor_id, ts, value, lon, lat) FROM STDIN (FORMAT binary)"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        copy.write(data)


def _copy_if_all_new(raw: psycopg.Connection, data: bytes) -> bool:
    """COPY straight into readings; False (and nothing written) if any row was there before."""
    with raw.cursor() as cur:
        cur.execute("SAVEPOINT sc_readings")
        try:
            _copy(raw, "readings", data)
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT sc_readings")
            return False
        cur.execute("RELEASE SAVEPOINT sc_readings")
    return True


_AGG_NEW = """INSERT INTO {table} AS a (sensor_id, bucket, n, vmin, vmax, vsum)
SELECT * FROM unnest(%s::int4[], %s::int8[], %s::int4[], %s::float8[], %s::float8[],
                     %s::float8[])
ON CONFLICT (sensor_id, bucket) DO UPDATE SET n = a.n + excluded.n,
  vmin = least(a.vmin, excluded.vmin), vmax = greatest(a.vmax, excluded.vmax),
  vsum = a.vsum + excluded.vsum"""
# One statement, one round trip: minute and hour aggregates and the latest values.
_FOLD_NEW = f"""WITH m AS ({_AGG_NEW.format(table="readings_1m")}
), h AS ({_AGG_NEW.format(table="readings_1h")}
)
INSERT INTO sensor_latest AS s (sensor_id, ts, value, lon, lat)
SELECT * FROM unnest(%s::int4[], %s::int8[], %s::float8[], %s::float8[], %s::float8[])
ON CONFLICT (sensor_id) DO UPDATE SET ts = excluded.ts, value = excluded.value,
  lon = excluded.lon, lat = excluded.lat WHERE s.ts < excluded.ts"""


def _fold(
    raw: psycopg.Connection,
    sid: np.ndarray,
    ts: np.ndarray,
    value: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
) -> None:
    """Aggregates and latest values of rows known to be new, sorted by (sensor, ts)."""
    last = np.concatenate((sid[1:] != sid[:-1], [True]))
    params = (
        *buckets(sid, ts, value, MINUTE_MS),
        *buckets(sid, ts, value, HOUR_MS),
        sid[last].tolist(),
        ts[last].tolist(),
        value[last].tolist(),
        _nullable(lon[last]),
        _nullable(lat[last]),
    )
    with raw.cursor() as cur:
        cur.execute(_FOLD_NEW, params)


def buckets(
    sid: np.ndarray, ts: np.ndarray, value: np.ndarray, width: int
) -> tuple[list[int], list[int], list[int], list[float], list[float], list[float]]:
    """(sensor, bucket, n, min, max, sum) of rows sorted by (sensor, ts)."""
    bucket = ts - ts % width
    starts = np.flatnonzero(
        np.concatenate(([True], (sid[1:] != sid[:-1]) | (bucket[1:] != bucket[:-1])))
    )
    n = np.diff(np.append(starts, len(sid)))
    return (
        sid[starts].tolist(),
        bucket[starts].tolist(),
        n.tolist(),
        np.minimum.reduceat(value, starts).tolist(),
        np.maximum.reduceat(value, starts).tolist(),
        np.add.reduceat(value, starts).tolist(),
    )


def _nullable(a: np.ndarray) -> list[float | None]:
    return np.where(np.isfinite(a), a, None).tolist()  # NaN → NULL


def _dedupe(sid: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each (sensor, ts) in the batch."""
    order = np.lexsort((ts, sid))
    s, t = sid[order], ts[order]
    first = np.concatenate(([True], (s[1:] != s[:-1]) | (t[1:] != t[:-1])))
    return order[first]


def _write_sqlite(
    conn: Connection,
    sid: np.ndarray,
    ts: np.ndarray,
    value: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    part: np.ndarray,
) -> list[tuple[int, int]]:
    keep = _dedupe(sid, ts)
    lon_o = np.where(np.isfinite(lon[keep]), lon[keep], None)
    lat_o = np.where(np.isfinite(lat[keep]), lat[keep], None)
    rows = list(
        zip(
            sid[keep].tolist(),
            ts[keep].tolist(),
            value[keep].tolist(),
            lon_o.tolist(),
            lat_o.tolist(),
            part[keep].tolist(),
            strict=True,
        )
    )
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _stage_readings (sensor_id INTEGER,"
            " ts INTEGER, value REAL, lon REAL, lat REAL, part INTEGER)"
        )
        cur.execute("DELETE FROM _stage_readings")
        cur.executemany("INSERT INTO _stage_readings VALUES (?, ?, ?, ?, ?, ?)", rows)
        # Only rows not stored before stay in the stage, so the aggregates count each once
        # (SQLite has one writer at a time, so nothing can slip in between).
        cur.execute(
            "DELETE FROM _stage_readings WHERE EXISTS (SELECT 1 FROM readings r"
            " WHERE r.sensor_id = _stage_readings.sensor_id"
            " AND r.ts = _stage_readings.ts)"
        )
        counts = cur.execute("SELECT part, count(*) FROM _stage_readings GROUP BY part").fetchall()
        cur.execute(
            "INSERT INTO readings (sensor_id, ts, value, lon, lat)"
            " SELECT sensor_id, ts, value, lon, lat FROM _stage_readings"
        )
        cur.execute(_AGG_SQLITE.format(table="readings_1m", width=MINUTE_MS))
        cur.execute(_AGG_SQLITE.format(table="readings_1h", width=HOUR_MS))
        cur.execute(
            "INSERT INTO sensor_latest (sensor_id, ts, value, lon, lat)"
            # SQLite takes the bare columns from the row holding max(ts).
            " SELECT sensor_id, max(ts), value, lon, lat FROM _stage_readings"
            " GROUP BY sensor_id"
            " ON CONFLICT (sensor_id) DO UPDATE SET ts = excluded.ts, value = excluded.value,"
            " lon = excluded.lon, lat = excluded.lat WHERE excluded.ts > sensor_latest.ts"
        )
        cur.execute("DELETE FROM _stage_readings")
    finally:
        cur.close()
    return [(int(k), int(n)) for k, n in counts]


def rollup(conn: Connection, limit: int = 500_000) -> int | None:
    """Fold up to `limit` inbox rows into the aggregates and latest values, inside the caller's
    transaction; returns how many, or None when another roll-up holds the lock (PostgreSQL)."""
    if conn.dialect.name != "postgresql":
        return 0  # SQLite stores inline; its inbox stays empty
    if not conn.execute(text(f"SELECT pg_try_advisory_xact_lock({ROLLUP_LOCK})")).scalar_one():
        return None
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(_PG_ROLLUP, {"limit": limit})
        row = cur.fetchone()
    return int(row[1]) if row else 0


def purge_before(conn: Connection, cutoff_ms: int) -> int:
    """Retention: drop raw readings older than the cutoff (aggregates are kept)."""
    result = conn.execute(text("DELETE FROM readings WHERE ts < :cutoff"), {"cutoff": cutoff_ms})
    return int(result.rowcount or 0)
