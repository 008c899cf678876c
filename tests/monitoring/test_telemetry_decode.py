"""Decoding telemetry (pure logic): a gateway's plain batch takes a vectorised path, which must
give exactly what the item-by-item path gives, and hostile numbers are rejected, not raised."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from safecity.monitoring import telemetry
from safecity.monitoring.telemetry import Decoder, Device

NOW = 1_795_424_400_000
DEVICES = {"G1": Device("G1", 11, "h1", "gas_concentration"),
           "G2": Device("G2", 12, "h2", "gas_concentration")}


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
    return rng.choice([
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
    ])


def test_uniform_batches_decode_as_item_by_item(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    for _ in range(200):
        messages = []
        for _m in range(rng.randrange(1, 5)):
            n = rng.choice([1, 5, 17, 40, 200])
            clean = rng.random() < 0.5  # half the batches have no odd item at all
            items = [{"ts": NOW - 1000 * k, "value": float(k)} if clean else item(rng)
                     for k in range(n)]
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
    d = decode([("G1", {"readings": [*good, {"ts": 10**30, "value": 1.0}]}),
                ("G1", {"readings": [*good[:0], {"ts": NOW, "value": 10**400}]})])
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
