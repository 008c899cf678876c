"""Real Chromium: from an alarm's page, "在一张图中查看" opens the one map centred on the alarm,
its marker highlighted and the alarms and major-hazard layers switched on (issue 17)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from safecity.core.clock import utcnow
from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.monitoring import demo
from tests.browser import live_server, load_demo_city
from tests.browser import login_page as _login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:

    url = f"sqlite:///{tmp_path_factory.mktemp('alarmmap')}/safecity.db"
    upgrade(url)
    load_demo_city(url)
    engine = make_engine(url)
    with Session(engine) as session:
        demo.load(session, utcnow() - timedelta(minutes=3))
        session.commit()
    engine.dispose()
    with live_server(url) as served:
        yield served


def _until(page: Any, script: str, timeout: float = 30.0) -> Any:
    """Poll a page expression from Python (the CSP forbids string-expression waits)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = page.evaluate(script)
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {script}")


def test_alarm_link_centres_the_one_map_on_it(base: str, browser: Any) -> None:
    page = _login(browser, base, "duty")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    listed = httpx.get(
        f"{base}/api/v1/monitoring/alarms?open=true&size=500", timeout=30, cookies=cookies
    ).json()
    alarm = next(a for a in listed["items"] if a["lon"] is not None)
    page.goto(f"{base}/monitoring/alarms/{alarm['id']}")
    link = page.locator("#alarm-on-map")
    assert link.inner_text().strip() == "在一张图中查看"
    link.click()
    page.wait_for_url("**/map?focus=*")
    _until(page, "window.safecityMap && window.safecityMap.ready")
    centre = page.evaluate(
        "(() => { const c = window.safecityMap.map.getCenter();"
        " return [c.lng, c.lat, window.safecityMap.map.getZoom()]; })()"
    )
    assert abs(centre[0] - alarm["lon"]) < 1e-4 and abs(centre[1] - alarm["lat"]) < 1e-4
    assert centre[2] >= 14
    assert page.locator(".mk-focus").count() == 1
    assert page.get_attribute(".leaflet-marker-icon.mk-focus", "title") == f"报警 #{alarm['id']}"
    _until(page, "window.safecityMap.focus.alarmFound")
    on = _until(
        page,
        "(window.safecityMap.focus.layersOn || []).length >= 2 &&"
        " window.safecityMap.focus.layersOn",
    )
    assert set(on) >= {"alarms", "risk-hazards"}
    # The focus marker's popup leads back to the alarm.
    page.click(".leaflet-marker-icon.mk-focus")
    assert (
        page.locator(".leaflet-popup-content a").get_attribute("href")
        == f"/monitoring/alarms/{alarm['id']}"
    )
    # Without focus the map keeps fitting the user's scope.
    page.goto(f"{base}/map")
    _until(page, "window.safecityMap && window.safecityMap.ready")
    assert page.locator(".mk-focus").count() == 0
