"""MQTT ingestion through a real Mosquitto: QoS 1, shared subscription, device checks.

The broker is the test's own (shipped configuration, free port) and the device ids are unique
to the run: two runs at once, or anything else on the machine's broker, cannot feed each other.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from safecity.core.clock import epoch_ms
from safecity.monitoring.models import DeadLetter, Reading
from safecity.monitoring.mqtt import Consumer, device_of, topic_for
from safecity.monitoring.pipeline import Pipeline
from safecity.monitoring.settings import MonitoringSettings
from tests.monitoring.conftest import Broker, make_sensors, token_of

# Device ids of this run only (the factory names them PREFIX-0001 …).
PREFIX = f"MQ{uuid.uuid4().hex[:8].upper()}"


def publisher(port: int, client_id: str) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_topic_parsing() -> None:
    assert device_of(topic_for("GAS-0001")) == "GAS-0001"
    assert device_of("safecity/v1/devices//telemetry") is None
    assert device_of("safecity/v1/devices/a/b/telemetry") is None


def device(n: int) -> str:
    return f"{PREFIX}-{n:04d}"


@pytest.fixture
def broker(tmp_path):  # type: ignore[no-untyped-def]
    own = Broker(str(tmp_path))
    own.start()
    yield own
    own.stop()


@pytest.fixture
def consumer(engine, session, city, broker):  # type: ignore[no-untyped-def]
    make_sensors(session, prefix=PREFIX)
    group = f"t{PREFIX}"
    settings = MonitoringSettings(mqtt_port=broker.port, mqtt_share_group=group, batch_wait_ms=20)
    pipe = Pipeline(engine)
    results = []

    def handle(items):  # type: ignore[no-untyped-def]
        results.append(pipe.process(items, "mqtt"))

    c = Consumer(settings, f"safecity-test-{group}", handle)
    c.start()
    assert c.wait_ready(10), "consumer did not connect"
    time.sleep(0.3)  # let the SUBACK land before publishing
    thread = threading.Thread(target=c.run, daemon=True)
    thread.start()
    yield c, results
    c.stop()
    thread.join(10)


def test_qos1_single_readings_all_stored_and_bad_devices_rejected(consumer, broker, engine) -> None:
    c, _results = consumer
    pub = publisher(broker.port, f"pub-{PREFIX}")
    t0 = epoch_ms() - 60_000  # the pipeline refuses readings far from its clock
    infos = []
    for i in range(2000):
        dev = device(1 + i % 4)
        body = json.dumps({"token": token_of(dev), "ts": t0 + i, "value": 1.0 + (i % 3)})
        infos.append(pub.publish(topic_for(dev), body, qos=1))
    # device 2's token on device 1's topic: a device can only write its own readings
    pub.publish(
        topic_for(device(1)),
        json.dumps({"token": token_of(device(2)), "ts": t0, "value": 99.0}),
        qos=1,
    )
    pub.publish(
        topic_for(f"{PREFIX}-GHOST"), json.dumps({"token": "x", "ts": t0, "value": 1}), qos=1
    )
    pub.publish(topic_for(device(3)), b"{]", qos=1)
    for info in infos:
        info.wait_for_publish(10)
    deadline = time.monotonic() + 30
    while c.processed < 2003 and time.monotonic() < deadline:
        time.sleep(0.1)
    pub.loop_stop()
    pub.disconnect()
    assert c.processed == 2003
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Reading)) == 2000
        reasons = dict(
            conn.execute(select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)).all()
        )
    assert reasons == {"bad_credential": 1, "unknown_device": 1, "malformed_json": 1}
