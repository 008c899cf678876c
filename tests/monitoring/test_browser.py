"""Real Chromium: the alarm console shows a new red alarm within a second (SSE), and handles it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.clock import epoch_ms, utcnow
from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.monitoring import demo
from safecity.monitoring.demo import demo_token
from safecity.monitoring.models import Sensor
from tests.browser import live_server, load_demo_city
from tests.browser import login_page as _login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:

    url = f"sqlite:///{tmp_path_factory.mktemp('monbrowser')}/safecity.db"
    upgrade(url)
    load_demo_city(url)
    engine = make_engine(url)
    with Session(engine) as session:
        # real time: with the suite's fixed NOW every demo sensor would be hours silent and
        # the first batch would raise 3,000 offline alarms
        demo.load(session, utcnow())
        session.commit()
        device = session.scalars(
            select(Sensor.device_id)
            .where(Sensor.sensor_type == "gas")
            .order_by(Sensor.id.desc())
            .limit(1)
        ).one()
    engine.dispose()
    with live_server(url) as base:
        yield base, device


def test_red_alarm_appears_live_and_is_acknowledged(live: tuple[str, str], browser: Any) -> None:
    base, device = live
    page = _login(browser, base, "admin")
    page.goto(f"{base}/monitoring/alarms")
    page.wait_for_selector("#live-state.on", timeout=15_000)
    page.wait_for_function("() => Object.keys(window.safecityAlarms).length >= 10")
    # The console fully drawn (county outlines too) and the server's ingestion pipeline built
    # (on its first device request): what is timed is a reading reaching a running console.
    page.wait_for_function(
        "() => Object.values(window.safecityAlarmMap._layers)"
        ".some(l => l.feature && l.feature.geometry.type !== 'Point')"
    )
    warm = httpx.post(
        f"{base}/api/v1/telemetry",
        json={"ts": epoch_ms() - 5000, "value": 1.0},
        headers={"Authorization": f"Bearer {demo_token(device)}"},
        timeout=30,
    )
    assert warm.status_code == 202, warm.text
    before = page.evaluate("Object.keys(window.safecityAlarms).length")
    sent = time.monotonic()
    resp = httpx.post(
        f"{base}/api/v1/telemetry",
        json={"ts": epoch_ms(), "value": 75.0},
        headers={"Authorization": f"Bearer {demo_token(device)}"},
        timeout=30,
    )
    assert resp.status_code == 202, resp.text
    page.wait_for_function(
        f"() => Object.keys(window.safecityAlarms).length > {before}", timeout=5_000
    )
    seen = time.monotonic() - sent
    assert seen < 1.5, f"alarm reached the console after {seen:.2f} s"
    row = page.locator("#alarm-table tbody tr").first
    assert "lvl-red" in row.inner_html() and device[-5:] in row.inner_text()
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", row.locator("td").nth(3).inner_text())  # 24 h
    # A click on the row finds its marker on the map.
    row.locator("td").nth(2).click()
    assert page.locator("#alarm-table tr.picked").get_attribute("data-id") == row.get_attribute(
        "data-id"
    )
    page.wait_for_function("() => window.safecityAlarmMap.getZoom() >= 12")
    page.once("dialog", lambda d: d.accept("值班员已确认"))
    row.locator("button[data-action=acknowledge]").click()
    page.wait_for_function(
        "() => Object.values(window.safecityAlarms).some(a => a.status === 'acknowledged')"
    )


def test_console_button_opens_a_hidden_danger_and_it_links_back(
    live: tuple[str, str], browser: Any
) -> None:

    base, device = live
    httpx.post(
        f"{base}/api/v1/telemetry",
        json={"ts": epoch_ms(), "value": 80.0},
        headers={"Authorization": f"Bearer {demo_token(device)}"},
        timeout=30,
    )
    token = httpx.post(
        f"{base}/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}
    ).json()
    alarms = httpx.get(
        f"{base}/api/v1/monitoring/alarms?open=true&level=red&size=500",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()
    aid = next(a["id"] for a in alarms["items"] if a["hidden_danger_id"] is None)
    page = _login(browser, base, "admin")
    page.goto(f"{base}/monitoring/alarms")
    button = page.locator(f'#alarm-table tr[data-id="{aid}"] button[data-action="hidden-danger"]')
    button.wait_for(timeout=15_000)
    assert button.inner_text() == "转为隐患"
    page.once("dialog", lambda d: d.accept())
    button.click()
    page.wait_for_url(re.compile(r"/hazards/\d+$"), timeout=15_000)
    hd_path = page.url.removeprefix(base)
    origin = page.locator("#hd-origin")
    assert origin.inner_text() == f"来源：监测报警 #{aid}"
    origin.click()
    page.wait_for_url(f"{base}/monitoring/alarms/{aid}")
    assert page.locator("#alarm-status").get_attribute("data-status") == "handling"
    assert page.locator("#alarm-hd").get_attribute("href") == hd_path


def test_sensor_chart_draws_thresholds_and_the_alarm_point(
    live: tuple[str, str], browser: Any
) -> None:

    base, device = live
    resp = httpx.post(
        f"{base}/api/v1/telemetry",
        json={"ts": epoch_ms(), "value": 90.0},
        headers={"Authorization": f"Bearer {demo_token(device)}"},
        timeout=30,
    )
    assert resp.status_code == 202
    token = httpx.post(
        f"{base}/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}
    ).json()
    sensors = httpx.get(
        f"{base}/api/v1/monitoring/sensors?q={device}",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()
    sid = sensors["items"][0]["id"]
    page = _login(browser, base, "admin")
    page.goto(f"{base}/monitoring/sensors/{sid}")
    page.wait_for_selector("#ts-chart circle.alarm-point", timeout=15_000)
    red = page.locator("#ts-chart line.threshold-red")
    assert page.locator("#ts-chart line.threshold").count() == 4  # gas: four levels, one side
    # The red alarm's point sits above the red line (SVG y grows downwards), on the series.
    assert float(page.locator("#ts-chart circle.alarm-point").last.get_attribute("cy")) < float(
        red.get_attribute("y1")
    )
    labels = page.locator("#ts-chart text").all_text_contents()
    assert any(re.fullmatch(r"\d{2}/\d{2} \d{2}:\d{2}", t) for t in labels)  # Beijing, 24 h
    assert not any("e+" in t for t in labels)
