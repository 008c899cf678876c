"""Monitoring pages: the sensor kind's generic list/detail (with the time-series panel), its form
and import issuing device tokens shown once, the alarm console, scope."""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import select

from safecity.monitoring.models import Sensor
from safecity.monitoring.telemetry import hash_token
from tests.conftest import csrf_of, web_login
from tests.monitoring.conftest import make_sensors, token_of


def test_sensor_pages_and_alarm_console(client: Any, session: Any) -> None:
    sensors = make_sensors(session)
    sensors[1].enterprise_id = 424242
    session.commit()
    client.post(
        "/api/v1/telemetry",
        json={"ts": int(time.time() * 1000), "value": 30.0},
        headers={"Authorization": f"Bearer {token_of('GAS-0001')}"},
    )
    client.headers["accept"] = "text/html"
    web_login(client, "zhifu")
    listing = client.get("/monitoring/sensors")
    assert listing.status_code == 200 and "GAS-0001" in listing.text and "30 %LEL" in listing.text
    row = re.search(r"<tr>.*?GAS-0001.*?</tr>", listing.text, re.S).group(0)  # type: ignore[union-attr]
    cells = dict(re.findall(r'data-col="(\w+)"[^>]*>\s*(.*?)\s*</td>', row, re.S))
    assert cells["sensor_type"] == "可燃气体浓度" and cells["status"] == "在用"
    assert cells["latest"] == "30 %LEL" and cells["open_alarms"] == "1"
    # filters: by type, and an enterprise's own sensors (一企一档 links here)
    assert "GAS-0001" not in client.get("/monitoring/sensors?sensor_type=water_pressure").text
    mine = client.get("/monitoring/sensors?enterprise_id=424242").text
    assert "GAS-0002" in mine and "GAS-0001" not in mine
    assert client.get("/monitoring/sensors?enterprise_id=abc").status_code == 422
    detail = client.get(f"/monitoring/sensors/{sensors[0].id}")
    assert detail.status_code == 200 and 'id="ts-chart"' in detail.text
    assert '"orange": 25' in detail.text  # thresholds handed to the chart
    assert "/static/monitoring/chart.js" in detail.text
    console = client.get("/monitoring/alarms")
    assert console.status_code == 200 and 'data-level="orange"' in console.text
    assert "/api/v1/monitoring/alarms/stream" in client.get("/static/monitoring/console.js").text
    client.cookies.clear()
    web_login(client, "laishan")
    assert client.get(f"/monitoring/sensors/{sensors[0].id}").status_code == 404
    assert "GAS-0001" not in client.get("/monitoring/sensors").text
    assert 'data-level="orange"' not in client.get("/monitoring/alarms").text


def test_form_and_import_show_each_new_device_token_once(
    client: Any, session: Any, city: dict
) -> None:
    client.headers["accept"] = "text/html"
    web_login(client, "zhifu")
    form = {
        "csrf": csrf_of(client.get("/monitoring/sensors/new").text),
        "device_id": "WEB-GAS-1",
        "name": "网页登记探头",
        "sensor_type": "gas",
        "division_code": "370602",
        "status": "active",
    }
    page = client.post("/monitoring/sensors/new", data=form, follow_redirects=False)
    assert page.status_code == 200 and 'id="issued-credential"' in page.text
    token = re.search(r'<code class="secret" data-field="token">([^<]+)</code>', page.text)
    assert token is not None
    stored = session.scalar(select(Sensor).where(Sensor.device_id == "WEB-GAS-1"))
    assert stored.token_hash == hash_token(token.group(1))  # only the hash is kept
    again = client.get(f"/monitoring/sensors/{stored.id}").text
    assert token.group(1) not in again and "issued-credential" not in again
    # the token works at once for the device's telemetry
    reading = {"ts": int(time.time() * 1000), "value": 3.0}
    resp = client.post(
        "/api/v1/telemetry",
        json=reading,
        headers={"Authorization": f"Bearer {token.group(1)}", "accept": "application/json"},
    )
    assert resp.status_code == 202

    csv = "设备编号,名称,传感器类型,行政区划代码\nWEB-W-1,水压1,供水管网压力,370602\n"
    upload = client.post(
        "/monitoring/sensors/import",
        data={"csrf": csrf_of(client.get("/monitoring/sensors/import").text)},
        files={"file": ("s.csv", csv.encode(), "text/csv")},
    )
    assert upload.status_code == 200 and 'id="import-credentials"' in upload.text
    shown = re.findall(r'<code class="secret">([^<]+)</code>', upload.text)
    session.rollback()  # a fresh read: the upload was committed by the app
    made = session.scalar(select(Sensor).where(Sensor.device_id == "WEB-W-1"))
    assert made.sensor_type == "water_pressure"  # the Chinese label was accepted
    assert [hash_token(t) for t in shown] == [made.token_hash]
