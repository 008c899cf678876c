"""Real Chromium: the alarm console for a duty officer's first hour (issue 17) — red first,
storms folded into groups acknowledged at once, a live dot that notices silent devices, an
alarm shown in context with what lies around it, warning/incident actions, and the phone."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.clock import utcnow
from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.monitoring import demo
from safecity.monitoring.demo import demo_token
from safecity.monitoring.models import Sensor
from tests.browser import live_server, load_demo_city
from tests.browser import login_page as _login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, list[str]]]:

    url = f"sqlite:///{tmp_path_factory.mktemp('moncontext')}/safecity.db"
    upgrade(url)
    load_demo_city(url)
    engine = make_engine(url)
    with Session(engine) as session:
        # Readings three minutes old: nothing has arrived lately, the live dot must say so
        # (and no sensor is silent long enough for an offline alarm yet).
        demo.load(session, utcnow() - timedelta(minutes=3))
        session.commit()
        levels = list(
            session.scalars(
                select(Sensor.device_id)
                .where(Sensor.sensor_type == "water_level")
                .order_by(Sensor.id)
                .offset(2)
                .limit(6)
            )
        )
        gas = session.scalars(
            select(Sensor.device_id)
            .where(Sensor.sensor_type == "gas")
            .order_by(Sensor.id.desc())
            .limit(1)
        ).one()
    engine.dispose()
    with live_server(url) as base:
        yield base, gas, levels


def _post(base: str, device: str, value: float) -> None:
    r = httpx.post(
        f"{base}/api/v1/telemetry",
        json={"ts": int(time.time() * 1000), "value": value},
        headers={"Authorization": f"Bearer {demo_token(device)}"},
        timeout=30,
    )
    assert r.status_code == 202, r.text


def test_live_dot_turns_amber_when_devices_are_silent(live: Any, browser: Any) -> None:
    base, gas, _ = live
    page = _login(browser, base, "duty")
    page.goto(f"{base}/monitoring/alarms")
    page.wait_for_selector("#live-state.stale", timeout=15_000)
    assert "设备数据已中断" in page.get_attribute("#live-state", "title")
    _post(base, gas, 1.0)
    page.wait_for_selector("#live-state.on", timeout=15_000)


def test_storm_is_grouped_below_red_and_acknowledged_at_once(live: Any, browser: Any) -> None:
    base, _gas, levels = live
    for device in levels:  # six yellow water-level alarms: a storm of one rule and kind
        _post(base, device, 2.6)
    page = _login(browser, base, "duty")
    page.goto(f"{base}/monitoring/alarms")
    group = page.locator("#alarm-table tr.group-row", has_text="水位")
    group.wait_for(timeout=15_000)
    assert int(group.get_attribute("data-count")) >= 6
    assert re.search(r"\d{2}:\d{2}:\d{2} – \d{2}:\d{2}:\d{2}", group.inner_text())  # first–last
    # Red rows come first, whatever their time.
    levels_seen = page.eval_on_selector_all(
        "#alarm-table tbody > tr", "rs => rs.map(r => r.querySelector('.lvl').className)"
    )
    ranks = [
        next(i for i, lv in enumerate(("red", "orange", "yellow", "blue")) if lv in c)
        for c in levels_seen
    ]
    assert ranks == sorted(ranks) and ranks[0] == 0
    page.on("dialog", lambda d: d.accept())
    with page.expect_response("**/alarms/acknowledge-group") as answer:
        group.locator("button[data-action=acknowledge-group]").click()
    body = answer.value.json()
    assert answer.value.status == 200 and body["acknowledged"] >= 6
    assert {a["status"] for a in body["items"]} == {"acknowledged"}
    audit = httpx.get(
        f"{base}/api/v1/monitoring/alarms/{body['items'][0]['id']}",
        timeout=30,
        cookies={c["name"]: c["value"] for c in page.context.cookies()},
    ).json()
    assert any(h["action"] == "acknowledge" and "批量确认" in h["note"] for h in audit["history"])


def test_alarm_in_context_with_map_nearby_and_actions(live: Any, browser: Any) -> None:
    base, gas, _ = live
    _post(base, gas, 75.0)  # red
    page = _login(browser, base, "duty")
    page.goto(f"{base}/monitoring/alarms")
    row = page.locator("#alarm-table tbody tr[data-id]").first
    row.wait_for(timeout=15_000)
    assert row.locator("a[data-action=draft-warning]").count() == 1
    incident = row.locator("button[data-action=incident]")  # 转为事件 from the row, as on its page
    assert incident.is_enabled() and incident.inner_text() == "转为事件"
    form = row.locator("form:has(button[data-action=incident])")
    assert (
        form.get_attribute("action") == f"/response/alarms/{row.get_attribute('data-id')}/incident"
    )
    assert form.locator("input[name=csrf]").get_attribute("value")
    listed = httpx.get(
        f"{base}/api/v1/monitoring/alarms?open=true&size=500",
        timeout=30,
        cookies={c["name"]: c["value"] for c in page.context.cookies()},
    ).json()
    alarm_id = next(
        a["id"]
        for a in listed["items"]
        if a["sensor_type"] == "gas" and a["level"] == "red" and a["lon"]
    )
    page.goto(f"{base}/monitoring/alarms/{alarm_id}")
    assert not re.fullmatch(r"\d{6}", page.inner_text("#alarm-division").strip())  # a name
    page.wait_for_function(
        "() => window.safecityContextMap && Object.keys(window.safecityContextMarkers).length > 0"
    )
    rows = page.locator("#nearby tbody tr[data-kind]")
    assert rows.count() >= 3
    distances = [
        int(re.sub(r"\D", "", rows.nth(i).locator("td").nth(2).inner_text()))
        for i in range(rows.count())
    ]
    assert all(0 <= d <= 2000 for d in distances)
    assert page.locator("#people-near").inner_text().replace(",", "").isdigit()
    # A marker is clickable: its popup names the object and its distance.
    page.evaluate("Object.values(window.safecityContextMarkers)[0].fire('click')")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "米" in popup.inner_text() and popup.locator("a").count() == 1
    # 转为事件 posts the alarm to emergency command (issue 15), which opens the incident
    assert page.locator("#to-incident").is_enabled()
    assert page.locator("form:has(#to-incident)").get_attribute("action") == (
        f"/response/alarms/{alarm_id}/incident"
    )
    page.click("#draft-warning")
    page.wait_for_url("**/warnings/new?from_alarm=*")
    assert page.input_value("#f-event_type") == "gas_leak"
    assert page.input_value("#f-circle_km") == "1" and page.input_value("#f-circle_lon")


def test_phone_console_shows_time_and_actions(live: Any, browser: Any) -> None:
    base, gas, _ = live
    _post(base, gas, 75.0)
    page = _login(browser, base, "duty")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/monitoring/alarms")
    page.wait_for_selector("#live-state[data-state]", timeout=15_000)  # the stream caught up
    boxes = page.evaluate("""() => {
        const row = document.querySelector('#alarm-table tbody tr[data-id]');
        return [row.querySelector('td.when'), row.querySelector('button')].map(e => {
            const r = e.getBoundingClientRect();
            return {x: r.x, width: r.width, text: e.textContent}; });
    }""")
    for box in boxes:
        assert box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert re.search(r"\d{2}:\d{2}:\d{2}", boxes[0]["text"])


def test_red_alarms_never_fold_into_a_group(live: Any, browser: Any) -> None:
    base, gas, _ = live
    _post(base, gas, 75.0)
    page = _login(browser, base, "duty")
    page.goto(f"{base}/monitoring/alarms")
    page.locator("#alarm-table tbody tr").first.wait_for(timeout=15_000)
    page.wait_for_function("() => Object.keys(window.safecityAlarms).length > 0")
    reds = page.evaluate(
        "Object.values(window.safecityAlarms).filter(a => a.level === 'red').length"
    )
    assert reds >= 3  # the demo's red alarms and this one
    assert page.locator("#alarm-table tr.group-row .lvl-red").count() == 0
    assert page.locator("#alarm-table tr[data-id] .lvl-red").count() == reds


def test_phone_alarm_detail_fits_the_screen(live: Any, browser: Any) -> None:
    base, gas, _ = live
    _post(base, gas, 75.0)
    page = _login(browser, base, "duty")
    page.set_viewport_size({"width": 390, "height": 844})
    listed = httpx.get(
        f"{base}/api/v1/monitoring/alarms?open=true&size=500",
        timeout=30,
        cookies={c["name"]: c["value"] for c in page.context.cookies()},
    ).json()
    alarm_id = next(a["id"] for a in listed["items"] if a["lon"])
    page.goto(f"{base}/monitoring/alarms/{alarm_id}")
    page.wait_for_selector("#nearby")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    distance = page.locator("#nearby tbody tr[data-kind] td").nth(2).bounding_box()
    assert distance and distance["x"] + distance["width"] <= 390
