"""Benchmark: the city at work — 20,000 readings/s arriving while 50 staff sessions use the product.

Prints one JSON object. On a fresh PostgreSQL database loaded with `safecity demo` (the
project's CLI, ~3,000 demo sensors), it runs the production parts as the README documents them:
the production broker — NATS Server's MQTT listener with deploy/nats/safecity-mqtt.conf on free
ports (MQTT 3.1.1; BENCH_LOAD_BROKER=mosquitto runs Mosquitto with deploy/mosquitto/safecity.conf
instead, for comparison) — one `safecity mqtt` consumer, and
`safecity serve --workers BENCH_LOAD_WEB_WORKERS`. Then, for BENCH_LOAD_DURATION_S:

- a publisher process sends single-reading QoS 1 MQTT messages from the demo sensors (the
  simulator's diurnal values, no scripted anomalies) at BENCH_LOAD_RATE readings/s;
- BENCH_LOAD_SESSIONS staff sessions (logged in through /login with cookies, roles cycling
  through admin, commander, duty officer, analyst, inspector, liaison, two district officers,
  grid member, enterprise officer) open pages the way a browser does: the HTML, then the
  page's data calls at once, then think for ~BENCH_LOAD_THINK_S (uniform 0.5×–1.5×);
- an alarm probe sends a red gas reading from a gas sensor kept out of the load every
  BENCH_LOAD_PROBE_INTERVAL_S, and polls GET /api/v1/monitoring/alarms?sensor_id= (as the duty
  officer) every 20 ms until that reading's own alarm is there.

Timed: every request (per URL: p50/p95/p99), every page visit (HTML + its data calls), alarm
latency (probe published → its alarm answered by the API), readings stored per second during
the window (from the database) and acknowledged by the broker. Not timed: the browser's
drawing and scripts, the alarm console's live SSE stream, logins, the demo load, start-up.
Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it): every URL's p95 < 300 ms, alarm
p99 ≤ 1,000 ms, readings stored per second ≥ 95 % of the target rate, and no errors (non-2xx
answers, timeouts, a probe alarm never seen, publisher errors, acknowledged readings lost).
The sessions' client, the publisher, broker, consumer, web workers and PostgreSQL all share this
machine's cores; the JSON says how many. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from ingest import consumer_env, start_broker
from sqlalchemy import create_engine, text

from safecity.monitoring.demo import demo_token
from safecity.monitoring.simulate import Fleet, values

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import alogin, drop_db, free_port, fresh_db, wait_http
from judging import verdict

DURATION_S = float(os.environ.get("BENCH_LOAD_DURATION_S", "120"))
RATE = int(os.environ.get("BENCH_LOAD_RATE", "20000"))
SESSIONS = int(os.environ.get("BENCH_LOAD_SESSIONS", "50"))
THINK_S = float(os.environ.get("BENCH_LOAD_THINK_S", "2"))
WEB_WORKERS = int(os.environ.get("BENCH_LOAD_WEB_WORKERS", "2"))
PROBE_EVERY_S = float(os.environ.get("BENCH_LOAD_PROBE_INTERVAL_S", "1"))
# nats_mqtt: the production broker (deploy/nats); mosquitto: deploy/mosquitto, to compare
BROKER = os.environ.get("BENCH_LOAD_BROKER", "nats_mqtt")
BROKER_PATHS = {
    "nats_mqtt": "NATS Server's MQTT listener (deploy/nats/safecity-mqtt.conf)",
    "mosquitto": "Mosquitto (deploy/mosquitto/safecity.conf)",
}
PAGE_P95_MS, ALARM_P99_MS, RATE_SHARE = 300.0, 1000.0, 0.95
PROBE_TIMEOUT_S = 10.0
TICK_S = 0.1
ROLES = (
    "admin",
    "commander",
    "duty",
    "analyst",
    "inspector",
    "liaison",
    "zhifu",
    "laishan",
    "grid",
    "enterprise",
)
# A page visit: the HTML, then the calls its script makes on load (see the page's JS).
VISITS: dict[str, list[str]] = {
    "one_map": [
        "/map",
        "/api/v1/map/layers/divisions",
        "/api/v1/map/layers/grid-cells",
        "/api/v1/map/layers/enterprises",
        "/api/v1/map/layers/protected-targets",
        "/api/v1/risk/map?unit=district",
        "/api/v1/risk/map/hazards",
        "/api/v1/monitoring/map/alarms",
        "/api/v1/monitoring/map/sensors",
        "/api/v1/warnings/public",
    ],
    "alarm_console": [
        "/monitoring/alarms",
        "/api/v1/map/layers/divisions",
        "/api/v1/monitoring/alarms?open=true",
    ],
    "risk_map": ["/risk/map", "/api/v1/risk/map?unit=grid", "/api/v1/risk/map/hazards"],
    "hidden_danger_list": ["/hazards", "/api/v1/hazards"],
    "hidden_danger_dashboard": ["/hazards/stats", "/api/v1/hazards/stats"],
    "warnings": ["/warnings", "/api/v1/warnings"],
}
TIMED = [
    "each request per URL (p50/p95/p99)",
    "each page visit: HTML + its data calls at once",
    "alarm latency: probe published → its alarm in GET /api/v1/monitoring/alarms",
    "readings stored per second during the window (database) and acknowledged (broker)",
]
NOT_TIMED = [
    "browser drawing and scripts",
    "the alarm console's SSE stream",
    "logins",
    "demo load and start-up",
]


# ---------------------------------------------------------------- judging (pure)


def percentile(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)  # nearest rank: p95 of 100 samples is the 95th smallest
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(samples: list[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50_ms": _r(percentile(samples, 0.5)),
        "p95_ms": _r(percentile(samples, 0.95)),
        "p99_ms": _r(percentile(samples, 0.99)),
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def judge(out: dict[str, Any]) -> dict[str, Any]:
    """Every URL's p95, alarm p99, stored rate against the configured rate, zero errors."""
    checks: list[tuple[str, Any, str, float]] = [
        (f"requests[{url}].p95_ms", fig.get("p95_ms"), "<", PAGE_P95_MS)
        for url, fig in sorted((out.get("requests") or {}).items())
    ]
    if not checks:
        checks.append(("requests", None, "<", PAGE_P95_MS))  # no page timed is a miss
    alarm = out.get("alarm_latency") or {}
    checks.append(("alarm_latency.p99_ms", alarm.get("p99_ms"), "<=", ALARM_P99_MS))
    ingest = out.get("ingest") or {}
    checks.append(
        (
            "ingest.stored_per_s",
            ingest.get("stored_per_s"),
            ">=",
            RATE_SHARE * float(out.get("target_rate_per_s") or RATE),
        )
    )
    checks.append(("failures.total", (out.get("failures") or {}).get("total"), "==", 0))
    return verdict(checks)


# ---------------------------------------------------------------- set-up


def cli(*args: str, env: dict[str, str], **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "safecity.cli", *args], env=env, cwd=str(ROOT), **kw
    )


def stored_rows(url: str) -> int:
    """Stored readings: hourly aggregates plus the roll-up inbox (never both), like count(*)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT (SELECT coalesce(sum(n), 0) FROM readings_1h)"
                " + (SELECT count(*) FROM readings_inbox)"
            )
        ).scalar_one()
    engine.dispose()
    return int(n)


def sensors(url: str) -> tuple[list[tuple[str, str, float, float]], list[tuple[int, str]]]:
    """(device, type, lon, lat) of the load fleet, and (id, device) of the probe gas sensors."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, device_id, sensor_type, coalesce(lon, 121.4), coalesce(lat, 37.5),"
                " EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = s.id) FROM sensors s"
                " WHERE device_id LIKE 'DEMO-%' AND NOT archived ORDER BY id"
            )
        ).all()
    engine.dispose()
    probes = [(r[0], r[1]) for r in rows if r[2] == "gas" and not r[5]][:200]
    taken = {d for _i, d in probes}
    return [(r[1], r[2], r[3], r[4]) for r in rows if r[1] not in taken], probes


# ---------------------------------------------------------------- the publisher (own process)


class MqttLink:
    """QoS 1 publisher over a plain MQTT 3.1.1 socket; PUBACKs are counted by a reader thread.

    Written by hand (as in bench/ingest.py): paho's threaded publish manages ~3,000 msgs/s here.
    """

    def __init__(self, port: int, client_id: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cid = client_id.encode()
        body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid
        self.sock.sendall(b"\x10" + _varint(len(body)) + body)
        if self.sock.recv(4)[:2] != b"\x20\x02":
            raise RuntimeError("the broker refused the connection")
        self.sent = self.acked = 0
        self.closed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        pending = b""
        while not self.closed:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            whole = len(pending) // 4 * 4  # only 4-byte PUBACKs arrive
            self.acked += whole // 4
            pending = pending[whole:]

    def send(self, items: list[tuple[str, bytes]]) -> None:
        out = bytearray()
        for topic, payload in items:
            t = topic.encode()
            pid = self.sent % 65535 + 1
            self.sent += 1
            var = len(t).to_bytes(2, "big") + t + pid.to_bytes(2, "big")
            out += b"\x32" + _varint(len(var) + len(payload)) + var + payload
        while self.sent - self.acked > 30_000:  # the broker's window; never reuse a live id
            time.sleep(0.001)
        self.sock.sendall(out)

    def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.acked < self.sent and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.sendall(b"\xe0\x00")
        finally:
            self.sock.close()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def publisher(
    port: int,
    fleet_rows: list[tuple[str, str, float, float]],
    rate: int,
    duration: float,
    start_at: float,
    result: Any,
) -> None:
    """Publish `rate` single-reading messages a second until start_at + duration."""

    try:
        fleet = Fleet(
            [r[0] for r in fleet_rows],
            [r[1] for r in fleet_rows],
            np.full(len(fleet_rows), -1),
            np.array([r[2] for r in fleet_rows]),
            np.array([r[3] for r in fleet_rows]),
        )
        tokens = [demo_token(d) for d in fleet.devices]
        topics = [f"safecity/v1/devices/{d}/telemetry" for d in fleet.devices]
        last_ts = np.zeros(len(fleet.devices), dtype=np.int64)
        rng = np.random.default_rng(7)
        link = MqttLink(port, f"bench-load-{os.getpid()}")
        per_tick, cursor, lag_ticks = max(1, int(rate * TICK_S)), 0, 0
        while time.time() < start_at:
            time.sleep(0.005)
        t0 = time.monotonic()
        tick = 0
        while time.monotonic() - t0 < duration:
            idx = (np.arange(per_tick) + cursor) % len(fleet.devices)
            cursor = int((cursor + per_tick) % len(fleet.devices))
            now_ms = int(time.time() * 1000)
            ts = np.maximum(now_ms, last_ts[idx] + 1)  # one reading per (sensor, ms)
            last_ts[idx] = ts
            vals, lon, lat = values(fleet, idx, now_ms, 0.0, False, rng)
            items = []
            for k, i in enumerate(idx.tolist()):
                extra = f',"lon":{lon[k]:.6f},"lat":{lat[k]:.6f}' if np.isfinite(lon[k]) else ""
                items.append(
                    (
                        topics[i],
                        (
                            f'{{"token":"{tokens[i]}","ts":{int(ts[k])},'
                            f'"value":{float(vals[k]):.4f}{extra}}}'
                        ).encode(),
                    )
                )
            link.send(items)
            tick += 1
            wait = t0 + tick * TICK_S - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                lag_ticks += 1
        seconds = time.monotonic() - t0
        link.drain(30)
        result.update(
            {
                "sent": link.sent,
                "acked": link.acked,
                "seconds": round(seconds, 2),
                "late_ticks": lag_ticks,
            }
        )
        link.close()
    except Exception as exc:  # noqa: BLE001  # surfaced in the JSON as an error, never hidden
        result["error"] = f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- staff sessions


class Stats:
    def __init__(self) -> None:
        self.requests: dict[str, list[float]] = {}
        self.visits: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.alarm_ms: list[float] = []


async def allowed(client: Any) -> dict[str, list[str]]:
    """The visits this role's menu offers: every URL of the visit answers 200 before the run."""
    out = {}
    for name, urls in VISITS.items():
        codes = [(await client.get(u)).status_code for u in urls]
        if codes[0] == 200:
            out[name] = [u for u, c in zip(urls, codes, strict=True) if c == 200]
    return out


async def timed_get(client: Any, url: str, stats: Stats) -> None:
    t = time.perf_counter()
    try:
        resp = await client.get(url)
        await resp.aread()
        status = resp.status_code
    except Exception as exc:  # noqa: BLE001  # a timeout or reset is an error figure
        stats.errors.append(f"GET {url}: {type(exc).__name__}")
        return
    stats.requests.setdefault(url, []).append((time.perf_counter() - t) * 1000)
    if status >= 400:
        stats.errors.append(f"GET {url}: HTTP {status}")


async def session(
    client: Any, pages: dict[str, list[str]], stop_at: float, stats: Stats, rng: random.Random
) -> None:
    await asyncio.sleep(rng.uniform(0, THINK_S))  # sessions do not start in step
    while time.monotonic() < stop_at and pages:
        name = rng.choice(sorted(pages))
        html, *calls = pages[name]
        t = time.perf_counter()
        await timed_get(client, html, stats)
        await asyncio.gather(*(timed_get(client, u, stats) for u in calls))
        stats.visits.setdefault(name, []).append((time.perf_counter() - t) * 1000)
        await asyncio.sleep(THINK_S * rng.uniform(0.5, 1.5))


async def alarm_probe(
    client: Any, port: int, probes: list[tuple[int, str]], stop_at: float, stats: Stats
) -> None:
    link = MqttLink(port, f"bench-probe-{os.getpid()}")
    try:
        for sensor_id, device in probes:
            if time.monotonic() >= stop_at:
                break
            ts = int(time.time() * 1000)
            sent = time.perf_counter()
            link.send(
                [
                    (
                        f"safecity/v1/devices/{device}/telemetry",
                        json.dumps({"token": demo_token(device), "ts": ts, "value": 80.0}).encode(),
                    )
                ]
            )
            seen = False
            while time.perf_counter() - sent < PROBE_TIMEOUT_S:
                resp = await client.get(
                    "/api/v1/monitoring/alarms", params={"sensor_id": sensor_id}
                )
                if resp.status_code == 200 and any(
                    ts in (a["first_ts"], a["last_ts"]) for a in resp.json()["items"]
                ):
                    seen = True
                    break
                await asyncio.sleep(0.02)
            if seen:
                stats.alarm_ms.append((time.perf_counter() - sent) * 1000)
            else:
                stats.errors.append(f"alarm of {device} not visible within {PROBE_TIMEOUT_S} s")
            await asyncio.sleep(max(0.0, PROBE_EVERY_S - (time.perf_counter() - sent)))
    finally:
        link.close()


async def staff(
    base: str, port: int, probes: list[tuple[int, str]], start_at: float, stats: Stats
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=6)  # a browser's connections per host
    clients = [httpx.AsyncClient(base_url=base, timeout=30, limits=limits) for _ in range(SESSIONS)]
    duty = httpx.AsyncClient(base_url=base, timeout=30)
    try:
        roles = [ROLES[i % len(ROLES)] for i in range(SESSIONS)]
        for c, role in zip(clients, roles, strict=True):
            await alogin(c, role, "/map")
        await alogin(duty, "duty", "/map")
        menus: dict[str, dict[str, list[str]]] = {}
        for c, role in zip(clients, roles, strict=True):
            if role not in menus:
                menus[role] = await allowed(c)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        stop_at = time.monotonic() + DURATION_S
        tasks = [
            session(c, menus[r], stop_at, stats, random.Random(k))
            for k, (c, r) in enumerate(zip(clients, roles, strict=True))
        ]
        await asyncio.gather(alarm_probe(duty, port, probes, stop_at, stats), *tasks)
        return {r: sorted(m) for r, m in menus.items()}
    finally:
        for c in [*clients, duty]:
            await c.aclose()


# ---------------------------------------------------------------- the run


def run(url: str, workdir: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "bench"))
    if BROKER not in BROKER_PATHS:
        raise SystemExit(f"BENCH_LOAD_BROKER must be one of {sorted(BROKER_PATHS)}")
    env = {**os.environ, "SAFECITY_DATABASE_URL": url}
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "safecity.cli", "demo"],
        env=env,
        cwd=str(ROOT),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    demo_s = time.perf_counter() - t
    broker = start_broker(BROKER, workdir)
    web_port = free_port()
    base = f"http://127.0.0.1:{web_port}"
    env_mqtt = {**env, **consumer_env(broker)}
    procs = [
        cli("mqtt", env=env_mqtt),
        cli(
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(web_port),
            "--workers",
            str(WEB_WORKERS),
            env=env,
            stdout=subprocess.DEVNULL,
        ),
    ]
    try:
        wait_http(base, timeout=120)
        fleet_rows, probes = sensors(url)
        time.sleep(8)  # the consumer's imports, sensor load and subscription
        stats = Stats()
        manager = mp.Manager()
        result = manager.dict()
        start_at = time.time() + 30  # logins and menus happen before the window
        pub = mp.get_context("spawn").Process(
            target=publisher, args=(broker.port, fleet_rows, RATE, DURATION_S, start_at, result)
        )
        pub.start()
        holder: dict[str, Any] = {}

        def count_window() -> None:  # stored rows at the window's start and its end
            time.sleep(max(0.0, start_at - time.time()))
            holder["before"] = stored_rows(url)
            time.sleep(max(0.0, start_at + DURATION_S - time.time()))
            holder["after"] = stored_rows(url)

        counter = threading.Thread(target=count_window)
        counter.start()
        menus = asyncio.run(staff(base, broker.port, probes, start_at, stats))
        counter.join()
        stored_in_window = holder["after"] - holder["before"]
        pub.join(DURATION_S + 120)
        published = dict(result)
        manager.shutdown()
        probes_sent = len(stats.alarm_ms) + sum("alarm of" in e for e in stats.errors)
        expected = int(published.get("acked", 0)) + probes_sent
        deadline = time.monotonic() + 60  # the consumer may still work off a backlog
        while (
            backlog_done := stored_rows(url) - holder["before"]
        ) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
        return report(
            stats,
            published,
            stored_in_window,
            DURATION_S,
            backlog_done,
            probes_sent,
            menus,
            demo_s,
            len(fleet_rows),
        )
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        broker.stop()


def report(
    stats: Stats,
    published: dict[str, Any],
    stored_in_window: int,
    window_s: float,
    stored_total: int,
    probes_sent: int,
    menus: dict[str, Any],
    demo_s: float,
    fleet: int,
) -> dict[str, Any]:
    errors = list(stats.errors)
    if "error" in published:
        errors.append(f"publisher: {published['error']}")
    acked = int(published.get("acked", 0))
    # Not stored a minute after the window: a backlog the consumer never worked off, or lost.
    unstored = max(0, acked + probes_sent - stored_total)
    if unstored:
        errors.append(f"ingest: {unstored} acknowledged readings not stored 60 s after the run")
    kinds: dict[str, int] = {}
    for e in errors:
        key = e.split(":")[0] if e.startswith(("GET", "ingest", "publisher")) else "alarm probe"
        kinds[key] = kinds.get(key, 0) + 1
    seconds = float(published.get("seconds") or window_s)
    out = {
        "benchmark": "load",
        "database": "postgresql",
        "ingest_path": f"MQTT QoS 1 single-reading messages → {BROKER_PATHS[BROKER]}"
        " → one `safecity mqtt` consumer",
        "broker": BROKER,
        "web": f"`safecity serve --workers {WEB_WORKERS}`",
        "duration_s": DURATION_S,
        "target_rate_per_s": RATE,
        "sessions": SESSIONS,
        "think_s": THINK_S,
        "sensors_loading": fleet,
        "demo_load_s": round(demo_s, 1),
        "requests": {u: summary(v) for u, v in sorted(stats.requests.items())},
        "visits": {v: summary(s) for v, s in sorted(stats.visits.items())},
        "alarm_latency": {**summary(stats.alarm_ms), "probe_every_s": PROBE_EVERY_S},
        "ingest": {
            "stored_per_s": round(stored_in_window / window_s),
            "acked_per_s": round(acked / seconds) if seconds else None,
            "sent": published.get("sent"),
            "acked": acked,
            "late_ticks": published.get("late_ticks"),
            "stored_60s_after_run": stored_total,
            "unstored_60s_after_run": unstored,
        },
        "failures": {"total": len(errors), "by_kind": kinds, "first": errors[:10]},
        "pages_by_role": menus,
        "timed": TIMED,
        "not_timed": NOT_TIMED,
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
            "note": "publisher, broker, the consumer, the web workers, PostgreSQL and"
            " the sessions' client share these cores",
        },
    }
    out.update(judge(out))
    return out


def main() -> None:
    url = fresh_db(f"safecity_bench_load_{os.getpid()}")
    workdir = tempfile.mkdtemp(prefix="bench-load-")
    try:
        out = run(url, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        drop_db(url)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
