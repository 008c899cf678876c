"""The command path in real headless Chromium, on a frozen clock: a red alarm becomes an
incident in one click, the commander grades it and starts the proposed response, the rescue
group receives its task, a force is dispatched, a CAP warning is drafted from the incident, a
follow-up report regrades it and the plan's rules propose a higher level, the response ends
with its reason and the situation report is downloaded as DOCX and PDF and read back; the
reception form is used on a phone. Screenshots for a reader."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import docx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import clock
from safecity.core.clock import utcnow
from safecity.core.db import make_engine
from safecity.core.models import User
from safecity.core.scope import Principal
from safecity.monitoring.models import Alarm
from safecity.registry.models import GridCell
from safecity.response import command
from safecity.response.schemas import PlanIn
from tests.browser import ARTIFACTS, live_server, load_demo_city
from tests.conftest import NOW, PASSWORD
from tests.response.conftest import PLAN

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "response"


def _seed(url: str) -> int:
    """A red gas alarm in 芝罘区 and the city's approved plan for public-facility accidents."""
    engine = make_engine(url)
    now = utcnow()
    with Session(engine) as s:
        cell = s.scalar(
            select(GridCell).where(GridCell.division_code.like("370602%")).order_by(GridCell.id)
        )
        alarm = Alarm(
            open_key=f"cell{cell.id}:threshold",
            grid_cell_id=cell.id,
            division_code=cell.division_code,
            rule="threshold",
            level="red",
            peak_level="red",
            status="active",
            value=3.2,
            message="燃气浓度 3.2 %LEL 超过红色阈值",
            message_en="gas 3.2 %LEL above the red threshold",
            lon=cell.lon,
            lat=cell.lat,
            first_ts=int((now - timedelta(minutes=12)).timestamp() * 1000),
            last_ts=int(now.timestamp() * 1000),
            raised_at=now - timedelta(minutes=12),
            updated_at=now,
        )
        s.add(alarm)
        u = s.scalar(select(User).where(User.username == "commander"))
        who = Principal(u.id, u.username, u.role, u.division_code)
        groups = [
            {**PLAN["groups"][0], "members": ["inspector"]},
            {**PLAN["groups"][1], "members": ["analyst"]},
        ]
        data = PlanIn(**{**PLAN, "name": "烟台市城市燃气事故应急预案", "groups": groups})
        plan = command.create_plan(s, who, data, now)
        command.plan_step(s, who, plan.id, "approve", now)
        s.commit()
        alarm_id = alarm.id
    engine.dispose()
    return alarm_id


@pytest.fixture(scope="module")
def server(live_database_url: str) -> Iterator[tuple[str, int]]:
    load_demo_city(live_database_url)
    # the server runs in this process: the frozen clock is its clock too
    with clock.frozen(NOW):
        alarm_id = _seed(live_database_url)
        with live_server(live_database_url, SAFECITY_ESCALATION_INTERVAL_SECONDS="0") as base:
            yield base, alarm_id


def login(browser: Any, base: str, username: str, phone: bool = False) -> Any:
    size = {"width": 390, "height": 844} if phone else {"width": 1440, "height": 900}
    context = browser.new_context(viewport=size, locale="zh-CN", has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login?next=/response/incidents")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/response/incidents")
    return page


def submit(page: Any, action: str) -> None:
    box = page.locator(f"details.rs-action[data-action={action}]")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    with page.expect_navigation():
        box.locator("button[type=submit]").last.click()
    page.wait_for_load_state()


def shot(page: Any, name: str, label: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)


def test_alarm_to_incident_to_response(
    server: tuple[str, int], browser: Any, live_database_url: str
) -> None:
    base, alarm_id = server
    label = "pg" if live_database_url.startswith("postgresql") else "sqlite"
    # the duty officer: from the red alarm to the incident in one click
    duty = login(browser, base, "duty")
    duty.goto(f"{base}/monitoring/alarms/{alarm_id}")
    with duty.expect_navigation():
        duty.click("#to-incident")
    assert "/response/incidents/" in duty.url
    assert duty.locator("#incident").get_attribute("data-status") == "received"
    assert duty.locator("#from-alarm").inner_text().endswith(f"#{alarm_id}")
    incident_url = duty.url.split("#")[0]
    # a second click on the alarm leads to the same incident, not a second one
    duty.goto(f"{base}/monitoring/alarms/{alarm_id}")
    with duty.expect_navigation():
        duty.click("#to-incident")
    assert duty.url.split("#")[0] == incident_url
    # the duty officer may not grade: no grade button for them
    assert duty.locator("details.rs-action[data-action=grade]").count() == 0

    # the commander grades and starts the proposed response
    cmd = login(browser, base, "commander")
    cmd.goto(incident_url)
    cmd.wait_for_function("() => window.safecityContextMap !== undefined")
    assert cmd.locator("#criteria tbody tr").count() >= 2
    # the command map's live layers: the red alarm that started it, open, on the spot
    origin = cmd.locator(f"#nearby tr[data-kind=alarm][data-id='{alarm_id}']")
    assert origin.get_attribute("data-level") == "red"
    assert cmd.inner_text("#layer-counts b[data-kind=alarm]") == "1"
    submit(cmd, "grade")
    assert cmd.locator("#incident").get_attribute("data-status") == "graded"
    proposals = cmd.locator("#proposals li")
    assert proposals.count() == 1 and proposals.first.get_attribute("data-level") == "IV"
    shot(cmd, "graded-desktop", label)
    submit(cmd, "start_response")
    assert cmd.locator("#incident").get_attribute("data-status") == "responding"
    assert cmd.locator("#level").get_attribute("data-level") == "IV"
    assert cmd.locator("#tasks tbody tr").count() == 1

    # the rescue group's member receives the task
    rescuer = login(browser, base, "inspector")
    rescuer.goto(incident_url)
    with rescuer.expect_navigation():
        rescuer.locator("#tasks .task-receive").click()
    assert rescuer.locator("#tasks tbody tr").first.get_attribute("data-status") == "received"

    # the commander dispatches a force by hand and moves it along
    cmd.goto(incident_url)
    box = cmd.locator("details.rs-action[data-action=dispatch]")
    box.locator("summary").click()
    cmd.fill("#dp-name", "芝罘区消防救援大队一中队")
    cmd.fill("#dp-eta", "9")
    with cmd.expect_navigation():
        cmd.click("#dispatch-submit")
    row = cmd.locator("#dispatches tbody tr").first
    assert row.get_attribute("data-status") == "requested"
    with cmd.expect_navigation():
        row.locator(".dispatch-next").click()
    assert cmd.locator("#dispatches tbody tr").first.get_attribute("data-status") == "dispatched"
    assert actions(cmd) == [
        "receive",
        "grade",
        "start_response",
        "task_received",
        "dispatch",
        "dispatch_status",
    ]
    shot(cmd, "responding-desktop", label)
    on_phone(cmd, "responding-phone", label)

    # a CAP warning drafted from the incident: its form opens prefilled with the place, the
    # event and the level of the grade; the draft and the incident link to each other
    incident_path = incident_url.removeprefix(base)
    with cmd.expect_navigation():
        cmd.click("#draft-warning")
    assert cmd.url.endswith("/edit") and "/warnings/" in cmd.url
    warning_path = cmd.url.removeprefix(base).removesuffix("/edit")
    assert cmd.input_value("#f-event_type") == "pipeline"  # gas alarm → public facility
    assert cmd.input_value("#f-level") == "blue"  # 一般 → blue
    assert cmd.input_value("#f-circle_km") == "3.0"
    assert cmd.input_value("#f-circle_lon") and cmd.input_value("#f-circle_lat")
    with cmd.expect_navigation():
        cmd.click("#warning-form button[type=submit]")
    assert cmd.url.removeprefix(base) == warning_path
    assert cmd.locator("#w-incident").get_attribute("href") == incident_path
    with cmd.expect_navigation():
        cmd.click("#w-incident")
    link = cmd.locator("#timeline li[data-action=draft_warning] a.tl-warning")
    assert link.get_attribute("href") == warning_path
    assert cmd.locator("#warning-link").get_attribute("href") == warning_path
    assert cmd.locator("#draft-warning").count() == 0  # one warning per incident

    # a follow-up report: 3 dead → 较大; the grade change is on the timeline and the plan's
    # rules (III for 较大) propose a level; the commander raises the response to it
    box = cmd.locator("details.rs-action[data-action=followup]")
    box.locator("summary").click()
    cmd.fill("#followup-deaths", "3")
    cmd.fill("#followup-note", "搜救发现 3 人遇难")
    with cmd.expect_navigation():
        box.locator("button[type=submit]").click()
    assert cmd.locator("#grade").get_attribute("data-grade") == "relatively_serious"
    regrade = cmd.locator("#timeline li[data-action=regrade]").inner_text()
    assert "一般 → 较大" in regrade and "预案规则建议调整为Ⅲ级响应" in regrade, regrade
    assert cmd.locator("#level").get_attribute("data-level") == "IV"  # the commander decides
    assert cmd.locator("#running-proposal").get_attribute("data-level") == "III"
    assert cmd.input_value("#adjust-level") == "III"
    shot(cmd, "regraded-desktop", label)
    submit(cmd, "adjust_level")
    assert cmd.locator("#level").get_attribute("data-level") == "III"
    assert cmd.locator("#running-proposal").count() == 0
    # level III adds the medical group's task
    assert cmd.locator("#tasks tbody tr").count() == 2

    # the response ends with its reason: without one the server refuses (422), nothing changes
    box = cmd.locator("details.rs-action[data-action=end_response]")
    box.locator("summary").click()
    cmd.evaluate("document.querySelector('#end-note').removeAttribute('required')")
    with cmd.expect_navigation() as nav:
        cmd.click("#end-submit")
    assert nav.value.status == 422
    assert "终止理由" in cmd.inner_text(".field-error[data-field=note]")
    assert cmd.locator("#incident").get_attribute("data-status") == "responding"
    cmd.fill("#end-note", "燃气泄漏已封堵，险情排除")
    with cmd.expect_navigation():
        cmd.click("#end-submit")
    assert cmd.locator("#incident").get_attribute("data-status") == "ended"
    assert cmd.locator("#response-clock").get_attribute("data-running") == "false"
    assert "燃气泄漏已封堵" in cmd.locator("#timeline li[data-action=end_response]").inner_text()
    # task deadlines stopped with the response: nothing is marked overdue
    assert cmd.locator("#tasks .rs-overdue").count() == 0
    assert actions(cmd)[6:] == [
        "draft_warning",
        "followup",
        "regrade",
        "adjust_level",
        "end_response",
    ]
    shot(cmd, "ended-desktop", label)

    # the situation report, downloaded as DOCX and PDF and read back
    texts = {}
    for selector, fmt in (("#doc-sitrep-docx", "docx"), ("#doc-sitrep", "pdf")):
        with cmd.expect_download() as dl:
            cmd.click(selector)
        path = SHOTS / f"sitrep-{label}.{fmt}"
        dl.value.save_as(path)
        assert dl.value.suggested_filename.endswith(f".{fmt}")
        if fmt == "docx":
            text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
        else:
            text = subprocess.run(
                ["pdftotext", "-enc", "UTF-8", str(path), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        texts[fmt] = "".join(text.split())
    for fmt, text in texts.items():
        assert "燃气浓度3.2%LEL超过红色阈值" in text, fmt  # the incident's name
        assert "事件等级：较大" in text, fmt
        for line in ("启动响应", "任务签收", "调派力量", "起草预警", "续报重新定级", "一般→较大"):
            assert line in text, (fmt, line)
        assert "调整响应级别" in text and "Ⅳ级响应→Ⅲ级响应" in text, fmt
        assert "响应终止" in text and "燃气泄漏已封堵，险情排除" in text, fmt
    on_phone(cmd, "ended-phone", label)
    # a hidden danger the incident brought to light: the hazards form, prefilled, then on the
    # incident's timeline
    with cmd.expect_navigation():
        cmd.click("#open-hidden-danger")
    assert "事件 #" in cmd.input_value("#r-title") and cmd.input_value("#r-lon")
    with cmd.expect_navigation():
        cmd.click("#report-submit")
    assert cmd.url.split("#")[0] == incident_url
    assert cmd.locator("#timeline li[data-action=open_hidden_danger] a.tl-hidden-danger").count()
    # the incident list shows it first (most severe open incident)
    cmd.goto(f"{base}/response/incidents")
    assert cmd.locator("#incidents tbody tr").count() >= 1


def actions(page: Any) -> list[str]:
    return page.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.action)")


def on_phone(page: Any, name: str, label: str) -> None:
    """The command view at 390×844: looked at, and nothing pushes it sideways."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    shot(page, name, label)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 400, wide
    # a task's and a dispatch's buttons are in view, not behind a sideways-scrolling table
    for button in page.locator("#tasks button, #dispatches button").all():
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, box
    page.set_viewport_size({"width": 1440, "height": 900})
    page.reload()


def test_reception_form_on_a_phone(
    server: tuple[str, int], browser: Any, live_database_url: str
) -> None:
    base, _ = server
    label = "pg" if live_database_url.startswith("postgresql") else "sqlite"
    page = login(browser, base, "duty", phone=True)
    page.goto(f"{base}/response/incidents/new")
    page.fill("#f-title", "莱山区仓库火灾")
    page.select_option("#f-type_key", "accident_disaster.fire")
    page.select_option("#f-division_code", "370613")
    page.fill("#f-reporter_name", "李女士")
    # a time in the future is refused by the server (422) and the form keeps what was typed
    page.fill("#f-occurred_at", "2099-01-01T08:00")
    with page.expect_navigation():
        page.click("#receive-submit")
    assert "不能晚于当前时间" in page.inner_text(".field-error[data-field=occurred_at]")
    assert page.input_value("#f-title") == "莱山区仓库火灾"
    page.fill("#f-occurred_at", "")
    page.fill("#f-occurred_at", "2020-01-01T08:00")
    page.fill("#f-serious_injuries", "2")
    shot(page, "reception-phone", label)
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    with page.expect_navigation():
        page.click("#receive-submit")
    assert page.locator("#incident").get_attribute("data-status") == "received"
    assert "莱山区仓库火灾" in page.inner_text("h1")


def test_plan_form_and_versions(
    server: tuple[str, int], browser: Any, live_database_url: str
) -> None:
    base, _ = server
    label = "pg" if live_database_url.startswith("postgresql") else "sqlite"
    page = login(browser, base, "commander")
    page.goto(f"{base}/response/plans")
    with page.expect_navigation():
        page.click("#plan-new")
    page.fill("#f-name", "芝罘区城市内涝应急预案")
    page.fill("#f-owner_name", "芝罘区应急管理局")
    page.select_option("#f-t-III-0-field", "affected_population")
    page.select_option("#f-t-III-0-op", "gte")
    page.fill("#f-t-III-0-value", "1000")
    page.fill("#f-g-0-key", "rescue")
    page.fill("#f-g-0-name", "抢险救援组")
    page.fill("#f-g-0-members", "inspector")
    page.fill("#f-k-0-group", "rescue")
    page.fill("#f-k-0-title", "排水抢险")
    # no incident type and no level for the task: refused in Chinese, what was typed is kept
    with page.expect_navigation() as nav:
        page.click("#plan-submit")
    assert nav.value.status == 422
    assert "至少需要1项" in page.inner_text(".field-error[data-field=types]")
    assert "至少需要1项" in page.inner_text(".field-error[data-field=k-0-levels]")
    assert page.input_value("#f-k-0-title") == "排水抢险"
    assert page.input_value("#f-t-III-0-value") == "1000"
    shot(page, "plan-form-errors-desktop", label)
    page.select_option("#f-types", ["natural_disaster.flood_drought"])
    page.check("input[name=k-0-levels][value=III]")
    with page.expect_navigation():
        page.click("#plan-submit")
    assert "/response/plans/" in page.url and page.inner_text("h1").startswith("芝罘区城市内涝")
    words = page.inner_text("#triggers li[data-level=III]")
    assert "受影响人口" in words and "1000" in words, words
    # approve, then revise: v2 is a draft, v1 stays in force and readable
    with page.expect_navigation():
        page.click("form[action$='/approve'] button")
    v1_url = page.url
    with page.expect_navigation():
        page.click("#plan-edit")
    assert page.locator("#new-version-hint").count() == 1
    page.fill("#f-k-0-title", "排水抢险、转移群众")
    with page.expect_navigation():
        page.click("#plan-submit")
    assert page.url != v1_url
    assert page.locator("#versions li").count() == 2
    page.goto(v1_url)
    assert page.locator("#next-version").count() == 1
    assert page.locator("#plan-edit").count() == 0
    shot(page, "plan-versions-desktop", label)
    # the form on a phone
    phone = login(browser, base, "commander", phone=True)
    phone.goto(f"{base}/response/plans/new")
    shot(phone, "plan-form-phone", label)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 400


def test_plan_form_adds_rows(server: tuple[str, int], browser: Any, live_database_url: str) -> None:
    """The form starts with 2 working-group and 3 task rows; "add a row" gives blank rows with
    the next index (what the server reads), so a plan with more groups and tasks is saved whole,
    and its edit form shows them all again."""
    base, _ = server
    label = "pg" if live_database_url.startswith("postgresql") else "sqlite"
    page = login(browser, base, "commander")
    page.goto(f"{base}/response/plans/new")
    assert page.locator("#plan-groups .rs-row").count() == 2
    assert page.locator("#plan-tasks .rs-row").count() == 3
    page.fill("#f-name", "烟台市大型活动拥挤踩踏事件应急预案")
    page.fill("#f-owner_name", "烟台市应急管理局")
    page.select_option("#f-types", ["social_security"])
    page.select_option("#f-t-II-0-field", "deaths")
    page.fill("#f-t-II-0-value", "3")
    groups = [("command", "现场指挥组"), ("order", "秩序维护组"), ("medical", "医疗救护组")]
    page.click("#add-group")
    assert page.locator("#plan-groups .rs-row").count() == 3
    for i, (key, name) in enumerate(groups):
        page.fill(f"#f-g-{i}-key", key)
        page.fill(f"#f-g-{i}-name", name)
    # a task row copied from a filled one comes blank (values, boxes)
    page.fill("#f-k-2-title", "草稿")
    page.check("input[name=k-2-levels][value=II]")
    for _ in range(2):
        page.click("#add-task")
    assert page.locator("#plan-tasks .rs-row").count() == 5
    assert page.input_value("#f-k-4-title") == ""
    assert page.locator("input[name=k-4-levels]:checked").count() == 0
    assert page.evaluate("() => document.activeElement.id") == "f-k-4-group"
    tasks = [
        ("command", "设立现场指挥部"),
        ("order", "疏导人群、封控入口"),
        ("order", "开辟应急通道"),
        ("medical", "设置临时救护点"),
        ("medical", "转运伤员"),
    ]
    for i, (group, title) in enumerate(tasks):
        page.fill(f"#f-k-{i}-group", group)
        page.fill(f"#f-k-{i}-title", title)
        page.check(f"input[name=k-{i}-levels][value=II]")
    shot(page, "plan-form-added-rows-desktop", label)
    with page.expect_navigation():
        page.click("#plan-submit")
    assert "/response/plans/" in page.url and page.inner_text("h1").startswith("烟台市大型活动")
    body = page.inner_text("main")
    for _, title in tasks:
        assert title in body, title
    for _, name in groups:
        assert name in body, name
    with page.expect_navigation():
        page.click("#plan-edit")
    assert page.input_value("#f-k-4-title") == "转运伤员"
    assert page.input_value("#f-g-2-name") == "医疗救护组"
    # the phone: the buttons are there and the page keeps to the phone's width
    phone = login(browser, base, "commander", phone=True)
    phone.goto(f"{base}/response/plans/new")
    phone.click("#add-task")
    assert phone.locator("#plan-tasks .rs-row").count() == 4
    assert phone.evaluate("document.documentElement.scrollWidth") <= 400
    phone.locator("#add-task").scroll_into_view_if_needed()
    phone.screenshot(path=str(SHOTS / f"plan-form-added-rows-phone-{label}.png"))
