"""`safecity simulate`: devices that publish realistic readings and scripted anomalies.

Uses the demo sensors (DEMO-…, tokens from demo.demo_token) and creates SIM-… sensors the same
way when more are asked for. Values follow each type's diurnal pattern with noise; anomalies are
scripted: a gas leak spreading over one grid cell's detectors (1 min in), a pipe burst (3 min),
a bridge overload (5 min), an elevator trapping (7 min) and a vehicle off its route (10 min),
again every hour; a run shorter than the script plays it faster so all of it fits.
Posting over HTTP retries with backoff: a busy or restarting server slows the devices, never
stops them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
from sqlalchemy import insert, select

from safecity.core.db import session_scope
from safecity.monitoring import wire
from safecity.monitoring.demo import ALARMS, BASE, NOISE, PREFIX, demo_token, diurnal
from safecity.monitoring.models import Sensor
from safecity.monitoring.settings import get_monitoring_settings
from safecity.monitoring.stream import Publisher
from safecity.monitoring.telemetry import hash_token

TICK_S = 0.1
log = logging.getLogger(__name__)

# The script as (seconds into the cycle, progress value of values()): a visitor who opens the
# demo sees the first incident within two minutes and all five within fifteen. `progress` keeps
# the anomalies' order and the leak's spread (one more detector every 0.03, about 24 s).
SCRIPT_KNOTS_S = (0.0, 60.0, 180.0, 300.0, 420.0, 600.0, 900.0)
SCRIPT_KNOTS_P = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)
SCRIPT_CYCLE_S = 3600.0


def script_progress(elapsed_s: float, duration_s: float) -> float:
    """Where the anomaly script stands `elapsed_s` into a run of `duration_s` seconds."""
    scale = min(1.0, duration_s / (SCRIPT_KNOTS_S[-1] * 1.1))  # short runs: script compressed
    cycle = max(SCRIPT_CYCLE_S * scale, 1e-9)
    return float(np.interp(elapsed_s % cycle, [k * scale for k in SCRIPT_KNOTS_S], SCRIPT_KNOTS_P))


@dataclass
class Fleet:
    devices: list[str]
    types: list[str]
    cells: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    # where a rescue-vehicle tracker is driving to (its route's end); NaN: it stays put
    dest_lon: np.ndarray | None = None
    dest_lat: np.ndarray | None = None


def _route_end(route: Any) -> tuple[float, float]:
    try:
        lon, lat = route["coordinates"][-1]
        return float(lon), float(lat)
    except (KeyError, IndexError, TypeError, ValueError):
        return math.nan, math.nan


def fleet(count: int) -> Fleet:
    """The first `count` demo/simulator sensors, creating SIM-… ones when there are too few,
    plus every demo rescue-vehicle tracker (registered after the others by the resources demo:
    counted in `count`, they would push the last demo sensors out and those would go offline)."""
    columns = (
        Sensor.device_id,
        Sensor.sensor_type,
        Sensor.grid_cell_id,
        Sensor.lon,
        Sensor.lat,
        Sensor.division_code,
    )
    ours = Sensor.device_id.like(f"{PREFIX}%") | Sensor.device_id.like("SIM-%")
    with session_scope() as session:
        rows = list(
            session.execute(
                select(*columns)
                .where(ours, Sensor.sensor_type != "tracker")
                .order_by(Sensor.id)
                .limit(count)
            ).all()
        )
        trackers = session.execute(
            select(*columns).where(ours, Sensor.sensor_type == "tracker").order_by(Sensor.id)
        ).all()
        ends = dict(
            session.execute(
                select(Sensor.device_id, Sensor.route).where(
                    Sensor.sensor_type == "tracker", Sensor.route.is_not(None)
                )
            ).all()
        )
        if len(rows) < count:
            template = rows or [("", "gas", None, 121.4, 37.5, "370602")]
            now = datetime.now(UTC)
            extra = []
            for i in range(len(rows), count):
                _d, stype, cell, lon, lat, division = template[i % len(template)]
                device = f"SIM-{i:06d}"
                extra.append(
                    {
                        "device_id": device,
                        "name": device,
                        "sensor_type": stype,
                        "division_code": division,
                        "grid_cell_id": cell,
                        "facility": "",
                        "lon": lon,
                        "lat": lat,
                        "status": "active",
                        "token_hash": hash_token(demo_token(device)),
                        "archived": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for start in range(0, len(extra), 5000):
                session.execute(insert(Sensor), extra[start : start + 5000])
            rows += [
                (
                    e["device_id"],
                    e["sensor_type"],
                    e["grid_cell_id"],
                    e["lon"],
                    e["lat"],
                    e["division_code"],
                )
                for e in extra
            ]
        rows += trackers
    dest = np.array([_route_end(ends.get(r[0])) for r in rows], float).reshape(-1, 2)
    return Fleet(
        [r[0] for r in rows],
        [r[1] for r in rows],
        np.array([r[2] if r[2] is not None else -1 for r in rows]),
        np.array([r[3] if r[3] is not None else 121.4 for r in rows], float),
        np.array([r[4] if r[4] is not None else 37.5 for r in rows], float),
        dest[:, 0],
        dest[:, 1],
    )


def values(
    f: Fleet,
    idx: np.ndarray,
    now_ms: int,
    progress: float,
    anomalies: bool,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, lon, lat for the sensors idx at now_ms; `progress` 0..1 along the run."""
    hour = np.full(len(idx), ((now_ms / 3_600_000) + 8) % 24)
    types = [f.types[i] for i in idx.tolist()]
    out = np.empty(len(idx))
    for t in set(types):
        mask = np.array([x == t for x in types])
        # Instrument noise reading to reading is small (the demo's NOISE is the spread within
        # an hour); larger jitter at 1 Hz would trip the rate-of-change rules by itself.
        out[mask] = BASE[t] + diurnal(t, hour[mask]) + rng.normal(0, NOISE[t] * 0.02, mask.sum())
    out = np.maximum(out, 0)
    lon, lat = np.full(len(idx), np.nan), np.full(len(idx), np.nan)
    vehicles = np.array([t == "vehicle" for t in types])
    if vehicles.any():
        along = (now_ms / 600_000) % 1.0  # ten minutes end to end along the route
        lon[vehicles] = f.lon[idx[vehicles]] + 0.05 * along
        lat[vehicles] = f.lat[idx[vehicles]] + 0.01 * along
    trackers = np.array([t == "tracker" for t in types])
    if trackers.any():
        _drive(f, idx, trackers, now_ms, out, lon, lat)
    if anomalies:
        _anomalies(f, idx, types, out, lon, lat, progress)
    return out, lon, lat


DRIVE_MS, ON_SCENE_MS = 600_000, 300_000  # ten minutes to the scene, five there, then again


def _drive(
    f: Fleet,
    idx: np.ndarray,
    trackers: np.ndarray,
    now_ms: int,
    out: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
) -> None:
    """Trackers report where they are: at their station, or (sent to a scene) along the way."""
    at = idx[trackers]
    lon[trackers], lat[trackers] = f.lon[at], f.lat[at]
    if f.dest_lon is None or f.dest_lat is None:
        return
    going = ~np.isnan(f.dest_lon[at])
    if not going.any():
        return
    phase = now_ms % (DRIVE_MS + ON_SCENE_MS)
    along = min(phase / DRIVE_MS, 1.0)
    sel = np.flatnonzero(trackers)[going]
    lon[sel] = f.lon[at[going]] + (f.dest_lon[at[going]] - f.lon[at[going]]) * along
    lat[sel] = f.lat[at[going]] + (f.dest_lat[at[going]] - f.lat[at[going]]) * along
    out[sel] = 40.0 if along < 1.0 else 0.0


def _of_type(f: Fleet, sensor_type: str) -> list[int]:
    """The fleet's sensors of a type, past those the demo opened alarms on (a scripted incident
    on a sensor already in alarm would change nothing a visitor can see); all when too few."""
    found = [i for i, t in enumerate(f.types) if t == sensor_type]
    seeded = sum(1 for t, _v in ALARMS if t == sensor_type)
    return found[seeded:] if len(found) > seeded else found


def _first(f: Fleet, sensor_type: str) -> int | None:
    return next(iter(_of_type(f, sensor_type)), None)


def _anomalies(
    f: Fleet,
    idx: np.ndarray,
    types: list[str],
    out: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    progress: float,
) -> None:
    gas = _of_type(f, "gas")
    if gas and progress >= 0.2:
        cell = f.cells[gas[0]]
        leak = [i for i in gas if f.cells[i] == cell][:4]
        for rank, i in enumerate(leak):  # spreads: one more detector every 3 % of the run
            if progress >= 0.2 + 0.03 * rank:
                out[idx == i] = 15 + 15 * rank
    for sensor_type, start, value in (
        ("pipe_pressure", 0.35, 0.04),
        ("bridge_strain", 0.5, 950),
        ("elevator", 0.65, 3),
    ):
        i = _first(f, sensor_type)
        if i is not None and start <= progress < start + 0.1:
            out[idx == i] = value
    v = _first(f, "vehicle")
    if v is not None and progress >= 0.8:
        lat[idx == v] = lat[idx == v] + 0.01  # about 1.1 km off the approved corridor


def _payloads(
    f: Fleet, idx: np.ndarray, vals: np.ndarray, lon: np.ndarray, lat: np.ndarray, now_ms: int
) -> list[tuple[str, bytes]]:
    out = []
    for k, i in enumerate(idx.tolist()):
        d = f.devices[i]
        at = (round(float(lon[k]), 6), round(float(lat[k]), 6)) if np.isfinite(lon[k]) else None
        value = round(float(vals[k]), 4)
        out.append((d, wire.reading(demo_token(d), now_ms, value, *(at or (None, None)))))
    return out


class _Mqtt:
    """Minimal pipelined QoS 1 publisher (paho's threaded publish is too slow for 20k/s)."""

    def __init__(self) -> None:
        s = get_monitoring_settings()
        self.sock = socket.create_connection((s.mqtt_host, s.mqtt_port))
        cid = f"safecity-sim-{int(time.time())}"
        self.sock.sendall(wire.connect_packet(cid, None, None, 0, 4, clean=True, keepalive=60))
        self.sock.recv(4)
        self.mid = 0

    def send(self, items: list[tuple[str, bytes]]) -> None:
        out = bytearray()
        for device, payload in items:
            self.mid = self.mid % 65535 + 1
            out += wire.publish_packet(wire.topic_for(device).encode(), payload, self.mid)
        self.sock.sendall(out)
        self.sock.setblocking(False)
        try:
            while self.sock.recv(65536):  # drain PUBACKs
                pass
        except BlockingIOError:
            pass
        self.sock.setblocking(True)


def run(
    *, sensors: int, rate: float, via: str, duration: float, url: str, anomalies: bool
) -> dict[str, Any]:
    f = fleet(sensors)
    rng = np.random.default_rng()
    per_tick = max(1, int(rate * TICK_S))
    sender: Any
    if via == "mqtt":
        sender = _Mqtt().send
    elif via == "http":
        sender = _http_sender(url)
    else:
        sender = _nats_sender()
    start = time.monotonic()
    cursor, sent = 0, 0
    while time.monotonic() - start < duration:
        tick = time.monotonic()
        idx = (np.arange(per_tick) + cursor) % len(f.devices)
        cursor = int((cursor + per_tick) % len(f.devices))
        now_ms = int(time.time() * 1000)
        vals, lon, lat = values(
            f, idx, now_ms, script_progress(tick - start, duration), anomalies, rng
        )
        sender(_payloads(f, idx, vals, lon, lat, now_ms))
        sent += len(idx)
        time.sleep(max(0.0, TICK_S - (time.monotonic() - tick)))
    out = {
        "via": via,
        "sensors": len(f.devices),
        "sent": sent,
        "seconds": round(time.monotonic() - start, 1),
    }
    return out | ({"http": dict(sender.statuses)} if hasattr(sender, "statuses") else {})


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def post_with_retry(
    post: Callable[[], Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    first_s: float = 0.5,
    max_s: float = 30.0,
) -> Any:
    """post() until it is answered with anything but a server error or a refused connection,
    waiting 0.5, 1, 2 … up to 30 s between tries; each failure is logged. A 4xx is returned:
    trying the same body again would be refused again."""
    wait = first_s
    while True:
        try:
            resp = post()
            if resp.status_code not in RETRY_STATUSES:
                return resp
            reason = f"HTTP {resp.status_code}"
        except httpx.TransportError as exc:  # refused, reset, timed out: the server may restart
            reason = f"{type(exc).__name__}: {exc}"
        log.warning("telemetry post failed (%s); retrying in %.1f s", reason, wait)
        sleep(wait)
        wait = min(max_s, wait * 2)


def _http_sender(url: str) -> Any:
    client = httpx.Client(base_url=url, timeout=30)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
        )
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per post otherwise

    statuses: Counter[str] = Counter()  # every answer, retried ones too: the soak counts 5xx

    def post(d: str, bodies: list[bytes]) -> Any:
        try:
            resp = client.post(
                "/api/v1/telemetry",
                content=b"\n".join(bodies),
                headers={
                    "Authorization": f"Bearer {demo_token(d)}",
                    "Content-Type": "application/x-ndjson",
                },
            )
        except httpx.TransportError:
            statuses["error"] += 1
            raise
        statuses[str(resp.status_code)] += 1
        return resp

    def send(items: list[tuple[str, bytes]]) -> None:
        by_device: dict[str, list[bytes]] = {}
        for d, body in items:
            by_device.setdefault(d, []).append(body)
        for d, bodies in by_device.items():
            resp = post_with_retry(lambda d=d, bodies=bodies: post(d, bodies))
            if resp.status_code >= 400:
                log.warning(
                    "telemetry from %s refused: HTTP %s %s", d, resp.status_code, resp.text[:200]
                )

    send.statuses = statuses  # type: ignore[attr-defined]
    return send


def _nats_sender() -> Any:
    loop = asyncio.new_event_loop()
    pub = Publisher(get_monitoring_settings())
    loop.run_until_complete(pub.connect())
    return lambda items: loop.run_until_complete(pub.publish_many(items))
