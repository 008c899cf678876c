"""The whole loop in real headless Chromium: a grid member reports with a photo on a phone-sized
screen, the inspector confirms and registers, the enterprise rectifies, the inspector accepts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.browser import ARTIFACTS, live_server, load_demo_city
from tests.conftest import PASSWORD
from tests.hazards.conftest import jpeg

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(live_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The whole loop runs on SQLite and on PostgreSQL.
    load_demo_city(live_database_url)
    storage = tmp_path_factory.mktemp("hz-storage")
    with live_server(
        live_database_url,
        SAFECITY_STORAGE_DIR=str(storage),
        SAFECITY_ESCALATION_INTERVAL_SECONDS="0",
    ) as base:
        yield base


def login(browser: Any, base: str, username: str, phone: bool = False) -> Any:
    size = {"width": 390, "height": 844} if phone else {"width": 1300, "height": 900}
    context = browser.new_context(
        viewport=size,
        locale="zh-CN",
        has_touch=phone,
        geolocation={"longitude": 121.3905, "latitude": 37.5301},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login?next=/hazards")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/hazards")
    return page


def act(page: Any, action: str, fields: dict[str, str], files: list[Path] | None = None) -> None:
    box = page.locator(f"details.hd-action[data-action={action}]")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    for name, value in fields.items():
        field = box.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    if files:
        box.locator("input[type=file]").set_input_files([str(f) for f in files])
    # Wait for the answer page: load state alone is already "loaded" on the old page, and the
    # status would be read before the form was handled (seen on PostgreSQL).
    with page.expect_navigation():
        box.locator("button[type=submit]").click()
    page.wait_for_load_state()


def status(page: Any) -> str:
    if not page.locator("#hd-status").count():
        raise AssertionError(
            page.url + "\n" + page.locator("main, .page").first.inner_text()[:1500]
        )
    return page.locator("#hd-status").get_attribute("data-status")


def test_grid_report_enterprise_rectifies_inspector_accepts(
    server: str, browser: Any, live_database_url: str, tmp_path: Path
) -> None:
    photo = tmp_path / "scene.jpg"
    photo.write_bytes(jpeg((800, 600), "orange"))
    evidence = tmp_path / "fixed.jpg"
    evidence.write_bytes(jpeg((640, 480), "green"))

    # 1. the grid member reports from a phone: photo, the phone's position, the enterprise
    grid = login(browser, server, "grid", phone=True)
    grid.goto(f"{server}/hazards/report")
    grid.fill("#r-title", "储罐区静电接地线断开")
    grid.fill("#r-description", "巡查发现2号储罐静电接地线断开")
    grid.select_option("#r-category", "hazchem")
    officer = grid.request.get(f"{server}/api/v1/me").json()
    assert officer["role"] == "grid_member"
    enterprise_name = browser_enterprise_name(live_database_url)
    pick_enterprise(grid, enterprise_name, enterprise_name)
    grid.set_input_files("#r-photos", str(photo))
    grid.click("#use-gps")
    grid.wait_for_function("() => document.getElementById('r-lon').value !== ''")
    assert grid.input_value("#r-lon") == "121.390500"
    grid.locator(".hd-picker").click(position={"x": 120, "y": 100})  # pick on the map instead
    assert grid.input_value("#r-lon") != "121.390500"
    ARTIFACTS.mkdir(exist_ok=True)
    grid.screenshot(path=str(ARTIFACTS / "hazards-report-phone.png"), full_page=True)
    grid.click("#report-submit")
    grid.wait_for_url("**/hazards/*")
    hd_url = grid.url
    assert status(grid) == "reported"
    assert grid.locator(".hd-photos img").count() == 1
    grid.context.close()

    # 2. the inspector confirms it and registers it with a deadline
    inspector = login(browser, server, "inspector")
    inspector.goto(hd_url)
    act(inspector, "confirm", {"grade": "general", "category": "hazchem"})
    assert status(inspector) == "confirmed"
    act(inspector, "register", {"deadline": "2099-12-31", "responsible_username": "enterprise"})
    assert status(inspector) == "registered"

    # 3. the enterprise sees it in its inbox, submits the plan and the evidence
    ent = login(browser, server, "enterprise")
    # the top bar shows the unread count and leads to the inbox
    badge = ent.locator(".inbox-badge")
    badge.wait_for(state="visible")
    assert int(badge.text_content()) >= 1
    ent.click(".inbox-link")
    ent.wait_for_url(f"{server}/hazards/inbox")
    ent.click("text=储罐区静电接地线断开")
    ent.wait_for_url(hd_url)
    act(
        ent, "submit_plan", {"measures": "重新焊接接地线并检测电阻", "responsible_person": "隋建军"}
    )
    assert status(ent) == "rectifying"
    act(ent, "submit_acceptance", {"note": "已重新焊接，接地电阻 2.1Ω"}, [evidence])
    assert status(ent) == "submitted"
    ent.context.close()

    # 4. the inspector accepts and closes it (销号); the timeline shows every step
    inspector.reload()
    act(inspector, "accept", {"note": "现场验收合格"})
    assert status(inspector) == "closed"
    steps = inspector.locator("#hd-timeline li").evaluate_all(
        "items => items.map(i => i.dataset.action)"
    )
    assert steps == ["report", "confirm", "register", "submit_plan", "submit_acceptance", "accept"]
    assert inspector.locator("#hd-timeline .hd-photos img").count() == 1  # the evidence photo
    inspector.screenshot(path=str(ARTIFACTS / "hazards-closed.png"), full_page=True)
    inspector.context.close()


def pick_enterprise(page: Any, typed: str, name: str) -> None:
    """Search the report form's enterprise field and pick the result called `name`."""
    page.fill("#r-enterprise-q", typed)
    choice = page.locator("#r-enterprise-results button", has_text=name).first
    choice.wait_for(state="visible")
    chosen = choice.get_attribute("data-id")
    choice.click()
    assert page.input_value("#r-enterprise") == chosen
    assert page.input_value("#r-enterprise-q") == name


def test_staff_find_any_enterprise_in_scope(
    server: str, browser: Any, live_database_url: str
) -> None:
    """The city's duty officer reports for the enterprise whose name sorts last of the city's
    3,000 (a select of the first 500 names could not offer it): found by searching its credit
    code, picked, the report carries it; typing again drops the choice."""
    engine = create_engine(live_database_url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM enterprises WHERE NOT archived")).scalar()
        ent_id, name, uscc = conn.execute(
            text(
                "SELECT id, name, uscc FROM enterprises WHERE NOT archived "
                "ORDER BY name DESC LIMIT 1"
            )
        ).one()
    engine.dispose()
    assert total > 500
    duty = login(browser, server, "duty", phone=True)
    duty.goto(f"{server}/hazards/report")
    assert duty.locator("select[name=enterprise_id], #r-enterprise option").count() == 0
    duty.fill("#r-title", "消防通道被货物堵塞")
    pick_enterprise(duty, uscc, name)
    assert duty.locator("#r-enterprise-clear").is_visible()
    assert duty.evaluate("document.documentElement.scrollWidth") <= 390
    duty.screenshot(path="/tmp/shots/polish/hazards-report-enterprise-phone.png", full_page=True)
    # typing again drops the choice until a result is picked; the clear button empties it
    duty.locator("#r-enterprise-q").press("End")
    duty.locator("#r-enterprise-q").press("Backspace")
    assert duty.input_value("#r-enterprise") == ""
    pick_enterprise(duty, name, name)
    duty.click("#r-enterprise-clear")
    assert duty.input_value("#r-enterprise") == duty.input_value("#r-enterprise-q") == ""
    # a name nobody has: told so
    duty.fill("#r-enterprise-q", "不存在的企业名称")
    duty.wait_for_function(
        "() => document.getElementById('r-enterprise-none').textContent.includes('没有')"
    )
    pick_enterprise(duty, uscc, name)
    duty.click("#report-submit")
    duty.wait_for_url("**/hazards/*")
    assert status(duty) == "reported"
    assert name in duty.inner_text("main")
    duty.context.close()


def browser_enterprise_name(url: str) -> str:
    """The enterprise of the demo's enterprise officer (in the grid member's district)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        name = conn.execute(
            text(
                "SELECT e.name FROM enterprises e JOIN users u "
                "ON u.enterprise_id = e.id WHERE u.username = 'enterprise'"
            )
        ).scalar_one()
    engine.dispose()
    return str(name)
