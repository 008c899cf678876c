"""The one MQTT wire module: what the simulator and the benchmark publish is what the consumer
parses, byte for byte as the MQTT 3.1.1 / 5.0 specifications lay the packets out."""

from __future__ import annotations

import json

from safecity.monitoring import wire


def test_publish_packet_bytes_from_the_spec() -> None:
    # 3.1.1 §3.3: 0x32 (PUBLISH, QoS 1), remaining length 2+3 topic +2 id +2 payload = 9
    assert wire.publish_packet(b"a/b", b"{}", 258) == b"\x32\x09\x00\x03a/b\x01\x02{}"
    # MQTT 5 adds a zero-length property list after the packet id
    assert (
        wire.publish_packet(b"a/b", b"{}", 258, protocol=5) == b"\x32\x0a\x00\x03a/b\x01\x02\x00{}"
    )


def test_publisher_connect_is_a_clean_311_session() -> None:
    pkt = wire.connect_packet("sim", None, None, 0, 4, clean=True, keepalive=60)
    assert pkt == b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03sim"


def test_what_is_published_is_what_the_consumer_parses() -> None:
    payload = wire.reading("tok", 1_795_424_400_000, 12.5, 121.391234, 37.539876)
    big = wire.readings("tok", [(1, 1.0), (2, 2.5)] * 40)  # > 127 bytes: two-byte length
    stream = b"".join(
        wire.publish_packet(wire.topic_for(d).encode(), p, mid)
        for d, p, mid in (("GAS-1", payload, 1), ("WL-7", big, 65535))
    )
    out: list[wire.Message] = []
    used, others = wire.parse(stream + b"\x32", out, v5=False)  # a trailing partial packet
    assert used == len(stream) and others == []
    assert [(d, mid, qos) for d, _p, mid, qos in out] == [("GAS-1", 1, 1), ("WL-7", 65535, 1)]
    assert json.loads(out[0][1]) == {
        "token": "tok",
        "ts": 1_795_424_400_000,
        "value": 12.5,
        "lon": 121.391234,
        "lat": 37.539876,
    }
    assert json.loads(out[1][1])["readings"][:2] == [
        {"ts": 1, "value": 1.0},
        {"ts": 2, "value": 2.5},
    ]


def test_payload_without_token_or_position() -> None:
    assert wire.reading(None, 5, 1.0) == b'{"ts":5,"value":1.0}'
    assert wire.device_of(wire.topic_for("D/1")) is None  # a slash would change the topic level
    assert wire.device_of_bytes(b"safecity/v1/devices/D1/telemetry") == "D1"
