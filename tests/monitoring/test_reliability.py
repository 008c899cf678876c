"""Exactly once under failure: kill -9 a consumer and restart the broker in mid-stream, then count.

Every reading the broker acknowledged to the publisher must be stored exactly once: one raw row
and one count in the minute aggregate (a double-processed batch would show there). The consumer
runs as `safecity mqtt` does with one consumer: a plain persistent subscription (see
runners.run_mqtt_consumer for why shared subscriptions are not used across broker restarts).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select

from safecity.monitoring.models import DeadLetter, Reading, ReadingMinute
from safecity.monitoring.mqtt import topic_for
from safecity.monitoring.store import rollup
from tests.monitoring.conftest import Broker, make_sensors, token_of

TOTAL = 12_000
RATE = 3000  # messages per second
DEVICES = [f"REL-{i:04d}" for i in range(1, 21)]


def start_consumer(database_url: str, port: int, tag: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "SAFECITY_MONITORING_MQTT_PORT": str(port),
        "SAFECITY_DATABASE_URL": database_url,
        # as in production: aggregates folded from the inbox every second (PostgreSQL)
        "SAFECITY_MONITORING_ROLLUP_INTERVAL_S": "1",
    }
    code = (
        "from safecity.monitoring.runners import run_mqtt_consumer;"
        f"run_mqtt_consumer(0, {database_url!r}, None, {tag!r})"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=env)


class Publisher:
    def __init__(self, port: int) -> None:
        self.acked: set[int] = set()
        self.sent: dict[int, tuple[str, int]] = {}
        self.lock = threading.Lock()
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="rel-publisher", protocol=mqtt.MQTTv5
        )
        c.max_inflight_messages_set(500)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(0.1, 1)
        c.on_publish = self._on_publish
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        c.connect("127.0.0.1", port, clean_start=False, properties=props)
        c.loop_start()
        self.client = c

    def _on_publish(self, _c, _u, mid, reason, _p) -> None:  # type: ignore[no-untyped-def]
        if not reason.is_failure:
            with self.lock:
                self.acked.add(mid)

    def publish(self, n: int, t0: int) -> None:
        interval = 1 / RATE
        start = time.monotonic()
        for i in range(n):
            device = DEVICES[i % len(DEVICES)]
            ts = t0 + i
            body = json.dumps({"token": token_of(device), "ts": ts, "value": float(i % 7)})
            info = self.client.publish(topic_for(device), body, qos=1)
            with self.lock:
                self.sent[info.mid] = (device, ts)
            lag = start + i * interval - time.monotonic()
            if lag > 0:
                time.sleep(lag)

    def acked_keys(self) -> set[tuple[str, int]]:
        with self.lock:
            return {self.sent[m] for m in self.acked if m in self.sent}


def wait_subscribed(engine, pub: Publisher) -> None:  # type: ignore[no-untyped-def]
    """Probe with an unknown device until its dead letter shows the consumer is listening."""
    deadline = time.time() + 30
    while time.time() < deadline:
        pub.client.publish(topic_for("PROBE"), b"{}", qos=1)
        time.sleep(0.3)
        with engine.connect() as conn:
            if conn.scalar(select(func.count()).select_from(DeadLetter)):
                return
    raise AssertionError("consumer never subscribed")


def wait_stored_grows(engine) -> None:  # type: ignore[no-untyped-def]
    def stored() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Reading)) or 0)

    first, deadline = stored(), time.time() + 30
    while stored() <= first and time.time() < deadline:
        time.sleep(0.1)


@pytest.mark.postgres
def test_kill_consumer_and_restart_broker_mid_stream(
    engine, session, city, database_url, tmp_path
) -> None:
    sensors = make_sensors(session, count=len(DEVICES), prefix="REL")
    by_device = {s.device_id: s.id for s in sensors}
    broker = Broker(str(tmp_path))
    broker.start()
    consumer = start_consumer(database_url, broker.port, "rel")
    pub = None
    try:
        pub = Publisher(broker.port)
        wait_subscribed(engine, pub)  # from here on its persistent session queues for it
        t0 = int(time.time() * 1000) - 120_000
        thread = threading.Thread(target=pub.publish, args=(TOTAL, t0))
        thread.start()
        started = time.monotonic()
        time.sleep(TOTAL / RATE * 0.3)
        phases = {"kill": time.monotonic() - started}
        os.kill(consumer.pid, signal.SIGKILL)  # kill -9 in the middle of the stream
        consumer.wait()
        time.sleep(0.5)
        consumer = start_consumer(database_url, broker.port, "rel")
        wait_stored_grows(engine)  # the successor resumed the session and is storing again
        phases["broker_stop"] = time.monotonic() - started
        broker.stop()  # the broker goes away with messages queued and in flight
        time.sleep(1.0)
        broker.start()
        phases["broker_start"] = time.monotonic() - started
        thread.join(120)
        deadline = time.time() + 60
        acked: set[tuple[str, int]] = set()
        while time.time() < deadline:
            acked = pub.acked_keys()
            with engine.connect() as conn:
                stored = conn.scalar(select(func.count()).select_from(Reading))
            if len(acked) == TOTAL and stored >= TOTAL:
                break
            time.sleep(0.5)
    finally:
        if pub is not None:
            pub.client.loop_stop()
        consumer.send_signal(signal.SIGTERM)
        try:
            consumer.wait(15)
        except subprocess.TimeoutExpired:
            consumer.kill()
        broker.stop()
    while True:  # whatever the killed consumer left in the inbox is folded exactly once
        with engine.begin() as conn:
            if not rollup(conn):
                break
    with engine.connect() as conn:
        rows = {(r.sensor_id, r.ts) for r in conn.execute(select(Reading.sensor_id, Reading.ts))}
        counted = conn.scalar(select(func.sum(ReadingMinute.n)))
    expected = {(by_device[d], ts) for d, ts in acked}
    assert len(acked) == TOTAL, f"publisher saw {len(acked)} of {TOTAL} acknowledged"
    lost = sorted(ts for (_sid, ts) in expected - rows)
    assert not lost, (
        f"lost {len(lost)} acknowledged readings, published between "
        f"{(lost[0] - t0) / RATE:.2f} s and {(lost[-1] - t0) / RATE:.2f} s; phases {phases}"
    )
    assert len(rows) == TOTAL  # nothing extra
    assert counted == TOTAL, f"aggregates counted {counted} for {TOTAL} readings (duplicates)"
