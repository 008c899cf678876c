"""MQTT ingestion through the real Mosquitto broker: QoS 1, shared subscription, device checks."""

from __future__ import annotations

import json
import os
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from safecity.monitoring.models import DeadLetter, Reading
from safecity.monitoring.mqtt import Consumer, device_of, topic_for
from safecity.monitoring.pipeline import Pipeline
from safecity.monitoring.settings import MonitoringSettings
from tests.monitoring.conftest import require_service, token_of

PORT = 1883


def publisher(port: int, client_id: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_topic_parsing() -> None:
    assert device_of(topic_for("GAS-0001")) == "GAS-0001"
    assert device_of("safecity/v1/devices//telemetry") is None
    assert device_of("safecity/v1/devices/a/b/telemetry") is None


@pytest.fixture
def consumer(engine, sensors):  # type: ignore[no-untyped-def]
    require_service("Mosquitto", PORT)
    group = f"t{os.getpid()}{int(time.time() * 1000) % 100000}"
    settings = MonitoringSettings(mqtt_port=PORT, mqtt_share_group=group, batch_wait_ms=20)
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
    # a persistent session would keep queuing for this test group: end it
    end = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"safecity-test-{group}",
                      protocol=mqtt.MQTTv5)
    end.connect("127.0.0.1", PORT, clean_start=True)
    end.disconnect()


def test_qos1_single_readings_all_stored_and_bad_devices_rejected(consumer, engine) -> None:
    c, _results = consumer
    pub = publisher(PORT, f"pub-{os.getpid()}")
    t0 = int(time.time() * 1000) - 60_000
    infos = []
    for i in range(2000):
        device = f"GAS-000{1 + i % 4}"
        body = json.dumps({"token": token_of(device), "ts": t0 + i, "value": 1.0 + (i % 3)})
        infos.append(pub.publish(topic_for(device), body, qos=1))
    # GAS-0002's token on GAS-0001's topic: a device can only write its own readings
    pub.publish(topic_for("GAS-0001"), json.dumps({"token": token_of("GAS-0002"),
                                                  "ts": t0, "value": 99.0}), qos=1)
    pub.publish(topic_for("GHOST-1"), json.dumps({"token": "x", "ts": t0, "value": 1}), qos=1)
    pub.publish(topic_for("GAS-0003"), b"{]", qos=1)
    for info in infos:
        info.wait_for_publish(10)
    deadline = time.time() + 30
    while c.processed < 2003 and time.time() < deadline:
        time.sleep(0.1)
    pub.loop_stop()
    pub.disconnect()
    assert c.processed == 2003
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Reading)) == 2000
        reasons = dict(conn.execute(select(DeadLetter.reason, func.count())
                                    .group_by(DeadLetter.reason)).all())
    assert reasons == {"bad_credential": 1, "unknown_device": 1, "malformed_json": 1}
