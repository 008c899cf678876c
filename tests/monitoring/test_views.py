"""Monitoring pages: sensor list/detail with the chart's thresholds, the alarm console, scope."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import web_login
from tests.monitoring.conftest import make_sensors, token_of


def test_sensor_pages_and_alarm_console(client: Any, session: Any) -> None:
    sensors = make_sensors(session)
    client.post(
        "/api/v1/telemetry",
        json={"ts": int(time.time() * 1000), "value": 30.0},
        headers={"Authorization": f"Bearer {token_of('GAS-0001')}"},
    )
    client.headers["accept"] = "text/html"
    web_login(client, "zhifu")
    listing = client.get("/monitoring/sensors")
    assert listing.status_code == 200 and "GAS-0001" in listing.text and "30 %LEL" in listing.text
    detail = client.get(f"/monitoring/sensors/{sensors[0].id}")
    assert detail.status_code == 200 and 'id="ts-chart"' in detail.text
    assert '"orange": 25' in detail.text  # thresholds handed to the chart
    console = client.get("/monitoring/alarms")
    assert console.status_code == 200 and 'data-level="orange"' in console.text
    assert "/api/v1/monitoring/alarms/stream" in client.get("/static/monitoring/console.js").text
    client.cookies.clear()
    web_login(client, "laishan")
    assert client.get(f"/monitoring/sensors/{sensors[0].id}").status_code == 404
    assert 'data-level="orange"' not in client.get("/monitoring/alarms").text
