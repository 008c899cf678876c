"""Real Chromium against a live server on the demo city: a red alarm drafts a warning, the
commander approves and issues it, and it reaches the public page and the Atom feed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from safecity.core import events
from safecity.core.clock import utcnow
from safecity.core.db import make_engine
from safecity.registry import demo as city_demo
from safecity.warnings import alarms, cap, demo
from tests.browser import ARTIFACTS, live_server
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser


def _load_city(url: str) -> None:

    engine = make_engine(url)
    with Session(engine) as session:
        city_demo.load(session, city_demo.generate(seed=7, now=NOW), NOW)
        demo.load(session, utcnow())  # the demo's alarms are live ones, now
        session.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def server(live_database_url: str) -> Iterator[str]:
    # Issuing a warning runs on SQLite and on PostgreSQL.
    _load_city(live_database_url)
    with live_server(live_database_url) as base:
        yield base


def _login(browser: Any, base: str, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page.set_default_timeout(30_000)
    page.on("dialog", lambda dialog: dialog.accept())  # the issue/cancel confirmations
    page.goto(f"{base}/login?next=/warnings")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_red_alarm_to_public_page_and_feed(server: str, browser: Any) -> None:

    alarms.register()  # the app did this on import; again in case a test cleared the bus
    events.publish(
        events.AlarmRaised(
            utcnow(),
            alarm_id="GAS-ZF-0042",
            level="red",
            division_code="370602",
            lon=121.395,
            lat=37.53,
        )
    )
    assert alarms.drain(30)

    # The duty officer checks and submits the draft; the commander approves and issues it
    # (separation of duties: whoever submits a red warning cannot approve it).
    page = _login(browser, server, "duty")
    assert page.url.endswith("/warnings")
    row = page.locator("#registry-table tr:has([data-status=draft])").first
    assert "芝罘区监测报警红色预警" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_load_state()
    assert page.locator("#w-status").get_attribute("data-status") == "draft"
    population = page.locator("[data-figure=population]").inner_text()
    assert int(population.replace(",", "")) > 0  # who is covered, before issuing
    for label, status in (("提交审批", "submitted"), ("审批通过", "approved"), ("发布", "issued")):
        if status == "approved":
            detail_url = page.url
            page.close()
            page = _login(browser, server, "commander")
            page.goto(detail_url)
        page.click(f"#w-actions button:text-is('{label}')")
        page.wait_for_load_state()
        assert page.locator("#w-status").get_attribute("data-status") == status
    page.reload()
    assert (
        page.locator("#w-deliveries tr[data-channel=sms]").get_attribute("data-status") == "logged"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "warning-issued.png"), full_page=True)
    warning_id = page.url.rstrip("/").split("/")[-1]
    page.close()

    public = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    public.goto(f"{server}/public/warnings?division=370602")
    card = public.locator(f"article[data-warning-id='{warning_id}']")
    assert (
        "芝罘区监测报警红色预警" in card.inner_text() and card.get_attribute("data-level") == "red"
    )
    public.wait_for_function("() => window.safecityWarnings && window.safecityWarnings.ready")
    state = public.evaluate("window.safecityWarnings")
    assert state.get("error") is None and state["features"] >= 4  # demo + met office + ours
    # Readable on a phone: nothing wider than the screen.
    assert public.evaluate("document.documentElement.scrollWidth") <= 390
    public.screenshot(path=str(ARTIFACTS / "warnings-public-phone.png"), full_page=True)
    feed = public.request.get(f"{server}/api/v1/warnings/feed.atom?division=370602")
    headlines = [a.infos[0].headline for a in cap.parse(feed.body())]
    assert "芝罘区监测报警红色预警" in headlines
    public.close()


def test_draw_a_polygon_and_preview_coverage(server: str, browser: Any) -> None:
    page = _login(browser, server, "commander")
    page.goto(f"{server}/warnings/new")
    page.wait_for_function("() => window.safecityDraw")
    page.fill("#f-headline", "芝罘区演练预警")
    page.fill("#f-description", "浏览器测试绘制的区域。")
    page.fill("#f-area_desc", "毓璜顶周边")
    page.evaluate("""() => {
        const m = safecityDraw.map;
        m.setView([37.535, 121.392], 14);
    }""")
    page.locator("#w-draw-map").scroll_into_view_if_needed()
    box = page.locator("#w-draw-map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-120, -80), (120, -80), (120, 80), (-120, 80)):
        page.mouse.click(cx + dx, cy + dy)
    assert len(page.evaluate("safecityDraw.points()")) == 4
    page.click("button:text-is('保存草稿')")
    page.wait_for_load_state()
    assert page.locator("#w-status").get_attribute("data-status") == "draft"
    # 毓璜顶医院 (121.392, 37.535) lies at the centre of the drawn box.
    assert int(page.locator("[data-figure=protected_targets]").inner_text().split()[0]) >= 1
    page.close()
