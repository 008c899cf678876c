"""Monitoring API: sensors with scope and import, HTTP telemetry, alarm lifecycle, rules."""

from __future__ import annotations

import io
import json
import time

from fastapi.testclient import TestClient
from openpyxl import Workbook

from safecity.core.db import get_engine, reset_engine
from safecity.monitoring import api, pipeline
from safecity.monitoring.settings import get_monitoring_settings
from safecity.web.app import create_app
from tests.conftest import login
from tests.monitoring.conftest import make_sensors, token_of

SENSOR = {
    "device_id": "GAS-9001",
    "name": "芝罘燃气探头",
    "sensor_type": "gas",
    "division_code": "370602",
    "lon": 121.4,
    "lat": 37.5,
    "facility": "芝罘路燃气管线",
    "install_date": "2025-06-01",
}


def now_ms() -> int:
    return int(time.time() * 1000)


def test_register_sensor_returns_token_once_and_scope_applies(client) -> None:
    admin = login(client, "admin")
    resp = client.post("/api/v1/monitoring/sensors", json=SENSOR, headers=admin)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["token"] and body["unit"] == "%LEL"
    sid = body["id"]
    detail = client.get(f"/api/v1/monitoring/sensors/{sid}", headers=admin).json()
    assert "token" not in detail and detail["rule"]["orange"] == 25
    # Laishan's officer neither sees nor edits Zhifu's sensor
    laishan = login(client, "laishan")
    assert client.get(f"/api/v1/monitoring/sensors/{sid}", headers=laishan).status_code == 404
    assert client.get("/api/v1/monitoring/sensors", headers=laishan).json()["total"] == 0
    resp = client.post(
        "/api/v1/monitoring/sensors", json={**SENSOR, "device_id": "X-1"}, headers=laishan
    )
    assert resp.status_code == 403
    assert (
        client.get("/api/v1/monitoring/sensors", headers=login(client, "zhifu")).json()["total"]
        == 1
    )


def test_sensor_validation_is_bilingual_422(client) -> None:
    admin = login(client, "admin")
    bad = {**SENSOR, "sensor_type": "ufo", "lon": 500, "device_id": "has space"}
    resp = client.post("/api/v1/monitoring/sensors", json=bad, headers=admin)
    assert resp.status_code == 422
    fields = {d["field"] for d in resp.json()["detail"]}
    assert {"sensor_type", "lon", "device_id"} <= fields
    assert all(d["message"] and d["message_en"] for d in resp.json()["detail"])
    client.post("/api/v1/monitoring/sensors", json=SENSOR, headers=admin)
    dup = client.post("/api/v1/monitoring/sensors", json=SENSOR, headers=admin)
    assert dup.status_code == 422 and dup.json()["detail"][0]["field"] == "device_id"


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_import_is_all_or_nothing_with_row_errors(client) -> None:
    admin = login(client, "admin")
    header = ["设备编号", "名称", "传感器类型", "行政区划代码", "经度", "纬度"]
    bad = _xlsx(
        [
            header,
            ["W-1", "水压1", "water_pressure", "370602", 121.4, 37.5],
            ["W-2", "水压2", "lava", "370602", 121.4, 37.5],
            ["W-1", "水压3", "water_pressure", "999999", 121.4, 37.5],
        ]
    )
    resp = client.post(
        "/api/v1/monitoring/sensors/import", headers=admin, files={"file": ("s.xlsx", bad)}
    )
    assert resp.status_code == 422
    rows = sorted({(d["row"], d["field"]) for d in resp.json()["detail"]})
    assert (3, "sensor_type") in rows and (4, "division_code") in rows
    assert client.get("/api/v1/monitoring/sensors", headers=admin).json()["total"] == 0
    csv = (
        "device_id,name,sensor_type,division_code\nW-1,水压1,water_pressure,370602\n"
        "W-2,水压2,hydrant_pressure,370613\n"
    )
    resp = client.post(
        "/api/v1/monitoring/sensors/import", headers=admin, files={"file": ("s.csv", csv.encode())}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["created"] == 2 and len(resp.json()["credentials"]) == 2


def test_http_telemetry_json_batch_ndjson_and_rejections(client, session) -> None:
    make_sensors(session)
    device = {"Authorization": f"Bearer {token_of('GAS-0001')}"}
    t = now_ms()
    batch = {"readings": [{"ts": t - 2000, "value": 1.0}, {"ts": t - 1000, "value": 2.0}]}
    resp = client.post("/api/v1/telemetry", json=batch, headers=device)
    assert resp.status_code == 202 and resp.json()["stored"] == 2
    nd = "\n".join(json.dumps({"ts": t + i, "value": 3.0}) for i in range(5)) + "\n{bad"
    resp = client.post(
        "/api/v1/telemetry",
        content=nd.encode(),
        headers={**device, "Content-Type": "application/x-ndjson"},
    )
    assert resp.json() == {
        "accepted": 5,
        "stored": 5,
        "duplicates": 0,
        "rejected": {"malformed_json": 1},
    }
    again = client.post("/api/v1/telemetry", json=batch, headers=device).json()
    assert again["stored"] == 0 and again["duplicates"] == 2
    assert (
        client.post(
            "/api/v1/telemetry", json=batch, headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    resp = client.post("/api/v1/telemetry", json={"ts": t, "value": "x"}, headers=device)
    assert resp.status_code == 422
    admin = login(client, "admin")
    dead = client.get("/api/v1/monitoring/dead-letters", headers=admin).json()
    assert dead["counts"] == {"malformed_json": 1, "invalid_payload": 1}
    assert (
        client.get("/api/v1/monitoring/dead-letters", headers=login(client, "zhifu")).status_code
        == 403
    )


def test_ndjson_bulk_is_packed_and_non_finite_lines_still_rejected_one_by_one(
    client, session
) -> None:
    make_sensors(session)
    device = {
        "Authorization": f"Bearer {token_of('GAS-0002')}",
        "Content-Type": "application/x-ndjson",
    }
    t = now_ms() - 20_000_000
    # 12,000 lines: more than one 10,000-reading batch once packed
    nd = "\n".join(json.dumps({"ts": t + i * 1000, "value": 1.0 + i % 3}) for i in range(12_000))
    resp = client.post("/api/v1/telemetry", content=nd.encode(), headers=device)
    assert resp.json() == {"accepted": 12_000, "stored": 12_000, "duplicates": 0, "rejected": {}}
    # Python's encoder writes NaN, which a strict parser refuses: each line on its own then
    nd = "\n".join(
        json.dumps({"ts": now_ms() - i, "value": v}) for i, v in enumerate([1.0, float("nan"), 2.0])
    )
    resp = client.post("/api/v1/telemetry", content=nd.encode(), headers=device)
    assert resp.json() == {
        "accepted": 2,
        "stored": 2,
        "duplicates": 0,
        "rejected": {"non_finite": 1},
    }


def test_rotated_device_token_is_refused_within_a_reload(client, session, monkeypatch) -> None:
    monkeypatch.setattr(api, "_TOKEN_TTL_S", 0.0)  # every cached answer is stale at once
    monkeypatch.setattr(pipeline, "RELOAD_EVERY_S", 0.0)  # the registry reloads on each batch
    sensors = make_sensors(session)
    old = {"Authorization": f"Bearer {token_of('GAS-0003')}"}
    body = {"ts": now_ms(), "value": 1.0}
    assert client.post("/api/v1/telemetry", json=body, headers=old).status_code == 202
    resp = client.post(
        f"/api/v1/monitoring/sensors/{sensors[2].id}/token", headers=login(client, "admin")
    )
    new = {"Authorization": f"Bearer {resp.json()['token']}"}
    # the pipeline's registry may answer once more before its reload; then the old one is out
    codes = [
        client.post("/api/v1/telemetry", json={**body, "ts": now_ms() + k}, headers=old).status_code
        for k in (1, 2)
    ]
    assert codes[-1] == 401
    assert (
        client.post("/api/v1/telemetry", json={**body, "ts": now_ms() + 3}, headers=new).status_code
        == 202
    )


def test_alarm_lifecycle_and_illegal_transitions(client, session) -> None:
    sensors = make_sensors(session)
    device = {"Authorization": f"Bearer {token_of('GAS-0001')}"}
    resp = client.post("/api/v1/telemetry", json={"ts": now_ms(), "value": 60.0}, headers=device)
    assert resp.status_code == 202
    admin = login(client, "admin")
    alarms = client.get("/api/v1/monitoring/alarms?open=true", headers=admin).json()["items"]
    assert [(a["sensor_id"], a["level"], a["status"]) for a in alarms] == [
        (sensors[0].id, "red", "active")
    ]
    aid = alarms[0]["id"]
    url = f"/api/v1/monitoring/alarms/{aid}"
    assert client.post(url + "/resolve", json={}, headers=admin).status_code == 409
    assert (
        client.post(url + "/acknowledge", json={"note": "收到"}, headers=admin).json()["status"]
        == "acknowledged"
    )
    assert client.post(url + "/acknowledge", json={}, headers=admin).status_code == 409
    assert client.post(url + "/handle", json={"note": "已派人"}, headers=admin).status_code == 200
    done = client.post(url + "/resolve", json={"note": "关阀"}, headers=admin).json()
    assert done["status"] == "resolved" and done["closed_by"] == "admin"
    history = client.get(url, headers=admin).json()["history"]
    assert [(h["action"], h["actor"]) for h in history] == [
        ("raise", "system"),
        ("acknowledge", "admin"),
        ("handle", "admin"),
        ("resolve", "admin"),
    ]
    assert history[1]["note"] == "收到"
    assert client.get(url, headers=login(client, "laishan")).status_code == 404
    assert client.post(
        url + "/false_alarm", json={}, headers=login(client, "public")
    ).status_code in (403, 404)


def test_rules_are_validated_and_versioned(client) -> None:
    analyst = login(client, "analyst")
    bad = client.put(
        "/api/v1/monitoring/rules",
        headers=analyst,
        json={"rules": {"gas": {"blue": 30, "yellow": 10}}},
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "gas.red"
    ok = client.put(
        "/api/v1/monitoring/rules",
        headers=analyst,
        json={
            "rules": {
                "gas": {"direction": "high", "blue": 3, "yellow": 8, "orange": 20, "red": 40}
            },
            "note": "tighter",
        },
    )
    assert ok.status_code == 200 and ok.json()["version"] == 1
    current = client.get("/api/v1/monitoring/rules", headers=analyst).json()
    assert current["version"] == 1 and current["rules"]["gas"]["red"] == 40
    assert current["versions"][0]["note"] == "tighter"
    assert (
        client.put(
            "/api/v1/monitoring/rules", headers=login(client, "zhifu"), json={"rules": {}}
        ).status_code
        == 403
    )


def test_readings_endpoint_and_sensor_override(client, session) -> None:
    make_sensors(session)
    device = {"Authorization": f"Bearer {token_of('GAS-0001')}"}
    t = now_ms()
    client.post(
        "/api/v1/telemetry",
        headers=device,
        json={"readings": [{"ts": t - i * 1000, "value": float(i)} for i in range(5)]},
    )
    admin = login(client, "admin")
    sid = client.get("/api/v1/monitoring/sensors?q=GAS-0001", headers=admin).json()["items"][0]
    raw = client.get(
        f"/api/v1/monitoring/sensors/{sid['id']}/readings?resolution=raw", headers=admin
    ).json()
    assert [p["value"] for p in raw["points"]] == [4.0, 3.0, 2.0, 1.0, 0.0]
    agg = client.get(
        f"/api/v1/monitoring/sensors/{sid['id']}/readings?resolution=1m", headers=admin
    ).json()
    assert sum(p["n"] for p in agg["points"]) == 5
    settings = f"/api/v1/monitoring/sensors/{sid['id']}/alarm-settings"
    resp = client.put(settings, headers=admin, json={"rule_override": {"red": "high"}})
    assert resp.status_code == 422
    # the registry's PATCH takes the sensor's registered fields only
    resp = client.patch(
        f"/api/v1/monitoring/sensors/{sid['id']}", headers=admin, json={"rule_override": {}}
    )
    assert resp.status_code == 422
    resp = client.put(settings, headers=admin, json={"rule_override": {"red": 30}})
    assert resp.status_code == 200 and resp.json()["rule_override"] == {"red": 30}
    detail = client.get(f"/api/v1/monitoring/sensors/{sid['id']}", headers=admin).json()
    assert detail["rule"]["red"] == 30 and detail["last_value"] == 0.0
    # another district's officer neither sees nor changes it; a commander may not change it
    url = settings
    assert client.put(url, headers=login(client, "laishan"), json={}).status_code == 404
    assert client.put(url, headers=login(client, "commander"), json={}).status_code == 403
    # null clears the override; a route must be a LineString
    resp = client.put(settings, headers=admin, json={"rule_override": None})
    assert resp.status_code == 200 and resp.json()["rule"].get("red") != 30
    bad = client.put(settings, headers=admin, json={"route": {"type": "Point"}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "route"


def test_map_layers_show_open_alarms_and_sensors_in_scope(client, session) -> None:
    sensors = make_sensors(session)
    sensors[1].enterprise_id = 424242
    session.commit()
    device = {"Authorization": f"Bearer {token_of('GAS-0001')}"}
    assert (
        client.post(
            "/api/v1/telemetry", json={"ts": now_ms(), "value": 60.0}, headers=device
        ).status_code
        == 202
    )
    admin = login(client, "admin")
    alarms = client.get("/api/v1/monitoring/map/alarms", headers=admin).json()["features"]
    assert [(f["properties"]["level"], f["geometry"]["coordinates"]) for f in alarms] == [
        ("red", [sensors[0].lon, sensors[0].lat])
    ]
    # a moving sensor (a vehicle's) is drawn where it last reported, the others where installed
    moving = {"Authorization": f"Bearer {token_of('GAS-0003')}"}
    reading = {"ts": now_ms(), "value": 1.0, "lon": 121.5, "lat": 37.6}
    assert client.post("/api/v1/telemetry", json=reading, headers=moving).status_code == 202
    layer = client.get("/api/v1/monitoring/sensors/layer", headers=admin).json()["features"]
    assert {f["properties"]["url"] for f in layer} == {
        f"/monitoring/sensors/{s.id}" for s in sensors
    }
    where = {f["properties"]["id"]: f["geometry"]["coordinates"] for f in layer}
    assert where[sensors[2].id] == [121.5, 37.6]
    assert where[sensors[1].id] == [sensors[1].lon, sensors[1].lat]
    values = {f["properties"]["id"]: f["properties"]["last_value"] for f in layer}
    assert values == {
        sensors[0].id: 60.0,
        sensors[1].id: None,
        sensors[2].id: 1.0,
        sensors[3].id: None,
    }
    # the old layer address still answers, by redirect
    moved = client.get("/api/v1/monitoring/map/sensors", headers=admin)
    assert moved.status_code == 200 and moved.json()["features"] == layer
    laishan = login(client, "laishan")
    assert client.get("/api/v1/monitoring/sensors/layer", headers=laishan).json()["features"] == []
    assert client.get("/api/v1/monitoring/map/alarms", headers=laishan).json()["features"] == []
    # 一企一档 lists an enterprise's own sensors
    mine = client.get("/api/v1/monitoring/sensors?enterprise_id=424242", headers=admin).json()
    assert [s["id"] for s in mine["items"]] == [sensors[1].id]


def test_warm_start_builds_the_pipeline_when_the_app_starts(
    database_url, engine, city, monkeypatch
) -> None:

    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    monkeypatch.setenv("SAFECITY_MONITORING_WARM_START", "true")
    reset_engine()
    get_monitoring_settings.cache_clear()
    api._pipeline.clear()
    try:
        with TestClient(create_app()):
            end = time.monotonic() + 20
            while id(get_engine()) not in api._pipeline and time.monotonic() < end:
                time.sleep(0.05)
            assert id(get_engine()) in api._pipeline  # built with no device request at all
    finally:
        get_monitoring_settings.cache_clear()
        api._pipeline.clear()
        reset_engine()
