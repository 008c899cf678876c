"""Benchmark: telemetry ingestion into PostgreSQL through MQTT (NATS Server's MQTT listener, the
production broker, and Mosquitto as the compared peer), HTTP and NATS JetStream.

Prints one JSON object. Everything shares this machine (publisher, brokers, consumers, database).
Both brokers run from their shipped configurations on free ports (tests/brokers.py):
deploy/nats/safecity-mqtt.conf (MQTT 3.1.1, one `safecity mqtt` consumer) and
deploy/mosquitto/safecity.conf (MQTT 5, BENCH_CONSUMERS consumers). Per broker, under `mqtt`:
- broker_ceiling_per_s: QoS 1 single-reading messages from the same publisher to a minimal C
  subscriber (mosquitto_sub), i.e. what the broker and publisher alone manage;
- msgs_per_s: the same messages published → decoded, authenticated, stored (COPY),
  aggregated and rule-evaluated, until the last one is in the database;
- batch_readings_per_s: gateways sending 100 readings per MQTT message.
The production broker's figures are also the judged top-level mqtt_msgs_per_s and
readings_per_s.mqtt_batch, next to readings_per_s.http (1,000 readings per request,
BENCH_HTTP_CLIENTS at once, one `safecity serve` process) and .nats (100 per JetStream message).
- alarm latency (production broker): a red reading during a 20,000 readings/s background load →
  its own alarm visible through GET /api/v1/monitoring/alarms;
- alarm storm (production broker): BENCH_STORM_ROUNDS rounds of one reading per sensor at
  BENCH_STORM_RATE/s, BENCH_STORM_ALARMS gas sensors crossing the red threshold in even rounds
  and back in odd ones: acknowledged vs stored sampled every 0.1 s (max lag in seconds and
  readings), stored per second, and when the alarms' event handlers had caught up (area risk
  signals, warning drafts);
- accounting, per reading (sensor, ts): every reading a broker, the HTTP server (202) or
  JetStream acknowledged — warm-up, probe, storm and load sends included — against the rows
  stored: lost (acknowledged, not stored), duplicated (a key stored twice, or a minute aggregate
  whose count differs from its rows), duplicates_absorbed (a key acknowledged more than once and
  stored once: the deduplication working), stored_unacknowledged (published, ack not seen).

Timed: publish → last row in the database for each path; each broker alone (ceiling, same
run); alarm latency (probe published → its own alarm in the API); the storm's lag. The probe's
load is reported as measured (acknowledged and stored per second during the probe), not as
configured. Not timed: seeding, message encoding (done before the clock starts), start-up.
Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it), on the production broker:
mqtt_msgs_per_s ≥ 20,000, each path's readings_per_s ≥ 100,000, alarm p99 ≤ 1,000 ms with the
probe's measured load ≥ 95 % of BENCH_LOAD_RATE, storm lag ≤ STORM_MAX_LAG_S, lost = 0,
duplicated = 0, and no error (a publisher thread that failed, a row wait that timed out, a
probe alarm never seen, storm handlers not caught up): then meets_target is false and `errors`
says why. Mosquitto's figures are reported, not judged. BENCH_LEGS (comma-separated: mosquitto,
nats_mqtt, probe, storm, http, nats) runs a subset; a skipped judged figure is a miss.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.core.models import User
from safecity.core.security import hash_password
from safecity.monitoring import wire
from safecity.monitoring.catalog import TYPES
from safecity.monitoring.models import RuleVersion, Sensor
from safecity.monitoring.runners import run_mqtt_consumer, run_nats_worker
from safecity.monitoring.settings import MonitoringSettings
from safecity.monitoring.store import rollup
from safecity.monitoring.stream import DEVICE_HEADER, Publisher, subject
from safecity.monitoring.telemetry import hash_token
from safecity.registry.models import Division

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np
from judging import verdict
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.brokers import MosquittoBroker, NatsMqttBroker

PG_ADMIN = os.environ.get(
    "SAFECITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SENSORS = int(os.environ.get("BENCH_SENSORS", "20000"))
SINGLE = int(os.environ.get("BENCH_SINGLE", "200000"))  # single-reading MQTT messages
BATCHED = int(os.environ.get("BENCH_BATCHED", "1000000"))  # readings per batched path
CONSUMERS = int(os.environ.get("BENCH_CONSUMERS", "1"))  # as `safecity mqtt` starts
LOAD_RATE = int(os.environ.get("BENCH_LOAD_RATE", "20000"))
LATENCY_SAMPLES = int(os.environ.get("BENCH_LATENCY_SAMPLES", "100"))
LOAD_MAX_S = 90  # background load available to the latency probe
POLL_S = 0.02  # how often the probe asks the API for new alarms
# Gateways posting at once, each waiting for its answer before the next body (closed loop).
# With 4 the figure was the clients' round trip more than the server's capacity: 4 gave
# ~130k readings/s and 8 ~170k on one server process, the CPU still 40 % idle with 4.
HTTP_CLIENTS = int(os.environ.get("BENCH_HTTP_CLIENTS", "8"))
# `safecity serve --workers`: one, as the README says to run it when it ingests HTTP itself
HTTP_WORKERS = os.environ.get("BENCH_HTTP_WORKERS", "1")
# The alarm storm: this many gas sensors cross the red threshold in every other round.
STORM_ALARMS = int(os.environ.get("BENCH_STORM_ALARMS", str(max(1, SENSORS // 20))))
STORM_ROUNDS = int(os.environ.get("BENCH_STORM_ROUNDS", "4"))
STORM_RATE = int(os.environ.get("BENCH_STORM_RATE", str(LOAD_RATE)))
# During the storm a reading the broker acknowledged is stored within this (alarms included).
STORM_MAX_LAG_S = 2.0
STORM_HANDLERS_TIMEOUT_S = float(os.environ.get("BENCH_STORM_HANDLERS_TIMEOUT_S", "300"))
# Which legs run (a quick look at one of them): all by default.
LEGS = set(os.environ.get("BENCH_LEGS", "mosquitto,nats_mqtt,probe,storm,http,nats").split(","))


ERRORS: list[str] = []  # publisher threads' failures, row waits that timed out, lost probes
KEY_SHIFT = 42  # a reading's key: sensor id << 42 | ts (epoch ms < 2**42 until the year 2109)


class RowWaitTimeout(RuntimeError):
    pass


def start_thread(target, *args) -> threading.Thread:  # type: ignore[no-untyped-def]
    """A daemon thread whose exception lands in ERRORS instead of vanishing."""

    def guarded() -> None:
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001  # reported in the JSON
            ERRORS.append(f"{getattr(target, '__name__', 'thread')}: {type(exc).__name__}: {exc}")

    thread = threading.Thread(target=guarded, daemon=True)
    thread.start()
    return thread


class Ledger:
    """The key of every reading a broker PUBACK, an HTTP 202 or a JetStream ack covered."""

    def __init__(self, ids: dict[str, int]) -> None:
        self.ids = ids
        self.parts: list[np.ndarray] = []

    def add(self, device_or_topic: str, body: bytes, ndjson: bool = False) -> None:
        device = device_or_topic.split("/")[3] if "/" in device_or_topic else device_or_topic
        sid = self.ids[device] << KEY_SHIFT
        if ndjson:
            docs = [json.loads(line) for line in body.splitlines() if line.strip()]
        else:
            doc = json.loads(body)
            docs = doc.get("readings", [doc])
        self.parts.append(np.array([sid | int(d["ts"]) for d in docs], dtype=np.int64))

    def add_all(self, items: list[tuple[str, bytes]], ndjson: bool = False) -> None:
        for device, body in items:
            self.add(device, body, ndjson)

    def keys(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.int64)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def token(device: str) -> str:
    return f"bench-{device}"


def fresh_db() -> str:
    name = f"safecity_bench_ingest_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_db(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed(url: str) -> list[str]:

    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    devices = [f"B{i:06d}" for i in range(SENSORS + 2000)]
    types = ["gas", "water_pressure", "temperature", "residual_current"]
    with engine.begin() as conn:
        conn.execute(
            Division.__table__.insert(),
            [
                {
                    "code": "370600",
                    "name": "烟台市",
                    "name_en": "Yantai",
                    "level": "city",
                    "population": 0,
                    "archived": False,
                }
            ],
        )
        conn.execute(
            User.__table__.insert(),
            [
                {
                    "username": "bench",
                    "display_name": "bench",
                    "password_hash": hash_password("bench1234"),
                    "role": "admin",
                    "division_code": "370600",
                    "created_at": now,
                    "active": True,
                    "lang": "zh",
                    "failed_logins": 0,
                }
            ],
        )
        conn.execute(
            Sensor.__table__.insert(),
            [
                {
                    "device_id": d,
                    "name": d,
                    "sensor_type": types[i % 4] if i < SENSORS else "gas",
                    "division_code": "370600",
                    "facility": "",
                    "status": "active",
                    "token_hash": hash_token(token(d)),
                    "archived": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, d in enumerate(devices)
            ],
        )
        # Replayed history is hours old: without this every sensor would be "offline" or
        # "stuck" at once and the latency probe would count those alarms too.
        quiet = {code: {"offline_s": 90 * 86400, "stuck_s": None} for code in TYPES}
        conn.execute(
            RuleVersion.__table__.insert(),
            [
                {
                    "version": 1,
                    "definition": {code: {**DEFAULTS[code], **q} for code, q in quiet.items()},
                    "author": "bench",
                    "note": "bench: no offline/stuck alarms",
                    "created_at": now,
                }
            ],
        )
    engine.dispose()
    return devices


from safecity.monitoring.catalog import DEFAULT_RULES as DEFAULTS


def normal_value(i: int) -> float:
    # within every type's normal band: gas 0-4 %LEL, water 0.3-0.5 MPa, 20-40 °C, 10-90 mA
    kind = i % 4
    return (1.0, 0.35, 25.0, 40.0)[kind] + (i % 7) * 0.01


def start_broker(kind: str, workdir: str) -> MosquittoBroker | NatsMqttBroker:
    """A broker of our own from the shipped configuration, on free ports (tests/brokers.py)."""
    path = Path(workdir) / kind
    path.mkdir()
    broker = (NatsMqttBroker if kind == "nats_mqtt" else MosquittoBroker)(path)
    broker.start()
    return broker


def consumer_env(broker: MosquittoBroker | NatsMqttBroker) -> dict[str, str]:
    """SAFECITY_MONITORING_* for `safecity mqtt` against this broker, as its README says."""
    if isinstance(broker, NatsMqttBroker):
        return broker.consumer_env()  # MQTT 3.1.1, no shared subscription, the ingest user
    return {
        "SAFECITY_MONITORING_MQTT_PORT": str(broker.port),
        "SAFECITY_MONITORING_MQTT_SHARE_GROUP": "bench",
    }


def publish_mqtt(
    port: int,
    messages: list[tuple[str, bytes]],
    rate: float | None = None,
    client_id: str = "bench-pub",
    stop: threading.Event | None = None,
    sent: list[int] | None = None,
    progress: list[int] | None = None,
) -> float:
    """QoS 1 publish of (topic, payload) over a plain MQTT 3.1.1 socket, pipelined up to
    30,000 unacknowledged; returns seconds until the broker acknowledged them all. With `stop`,
    ends early when it is set; `sent` then receives how many were published (and acknowledged).
    `progress[0]` follows how many the broker acknowledged so far (the storm's lag samples).

    Written by hand because paho's publish() from a second thread manages ~3,000 msgs/s here,
    which would measure the publisher, not the broker or SafeCity.
    """
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(wire.connect_packet(client_id, None, None, 0, 4, clean=True, keepalive=60))
    assert sock.recv(4)[:2] == b"\x20\x02"
    acked = progress if progress is not None else [0]
    total = [len(messages)]
    disorder = [0]

    def reader() -> None:
        pending = b""
        while acked[0] < total[0]:
            chunk = sock.recv(65536)
            if not chunk:
                return
            pending += chunk
            whole = len(pending) // 4 * 4  # PUBACKs are 4 bytes; nothing else arrives
            # The ledger takes the first `acked` messages as the acknowledged ones: check it.
            got = np.frombuffer(pending[:whole], dtype=np.uint8).reshape(-1, 4)
            pids = got[:, 2].astype(np.int64) * 256 + got[:, 3]
            want = (acked[0] + np.arange(len(pids))) % 65535 + 1
            disorder[0] += int((pids != want).sum())
            acked[0] += whole // 4
            pending = pending[whole:]

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    out = bytearray()
    for i, (topic, payload) in enumerate(messages):
        out += wire.publish_packet(topic.encode(), payload, i % 65535 + 1)
        if stop is not None and stop.is_set():
            total[0] = i + 1
            sock.sendall(out)
            break
        if len(out) > 65536 or i == total[0] - 1:
            while i - acked[0] > 30_000:
                time.sleep(0.001)
            sock.sendall(out)
            out = bytearray()
        if rate:
            lag = t0 + i / rate - time.perf_counter()
            if lag > 0.002:
                if out:
                    sock.sendall(out)
                    out = bytearray()
                time.sleep(lag)
    thread.join(600)
    elapsed = time.perf_counter() - t0
    if sent is not None:
        sent.append(min(total[0], acked[0]))
    sock.sendall(wire.DISCONNECT)
    sock.close()
    if disorder[0]:
        raise RuntimeError(f"{disorder[0]} PUBACKs out of order: per-reading accounting invalid")
    if acked[0] < total[0]:
        raise RuntimeError(f"the broker acknowledged {acked[0]} of {total[0]} messages")
    return elapsed


def single_messages(devices: list[str], n: int, t0: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        d = devices[i % SENSORS]
        ts = t0 + i // SENSORS * 1000 + (i % 1000)
        out.append((wire.topic_for(d), wire.reading(token(d), ts, normal_value(i % SENSORS))))
    return out


def batch_bodies(devices: list[str], readings: int, per: int, t0: int) -> list[tuple[str, bytes]]:
    out = []
    n_msgs = readings // per
    for m in range(n_msgs):
        k = m % SENSORS
        d = devices[k]
        base = t0 + (m // SENSORS) * per * 1000
        items = [(base + j * 1000, normal_value(k)) for j in range(per)]
        out.append((d, wire.readings(token(d), items)))
    return out


def count_rows(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    while True:  # fold what is still waiting, so the aggregates can be compared
        with engine.begin() as conn:
            if not rollup(conn):
                break
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM readings")).scalar_one()
        agg = conn.execute(text("SELECT coalesce(sum(n), 0) FROM readings_1m")).scalar_one()
    engine.dispose()
    return int(rows), int(agg)


def wait_rows(
    url: str, target: int, timeout: float = 600, publisher: threading.Thread | None = None
) -> float:
    """When `target` rows are stored; RowWaitTimeout when they are not — never a figure."""
    engine = create_engine(url)
    deadline = time.perf_counter() + timeout
    n = 0
    errors_before = len(ERRORS)  # an earlier leg's error must not cut this wait short
    with engine.connect() as conn:
        while True:
            if time.perf_counter() >= deadline or (
                publisher is not None and not publisher.is_alive() and len(ERRORS) > errors_before
            ):
                engine.dispose()
                raise RowWaitTimeout(
                    f"{n} of {target} rows stored after "
                    f"{timeout - (deadline - time.perf_counter()):.0f} s"
                )
            # Stored rows are in the hourly aggregate or still in the roll-up inbox (never
            # both): the same as count(*), reading far fewer pages.
            n = conn.execute(
                text(
                    "SELECT (SELECT coalesce(sum(n), 0) FROM readings_1h)"
                    " + (SELECT count(*) FROM readings_inbox)"
                )
            ).scalar_one()
            conn.commit()
            if n >= target:
                break
            time.sleep(0.05)
    engine.dispose()
    return time.perf_counter()


def stored_keys(url: str) -> np.ndarray:
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        buf = bytearray()
        with raw.cursor().copy(
            f"COPY (SELECT (sensor_id::bigint << {KEY_SHIFT}) | ts FROM readings) TO STDOUT"
        ) as copy:
            for data in copy:
                buf += data
    finally:
        raw.close()
        engine.dispose()
    return np.array(bytes(buf).split(), dtype=np.int64)


def account(url: str, ledger: Ledger) -> dict[str, int]:
    """Per reading: acknowledged keys against stored rows, and rows against minute aggregates."""
    count_rows(url)  # folds the roll-up inbox into the aggregates first
    acked = ledger.keys()
    acked_keys, times = np.unique(acked, return_counts=True)
    stored = stored_keys(url)
    stored_once = np.unique(stored)
    engine = create_engine(url)
    with engine.connect() as conn:
        off_n, off_buckets = conn.execute(
            text(
                "SELECT coalesce(sum(abs(coalesce(m.n, 0) - coalesce(r.c, 0))), 0), count(*)"
                " FROM readings_1m m FULL JOIN (SELECT sensor_id, ts - ts % 60000 AS bucket,"
                " count(*) AS c FROM readings GROUP BY 1, 2) r USING (sensor_id, bucket)"
                " WHERE m.n IS DISTINCT FROM r.c"
            )
        ).one()
    engine.dispose()
    same_key = int(stored.size - stored_once.size)
    return {
        "acknowledged_sends": int(acked.size),
        "acknowledged_readings": int(acked_keys.size),
        "stored": int(stored.size),
        "lost": int(np.setdiff1d(acked_keys, stored_once, assume_unique=True).size),
        "duplicated": same_key + int(off_n),
        "duplicated_rows_same_key": same_key,
        "minute_aggregate_count_off_by": int(off_n),
        "minute_buckets_off": int(off_buckets),
        "duplicates_absorbed": int((times - 1).sum()),
        "stored_unacknowledged": int(
            np.setdiff1d(stored_once, acked_keys, assume_unique=True).size
        ),
    }


def consumer_proc(i: int, url: str, env: dict[str, str], shared: bool) -> None:
    os.environ.update(env)
    run_mqtt_consumer(i, url, None, "bench", False, shared)


def start_consumers(
    url: str, broker: MosquittoBroker | NatsMqttBroker, count: int
) -> list[mp.Process]:
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=consumer_proc, args=(i, url, consumer_env(broker), count > 1))
        for i in range(count)
    ]
    for p in procs:
        p.start()
    time.sleep(6)  # imports, sensor load, subscription
    return procs


def stop_procs(procs: list[mp.Process]) -> None:
    for p in procs:
        if p.pid:
            os.kill(p.pid, signal.SIGTERM)
    for p in procs:
        p.join(20)
        if p.is_alive():
            p.kill()


def broker_ceiling(
    broker: MosquittoBroker | NatsMqttBroker, messages: list[tuple[str, bytes]]
) -> float:
    login: list[str] = []
    if isinstance(broker, NatsMqttBroker):  # only the ingest user may subscribe; 3.1.1 only
        env = broker.consumer_env()
        login = [
            "-V",
            "mqttv311",
            "-u",
            env["SAFECITY_MONITORING_MQTT_USERNAME"],
            "-P",
            env["SAFECITY_MONITORING_MQTT_PASSWORD"],
        ]
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(broker.port),
            "-q",
            "1",
            *login,
            "-t",
            wire.TOPIC_FILTER,
            "-C",
            str(len(messages)),
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)
    t0 = time.perf_counter()
    publish_mqtt(broker.port, messages, client_id="bench-ceiling")
    sub.wait(300)
    return len(messages) / (time.perf_counter() - t0)


def mqtt_path(
    url: str, port: int, messages: list[tuple[str, bytes]], expect: int, ledger: Ledger
) -> float:
    _rows, before = count_rows(url)
    sent: list[int] = []
    t0 = time.perf_counter()
    pub = start_thread(publish_mqtt, port, messages, None, "bench-pub", None, sent)
    t1 = wait_rows(url, before + expect, publisher=pub)
    pub.join(60)
    ledger.add_all(messages[: sent[0] if sent else 0])
    return expect / (t1 - t0)


def mqtt_leg(
    url: str,
    kind: str,
    workdir: str,
    devices: list[str],
    ids: dict[str, int],
    ledger: Ledger,
    t0_ms: int,
    out: dict[str, object],
) -> None:
    """One broker from its shipped configuration: its ceiling, `safecity mqtt` storing single
    readings and 100-reading batches through it; on the production broker also the alarm
    probe and the alarm storm (the consumer keeps running for them)."""
    broker = start_broker(kind, workdir)
    # NATS speaks MQTT 3.1.1: no shared subscription, so one consumer (as the README says)
    count = 1 if kind == "nats_mqtt" else CONSUMERS
    figures: dict[str, object] = {"consumers": count}
    out.setdefault("mqtt", {"production": "nats_mqtt"})[kind] = figures  # type: ignore[index]
    consumers: list[mp.Process] = []
    try:
        singles = single_messages(devices, SINGLE, t0_ms)
        figures["broker_ceiling_per_s"] = round(broker_ceiling(broker, singles[: SINGLE // 2]))
        consumers = start_consumers(url, broker, count)
        figures["msgs_per_s"] = round(mqtt_path(url, broker.port, singles, SINGLE, ledger))
        batches = [
            (wire.topic_for(d), body)
            for d, body in batch_bodies(devices, BATCHED, 100, t0_ms + 86_400_000)
        ]
        figures["batch_readings_per_s"] = round(
            mqtt_path(url, broker.port, batches, BATCHED, ledger)
        )
        if kind != "nats_mqtt":
            return
        if "probe" in LEGS:
            probe = alarm_latency(url, broker, devices, ids, ledger)
            out["alarm_latency"] = {
                **probe,
                "setup": (
                    f"{LOAD_RATE} single-reading MQTT msgs/s offered to NATS Server's MQTT "
                    f"listener, {LATENCY_SAMPLES} red readings, API polled every "
                    f"{POLL_S * 1000:.0f} ms, 1 consumer"
                ),
            }
            wait_rows(url, int(np.unique(ledger.keys()).size), timeout=120)
        if "storm" in LEGS:
            out["alarm_storm"] = alarm_storm(url, broker, devices, ids, ledger)
    except Exception as exc:  # noqa: BLE001  # a failed leg is reported, never a figure
        ERRORS.append(f"{kind}: {type(exc).__name__}: {exc}")
        figures["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        stop_procs(consumers)
        broker.stop()


def http_path(url: str, devices: list[str], readings: int, t0_ms: int, ledger: Ledger) -> float:
    port = free_port()
    env = {**os.environ, "SAFECITY_DATABASE_URL": url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "safecity.web.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            HTTP_WORKERS,
        ],
        env=env,
        cwd=str(ROOT),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        for i in range(8):  # each worker process builds its pipeline on its first request
            d = devices[SENSORS + 1000 + i]
            warm = wire.reading(None, t0_ms - 10_000, 1.0)
            r = httpx.post(
                base + "/api/v1/telemetry",
                timeout=60,
                content=warm,
                headers={"Authorization": f"Bearer {token(d)}"},
            )
            if r.status_code == 202:
                ledger.add(d, warm)
            else:
                ERRORS.append(f"HTTP warm-up: {r.status_code} {r.text[:200]}")
        per = 1000
        bodies = []
        for m in range(readings // per):
            d = devices[m % SENSORS]
            base_ts = t0_ms + (m // SENSORS) * per * 1000
            lines = b"\n".join(
                wire.reading(None, base_ts + j * 1000, normal_value(m % SENSORS))
                for j in range(per)
            )
            bodies.append((d, lines))
        _rows, before = count_rows(url)
        t0 = time.perf_counter()
        accepted: list[tuple[str, bytes]] = []

        def send(chunk: list[tuple[str, bytes]]) -> None:
            # http.client rather than httpx: a lean publisher, as the MQTT one is, so the
            # clients take less of the CPU the server shares with them (2.1 → 0.9 µs a reading)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                for d, body in chunk:
                    conn.request(
                        "POST",
                        "/api/v1/telemetry",
                        body=body,
                        headers={
                            "Authorization": f"Bearer {token(d)}",
                            "Content-Type": "application/x-ndjson",
                        },
                    )
                    r = conn.getresponse()
                    answer = r.read()
                    if r.status != 202:
                        raise RuntimeError(f"HTTP {r.status}: {answer[:200]!r}")
                    accepted.append((d, body))
            finally:
                conn.close()

        threads = [start_thread(send, bodies[i::HTTP_CLIENTS]) for i in range(HTTP_CLIENTS)]
        for th in threads:
            th.join()
        try:
            t1 = wait_rows(url, before + len(bodies) * per, publisher=threads[0])
        finally:
            ledger.add_all(accepted, ndjson=True)
        return len(bodies) * per / (t1 - t0)
    finally:
        server.terminate()
        server.wait(20)


def nats_worker_proc(i: int, workers: int, url: str, stream: str, prefix: str) -> None:
    os.environ["SAFECITY_MONITORING_NATS_STREAM"] = stream
    os.environ["SAFECITY_MONITORING_NATS_SUBJECT_PREFIX"] = prefix

    run_nats_worker(i, workers, url)


def nats_path(url: str, devices: list[str], readings: int, t0_ms: int, ledger: Ledger) -> float:

    stream, prefix = f"BENCH_{os.getpid()}", f"bench{os.getpid()}.tel"
    settings = MonitoringSettings(nats_stream=stream, nats_subject_prefix=prefix)
    items = batch_bodies(devices, readings, 100, t0_ms)

    acked: list[tuple[str, bytes]] = []

    async def publish() -> None:
        # As Publisher.publish_many, keeping which messages JetStream acknowledged.
        pub = Publisher(settings)
        await pub.connect()
        failed = 0
        for start in range(0, len(items), 2000):
            chunk = items[start : start + 2000]
            results = await asyncio.gather(
                *(
                    pub.js.publish(
                        subject(prefix, d, settings.partitions), body, headers={DEVICE_HEADER: d}
                    )
                    for d, body in chunk
                ),
                return_exceptions=True,
            )
            for item, r in zip(chunk, results, strict=True):
                if isinstance(r, BaseException):
                    failed += 1
                else:
                    acked.append(item)
        await pub.close()
        if failed:
            raise RuntimeError(f"JetStream refused {failed} of {len(items)} messages")

    ctx = mp.get_context("spawn")
    workers = [
        ctx.Process(target=nats_worker_proc, args=(i, 2, url, stream, prefix)) for i in range(2)
    ]
    for w in workers:
        w.start()
    time.sleep(8)  # imports, sensor load, consumers created
    _rows, before = count_rows(url)
    t0 = time.perf_counter()
    pub = start_thread(lambda: asyncio.run(publish()))
    try:
        t1 = wait_rows(url, before + len(items) * 100, publisher=pub)
    finally:
        stop_procs(workers)
        pub.join(60)
        ledger.add_all(acked)

    async def drop() -> None:
        import nats  # noqa: PLC0415 nats-py loaded only when the streaming engine is used

        nc = await nats.connect(settings.nats_url)
        await nc.jetstream().delete_stream(stream)
        await nc.close()

    asyncio.run(drop())
    return len(items) * 100 / (t1 - t0)


def alarm_latency(
    url: str,
    broker: MosquittoBroker | NatsMqttBroker,
    devices: list[str],
    ids: dict[str, int],
    ledger: Ledger,
) -> dict[str, object]:
    """Red gas readings from spare sensors during a LOAD_RATE single-message load; each probe
    waits for its own alarm (that sensor, that reading's ts) in GET /api/v1/monitoring/alarms."""
    port = broker.port
    api_port = free_port()
    env = {**os.environ, "SAFECITY_DATABASE_URL": url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "safecity.web.app:create_app",
            "--factory",
            "--port",
            str(api_port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=str(ROOT),
    )
    base = f"http://127.0.0.1:{api_port}"
    for _ in range(200):
        try:
            httpx.get(base + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    auth = httpx.post(
        base + "/api/v1/auth/token", json={"username": "bench", "password": "bench1234"}
    ).json()
    headers = {"Authorization": f"Bearer {auth['access_token']}"}
    now_ms = int(time.time() * 1000)
    # Enough load for the whole probe: it is stopped when the last probe is seen.
    load = single_messages(devices, LOAD_RATE * LOAD_MAX_S, now_ms - 600_000)
    stop, sent_load = threading.Event(), []
    stored_before = count_stored(url)
    t_load = time.perf_counter()
    loader = start_thread(publish_mqtt, port, load, LOAD_RATE, "bench-load", stop, sent_load)
    time.sleep(2)
    import paho.mqtt.client as mqtt  # noqa: PLC0415 paho-mqtt loaded only when MQTT is used

    c = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id="bench-alarm",
        protocol=mqtt.MQTTv311 if isinstance(broker, NatsMqttBroker) else mqtt.MQTTv5,
    )
    c.connect("127.0.0.1", port)
    c.loop_start()
    latencies: list[float] = []
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for d in devices[SENSORS : SENSORS + LATENCY_SAMPLES]:
            ts = int(time.time() * 1000)
            body = wire.reading(token(d), ts, 80.0)
            sent = time.perf_counter()
            info = c.publish(wire.topic_for(d), body, qos=1)
            seen = False
            while time.perf_counter() - sent < 10:
                items = client.get(
                    "/api/v1/monitoring/alarms", params={"sensor_id": ids[d]}
                ).json()["items"]
                if any(ts in (a["first_ts"], a["last_ts"]) for a in items):
                    seen = True
                    break
                time.sleep(POLL_S)
            if seen:
                latencies.append((time.perf_counter() - sent) * 1000)
            else:
                ERRORS.append(f"alarm probe: {d}'s own alarm not visible within 10 s")
            info.wait_for_publish(5)
            if info.is_published():
                ledger.add(d, body)
            time.sleep(0.15)
    ran_out = not loader.is_alive()  # then the last probes saw no load: the figure says so
    stop.set()
    c.loop_stop()
    loader.join(600)
    load_s = time.perf_counter() - t_load
    stored_during = count_stored(url) - stored_before
    server.terminate()
    server.wait(20)
    acked_load = sent_load[0] if sent_load else 0
    ledger.add_all(load[:acked_load])
    latencies.sort()
    return {
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[max(0, -(-len(latencies) * 99 // 100) - 1)], 1)
        if len(latencies) == LATENCY_SAMPLES
        else None,
        "seen": len(latencies),
        "probes": LATENCY_SAMPLES,
        "load_acked": acked_load,
        "load_acked_per_s": round(acked_load / load_s),
        "load_seconds": round(load_s, 1),
        "stored_per_s_during_probe": round(stored_during / load_s),
        "ran_out": ran_out,
    }


def storm_messages(devices: list[str], t0_ms: int) -> tuple[list[tuple[str, bytes]], list[str]]:
    """STORM_ROUNDS rounds of one reading from every sensor; in even rounds STORM_ALARMS gas
    sensors read 60 %LEL (red), in odd rounds normal again: every round raises or clears that
    many alarms while the other sensors keep reporting."""
    crossing = set(range(0, SENSORS, 4)[:STORM_ALARMS])  # gas sensors (k % 4 == 0)
    red = [devices[k] for k in sorted(crossing)]
    out = []
    for r in range(STORM_ROUNDS):
        for k in range(SENSORS):
            value = 60.0 if r % 2 == 0 and k in crossing else normal_value(k)
            d = devices[k]
            out.append((wire.topic_for(d), wire.reading(token(d), t0_ms + r * 1000, value)))
    return out, red


def lag_figures(samples: list[tuple[float, int, int]]) -> dict[str, float | int]:
    """From (seconds, acknowledged, stored) samples: how far storage trailed the broker, as a
    count (acknowledged − stored) and as time (until what was acknowledged at t was stored)."""
    max_lag_s, max_lag_n = 0.0, 0
    for t, acked, stored in samples:
        max_lag_n = max(max_lag_n, acked - stored)
        later = next((u for u, _a, s in samples if u >= t and s >= acked), None)
        if later is not None:
            max_lag_s = max(max_lag_s, later - t)
    return {"max_lag_s": round(max_lag_s, 2), "max_lag_readings": max_lag_n}


def alarm_storm(
    url: str,
    broker: MosquittoBroker | NatsMqttBroker,
    devices: list[str],
    ids: dict[str, int],
    ledger: Ledger,
) -> dict[str, object]:
    """Readings/s and consumer lag while STORM_ALARMS sensors cross the red gas threshold each
    round, then how long the alarms' event handlers (area risk signals, warning drafts) took to
    catch up. The consumer must already be running against `broker`."""
    messages, red = storm_messages(devices, int(time.time() * 1000) - 60_000)
    storm_ids = ",".join(str(ids[d]) for d in red)
    engine = create_engine(url)
    stored0 = count_stored(url)
    progress, sent = [0], []
    errors_before = len(ERRORS)
    samples: list[tuple[float, int, int]] = []
    t0 = time.perf_counter()
    pub = start_thread(
        publish_mqtt, broker.port, messages, STORM_RATE, "bench-storm", None, sent, progress
    )
    with engine.connect() as conn:
        while True:
            t, acked = time.perf_counter() - t0, progress[0]
            stored = conn.execute(
                text(
                    "SELECT (SELECT coalesce(sum(n), 0) FROM readings_1h)"
                    " + (SELECT count(*) FROM readings_inbox)"
                )
            ).scalar_one()
            conn.commit()
            samples.append((t, acked, int(stored) - stored0))
            if samples[-1][2] >= len(messages):
                break
            if t > 600 or (not pub.is_alive() and len(ERRORS) > errors_before):
                engine.dispose()
                raise RowWaitTimeout(
                    f"storm: {samples[-1][2]} of {len(messages)} rows after {t:.0f} s"
                )
            time.sleep(0.1)
    pub.join(60)
    ledger.add_all(messages[: sent[0] if sent else 0])
    stored_s = samples[-1][0]
    acked_s = next((t for t, a, _s in samples if a >= len(messages)), stored_s)
    raises = -(-STORM_ROUNDS // 2) * len(red)
    active_end = len(red) if STORM_ROUNDS % 2 else 0
    caught_up: dict[str, float | None] = {"risk_signals": None, "warning_drafts": None}
    with engine.connect() as conn:
        while time.perf_counter() - t0 < stored_s + STORM_HANDLERS_TIMEOUT_S:
            refs = f"SELECT id::text FROM alarms WHERE sensor_id IN ({storm_ids})"
            n, active = conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE active) FROM risk_signals"
                    f" WHERE source = 'alarm' AND source_ref IN ({refs})"
                )
            ).one()
            drafts = conn.execute(
                text(f"SELECT count(DISTINCT alarm_id) FROM warnings WHERE alarm_id IN ({refs})")
            ).scalar_one()
            conn.commit()
            t = round(time.perf_counter() - t0, 1)
            if caught_up["risk_signals"] is None and n >= raises and active == active_end:
                caught_up["risk_signals"] = t
            if caught_up["warning_drafts"] is None and drafts >= len(red):
                caught_up["warning_drafts"] = t
            if None not in caught_up.values():
                break
            time.sleep(0.2)
    engine.dispose()
    for what, at in caught_up.items():
        if at is None:
            ERRORS.append(
                f"alarm storm: {what} not caught up {STORM_HANDLERS_TIMEOUT_S} s "
                "after the last reading was stored"
            )
    return {
        "readings": len(messages),
        "alarm_events": raises + (STORM_ROUNDS // 2) * len(red),
        "offered_per_s": STORM_RATE,
        "acked_per_s": round(len(messages) / acked_s),
        "stored_per_s": round(len(messages) / stored_s),
        "drain_after_last_ack_s": round(stored_s - acked_s, 2),
        **lag_figures(samples),
        "handlers_caught_up_s": caught_up,
        "setup": (
            f"{STORM_ROUNDS} rounds of one reading from each of {SENSORS} sensors at "
            f"{STORM_RATE}/s; {len(red)} gas sensors at 60 %LEL in even rounds, "
            "normal in odd ones (each round raises or clears that many red alarms)"
        ),
    }


def count_stored(url: str) -> int:
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


TIMED = [
    (
        "publish → last row stored, per path (MQTT singles and batches through NATS Server's "
        "MQTT listener and through Mosquitto, HTTP, JetStream)"
    ),
    "each broker alone (ceiling, same run)",
    (
        "alarm storm: acknowledged vs stored every 0.1 s (lag), then until the alarms' event "
        "handlers caught up (risk signals, warning drafts)"
    ),
    "alarm latency: probe published → its own alarm in the API, under measured load",
]
NOT_TIMED = [
    "Mosquitto's figures are the compared peer, not judged (NATS is production)",
    "seeding",
    "message encoding (before the clock starts)",
    "process start-up",
    "per-reading accounting (after the run)",
]


def judge(out: dict[str, object]) -> dict[str, object]:
    rates = out.get("readings_per_s") or {}
    probe = out.get("alarm_latency") or {}
    acct = out.get("accounting") or {}
    storm = out.get("alarm_storm") or {}
    assert isinstance(rates, dict) and isinstance(probe, dict) and isinstance(acct, dict)
    assert isinstance(storm, dict)
    checks = [("mqtt_msgs_per_s", out.get("mqtt_msgs_per_s"), ">=", 20_000)]
    checks += [
        (f"readings_per_s.{p}", rates.get(p), ">=", 100_000) for p in ("mqtt_batch", "http", "nats")
    ]
    checks += [
        ("alarm_latency.p99_ms", probe.get("p99_ms"), "<=", 1000),
        ("alarm_latency.load_acked_per_s", probe.get("load_acked_per_s"), ">=", 0.95 * LOAD_RATE),
        ("alarm_storm.max_lag_s", storm.get("max_lag_s"), "<=", STORM_MAX_LAG_S),
        ("accounting.lost", acct.get("lost"), "==", 0),
        ("accounting.duplicated", acct.get("duplicated"), "==", 0),
    ]
    errors = out.get("errors") or []
    assert isinstance(errors, list)
    return verdict(checks, errors)


def main() -> None:
    url = fresh_db()
    workdir = tempfile.mkdtemp(prefix="bench-mqtt-")
    out: dict[str, object] = {
        "benchmark": "ingest",
        "timed": TIMED,
        "not_timed": NOT_TIMED,
        "legs": sorted(LEGS),
    }
    rates: dict[str, int] = {}
    try:
        devices = seed(url)
        ids = sensor_ids(url)
        ledger = Ledger(ids)
        t0_ms = int(time.time() * 1000) - 3 * 86_400_000
        # The peer first, then the production broker (its consumer stays for probe and storm);
        # each leg's readings have timestamps of their own, so every one is a new row.
        for kind, offset in (("mosquitto", 6 * 3_600_000), ("nats_mqtt", 0)):
            if kind in LEGS:
                mqtt_leg(url, kind, workdir, devices, ids, ledger, t0_ms + offset, out)
        production = (out.get("mqtt") or {}).get("nats_mqtt") or {}  # type: ignore[union-attr]
        if "msgs_per_s" in production:
            out["mqtt_msgs_per_s"] = production["msgs_per_s"]
        if "batch_readings_per_s" in production:
            rates["mqtt_batch"] = production["batch_readings_per_s"]
        if "http" in LEGS:
            rates["http"] = round(
                http_path(url, devices, BATCHED // 2, t0_ms + 2 * 86_400_000, ledger)
            )
        if "nats" in LEGS:
            rates["nats"] = round(
                nats_path(url, devices, BATCHED, t0_ms + 2 * 86_400_000 + 3_600_000, ledger)
            )
    except Exception as exc:  # noqa: BLE001  # a failed leg is reported, never a figure
        ERRORS.append(f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out["readings_per_s"] = rates
    try:
        if "ledger" in locals():
            out["accounting"] = account(url, ledger)
    except Exception as exc:  # noqa: BLE001
        ERRORS.append(f"accounting: {type(exc).__name__}: {exc}")
    finally:
        drop_db(url)
    out["http_setup"] = (
        f"{HTTP_CLIENTS} clients posting 1,000-reading NDJSON bodies to "
        f"`safecity serve` with {HTTP_WORKERS} worker process(es)"
    )
    out["sensors"] = SENSORS
    out["targets"] = {
        "mqtt_msgs_per_s": 20000,
        "readings_per_s": 100000,
        "alarm_latency_p99_ms": 1000,
        "lost": 0,
        "duplicated": 0,
        "alarm_storm_max_lag_s": STORM_MAX_LAG_S,
    }
    out["machine"] = f"{os.cpu_count()} cores shared by publisher, broker, consumers and PostgreSQL"
    out["errors"] = list(ERRORS)
    out.update(judge(out))
    print(json.dumps(out, ensure_ascii=False))
    if ERRORS:
        sys.exit(1)


def sensor_ids(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = {d: i for d, i in conn.execute(text("SELECT device_id, id FROM sensors"))}
    engine.dispose()
    return ids


if __name__ == "__main__":
    main()
