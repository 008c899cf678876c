"""Decoding telemetry (pure logic): a gateway's plain batch takes a vectorised path, which must
give exactly what the item-by-item path gives, and hostile numbers are rejected, not raised."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from safecity.monitoring import telemetry
from safecity.monitoring.telemetry import Decoder, Device

NOW = 1_795_424_400_000
DEVICES = {
    "G1": Device("G1", 11, "h1", "gas_concentration"),
    "G2": Device("G2", 12, "h2", "gas_concentration"),
}


def decode(messages: list, monkeypatch: pytest.MonkeyPatch | None = None) -> telemetry.Decoded:
    if monkeypatch is not None:  # the reference: every item checked one by one
        monkeypatch.setattr(telemetry, "_uniform", lambda items: None)
    return Decoder(DEVICES).decode(messages, NOW, trusted=True)


def as_tuple(d: telemetry.Decoded) -> tuple:
    arrays = tuple(np.asarray(a).tolist() for a in (d.sensor_ids, d.ts, d.values))
    positions = tuple(np.where(np.isnan(a), -1, a).tolist() for a in (d.lon, d.lat))
    return arrays + positions + (sorted((r.reason, r.device_id, r.detail) for r in d.rejected),)


def item(rng: random.Random) -> object:
    kind = rng.random()
    ts = NOW - rng.randrange(0, 10**7)
    if kind < 0.80:
        return {"ts": ts, "value": rng.choice([rng.random() * 10, rng.randrange(0, 50)])}
    return rng.choice(
        [
            {"ts": ts, "value": True},  # a bool is not a number here
            {"ts": str(ts), "value": 1.0},  # a string ts is parsed (ISO) or refused
            {"ts": ts, "value": 1.0, "lon": 121.4, "lat": 37.5},
            {"ts": ts, "value": 1.0, "quantity": "water_pressure"},
            {"ts": ts, "value": math.nan},
            {"ts": ts, "value": math.inf},
            {"ts": NOW + 10 * 60_000, "value": 1.0},  # future
            {"ts": NOW - 500 * 86_400_000, "value": 1.0},  # older than the retention
            {"ts": 10**30, "value": 1.0},
            {"ts": ts, "value": 10**400},
            {"ts": ts},
            {"ts": ts, "valu": 1.0},
            [ts, 1.0],
            {"ts": 1.5e12, "value": 2.0},
        ]
    )


def test_uniform_batches_decode_as_item_by_item(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    for _ in range(200):
        messages = []
        for _m in range(rng.randrange(1, 5)):
            n = rng.choice([1, 5, 17, 40, 200])
            clean = rng.random() < 0.5  # half the batches have no odd item at all
            items = [
                {"ts": NOW - 1000 * k, "value": float(k)} if clean else item(rng) for k in range(n)
            ]
            messages.append((rng.choice(["G1", "G2"]), {"readings": items}))
        fast = as_tuple(decode(messages))
        with monkeypatch.context() as m:
            slow = as_tuple(decode(messages, m))
        assert fast == slow


def test_a_uniform_batch_is_taken_whole() -> None:
    items = [{"ts": NOW - 1000 * k, "value": k * 0.5} for k in range(100)]
    d = decode([("G2", {"readings": items}), ("G1", {"ts": NOW, "value": 3})])
    assert d.sensor_ids.tolist() == [12] * 100 + [11]
    assert d.ts.tolist() == [NOW - 1000 * k for k in range(100)] + [NOW]
    assert d.values.tolist() == [k * 0.5 for k in range(100)] + [3.0]
    assert np.isnan(d.lon).all() and not d.rejected


@pytest.mark.parametrize("size", [1, 30])
def test_out_of_range_numbers_are_rejected_not_raised(size: int) -> None:
    good = [{"ts": NOW - 1000 * k, "value": 1.0} for k in range(1, size)]
    d = decode(
        [
            ("G1", {"readings": [*good, {"ts": 10**30, "value": 1.0}]}),
            ("G1", {"readings": [*good[:0], {"ts": NOW, "value": 10**400}]}),
        ]
    )
    assert sorted(r.reason for r in d.rejected) == ["invalid_payload", "non_finite"]
    assert all(r.device_id == "G1" for r in d.rejected)
    assert len(d) == size - 1


def test_ndjson_line_with_two_objects_is_malformed_and_the_rest_kept() -> None:
    good = [b'{"ts": %d, "value": 1.5}' % (NOW - 1000 * k) for k in range(1, 4)]
    twice = b'{"ts": %d, "value": 2},{"ts": %d, "value": 3}' % (NOW, NOW - 500)
    body = b"\n".join([good[0], twice, good[1], b"", b"  ", good[2]]) + b"\n"
    d = decode(telemetry.ndjson_messages("G1", body))
    assert [r.reason for r in d.rejected] == ["malformed_json"]
    assert d.ts.tolist() == [NOW - 1000, NOW - 2000, NOW - 3000]
    batch = b"\n".join(good + [b'{"readings": [{"ts": %d, "value": 4}]}' % NOW])
    assert len(decode(telemetry.ndjson_messages("G1", batch))) == 4  # a batch line is read whole


SINGLE_DEVICES = {
    f"S{i}": Device(f"S{i}", 100 + i, telemetry.hash_token(f"tok{i}"), "gas", active=i != 3)
    for i in range(6)
}


def single(rng: random.Random, clean: bool) -> tuple[str, object]:
    dev = rng.choice(["S0", "S1", "S2", "S4", "S5"] if clean else list(SINGLE_DEVICES) + ["S9"])
    body: dict = {
        "token": f"tok{dev[1:]}",
        "ts": NOW - rng.randrange(0, 10**6),
        "value": rng.choice([rng.random(), rng.randrange(100)]),
    }
    if not clean and rng.random() < 0.3:
        odd = rng.choice(["token", "value", "ts", "extra", "raw", "dict", "nan"])
        if odd == "token":
            body["token"] = rng.choice(["wrong", 5, None, ["x"]])
        elif odd == "value":
            body["value"] = rng.choice([True, "1.0", 10**400, None])
        elif odd == "ts":
            body["ts"] = rng.choice([NOW + 10**7, 10**30, "2026-11-23T09:00:00+08:00", 1.5e12])
        elif odd == "extra":
            body["lon"] = 121.0
        elif odd == "raw":
            return dev, rng.choice([b"{not json", b"[1, 2]", b'{"token": "a"},{"b": 1}', b""])
        elif odd == "dict":
            return dev, body
        else:
            return dev, json.dumps({**body, "value": math.nan}).encode()
    return dev, json.dumps(body).encode()


@pytest.mark.parametrize("trusted", [False, True])
def test_single_messages_decode_as_one_by_one(
    monkeypatch: pytest.MonkeyPatch, trusted: bool
) -> None:
    rng = random.Random(11)
    fast_dec = Decoder(SINGLE_DEVICES)
    slow_dec = Decoder(SINGLE_DEVICES)
    taken = 0
    for _ in range(150):
        clean = rng.random() < 0.5
        messages = [single(rng, clean) for _ in range(rng.choice([3, 20, 60]))]
        fast = fast_dec.decode(messages, NOW, trusted=trusted)
        with monkeypatch.context() as m:
            m.setattr(Decoder, "_singles", lambda *a: None)
            slow = slow_dec.decode(messages, NOW, trusted=trusted)
        assert as_tuple(fast) == as_tuple(slow)
        taken += fast_dec._singles(messages, NOW, trusted, telemetry.MAX_MESSAGE_BYTES) is not None
    assert taken > 40  # the shortcut was really exercised, not only the fallback


def test_single_messages_shortcut_needs_a_token_checked_before() -> None:
    messages = [
        ("S1", json.dumps({"token": "tok1", "ts": NOW - k, "value": 1.0}).encode())
        for k in range(20)
    ]
    dec = Decoder(SINGLE_DEVICES)
    assert dec._singles(messages, NOW, False, 10_000) is None  # unknown pair: full check
    assert len(dec.decode(messages, NOW)) == 20
    assert dec._singles(messages, NOW, False, 10_000) is not None
    forged = [
        ("S1", json.dumps({"token": "tok2", "ts": NOW - k, "value": 1.0}).encode())
        for k in range(20)
    ]
    d = dec.decode(forged, NOW)
    assert len(d) == 0 and {r.reason for r in d.rejected} == {"bad_credential"}


def test_single_messages_shortcut_still_refuses_disabled_and_oversized() -> None:
    dec = Decoder(SINGLE_DEVICES)
    body = {"token": "tok3", "ts": NOW, "value": 1.0}
    disabled = [("S3", json.dumps({**body, "ts": NOW - k}).encode()) for k in range(20)]
    for _ in range(2):  # the second time the token is known to be good
        d = dec.decode(disabled, NOW)
        assert len(d) == 0 and {r.reason for r in d.rejected} == {"device_disabled"}
    fine = [
        ("S1", json.dumps({**body, "token": "tok1", "ts": NOW - k}).encode()) for k in range(20)
    ]
    dec.decode(fine, NOW)
    padded = fine[:19] + [("S1", json.dumps({**body, "token": "tok1"}).encode() + b" " * 300)]
    d = dec.decode(padded, NOW, max_bytes=200)
    assert len(d) == 19 and [r.reason for r in d.rejected] == ["oversized"]
