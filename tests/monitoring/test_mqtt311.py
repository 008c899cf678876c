"""MQTT 3.1.1 mode of the consumer (NATS Server's MQTT listener): packets and CONNACK handling."""

from __future__ import annotations

from safecity.monitoring.mqtt import (
    _connack_refusal,
    connect_packet,
    parse,
    subscribe_packet,
    topic_for,
    varint,
)


def test_connect_311_has_level_4_no_properties_and_keeps_the_session() -> None:
    pkt = connect_packet("ingest-0", "safecity-ingest", "pw", 1000, protocol=4)
    body = pkt[2:]  # fixed header: type and a one-byte remaining length
    assert pkt[0] == 0x10 and pkt[1] == len(body)
    assert body[:7] == b"\x00\x04MQTT\x04"
    flags = body[7]
    assert flags & 0x02 == 0  # clean session off: the broker keeps queuing while we are away
    assert flags & 0xC0 == 0xC0  # user name and password
    assert body[8:10] == (30).to_bytes(2, "big")
    assert body[10:12] == len(b"ingest-0").to_bytes(2, "big")  # payload right after keep-alive
    v5 = connect_packet("ingest-0", None, None, 1000)
    assert v5[8] == 5 and v5[12] > 0  # MQTT 5 carries a property list


def test_subscribe_311_has_no_property_byte() -> None:
    assert subscribe_packet("a/+", 7, protocol=4) == b"\x82\x08\x00\x07\x00\x03a/+\x01"
    assert subscribe_packet("a/+", 7) == b"\x82\x09\x00\x07\x00\x00\x03a/+\x01"


def _publish_311(topic: str, payload: bytes, mid: int) -> bytes:
    """What a 3.1.1 broker sends: no property length before the payload."""
    t = topic.encode()
    var = len(t).to_bytes(2, "big") + t + mid.to_bytes(2, "big")
    return bytes([0x32]) + varint(len(var) + len(payload)) + var + payload


def test_parse_311_publish_keeps_the_whole_payload() -> None:
    # A payload starting with a byte that a v5 parser would take for a property length.
    raw = _publish_311(topic_for("GAS-0001"), b'{"ts":1,"value":2}', 513) + _publish_311(
        topic_for("GAS-0002"), b"\x05abcde", 514
    )
    out: list = []
    used, others = parse(raw, out, v5=False)
    assert used == len(raw) and not others
    assert out == [("GAS-0001", b'{"ts":1,"value":2}', 513, 1), ("GAS-0002", b"\x05abcde", 514, 1)]
    wrong: list = []
    parse(raw, wrong)  # read as MQTT 5 the payloads come out cut: the flag matters
    assert [m[1] for m in wrong] != [m[1] for m in out]


def test_connack_refusals() -> None:
    assert _connack_refusal(b"\x00\x00", 4) is None
    assert _connack_refusal(b"\x01\x00", 4) is None  # session present
    assert "0x05" in (_connack_refusal(b"\x00\x05", 4) or "")  # not authorised
    assert _connack_refusal(b"\x00\x00\x00", 5) is None
    assert _connack_refusal(b"\x00\x87\x00", 5)
    # NATS answers an MQTT 5 CONNECT with a 3.1.1 CONNACK, code 1: say what to set
    assert "SAFECITY_MONITORING_MQTT_PROTOCOL=4" in (_connack_refusal(b"\x00\x01", 5) or "")
