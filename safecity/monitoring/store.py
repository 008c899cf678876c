"""Idempotent batched writes of readings with their 1-minute / 1-hour aggregates and latest value.

PostgreSQL: binary COPY (built with numpy, no per-row Python) into a temporary staging table,
then one statement inserts the new rows (ON CONFLICT DO NOTHING) and folds exactly those rows
into the aggregates and the latest-value table. SQLite: the same through executemany.
A repeated delivery adds nothing anywhere, so at-least-once transport gives exactly-once storage.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, text

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
_PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_PG_TRAILER = (-1).to_bytes(2, "big", signed=True)
_ROW_NOPOS = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("sid", ">i4"), ("l2", ">i4"),
                       ("ts", ">i8"), ("l3", ">i4"), ("v", ">f8"), ("l4", ">i4"), ("l5", ">i4")])
_ROW_POS = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("sid", ">i4"), ("l2", ">i4"), ("ts", ">i8"),
                     ("l3", ">i4"), ("v", ">f8"), ("l4", ">i4"), ("lon", ">f8"), ("l5", ">i4"),
                     ("lat", ">f8")])

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
SELECT count(*) FROM ins"""

_AGG_SQLITE = """
INSERT INTO {table} (sensor_id, bucket, n, vmin, vmax, vsum)
SELECT sensor_id, ts - ts % {width}, count(*), min(value), max(value), sum(value)
FROM _stage_readings WHERE 1 GROUP BY 1, 2
ON CONFLICT (sensor_id, bucket) DO UPDATE SET n = n + excluded.n,
  vmin = min(vmin, excluded.vmin), vmax = max(vmax, excluded.vmax), vsum = vsum + excluded.vsum"""


def copy_payload(sid: np.ndarray, ts: np.ndarray, value: np.ndarray, lon: np.ndarray,
                 lat: np.ndarray) -> bytes:
    """PostgreSQL binary COPY data for (sensor_id int4, ts int8, value, lon, lat float8)."""
    has_pos = np.isfinite(lon) & np.isfinite(lat)
    parts = [_PG_HEADER]
    for mask, dtype in ((~has_pos, _ROW_NOPOS), (has_pos, _ROW_POS)):
        n = int(mask.sum())
        if not n:
            continue
        rows = np.empty(n, dtype)
        rows["nf"], rows["l1"], rows["l2"], rows["l3"] = 5, 4, 8, 8
        rows["sid"], rows["ts"], rows["v"] = sid[mask], ts[mask], value[mask]
        if dtype is _ROW_POS:
            rows["l4"], rows["l5"] = 8, 8
            rows["lon"], rows["lat"] = lon[mask], lat[mask]
        else:
            rows["l4"], rows["l5"] = -1, -1
        parts.append(rows.tobytes())
    parts.append(_PG_TRAILER)
    return b"".join(parts)


def write_readings(conn: Connection, sid: np.ndarray, ts: np.ndarray, value: np.ndarray,
                   lon: np.ndarray, lat: np.ndarray) -> int:
    """Store a batch inside the caller's transaction; returns how many rows were new."""
    if len(sid) == 0:
        return 0
    if conn.dialect.name == "postgresql":
        return _write_pg(conn, sid, ts, value, lon, lat)
    return _write_sqlite(conn, sid, ts, value, lon, lat)


def _write_pg(conn: Connection, sid: np.ndarray, ts: np.ndarray, value: np.ndarray,
              lon: np.ndarray, lat: np.ndarray) -> int:
    conn.execute(text(
        "CREATE TEMP TABLE IF NOT EXISTS _stage_readings (sensor_id int4, ts int8, value float8,"
        " lon float8, lat float8) ON COMMIT DELETE ROWS"))
    raw = conn.connection.driver_connection
    data = copy_payload(sid, ts, value, lon, lat)
    sql = "COPY _stage_readings (sensor_id, ts, value, lon, lat) FROM STDIN WITH (FORMAT binary)"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        copy.write(data)
    inserted = int(conn.execute(text(_PG_STATEMENT)).scalar_one())
    conn.execute(text("TRUNCATE _stage_readings"))
    return inserted


def _dedupe(sid: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each (sensor, ts) in the batch."""
    order = np.lexsort((ts, sid))
    s, t = sid[order], ts[order]
    first = np.r_[True, (s[1:] != s[:-1]) | (t[1:] != t[:-1])]
    return order[first]


def _write_sqlite(conn: Connection, sid: np.ndarray, ts: np.ndarray, value: np.ndarray,
                  lon: np.ndarray, lat: np.ndarray) -> int:
    keep = _dedupe(sid, ts)
    lon_o = np.where(np.isfinite(lon[keep]), lon[keep], None)
    lat_o = np.where(np.isfinite(lat[keep]), lat[keep], None)
    rows = list(zip(sid[keep].tolist(), ts[keep].tolist(), value[keep].tolist(),
                    lon_o.tolist(), lat_o.tolist(), strict=True))
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS _stage_readings (sensor_id INTEGER,"
                    " ts INTEGER, value REAL, lon REAL, lat REAL)")
        cur.execute("DELETE FROM _stage_readings")
        cur.executemany("INSERT INTO _stage_readings VALUES (?, ?, ?, ?, ?)", rows)
        # Only rows not stored before stay in the stage, so the aggregates count each once
        # (SQLite has one writer at a time, so nothing can slip in between).
        cur.execute("DELETE FROM _stage_readings WHERE EXISTS (SELECT 1 FROM readings r"
                    " WHERE r.sensor_id = _stage_readings.sensor_id"
                    " AND r.ts = _stage_readings.ts)")
        cur.execute("INSERT INTO readings (sensor_id, ts, value, lon, lat)"
                    " SELECT sensor_id, ts, value, lon, lat FROM _stage_readings")
        inserted = cur.rowcount
        cur.execute(_AGG_SQLITE.format(table="readings_1m", width=MINUTE_MS))
        cur.execute(_AGG_SQLITE.format(table="readings_1h", width=HOUR_MS))
        cur.execute(
            "INSERT INTO sensor_latest (sensor_id, ts, value, lon, lat)"
            # SQLite takes the bare columns from the row holding max(ts).
            " SELECT sensor_id, max(ts), value, lon, lat FROM _stage_readings"
            " GROUP BY sensor_id"
            " ON CONFLICT (sensor_id) DO UPDATE SET ts = excluded.ts, value = excluded.value,"
            " lon = excluded.lon, lat = excluded.lat WHERE excluded.ts > sensor_latest.ts")
        cur.execute("DELETE FROM _stage_readings")
    finally:
        cur.close()
    return int(inserted)


def purge_before(conn: Connection, cutoff_ms: int) -> int:
    """Retention: drop raw readings older than the cutoff (aggregates are kept)."""
    result = conn.execute(text("DELETE FROM readings WHERE ts < :cutoff"), {"cutoff": cutoff_ms})
    return int(result.rowcount or 0)
