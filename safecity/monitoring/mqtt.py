"""MQTT front end: a persistent MQTT 5 session, QoS 1, acknowledged only after the batch committed.

Devices publish to safecity/v1/devices/{device_id}/telemetry with QoS 1. A consumer keeps a
persistent session (clean start off, session expiry 7 days), so the broker queues for it while it
is away. PUBACK is sent only after the batch is stored: if a consumer dies, the broker redelivers
what it had not acknowledged, and storage being idempotent on (sensor, ts) makes that harmless.
Several consumers (one per core) can join the MQTT 5 shared subscription $share/{group}/….
With mqtt_protocol=4 it speaks MQTT 3.1.1 instead (clean session off, no properties), for NATS
Server's MQTT listener (deploy/nats/safecity-mqtt.conf), which stores every QoS 1 message in
JetStream before acknowledging it; 3.1.1 has no shared subscriptions, so one consumer.

The client is written by hand on a plain socket, on purpose: paho's per-packet state machine
managed about 17,000 QoS 1 messages/s with nothing else to do (bench/ingest.py's target is
20,000 stored); this one parses a whole socket read at a time. It does only what a subscriber
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

log = logging.getLogger(__name__)
TOPIC_FILTER = "safecity/v1/devices/+/telemetry"
SESSION_EXPIRY_S = 7 * 24 * 3600
KEEPALIVE_S = 30
# Un-acknowledged messages the broker may have in flight to us. Keep it equal to the broker's
# max_inflight_messages (deploy/mosquitto/safecity.conf): Mosquitto 2.0 restores at most that
# many in-flight messages of an offline session after a restart, so a larger window loses
# readings when a consumer dies and the broker restarts before it returns (seen in testing).
RECEIVE_MAXIMUM = 1000
_PREFIX = b"safecity/v1/devices/"
_SUFFIX = b"/telemetry"


def device_of(topic: str) -> str | None:
    parts = topic.split("/")
    if (
        len(parts) == 5
        and parts[0] == "safecity"
        and parts[1] == "v1"
        and parts[2] == "devices"
        and parts[4] == "telemetry"
        and parts[3]
    ):
        return parts[3]
    return None


def _device_of_bytes(topic: bytes) -> str | None:
    if not (topic.startswith(_PREFIX) and topic.endswith(_SUFFIX)):
        return None
    middle = topic[len(_PREFIX) : -len(_SUFFIX)]
    if not middle or b"/" in middle:
        return None
    return middle.decode("utf-8", "replace")


def topic_for(device_id: str) -> str:
    return f"safecity/v1/devices/{device_id}/telemetry"


Handler = Callable[[list[tuple[str | None, bytes]]], Any]
Message = tuple[str | None, bytes, int, int]  # device, payload, packet id, QoS


class ProtocolError(ConnectionError):
    """The broker sent something a subscriber cannot continue from."""


# -- packets (MQTT 5.0, OASIS standard, §3) --------------------------------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def _str16(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def _read_varint(buf: bytes, i: int) -> tuple[int, int] | None:
    """(value, next index), or None when the buffer ends first."""
    value, shift = 0, 0
    while i < len(buf):
        byte = buf[i]
        value |= (byte & 127) << shift
        i += 1
        if byte < 128:
            return value, i
        shift += 7
        if shift > 21:
            raise ProtocolError("malformed variable byte integer")
    return None


def connect_packet(
    client_id: str,
    username: str | None,
    password: str | None,
    receive_maximum: int,
    protocol: int = 5,
) -> bytes:
    """MQTT 5 (session expiry, Receive Maximum) or 3.1.1 (protocol 4: no properties; a session
    without clean session lasts until the broker's own expiry)."""
    if protocol == 5:
        props = (
            b"\x11"
            + SESSION_EXPIRY_S.to_bytes(4, "big")
            + b"\x21"
            + receive_maximum.to_bytes(2, "big")
        )
        props = varint(len(props)) + props
    else:
        props = b""
    flags = 0  # clean start / clean session off: resume the session and what was queued for it
    payload = _str16(client_id.encode())
    if username:
        flags |= 0x80
        payload += _str16(username.encode())
        if password is not None:
            flags |= 0x40
            payload += _str16(password.encode())
    var = b"\x00\x04MQTT" + bytes([protocol, flags]) + KEEPALIVE_S.to_bytes(2, "big") + props
    return b"\x10" + varint(len(var) + len(payload)) + var + payload


def subscribe_packet(topic_filter: str, packet_id: int = 1, protocol: int = 5) -> bytes:
    props = b"\x00" if protocol == 5 else b""  # MQTT 5: empty property list
    body = packet_id.to_bytes(2, "big") + props + _str16(topic_filter.encode()) + b"\x01"
    return b"\x82" + varint(len(body)) + body


def puback_packets(mids: list[int]) -> bytes:
    """PUBACK with reason Success and no properties is 4 bytes in MQTT 5 (§3.4.2.1)."""
    return b"".join(b"\x40\x02" + m.to_bytes(2, "big") for m in mids)


def parse(buf: bytes, out: list[Message], v5: bool = True) -> tuple[int, list[tuple[int, bytes]]]:
    """Parse whole packets from buf: PUBLISH goes to `out`; returns (bytes used, other packets).
    v5=False: MQTT 3.1.1, where PUBLISH has no properties."""
    i, n = 0, len(buf)
    others: list[tuple[int, bytes]] = []
    append = out.append
    while i + 1 < n:
        head = buf[i]
        got = _read_varint(buf, i + 1)
        if got is None:
            break
        length, j = got
        end = j + length
        if end > n:
            break
        if head >> 4 == 3:
            t_end = j + 2 + ((buf[j] << 8) | buf[j + 1])
            qos = (head >> 1) & 3
            k, mid = t_end, 0
            if qos:
                mid = (buf[k] << 8) | buf[k + 1]
                k += 2
            if v5:
                props = _read_varint(buf, k)
                if props is None:
                    raise ProtocolError("truncated PUBLISH properties")
                k = props[1] + props[0]
            append((_device_of_bytes(buf[j + 2 : t_end]), buf[k:end], mid, qos))
        else:
            others.append((head >> 4, buf[j:end]))
        i = end
    return i, others


def _connack_refusal(body: bytes, protocol: int) -> str | None:
    """Why the broker refused the connection, or None when it accepted."""
    if len(body) < 2:
        return "MQTT connect refused: short CONNACK"
    if protocol == 5 and len(body) == 2:
        # A 3.1.1 broker answers an MQTT 5 CONNECT with its own 2-byte CONNACK, code 1.
        return (
            "MQTT connect refused: the broker does not speak MQTT 5 (NATS Server's MQTT "
            "listener: set SAFECITY_MONITORING_MQTT_PROTOCOL=4)"
        )
    code = body[1]
    if (protocol == 5 and code >= 0x80) or (protocol == 4 and code != 0):
        return f"MQTT connect refused, reason {code:#04x}"
    return None


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
        refused = _connack_refusal(connack, self.protocol)
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
            got = _read_varint(buf, 1)
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
