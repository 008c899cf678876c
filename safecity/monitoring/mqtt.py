"""MQTT front end: a persistent MQTT 5 session on a shared subscription, acknowledged after commit.

Devices publish to safecity/v1/devices/{device_id}/telemetry with QoS 1. Each consumer process
joins the shared subscription $share/safecity/…, so the broker spreads messages over consumers
(one per core). PUBACK is sent only after the batch is stored (paho manual_ack): if a consumer
dies, the broker redelivers what it had not acknowledged, and storage being idempotent on
(sensor, ts) makes the redelivery harmless.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from safecity.monitoring.settings import MonitoringSettings

log = logging.getLogger(__name__)
TOPIC_FILTER = "safecity/v1/devices/+/telemetry"
SESSION_EXPIRY_S = 7 * 24 * 3600
# Un-acknowledged messages the broker may have in flight to us. Keep it equal to the broker's
# max_inflight_messages (deploy/mosquitto/safecity.conf): Mosquitto 2.0 restores at most that
# many in-flight messages of an offline session after a restart, so a larger window loses
# readings when a consumer dies and the broker restarts before it returns (seen in testing).
RECEIVE_MAXIMUM = 1000


def device_of(topic: str) -> str | None:
    parts = topic.split("/")
    if len(parts) == 5 and parts[0] == "safecity" and parts[1] == "v1" and \
            parts[2] == "devices" and parts[4] == "telemetry" and parts[3]:
        return parts[3]
    return None


def topic_for(device_id: str) -> str:
    return f"safecity/v1/devices/{device_id}/telemetry"


Handler = Callable[[list[tuple[str | None, bytes]]], Any]


class Consumer:
    """Collects messages on paho's network thread; the caller's thread processes batches."""

    def __init__(self, settings: MonitoringSettings, client_id: str, handle: Handler, *,
                 shared: bool = True, batch_max: int | None = None,
                 batch_wait_ms: int | None = None) -> None:
        self.settings = settings
        self.handle = handle
        self.batch_max = batch_max or settings.batch_max
        self.wait_s = (batch_wait_ms or settings.batch_wait_ms) / 1000
        group = settings.mqtt_share_group
        self.filter = f"$share/{group}/{TOPIC_FILTER}" if shared and group else TOPIC_FILTER
        self._buf: list[tuple[str | None, bytes, int, int]] = []
        self._ready = threading.Event()
        self._stop = threading.Event()
        self.processed = 0
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv5, manual_ack=True)
        if settings.mqtt_username:
            client.username_pw_set(settings.mqtt_username, settings.mqtt_password)
        client.max_inflight_messages_set(1000)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        self.client = client

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                    _props: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            return
        client.subscribe(self.filter, qos=1)
        self._ready.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._buf.append((device_of(msg.topic), msg.payload, msg.mid, msg.qos))

    def start(self) -> None:
        self._props = Properties(PacketTypes.CONNECT)
        self._props.SessionExpiryInterval = SESSION_EXPIRY_S
        self._props.ReceiveMaximum = RECEIVE_MAXIMUM
        self._connect()

    def _connect(self) -> None:
        while not self._stop.is_set():
            try:
                self.client.connect(self.settings.mqtt_host, self.settings.mqtt_port,
                                    keepalive=30, clean_start=False, properties=self._props)
                return
            except OSError:
                time.sleep(0.5)

    def wait_ready(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while not self._ready.is_set() and time.monotonic() < deadline:
            self._pump(0.05)
        return self._ready.is_set()

    def stop(self) -> None:
        self._stop.set()

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Process batches until stop() (or `until` returns True); flushes what it holds."""
        while not self._stop.is_set() and not (until and until()):
            self.step()
        self.step()
        self.client.disconnect()

    def _pump(self, timeout: float) -> None:
        """Network I/O on this thread: read every packet waiting, write, keep alive, reconnect.

        One thread for I/O and processing: paho's background thread costs a socketpair
        wake-up per acknowledgement, which capped a consumer at ~3,000 messages/s.
        """
        sock = self.client.socket()
        if sock is None:
            self._ready.clear()
            self._connect()
            return
        readable, _, _ = select.select([sock], [], [], timeout)
        rc = mqtt.MQTT_ERR_SUCCESS
        if readable:
            rc = self.client.loop_read(RECEIVE_MAXIMUM * 2)
        if rc == mqtt.MQTT_ERR_SUCCESS and self.client.want_write():
            rc = self.client.loop_write()
        if rc == mqtt.MQTT_ERR_SUCCESS:
            rc = self.client.loop_misc()
        if rc != mqtt.MQTT_ERR_SUCCESS:
            self._ready.clear()
            try:
                self.client.reconnect()
            except OSError:
                time.sleep(0.5)

    def step(self) -> int:
        deadline = time.monotonic() + self.wait_s
        full = min(self.batch_max, RECEIVE_MAXIMUM)  # no more arrive until we acknowledge
        while time.monotonic() < deadline and len(self._buf) < full:
            self._pump(max(0.0, min(0.01, deadline - time.monotonic())))
        batch, self._buf = self._buf, []
        if not batch:
            return 0
        for start in range(0, len(batch), self.batch_max):
            self._process(batch[start:start + self.batch_max])
        return len(batch)

    def _process(self, chunk: list[tuple[str | None, bytes, int, int]]) -> None:
        while True:
            try:
                self.handle([(device, payload) for device, payload, _mid, _qos in chunk])
                break
            except Exception:  # the store is down: keep the messages, retry
                log.exception("batch failed; retrying in 1 s")
                time.sleep(1)
        self._ack([mid for _d, _p, mid, qos in chunk if qos == 1])
        self.processed += len(chunk)

    def _ack(self, mids: list[int]) -> None:
        """PUBACK every message of the batch in one write (4 bytes each, success, MQTT 5)."""
        sock = self.client.socket()
        if sock is not None and not self.client._out_packet:
            try:
                sock.sendall(b"".join(b"\x40\x02" + m.to_bytes(2, "big") for m in mids))
                return
            except OSError:
                return  # connection gone: the broker redelivers, storage is idempotent
        for mid in mids:
            self.client.ack(mid, 1)
