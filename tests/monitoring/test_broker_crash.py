"""A broker crash loses no acknowledged reading: kill -9 of the broker while a backlog waits.

The broker is NATS Server with the shipped deploy/nats/safecity-mqtt.conf (own port, own store
in tmp); the consumer is `safecity mqtt` as a process (MQTT 3.1.1, persistent session, QoS 1,
PUBACK after commit). An independent paho publisher acts as DEVICES devices sending PER_DEVICE
QoS 1 readings each and records which PUBACKs it received. Mid-way the consumer is frozen
(SIGSTOP) so a backlog builds in the broker, the broker is killed with SIGKILL while readings are
still being published, restarted, the consumer thawed; then every acknowledged (sensor, ts) must
be stored exactly once: one raw row, counted once in the minute aggregates.

The same scenario against Mosquitto with deploy/mosquitto/safecity.conf loses the readings it
acknowledged since its last autosave (see deploy/README.md), which is why this one is shipped.
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
from sqlalchemy import func, select

from safecity.monitoring.models import DeadLetter, Reading, ReadingMinute
from safecity.monitoring.mqtt import topic_for
from safecity.monitoring.store import rollup
from tests.brokers import NatsMqttBroker
from tests.monitoring.conftest import make_sensors, token_of

DEVICES = 40
PER_DEVICE = 300
RATE = 4000  # messages per second while the consumer runs; the backlog is sent flat out
PREFIX = f"CRASH{os.getpid() % 10000}"


def start_consumer(database_url: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **env,
        "SAFECITY_DATABASE_URL": database_url,
        "SAFECITY_MONITORING_ROLLUP_INTERVAL_S": "1",
    }
    code = (
        "from safecity.monitoring.runners import run_mqtt_consumer;"
        f"run_mqtt_consumer(0, {database_url!r}, None, {PREFIX!r})"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=env)


class Devices:
    """One paho connection publishing for all devices; remembers which messages were PUBACKed."""

    def __init__(self, port: int) -> None:
        self.sent: dict[int, tuple[str, int]] = {}
        self.acked: set[int] = set()
        # clean_session off: after the broker comes back, unacknowledged PUBLISHes are resent
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"{PREFIX}-devices",
            protocol=mqtt.MQTTv311,
            clean_session=False,
        )
        c.max_inflight_messages_set(200)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(0.1, 1)
        c.on_publish = self._on_publish
        c.connect("127.0.0.1", port)
        c.loop_start()
        self.client = c

    def _on_publish(self, _c, _u, mid, reason, _p) -> None:  # type: ignore[no-untyped-def]
        # No lock of ours here: paho calls this holding its own lock, which publish() takes.
        # set.add and dict assignment are atomic; PUBACKs are matched to readings at the end.
        if not reason.is_failure:
            self.acked.add(mid)

    def publish(self, keys: list[tuple[str, int]], rate: float | None) -> None:
        start = time.monotonic()
        for i, (device, ts) in enumerate(keys):
            # below every alarm level: this test is about delivery, not the alarm handlers
            body = json.dumps({"token": token_of(device), "ts": ts, "value": float(ts % 3)})
            info = self.client.publish(topic_for(device), body, qos=1)
            self.sent[info.mid] = (device, ts)
            if rate:
                lag = start + i / rate - time.monotonic()
                if lag > 0:
                    time.sleep(lag)

    def acked_keys(self) -> set[tuple[str, int]]:
        sent = dict(self.sent)
        return {sent[m] for m in list(self.acked) if m in sent}


def stored_rows(engine) -> set[tuple[int, int]]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return {(r.sensor_id, r.ts) for r in conn.execute(select(Reading.sensor_id, Reading.ts))}


def wait_subscribed(engine, devices: Devices) -> None:  # type: ignore[no-untyped-def]
    """Probe with an unknown device until its dead letter shows the consumer is listening."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        devices.client.publish(topic_for(f"{PREFIX}-PROBE"), b"{}", qos=1)
        time.sleep(0.3)
        with engine.connect() as conn:
            if conn.scalar(select(func.count()).select_from(DeadLetter)):
                return
    raise AssertionError("consumer never subscribed")


@pytest.mark.postgres
def test_kill_9_of_the_broker_mid_backlog_loses_no_acknowledged_reading(
    engine, session, city, database_url, tmp_path
) -> None:
    sensors = make_sensors(session, count=DEVICES, prefix=PREFIX)
    sid = {s.device_id: s.id for s in sensors}
    t0 = int(time.time() * 1000) - 3_600_000  # the consumer process runs on the real clock
    keys = [
        (s.device_id, t0 + n * 1000 + k) for n in range(PER_DEVICE) for k, s in enumerate(sensors)
    ]
    live, backlog = keys[: len(keys) // 3], keys[len(keys) // 3 :]

    broker = NatsMqttBroker(tmp_path)
    broker.start()
    consumer = start_consumer(database_url, broker.consumer_env())
    devices = None
    try:
        devices = Devices(broker.port)
        wait_subscribed(engine, devices)
        devices.publish(live, RATE)  # a live stream, stored as it comes
        os.kill(consumer.pid, signal.SIGSTOP)  # the consumer stalls: a backlog builds up
        sender = threading.Thread(target=devices.publish, args=(backlog, None))
        sender.start()
        deadline = time.monotonic() + 20
        while len(devices.acked) < len(live) + len(backlog) // 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        acked_before_crash = len(devices.acked)
        broker.kill()  # kill -9 with the backlog waiting and readings still coming in
        time.sleep(0.5)
        broker.start()
        os.kill(consumer.pid, signal.SIGCONT)
        sender.join(60)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            acked = devices.acked_keys()
            rows = stored_rows(engine)
            if len(acked) == len(keys) and {(sid[d], ts) for d, ts in acked} <= rows:
                break
            time.sleep(0.5)
    finally:
        if devices is not None:
            devices.client.loop_stop()
        os.kill(consumer.pid, signal.SIGCONT)
        consumer.send_signal(signal.SIGTERM)
        try:
            consumer.wait(15)
        except subprocess.TimeoutExpired:
            consumer.kill()
        broker.stop()
    while True:  # fold what the consumer left in the inbox, exactly once
        with engine.begin() as conn:
            if not rollup(conn):
                break
    rows = stored_rows(engine)
    with engine.connect() as conn:
        counted = conn.scalar(select(func.sum(ReadingMinute.n))) or 0
    acked = devices.acked_keys()
    assert acked_before_crash > len(live), "the broker died before any backlog was acknowledged"
    assert len(acked) == len(keys), f"the publisher saw {len(acked)} of {len(keys)} PUBACKs"
    lost = {(sid[d], ts) for d, ts in acked} - rows
    assert not lost, f"lost {len(lost)} of {len(acked)} acknowledged readings"
    assert rows <= {(sid[d], ts) for d, ts in keys}  # nothing that was not published
    assert counted == len(rows), f"aggregates counted {counted} for {len(rows)} rows (duplicates)"
