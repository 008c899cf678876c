"""The MQTT wire format of SafeCity telemetry, in one place: the topic layout, the packets
(MQTT 5.0 and 3.1.1, OASIS standards, §2-§3) and the JSON payload a device sends.

The consumer (``monitoring.mqtt``), the simulator (``monitoring.simulate``) and the benchmark
(``bench/ingest.py``) all encode and decode through this module, so the topic or a packet
changes in one place. Written by hand on purpose: building and parsing whole socket reads is
several times faster than paho's per-packet state machine (see ``monitoring.mqtt``). Payloads
are read by ``monitoring.telemetry.decode``, which also validates them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

TOPIC_FILTER = "safecity/v1/devices/+/telemetry"
SESSION_EXPIRY_S = 7 * 24 * 3600
KEEPALIVE_S = 30
_PREFIX = b"safecity/v1/devices/"
_SUFFIX = b"/telemetry"

Message = tuple[str | None, bytes, int, int]  # device, payload, packet id, QoS


class ProtocolError(ConnectionError):
    """The broker sent something a subscriber cannot continue from."""


# -- topics ------------------------------------------------------------------------------------


def topic_for(device_id: str) -> str:
    return f"safecity/v1/devices/{device_id}/telemetry"


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


def device_of_bytes(topic: bytes) -> str | None:
    if not (topic.startswith(_PREFIX) and topic.endswith(_SUFFIX)):
        return None
    middle = topic[len(_PREFIX) : -len(_SUFFIX)]
    if not middle or b"/" in middle:
        return None
    return middle.decode("utf-8", "replace")


# -- payloads ----------------------------------------------------------------------------------


def reading(
    token: str | None,
    ts: int,
    value: float,
    lon: float | None = None,
    lat: float | None = None,
) -> bytes:
    """One reading as a device sends it: {"token", "ts" (epoch ms), "value"[, "lon", "lat"]};
    no token when the broker's ACL already identifies the device."""
    body: dict[str, Any] = {"token": token} if token is not None else {}
    body["ts"], body["value"] = ts, value
    if lon is not None and lat is not None:
        body["lon"], body["lat"] = lon, lat
    return orjson.dumps(body)


def readings(token: str | None, items: Iterable[tuple[int, float]]) -> bytes:
    """Several readings of one device in one message: {"token", "readings": [{"ts", "value"}]}."""
    body: dict[str, Any] = {"token": token} if token is not None else {}
    body["readings"] = [{"ts": ts, "value": v} for ts, v in items]
    return orjson.dumps(body)


# -- packets -----------------------------------------------------------------------------------


def varint(n: int) -> bytes:
    """Variable Byte Integer (§1.5.5)."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def str16(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def read_varint(buf: bytes, i: int) -> tuple[int, int] | None:
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
    *,
    clean: bool = False,
    keepalive: int = KEEPALIVE_S,
) -> bytes:
    """MQTT 5 (session expiry, Receive Maximum) or 3.1.1 (protocol 4: no properties; a session
    without clean session lasts until the broker's own expiry). ``clean``: a publisher that
    keeps no session (the simulator, the benchmark)."""
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
    # Clean start / clean session off: resume the session and what was queued for it.
    flags = 0x02 if clean else 0
    payload = str16(client_id.encode())
    if username:
        flags |= 0x80
        payload += str16(username.encode())
        if password is not None:
            flags |= 0x40
            payload += str16(password.encode())
    var = b"\x00\x04MQTT" + bytes([protocol, flags]) + keepalive.to_bytes(2, "big") + props
    return b"\x10" + varint(len(var) + len(payload)) + var + payload


def subscribe_packet(topic_filter: str, packet_id: int = 1, protocol: int = 5) -> bytes:
    props = b"\x00" if protocol == 5 else b""  # MQTT 5: empty property list
    body = packet_id.to_bytes(2, "big") + props + str16(topic_filter.encode()) + b"\x01"
    return b"\x82" + varint(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, packet_id: int, protocol: int = 4) -> bytes:
    """PUBLISH at QoS 1 (§3.3); MQTT 5 adds an empty property list."""
    var = str16(topic) + packet_id.to_bytes(2, "big") + (b"\x00" if protocol == 5 else b"")
    return b"\x32" + varint(len(var) + len(payload)) + var + payload


def puback_packets(mids: list[int]) -> bytes:
    """PUBACK with reason Success and no properties is 4 bytes in MQTT 5 (§3.4.2.1), and the
    same 4 bytes in 3.1.1."""
    return b"".join(b"\x40\x02" + m.to_bytes(2, "big") for m in mids)


DISCONNECT = b"\xe0\x00"


def parse(buf: bytes, out: list[Message], v5: bool = True) -> tuple[int, list[tuple[int, bytes]]]:
    """Parse whole packets from buf: PUBLISH goes to `out`; returns (bytes used, other packets).
    v5=False: MQTT 3.1.1, where PUBLISH has no properties."""
    i, n = 0, len(buf)
    others: list[tuple[int, bytes]] = []
    append = out.append
    while i + 1 < n:
        head = buf[i]
        got = read_varint(buf, i + 1)
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
                props = read_varint(buf, k)
                if props is None:
                    raise ProtocolError("truncated PUBLISH properties")
                k = props[1] + props[0]
            append((device_of_bytes(buf[j + 2 : t_end]), buf[k:end], mid, qos))
        else:
            others.append((head >> 4, buf[j:end]))
        i = end
    return i, others


def connack_refusal(body: bytes, protocol: int) -> str | None:
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
