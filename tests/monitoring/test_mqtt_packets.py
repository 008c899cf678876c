"""The hand-written MQTT 5 subscriber's packets, checked against bytes worked out from the spec."""

from __future__ import annotations

import socket
import threading

import pytest

from safecity.monitoring.mqtt import (
    Consumer,
    ProtocolError,
    connect_packet,
    parse,
    puback_packets,
    subscribe_packet,
    varint,
)
from safecity.monitoring.settings import MonitoringSettings

TOPIC = b"safecity/v1/devices/D1/telemetry"  # 32 bytes


def publish(
    topic: bytes, payload: bytes, qos: int = 1, mid: int = 7, props: bytes = b"\x00"
) -> bytes:
    var = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"")
    body = var + props + payload
    return bytes([0x30 | qos << 1]) + varint(len(body)) + body


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (321, b"\xc1\x02"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (2_097_152, b"\x80\x80\x80\x01"),
        (268_435_455, b"\xff\xff\xff\x7f"),  # the largest, MQTT 5.0 §1.5.5 table
    ],
)
def test_variable_byte_integer(value: int, encoded: bytes) -> None:
    assert varint(value) == encoded
    used, _ = parse(b"\xd0" + encoded + bytes(value) if value < 20_000 else b"", [])
    if value < 20_000:
        assert used == 1 + len(encoded) + value


def test_publish_qos1_worked_bytes() -> None:
    packet = publish(TOPIC, b'{"v":1}')
    # fixed header 0x32 (PUBLISH, QoS 1); remaining length 2+32+2+1+7 = 44
    assert packet[:2] == b"\x32\x2c"
    out: list = []
    used, others = parse(packet, out)
    assert used == len(packet) and others == []
    assert out == [("D1", b'{"v":1}', 7, 1)]


def test_publish_properties_skipped_and_qos0_has_no_packet_id() -> None:
    out: list = []
    # payload format indicator (0x01) = 1: property length 2
    parse(publish(TOPIC, b"[1]", props=b"\x02\x01\x01") + publish(TOPIC, b"{}", qos=0), out)
    assert out == [("D1", b"[1]", 7, 1), ("D1", b"{}", 0, 0)]


def test_split_packets_wait_for_the_rest() -> None:
    stream = publish(TOPIC, b"a" * 200, mid=1) + b"\xd0\x00" + publish(TOPIC, b"b", mid=2)
    for cut in range(len(stream)):
        out: list = []
        used, _ = parse(stream[:cut], out)
        rest_out: list = []
        used2, _ = parse(stream[used:], rest_out)
        assert used + used2 == len(stream)
        assert [m[2] for m in out + rest_out] == [1, 2]


def test_other_topics_have_no_device() -> None:
    out: list = []
    parse(
        publish(b"safecity/v1/devices/a/b/telemetry", b"{}")
        + publish(b"safecity/v1/devices//telemetry", b"{}")
        + publish(b"other/D1/telemetry", b"{}"),
        out,
    )
    assert [m[0] for m in out] == [None, None, None]


def test_malformed_length_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse(b"\x30\xff\xff\xff\xff\x01", [])


def test_non_publish_packets_are_returned() -> None:
    suback = b"\x90\x04\x00\x01\x00\x01"
    used, others = parse(suback + b"\xd0\x00", [])
    assert used == 8 and others == [(9, b"\x00\x01\x00\x01"), (13, b"")]


def test_connect_resumes_the_session_with_expiry_and_receive_maximum() -> None:
    packet = connect_packet("c", None, None, 1000)
    # props: 0x11 session expiry 604800 s = 0x00093A80, 0x21 receive maximum 1000 = 0x03E8
    assert packet == (
        b"\x10\x16\x00\x04MQTT\x05\x00\x00\x1e\x08\x11\x00\x09\x3a\x80\x21\x03\xe8\x00\x01c"
    )
    with_login = connect_packet("c", "u", "p", 10)
    assert with_login[9] == 0xC0  # username and password flags, clean start still off


def test_subscribe_and_puback() -> None:
    assert subscribe_packet("t/+") == b"\x82\x09\x00\x01\x00\x00\x03t/+\x01"
    assert puback_packets([1, 258]) == b"\x40\x02\x00\x01\x40\x02\x01\x02"


def test_messages_right_behind_the_connack_are_processed_and_acknowledged() -> None:
    """A resumed session's queued messages can share the CONNACK's TCP segment."""

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    got_ack = threading.Event()

    def broker() -> None:
        conn, _ = server.accept()
        conn.recv(1024)  # CONNECT
        # CONNACK (session present, success, no properties) and a queued PUBLISH in one write
        conn.sendall(b"\x20\x03\x01\x00\x00" + publish(TOPIC, b'{"v":1}', mid=7))
        seen = b""
        conn.settimeout(10)
        while b"\x40\x02\x00\x07" not in seen:
            chunk = conn.recv(1024)
            if not chunk:
                return
            seen += chunk
            if seen.startswith(b"\x82") or b"\x82" in seen[:2]:
                conn.sendall(b"\x90\x04\x00\x01\x00\x01")  # SUBACK, QoS 1 granted
        got_ack.set()
        conn.close()

    threading.Thread(target=broker, daemon=True).start()
    received: list = []
    consumer = Consumer(
        MonitoringSettings(mqtt_port=port, mqtt_share_group=""),
        "t-connack",
        received.extend,
        shared=False,
        batch_wait_ms=10,
    )
    consumer.start()
    runner = threading.Thread(target=consumer.run, daemon=True)
    runner.start()
    try:
        assert got_ack.wait(10), "the message behind the CONNACK was never acknowledged"
        assert received == [("D1", b'{"v":1}')]
    finally:
        consumer.stop()
        runner.join(5)
        server.close()
