"""MQTT front end: a persistent MQTT 5 session, QoS 1, acknowledged only after the batch committed.

Devices publish to safecity/v1/devices/{device_id}/telemetry with QoS 1. A consumer keeps a
persistent session (clean start off, session expiry 7 days), so the broker queues for it while it
is away. PUBACK is sent only after the batch is stored: if a consumer dies, the broker redelivers
what it had not acknowledged, and storage being idempotent on (sensor, ts) makes that harmless.
Several consumers (one per core) can join the MQTT 5 shared subscription $share/{group}/….
With mqtt_protocol=4 it speaks MQTT 3.1.1 instead (clean session off, no properties), for NATS
Server's MQTT listener (deploy/nats/safecity-mqtt.conf), which stores every QoS 1 message in
JetStream before acknowledging it; 3.1.1 has no shared subscriptions, so one consumer.

The client is written by hand on a plain socket, on purpose (its packets are monitoring.wire's):
paho's per-packet state machine managed about 17,000 QoS 1 messages/s with nothing else to do
(bench/ingest.py's target is 20,000 stored); this one parses a whole socket read at a time. It does only what a subscriber
needs: CONNECT with session expiry and Receive Maximum, SUBSCRIBE, PUBLISH in, PUBACK (one write
per batch), keep-alive, reconnect. A reader thread keeps receiving while the caller's thread
stores the previous batch, so the network and the database work at the same time.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from safecity.monitoring.settings import MonitoringSettings
from safecity.monitoring.wire import (  # noqa: F401 re-exported: the consumer's packet helpers
    KEEPALIVE_S,
    SESSION_EXPIRY_S,
    TOPIC_FILTER,
    Message,
    ProtocolError,
    connack_refusal,
    connect_packet,
    device_of,
    parse,
    puback_packets,
    read_varint,
    subscribe_packet,
    topic_for,
    varint,
)

log = logging.getLogger(__name__)
# Un-acknowledged messages the broker may have in flight to us. Keep it equal to the broker's
# max_inflight_messages (deploy/mosquitto/safecity.conf): Mosquitto 2.0 restores at most that
# many in-flight messages of an offline session after a restart, so a larger window loses
# readings when a consumer dies and the broker restarts before it returns (seen in testing).
RECEIVE_MAXIMUM = 1000

Handler = Callable[[list[tuple[str | None, bytes]]], Any]
_connack_refusal = connack_refusal  # the name the 3.1.1 tests know it by


# -- the consumer -----------------------------------------------------------------------------


class Consumer:
    """Receives on a reader thread; the caller's thread processes batches and acknowledges."""

    def __init__(
        self,
        settings: MonitoringSettings,
        client_id: str,
        handle: Handler,
        *,
        shared: bool = True,
        batch_max: int | None = None,
        batch_wait_ms: int | None = None,
        receive_maximum: int = RECEIVE_MAXIMUM,
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self.handle = handle
        self.batch_max = batch_max or settings.batch_max
        self.wait_s = (batch_wait_ms or settings.batch_wait_ms) / 1000
        self.receive_maximum = receive_maximum
        group = settings.mqtt_share_group
        self.protocol = settings.mqtt_protocol
        # MQTT 3.1.1 has no shared subscriptions: "$share/…" would be an ordinary topic there.
        shared = shared and self.protocol == 5
        self.filter = f"$share/{group}/{TOPIC_FILTER}" if shared and group else TOPIC_FILTER
        self._queue: list[tuple[int, Message]] = []  # (connection generation, message)
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._gen = 0
        self._sent_at = 0.0
        self._heard_at = 0.0
        self._reader: threading.Thread | None = None
        self.processed = 0

    # -- connection (reader thread) ----------------------------------------------------------

    def start(self) -> None:
        self._reader = threading.Thread(target=self._read_loop, name="mqtt-reader", daemon=True)
        self._reader.start()

    def wait_ready(self, timeout: float = 10) -> bool:
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def _connect(self) -> tuple[socket.socket, bytes]:
        """Connect, resume the session, subscribe; returns the socket and the bytes that came
        after the CONNACK (a resumed session's queued messages follow it at once)."""
        s = self.settings
        sock = socket.create_connection((s.mqtt_host, s.mqtt_port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.sendall(
            connect_packet(
                self.client_id,
                s.mqtt_username,
                s.mqtt_password,
                self.receive_maximum,
                self.protocol,
            )
        )
        connack, after = self._read_packet(sock, 2)
        refused = connack_refusal(connack, self.protocol)
        if refused:
            sock.close()
            raise ConnectionRefusedError(refused)
        sock.sendall(subscribe_packet(self.filter, protocol=self.protocol))
        sock.settimeout(0.5)
        return sock, after

    @staticmethod
    def _read_packet(sock: socket.socket, kind: int) -> tuple[bytes, bytes]:
        """The body of the first packet (which must be of `kind`) and whatever followed it."""
        buf = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
            got = read_varint(buf, 1)
            if got is not None and len(buf) >= got[1] + got[0]:
                if buf[0] >> 4 != kind:
                    raise ProtocolError(f"expected packet type {kind}, got {buf[0] >> 4}")
                end = got[1] + got[0]
                return buf[got[1] : end], buf[end:]

    def _read_loop(self) -> None:
        pending = b""
        while not self._stop.is_set():
            if self._sock is None:
                opened = self._open()
                if opened is None:
                    time.sleep(0.5)
                    continue
                try:
                    pending = self._receive(opened)
                except ProtocolError as exc:
                    self._drop(exc)
                continue
            try:
                chunk = self._sock.recv(1 << 20)
                if not chunk:
                    raise ConnectionError("broker closed the connection")
            except TimeoutError:
                self._keep_alive()
                continue
            except OSError as exc:
                if not self._stop.is_set():
                    self._drop(exc)
                continue
            self._heard_at = time.monotonic()
            try:
                pending = self._receive(pending + chunk)
            except ProtocolError as exc:
                self._drop(exc)
            self._keep_alive()

    def _open(self) -> bytes | None:
        """Connect; returns the bytes already received after the CONNACK, None on failure."""
        try:
            sock, after = self._connect()
        except OSError as exc:
            log.warning("MQTT connect failed: %s", exc)
            return None
        with self._write_lock:
            self._sock = sock
            self._gen += 1
            self._sent_at = self._heard_at = time.monotonic()
        return after

    def _drop(self, reason: object) -> None:
        if not self._stop.is_set():
            log.warning("MQTT connection lost: %s", reason)
        self._ready.clear()
        with self._write_lock:
            if self._sock is not None:
                try:
                    self._sock.close()
                except OSError:
                    pass
            self._sock = None

    def _receive(self, buf: bytes) -> bytes:
        messages: list[Message] = []
        used, others = parse(buf, messages, self.protocol == 5)
        for kind, body in others:
            if kind == 9:  # SUBACK: packet id, properties, one reason code
                if body[-1:] >= b"\x80":
                    raise ProtocolError(f"subscription refused, reason {body[-1:].hex()}")
                self._ready.set()
            elif kind == 14:  # DISCONNECT from the broker
                raise ProtocolError(f"broker disconnected, reason {body[:1].hex()}")
        if messages:
            gen = self._gen
            with self._cond:
                self._queue.extend((gen, m) for m in messages)
                self._cond.notify()
        return buf[used:]

    def _keep_alive(self) -> None:
        now = time.monotonic()
        if now - self._heard_at > KEEPALIVE_S * 1.5:
            self._drop("no answer to keep-alive")
        elif now - self._sent_at > KEEPALIVE_S / 2:
            self._write(b"\xc0\x00", self._gen)  # PINGREQ

    def _write(self, data: bytes, gen: int) -> bool:
        """Send on the connection of generation `gen`; False when that connection is gone."""
        with self._write_lock:
            if self._sock is None or gen != self._gen:
                return False
            try:
                self._sock.sendall(data)
            except OSError:
                return False
            self._sent_at = time.monotonic()
            return True

    # -- processing (caller's thread) ---------------------------------------------------------

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Process batches until stop() (or `until` returns True); flushes what it holds."""
        while not self._stop.is_set() and not (until and until()):
            self.step()
        self.step(wait=False)
        self._stop.set()
        self._write(b"\xe0\x00", self._gen)  # DISCONNECT, normal: the session stays
        self._drop("closed")

    def step(self, wait: bool = True) -> int:
        """Take one batch: as soon as half the window is queued, or wait_s after the first."""
        full = min(self.batch_max, max(1, self.receive_maximum // 2))
        with self._cond:
            if wait and not self._queue:
                self._cond.wait(0.1)
            if wait and self._queue and len(self._queue) < full:
                deadline = time.monotonic() + self.wait_s
                while len(self._queue) < full and not self._stop.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            batch, self._queue = self._queue[: self.batch_max], self._queue[self.batch_max :]
        if batch:
            self._process(batch)
        return len(batch)

    def _process(self, batch: list[tuple[int, Message]]) -> None:
        items = [(device, payload) for _gen, (device, payload, _mid, _qos) in batch]
        while True:
            try:
                self.handle(items)
                break
            except Exception:  # the store is down: keep the messages, retry
                log.exception("batch failed; retrying in 1 s")
                if self._stop.wait(1):
                    return  # stopping: unacknowledged, so the broker redelivers them
        self._ack(batch)
        self.processed += len(batch)

    def _ack(self, batch: list[tuple[int, Message]]) -> None:
        """PUBACK the batch's QoS 1 messages that came on the current connection.

        Messages from an earlier connection are not acknowledged: the broker resends them on
        the new one, and their second storing is a no-op.
        """
        gen = self._gen
        mids = [m[2] for g, m in batch if g == gen and m[3] == 1]
        if mids:
            self._write(puback_packets(mids), gen)
