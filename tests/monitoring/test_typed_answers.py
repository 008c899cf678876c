"""Typed monitoring answers say what they said before they had models: a rule keeps only the keys
it has (no nulls added), numbers keep their type, raw readings stay {ts, value}, buckets carry
min/max/n, and the telemetry answer is the counts or the queue, never both."""

from __future__ import annotations

from safecity.monitoring.catalog import default_rules
from tests.conftest import login
from tests.monitoring.conftest import make_sensors, token_of
from tests.monitoring.test_api import now_ms


def test_rules_answer_has_the_rule_keys_only(client, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    analyst = login(client, "analyst")
    body = client.get("/api/v1/monitoring/rules", headers=analyst).json()
    assert body["version"] == 0 and body["versions"] == []
    assert body["rules"]["smoke"] == {
        "direction": "high",
        "blue": None,
        "yellow": None,
        "orange": None,
        "red": 1,
        "hysteresis": 0.0,
        "sustain_s": 0,
        "offline_s": 3600,
        "stuck_s": None,
        "rate": None,
    }
    assert body["rules"] == default_rules()
    assert isinstance(body["rules"]["gas"]["red"], int)  # 50, not 50.0
    assert body["rules"]["pipe_pressure"]["rate"] == {
        "per_min": 0.05,
        "direction": "down",
        "level": "orange",
    }
    saved = client.put(
        "/api/v1/monitoring/rules",
        headers=analyst,
        json={"rules": {"smoke": {"direction": "high", "red": 2}}, "note": "烟感两级"},
    )
    assert saved.status_code == 200 and saved.json() == {"version": 1}
    body = client.get("/api/v1/monitoring/rules", headers=analyst).json()
    assert body["rules"]["smoke"] == {"direction": "high", "red": 2}  # no keys added
    assert body["versions"] == [
        {
            "version": 1,
            "author": "analyst",
            "note": "烟感两级",
            "created_at": body["versions"][0]["created_at"],
        }
    ]
    # as written before the answer had a model: isoformat of what the database returns
    assert body["versions"][0]["created_at"] in (
        "2026-11-23T09:00:00+00:00",
        "2026-11-23T09:00:00",
    )


def test_readings_and_telemetry_answers_keep_their_shape(client, session) -> None:  # type: ignore[no-untyped-def]
    make_sensors(session, count=1)
    device = {"Authorization": f"Bearer {token_of('GAS-0001')}"}
    t = now_ms()
    sent = client.post(
        "/api/v1/telemetry",
        headers=device,
        json={"readings": [{"ts": t - 2000, "value": 1.5}, {"ts": t - 1000, "value": 2.5}]},
    )
    assert sent.status_code == 202
    assert sent.json() == {"accepted": 2, "stored": 2, "duplicates": 0, "rejected": {}}
    again = client.post("/api/v1/telemetry", headers=device, json={"ts": t - 1000, "value": 2.5})
    assert again.json() == {"accepted": 1, "stored": 0, "duplicates": 1, "rejected": {}}
    admin = login(client, "admin")
    sid = client.get("/api/v1/monitoring/sensors?q=GAS-0001", headers=admin).json()["items"][0]
    url = f"/api/v1/monitoring/sensors/{sid['id']}/readings"
    raw = client.get(url, params={"resolution": "raw", "from": t - 3000, "to": t}, headers=admin)
    assert raw.json() == {
        "sensor_id": sid["id"],
        "resolution": "raw",
        "from": t - 3000,
        "to": t,
        "points": [{"ts": t - 2000, "value": 1.5}, {"ts": t - 1000, "value": 2.5}],
    }
    minute = client.get(url, params={"resolution": "1m"}, headers=admin).json()["points"]
    assert sum(p["n"] for p in minute) == 2
    assert all(set(p) == {"ts", "value", "min", "max", "n"} for p in minute)
