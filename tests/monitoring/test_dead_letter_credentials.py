"""Dead letters never show a credential: every rejection path, read back through the API.

Device tokens are stored only as hashes; a dead letter that kept the payload as sent would
hand an operator (GET /api/v1/monitoring/dead-letters) the valid token of a device.
"""

from __future__ import annotations

import json

from safecity.monitoring.pipeline import Pipeline
from safecity.monitoring.telemetry import MASK, redact
from tests.conftest import login
from tests.monitoring.conftest import T0_MS, make_sensors, token_of

GOOD = token_of("GAS-0001")


def _body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


MQTT_CASES: list[tuple[str, str, bytes | dict]] = [
    ("malformed_json", "GAS-0001", b'{"token": "' + GOOD.encode() + b'", "ts": 1, "value": '),
    ("unknown_device", "GHOST-1", _body(token=GOOD, ts=T0_MS, value=1.0)),
    (
        "invalid_payload",
        "GAS-0001",
        _body(token=GOOD, ts="yesterday", value=1.0, password="hunter2", api_key="k-123456"),
    ),
    (
        "invalid_payload",
        "GAS-0001",
        _body(readings=[{"token": GOOD, "ts": "x", "value": 1}], token=GOOD),
    ),
    ("invalid_payload", "GAS-0001", json.dumps([GOOD, 1]).encode()),  # not an object
    (
        "oversized",
        "GAS-0001",
        b'{"token": "' + GOOD.encode() + b'", "pad": "' + b"x" * 300_000 + b'"}',
    ),
    ("wrong_quantity", "GAS-0001", _body(token=GOOD, ts=T0_MS, value=1.0, quantity="pressure")),
    # a device's good token on another device's topic
    ("bad_credential", "GAS-0002", _body(token=GOOD, ts=T0_MS, value=1.0)),
    ("bad_credential", "GAS-0002", _body(tok=GOOD, ts=T0_MS, value=1.0)),  # under any key
]


def test_no_dead_letter_keeps_a_token_or_secret(client, engine, session) -> None:
    make_sensors(session)
    result = Pipeline(engine).process([(d, p) for _r, d, p in MQTT_CASES], "mqtt")
    expected: dict[str, int] = {}
    for reason, _d, _p in MQTT_CASES:
        expected[reason] = expected.get(reason, 0) + 1
    assert result.rejected == expected
    # HTTP: the device authenticates with its header; a bad NDJSON line still quotes a token
    device = {
        "Authorization": f"Bearer {token_of('GAS-0003')}",
        "Content-Type": "application/x-ndjson",
    }
    line = '{"token": "' + token_of("GAS-0003") + '", "ts": 1, "value": '
    resp = client.post("/api/v1/telemetry", content=line.encode(), headers=device)
    assert resp.status_code == 422, resp.text  # nothing stored: refused, and kept as a dead letter
    expected["malformed_json"] += 1

    dead = client.get(
        "/api/v1/monitoring/dead-letters", params={"size": 100}, headers=login(client, "admin")
    ).json()
    assert dead["counts"] == expected
    texts = [json.dumps(item, ensure_ascii=False, default=str) for item in dead["items"]]
    for secret in (GOOD, token_of("GAS-0003"), "hunter2", "k-123456"):
        leaking = [t for t in texts if secret in t]
        assert not leaking, f"{secret} readable in dead letters: {leaking[:2]}"
    # masked, not dropped: the operator still sees where the credential was
    assert all(MASK in item["payload"] for item in dead["items"]), [
        item["payload"][:120] for item in dead["items"] if MASK not in item["payload"]
    ]


def test_redact_keeps_what_is_not_a_credential() -> None:
    text = '{"ts": 1795424400000, "value": 12.5, "quantity": "gas_concentration", "lon": 121.4}'
    assert redact(text, {"0" * 64}) == text
    assert redact("{'token': 'abc', 'value': 3}") == "{'token': '***', 'value': 3}"
    assert redact('{"Authorization": "Bearer abc.def"}') == '{"Authorization": "***"}'
