"""Real headless Chromium: an enterprise officer records a risk point and assesses it, an analyst
approves, the point turns red; the major hazard and calculator pages render."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.registry import demo
from safecity.risk import demo as risk_demo
from tests.browser import ARTIFACTS, live_server
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser


def _load(url: str) -> None:

    engine = make_engine(url)
    with Session(engine) as session:
        demo.load(session, demo.generate(seed=7, now=NOW), NOW)
        risk_demo.load(session, NOW)
        session.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:

    url = f"sqlite:///{tmp_path_factory.mktemp('risk-browser')}/safecity.db"
    upgrade(url)
    _load(url)
    with live_server(url) as base:
        yield base


def _login(browser: Any, base: str, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_create_assess_and_approve_a_risk_point(server: str, browser: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    officer = _login(browser, server, "enterprise")
    officer.goto(f"{server}/risk/points")
    own_total = int(re.search(r"\d+", officer.locator("#total").inner_text()).group())
    assert own_total > 0  # the demo gave the officer's enterprise its risk points
    officer.click("#kind-new")
    assert officer.input_value("#f-enterprise_id")  # their own enterprise, filled in
    officer.fill("#f-name", "液氯汽化器间")
    officer.fill("#f-code", "FX-099")
    officer.select_option("select[name=hf_category_0]", "material")
    officer.fill("input[name=hf_desc_0]", "汽化器出口管线泄漏")
    officer.check("#accident-types input[value=poisoning]")
    officer.check("#accident-types input[value=vessel_explosion]")
    officer.select_option("select[name=cm_type_0]", "engineering")
    officer.fill("input[name=cm_desc_0]", "设置氯气泄漏检测报警并联锁吸收装置")
    officer.select_option("select[name=cm_level_0]", "workshop")
    officer.fill("input[name=cm_person_0]", "王海")
    officer.fill("#f-review_date", "2027-06-30")
    officer.click("#kind-form button[type=submit]")
    officer.wait_for_load_state()
    assert re.search(r"/risk/points/\d+$", officer.url), officer.url
    point_url = officer.url
    assert officer.locator("h1").inner_text().startswith("液氯汽化器间")
    assert "中毒和窒息" in officer.locator("[data-field=accident_types]").inner_text()
    assert officer.locator("[data-field=level] .lv").get_attribute("data-level") == ""
    # LEC: L = 6 相当可能, E = 6 每天暴露, C = 15 一人死亡 → D = 540 > 320 → 重大风险
    officer.select_option("#lec-L", "6")
    officer.select_option("#lec-E", "6")
    officer.select_option("#lec-C", "15")
    officer.click("#submit-lec")
    officer.wait_for_load_state()
    row = officer.locator("#assessment-table tbody tr").first
    assert row.get_attribute("data-status") == "draft"
    assert "540" in row.inner_text() and "待审核" in row.inner_text()
    assert officer.locator("[data-field=level] .lv").get_attribute("data-level") == ""
    assert officer.locator(".approve-btn").count() == 0  # officers cannot approve
    officer.screenshot(path=str(ARTIFACTS / "risk-point-draft.png"), full_page=True)
    officer.close()

    analyst = _login(browser, server, "analyst")
    analyst.goto(point_url)
    analyst.locator("#assessment-table tbody tr").first.locator(".approve-btn").click()
    analyst.wait_for_load_state()
    assert analyst.locator("[data-field=level] .lv").get_attribute("data-level") == "red"
    assert "重大风险" in analyst.locator("[data-field=level]").inner_text()
    assert (
        analyst.locator("#assessment-table tbody tr").first.get_attribute("data-status")
        == "approved"
    )
    analyst.screenshot(path=str(ARTIFACTS / "risk-point-approved.png"), full_page=True)
    analyst.goto(f"{server}/risk/points?level=red&q=液氯汽化器间")
    assert "液氯汽化器间" in analyst.locator("#registry-table").inner_text()
    analyst.close()


def test_major_hazards_and_calculator_pages(server: str, browser: Any) -> None:
    page = _login(browser, server, "analyst")
    page.goto(f"{server}/risk/major-hazards?major=1")
    assert page.locator("#registry-table tbody tr .grade").count() > 0
    page.screenshot(path=str(ARTIFACTS / "risk-major-hazards.png"))
    page.locator("#registry-table tbody tr td[data-col=name] a").first.click()
    page.wait_for_load_state()
    assert "R = α" in page.locator("#identification").inner_text()
    assert page.locator("[data-field=computed]").inner_text().strip()
    page.goto(f"{server}/risk/calculator?tab=hazmat")
    page.fill("input[name=n0]", "液氯")
    page.fill("input[name=q0]", "10")
    page.fill("input[name=n1]", "7664-41-7")
    page.fill("input[name=q1]", "5")
    page.fill("#c-pop", "60")
    page.click("#calc-hazmat button[type=submit]")
    page.wait_for_load_state()
    # S = 10/5 + 5/10 = 2.5; R = 1.5 × (4 × 2 + 2 × 0.5) = 13.5 → 三级
    text = page.locator("#calc-result").inner_text()
    assert "13.5" in text and "三级" in text
    page.screenshot(path=str(ARTIFACTS / "risk-calculator.png"), full_page=True)
    page.close()
