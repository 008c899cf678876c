"""Demo-city data of the monitoring capability, loaded by `safecity demo` after the registry.

About 3,000 sensors spread over the demo city's grid cells (weighted towards gas, pressure and
fire sensors, as the plans ask), a day of hourly aggregates, the last hour of minute aggregates,
latest values, and a handful of open alarms raised through the real alarm service. Demo device
tokens are derived from the device id (demo_token) so `safecity simulate` can speak for them;
never use this derivation for real devices.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from safecity.monitoring import alarms as alarm_service
from safecity.monitoring.catalog import TYPES
from safecity.monitoring.models import Reading, ReadingHour, ReadingMinute, Sensor, SensorLatest
from safecity.monitoring.pipeline import current_rules
from safecity.monitoring.rules import LEVEL_NUM, Transition, effective_rule
from safecity.monitoring.telemetry import hash_token
from safecity.registry.models import GridCell

PREFIX = "DEMO-"
COUNT = 3000
CHUNK = 5000
# share of each type among the demo sensors
MIX = {
    "gas": 0.25,
    "pipe_pressure": 0.08,
    "water_pressure": 0.08,
    "hydrant_pressure": 0.08,
    "smoke": 0.12,
    "temperature": 0.07,
    "residual_current": 0.08,
    "elevator": 0.10,
    "bridge_strain": 0.02,
    "bridge_deflection": 0.01,
    "water_level": 0.03,
    "rainfall": 0.02,
    "crowd": 0.02,
    "vehicle": 0.04,
}
BASE = {
    "gas": 0.8,
    "pipe_pressure": 0.32,
    "water_pressure": 0.38,
    "hydrant_pressure": 0.3,
    "smoke": 0.0,
    "temperature": 24.0,
    "residual_current": 60.0,
    "elevator": 0.0,
    "bridge_strain": 120.0,
    "bridge_deflection": 6.0,
    "water_level": 1.2,
    "rainfall": 0.0,
    "crowd": 3000.0,
    "vehicle": 45.0,
    "tracker": 0.0,  # at the station until dispatched
}
NOISE = {
    "gas": 0.3,
    "pipe_pressure": 0.01,
    "water_pressure": 0.015,
    "hydrant_pressure": 0.01,
    "smoke": 0.0,
    "temperature": 1.5,
    "residual_current": 15.0,
    "elevator": 0.0,
    "bridge_strain": 30.0,
    "bridge_deflection": 1.5,
    "water_level": 0.1,
    "rainfall": 0.5,
    "crowd": 800.0,
    "vehicle": 10.0,
    "tracker": 0.0,
}
ALARMS = (
    ("gas", 28.0),
    ("gas", 12.0),
    ("pipe_pressure", 0.09),
    ("water_pressure", 0.18),
    ("residual_current", 520.0),
    ("elevator", 3.0),
    ("temperature", 58.0),
    ("smoke", 1.0),
    ("bridge_strain", 850.0),
    ("water_level", 2.6),
    ("crowd", 31000.0),
    ("gas", 55.0),
)


def demo_token(device_id: str) -> str:
    return hashlib.sha256(f"safecity-demo:{device_id}".encode()).hexdigest()[:32]


def diurnal(sensor_type: str, hour: np.ndarray) -> np.ndarray:
    """Daily pattern: demand-driven pressure dips at 7-9 h and 18-20 h, crowds and traffic by day."""
    day = np.sin((hour - 6) / 24 * 2 * np.pi)
    if sensor_type in ("water_pressure", "pipe_pressure"):
        return -0.04 * np.clip(day, 0, None)
    if sensor_type in ("crowd",):
        return 6000 * np.clip(day, 0, None)
    if sensor_type == "temperature":
        return 3 * day
    if sensor_type == "vehicle":
        return 15 * np.clip(day, 0, None)
    return np.zeros_like(hour, dtype=float)


def _sensors(cells: list[Any], rng: np.random.Generator, now: datetime) -> list[dict[str, Any]]:
    codes = list(MIX)
    kinds = rng.choice(len(codes), size=COUNT, p=np.array(list(MIX.values())) / sum(MIX.values()))
    rows = []
    for i, k in enumerate(kinds.tolist()):
        cell = cells[int(rng.integers(len(cells)))]
        stype = TYPES[codes[k]]
        device = f"{PREFIX}{codes[k][:4].upper()}-{i:05d}"
        lon = (cell.lon or 121.4) + float(rng.normal(0, 0.002))
        lat = (cell.lat or 37.5) + float(rng.normal(0, 0.002))
        route = None
        if codes[k] == "vehicle":
            route = {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.05, lat + 0.01]]}
        rows.append(
            {
                "device_id": device,
                "name": f"{cell.name}{stype.zh}{i:05d}",
                "sensor_type": codes[k],
                "division_code": cell.division_code,
                "grid_cell_id": cell.id,
                "facility": stype.facility_zh,
                "lon": lon,
                "lat": lat,
                "status": "active",
                "token_hash": hash_token(demo_token(device)),
                "route": route,
                "archived": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def load(
    session: Session, now: datetime, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, Any]:
    """Load this capability's demo data; a second call does nothing (idempotent)."""
    if session.scalar(select(Sensor.id).where(Sensor.device_id.like(f"{PREFIX}%")).limit(1)):
        return {}
    cells = list(
        session.scalars(select(GridCell).where(GridCell.archived.is_(False)).order_by(GridCell.id))
    )
    if not cells:
        return {}
    rng = np.random.default_rng(20261123)
    rows = _sensors(cells, rng, now)
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(Sensor), rows[start : start + CHUNK])
    ids = dict(
        session.execute(
            select(Sensor.device_id, Sensor.id).where(Sensor.device_id.like(f"{PREFIX}%"))
        ).all()
    )
    if progress:
        progress("sensors", len(rows), len(rows))
    now_ms = int(now.timestamp() * 1000)
    hours, minutes, latest = _aggregates(rows, ids, now_ms, rng)
    picks = _alarm_picks(session, rows, ids)
    # Each alarm's reading is in the data too: the sensor page shows what raised it.
    spikes = [
        {"sensor_id": sid, "ts": now_ms, "value": value, "lon": None, "lat": None}
        for sid, _row, value, _level in picks
    ]
    _add_readings(spikes, hours, minutes, latest)
    session.execute(insert(Reading), spikes)
    for label, model, data in (
        ("readings_1h", ReadingHour, hours),
        ("readings_1m", ReadingMinute, minutes),
        ("sensor_latest", SensorLatest, latest),
    ):
        for start in range(0, len(data), CHUNK):
            session.execute(insert(model), data[start : start + CHUNK])
            if progress:
                progress(label, min(start + CHUNK, len(data)), len(data))
    opened = _alarms(session, picks, now, now_ms)
    return {
        "sensors": len(rows),
        "hourly_aggregates": len(hours),
        "minute_aggregates": len(minutes),
        "alarms": opened,
    }


def _aggregates(
    rows: list[dict[str, Any]], ids: dict[str, int], now_ms: int, rng: np.random.Generator
) -> tuple[list[dict], list[dict], list[dict]]:
    hour_now = now_ms - now_ms % 3_600_000
    minute_now = now_ms - now_ms % 60_000
    hour_buckets = np.arange(hour_now - 23 * 3_600_000, hour_now + 1, 3_600_000)
    minute_buckets = np.arange(minute_now - 59 * 60_000, minute_now + 1, 60_000)
    hours, minutes, latest = [], [], []
    for row in rows:
        sid, stype = ids[row["device_id"]], row["sensor_type"]
        for buckets, per, out in ((hour_buckets, 60, hours), (minute_buckets, 1, minutes)):
            local_hour = ((buckets / 3_600_000) + 8) % 24  # Beijing time drives the pattern
            mean = BASE[stype] + diurnal(stype, local_hour)
            spread = NOISE[stype]
            noise = rng.normal(0, spread / np.sqrt(per), len(buckets))
            vmean = mean + noise
            for b, m in zip(buckets.tolist(), vmean.tolist(), strict=True):
                n = per * 6  # a reading every 10 s
                out.append(
                    {
                        "sensor_id": sid,
                        "bucket": b,
                        "n": n,
                        "vmin": m - spread,
                        "vmax": m + spread,
                        "vsum": m * n,
                    }
                )
        latest.append(
            {
                "sensor_id": sid,
                "ts": minute_now,
                "value": float(minutes[-1]["vsum"] / minutes[-1]["n"]),
                "lon": None,
                "lat": None,
            }
        )
    return hours, minutes, latest


def _add_readings(
    spikes: list[dict[str, Any]],
    hours: list[dict[str, Any]],
    minutes: list[dict[str, Any]],
    latest: list[dict[str, Any]],
) -> None:
    """Count readings into the (already built) aggregates and make them the latest values."""
    for width, rows in ((3_600_000, hours), (60_000, minutes)):
        index = {(r["sensor_id"], r["bucket"]): r for r in rows}
        for spike in spikes:
            row = index[(spike["sensor_id"], spike["ts"] - spike["ts"] % width)]
            row["n"] += 1
            row["vsum"] += spike["value"]
            row["vmin"] = min(row["vmin"], spike["value"])
            row["vmax"] = max(row["vmax"], spike["value"])
    by_sensor = {r["sensor_id"]: r for r in latest}
    for spike in spikes:
        by_sensor[spike["sensor_id"]].update(ts=spike["ts"], value=spike["value"])


def _alarm_picks(
    session: Session, rows: list[dict[str, Any]], ids: dict[str, int]
) -> list[tuple[int, dict[str, Any], float, int]]:
    """(sensor id, sensor row, value, level) of the demo's open alarms: ALARMS' values given to
    the first sensors of each type."""

    _version, rule_set = current_rules(session)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_type.setdefault(row["sensor_type"], []).append(row)
    picks = []
    used: dict[str, int] = {}
    for stype, value in ALARMS:
        pool = by_type.get(stype) or []
        k = used.get(stype, 0)
        if k >= len(pool):
            continue
        used[stype] = k + 1
        level = _level(effective_rule(rule_set, stype, None), value)
        if level:
            picks.append((ids[pool[k]["device_id"]], pool[k], value, level))
    return picks


def _alarms(
    session: Session,
    picks: list[tuple[int, dict[str, Any], float, int]],
    now: datetime,
    now_ms: int,
) -> int:
    """The picked alarms opened through the alarm service (events are not published inside the
    demo load's transaction: handlers open their own transactions)."""
    transitions, infos = [], {}
    for sid, row, value, level in picks:
        infos[sid] = alarm_service.SensorInfo(
            sid,
            row["name"],
            row["sensor_type"],
            row["division_code"],
            row["grid_cell_id"],
            None,
            row["lon"],
            row["lat"],
        )
        transitions.append(Transition(sid, "threshold", level, now_ms, value, row["grid_cell_id"]))
    alarm_service.apply_transitions(session, transitions, infos, {}, now)
    return len(transitions)


def _level(rule: dict[str, Any], value: float) -> int:
    sign = {"high": 1, "low": -1, "abs": 1}.get(rule.get("direction", "high"), 1)
    x = abs(value) if rule.get("direction") == "abs" else value * sign
    level = 0
    for name in ("blue", "yellow", "orange", "red"):
        t = rule.get(name)
        if t is not None and x >= t * sign:
            level = LEVEL_NUM[name]
    return level


def add_trackers(session: Session, trackers: list[dict[str, Any]], now: datetime) -> int:
    """Register the demo's rescue-vehicle trackers (device_id, name, division_code, lon, lat),
    each with a first position where it stands, so the command map can show a dispatched force
    before the simulator speaks for it. Ids already registered are left alone."""
    known = set(
        session.scalars(
            select(Sensor.device_id).where(Sensor.device_id.in_([t["device_id"] for t in trackers]))
        )
    )
    fresh = [t for t in trackers if t["device_id"] not in known]
    for t in fresh:
        sensor = Sensor(
            device_id=t["device_id"],
            name=t["name"],
            sensor_type="tracker",
            division_code=t["division_code"],
            facility=TYPES["tracker"].facility_zh,
            lon=t["lon"],
            lat=t["lat"],
            status="active",
            token_hash=hash_token(demo_token(t["device_id"])),
            archived=False,
            created_at=now,
            updated_at=now,
        )
        session.add(sensor)
        session.flush()
        session.add(
            SensorLatest(
                sensor_id=sensor.id,
                ts=int(now.timestamp() * 1000),
                value=0.0,
                lon=t["lon"],
                lat=t["lat"],
            )
        )
    return len(fresh)


def route_tracker(
    session: Session, sensor_id: int, start: tuple[float, float], end: tuple[float, float]
) -> None:
    """Send a demo tracker on its way: the simulator drives it from start to end (a dispatched
    force en route to the scene)."""
    sensor = session.get(Sensor, sensor_id)
    if sensor is not None and sensor.sensor_type == "tracker":
        sensor.route = {"type": "LineString", "coordinates": [list(start), list(end)]}
