"""Supervision and enforcement in real headless Chromium on the demo city: a district officer
commits, runs and publishes a 双随机 draw; the public sees the result logged out; an inspector
fills in the inspection on a phone (checklist, a violation with a photo and the place); the case
goes from filing to closing with the discretion range enforced, every document issued and the
electronic case file holding the photo and the signatures drawn on the phone; and each role
sees what it should. Screenshots for a reader in test-artifacts/enforcement/."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import clock
from safecity.core.db import make_engine
from safecity.core.models import Notification, User
from safecity.core.scope import Principal
from safecity.enforcement import demo
from safecity.enforcement.models import Case, Draw, Inspection, Inspector
from safecity.hazards import checks
from safecity.registry.models import Enterprise
from safecity.risk import demo as risk_demo
from tests.browser import ARTIFACTS, live_server, load_demo_city
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "enforcement"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def _seed(url: str) -> None:
    """The demo city with its risk points, a hidden-danger checklist and enforcement's year."""
    load_demo_city(url)
    engine = make_engine(url)
    with Session(engine) as s:
        admin = Principal(0, "admin", "admin", "370600", display_name="系统管理员")
        checks.create_checklist(
            s,
            admin,
            {
                "name": "工贸企业安全生产执法检查表",
                "items": [
                    {"text": "主要负责人和安全管理人员经考核合格", "clause": "安全生产法第27条"},
                    {"text": "从业人员经安全生产教育和培训合格", "clause": "安全生产法第28条"},
                    {"text": "安全出口、疏散通道畅通", "clause": "安全生产法第42条"},
                ],
            },
            NOW,
        )
        risk_demo.load(s, NOW)  # risk levels and major hazards: the classes spread A–D
        demo.load(s, NOW)
        s.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def server(live_database_url: str) -> Iterator[str]:
    _seed(live_database_url)
    # the server thread shares this process's clock: it runs on from NOW, as the seed was
    with (
        clock.travel(NOW),
        live_server(
            live_database_url,
            SAFECITY_ESCALATION_INTERVAL_SECONDS="0",
            SAFECITY_WARNINGS_DISPATCH_INTERVAL_SECONDS="0",
        ) as base,
    ):
        yield base


def new_page(browser: Any, phone: bool = False) -> Any:
    context = browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        locale="zh-CN",
        has_touch=phone,
        is_mobile=phone,
        geolocation={"longitude": 121.3912, "latitude": 37.5301},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def login(browser: Any, base: str, username: str, phone: bool = False) -> Any:
    page = new_page(browser, phone)
    page.goto(f"{base}/login?next=/enforcement/cases")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def shot(page: Any, name: str, label: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, width


def submit(page: Any, form: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").last.click()
    page.wait_for_load_state()


def step(page: Any, base: str, case_id: int, name: str, **fields: str) -> None:
    page.goto(f"{base}/enforcement/cases/{case_id}")
    # the step that moves the case forward is the one preselected
    assert page.locator("#step-form input[name=step]:checked").get_attribute("value") == name
    page.locator(f"#step-form label:has(input[name=step][value={name}])").click()
    for field, value in fields.items():
        if field == "waived":
            page.check("#step-form input[name=waived]")
        else:
            page.fill(f"#step-form [name={field}]", value)
    submit(page, "#step-form")


def sign(page: Any, pad: Any, n: int) -> None:
    """Write a signature on a pad with the mouse: a few strokes across its canvas."""
    pad.scroll_into_view_if_needed()
    box = pad.locator("canvas").bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    for stroke in (
        [(0.1, 0.7), (0.25, 0.2), (0.4, 0.8), (0.55, 0.3)],
        [(0.6, 0.6), (0.9, 0.4 + n * 0.1)],
    ):
        page.mouse.move(x + stroke[0][0] * w, y + stroke[0][1] * h)
        page.mouse.down()
        for fx, fy in stroke[1:]:
            page.mouse.move(x + fx * w, y + fy * h, steps=8)
        page.mouse.up()


def _db(url: str) -> Session:
    return Session(make_engine(url))


def test_draw_to_closed_case_file(server: str, browser: Any, live_database_url: str) -> None:
    base = server
    label = "pg" if live_database_url.startswith("postgresql") else "sqlite"

    # 1. the district officer commits to a draw, runs it once and publishes it
    zhifu = login(browser, base, "zhifu")
    zhifu.goto(f"{base}/enforcement/draws")
    zhifu.fill("#draw-form input[name=title]", "2026年第四季度芝罘区双随机抽查")
    zhifu.fill("#draw-form input[name=share]", "5%")
    submit(zhifu, "#draw-form")
    assert re.search(r"/enforcement/draws/\d+$", zhifu.url)
    draw_id = int(zhifu.url.rsplit("/", 1)[1])
    commitment = zhifu.inner_text("#commitment")
    assert re.fullmatch(r"[0-9a-f]{64}", commitment)
    assert zhifu.inner_text("#seed") == "—"  # the seed stays secret until the draw has run
    shot(zhifu, "01-draw-committed-desktop", label)
    with zhifu.expect_navigation():
        zhifu.click("#run-draw")
    assert zhifu.locator("#run-draw").count() == 0  # no second run
    assert re.fullmatch(r"[0-9a-f]+", zhifu.inner_text("#seed"))
    assert "验证通过" in zhifu.inner_text("#verify-result")
    n_rows = zhifu.locator("#assignments tbody tr").count()
    assert n_rows >= 2
    with zhifu.expect_navigation():
        zhifu.click("#publish-draw")
    shot(zhifu, "02-draw-published-desktop", label)

    with _db(live_database_url) as s:
        d = s.get(Draw, draw_id)
        assert d.status == "drawn" and d.published and d.n_selected == n_rows
        assert d.commitment == commitment
        me = s.scalar(select(Inspector).where(Inspector.username == "zfinsp"))
        mine = [
            i
            for i in s.scalars(
                select(Inspection).where(Inspection.draw_id == draw_id).order_by(Inspection.id)
            )
            if me.id in i.inspector_ids
        ]
        assert mine, "zfinsp drew no inspection"
        inspection_id, ent_id = mine[0].id, mine[0].enterprise_id
        ent_name = s.get(Enterprise, ent_id).name
        uid = s.scalar(select(User.id).where(User.username == "zfinsp"))
        told = s.scalars(
            select(Notification).where(
                Notification.user_id == uid, Notification.kind == "enf_inspection"
            )
        ).all()
        assert any(str(draw_id) in n.link or str(inspection_id) in n.link for n in told)

    # 2. anyone, logged out, sees the published result and its proof
    public = new_page(browser)
    public.goto(f"{base}/public/enforcement/draws")
    assert public.locator(f"a[href='/public/enforcement/draws/{draw_id}']").count() >= 1
    public.goto(f"{base}/public/enforcement/draws/{draw_id}")
    assert "验证通过" in public.inner_text("#verify-result")
    assert ent_name in public.inner_text("#assignments")
    assert commitment in public.inner_text("#commitment")
    shot(public, "03-public-result-desktop", label)
    phone_public = new_page(browser, phone=True)
    phone_public.goto(f"{base}/public/enforcement/draws/{draw_id}")
    no_sideways_scroll(phone_public)
    shot(phone_public, "04-public-result-phone", label)
    public.goto(f"{base}/enforcement/draws")
    assert "/login" in public.url  # the working pages are not public

    # 3. the inspector on a phone: the message, the checklist, a violation with a photo
    phone = login(browser, base, "zfinsp", phone=True)
    phone.goto(f"{base}/hazards/inbox")
    assert "双随机" in phone.inner_text("body") or "执法检查" in phone.inner_text("body")
    phone.goto(f"{base}/enforcement/inspections/{inspection_id}")
    assert ent_name in phone.inner_text("h1")
    phone.select_option(
        "#results-form select[name=checklist_id]", label="工贸企业安全生产执法检查表"
    )
    submit(phone, "#results-form")
    items = phone.locator("#results-form li[data-item]")
    assert items.count() == 3
    for n in range(3):
        choice = "failed" if n == 1 else "passed"
        items.nth(n).locator(f"label:has(input[value={choice}])").click()
    items.nth(1).locator("input[name^=note_]").fill("3名新员工无培训记录")
    shot(phone, "05-inspection-checklist-phone", label)
    submit(phone, "#results-form")
    assert phone.locator("#inspection-status").inner_text() == "检查中"
    no_sideways_scroll(phone)
    form = phone.locator("#finding-form")
    form.locator("label:has(input[name=kind][value=violation])").click()
    assert form.locator(".enf-violation").is_visible()
    form.locator("textarea[name=description]").fill("3名新入职员工未经安全生产教育和培训即上岗作业")
    form.locator("select[name=violation]").select_option("training")
    form.locator("select[name=circumstance]").select_option("ordinary")
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 60, 40)).save(buf, "JPEG")
    form.locator("input[name=photos]").set_input_files(
        {"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}
    )
    form.locator(".enf-locate").click()
    phone.wait_for_function(
        "() => document.querySelector('#finding-form input[name=lon]').value !== ''"
    )
    shot(phone, "06-finding-form-phone", label)
    submit(phone, "#finding-form")
    finding = phone.locator("#findings li[data-kind=violation]")
    assert finding.count() == 1 and finding.locator(".hd-photos img").count() == 1
    case_id = int(finding.locator("a.case-link").get_attribute("href").rsplit("/", 1)[1])
    # signatures: refused while a pad is blank; then each inspector and the party sign
    phone.fill("#finish-form input[name=party_present]", "王建国（安全经理）")
    pads = phone.locator("#finish-form .sig-pad")
    n_signers = pads.count()
    assert n_signers >= 3  # at least two inspectors and the enterprise's representative
    sign(phone, pads.nth(0), 0)
    submit(phone, "#finish-form")
    assert "尚未签名" in phone.inner_text("#form-errors")
    assert phone.locator("#inspection-status").inner_text() == "检查中"
    phone.fill("#finish-form input[name=party_present]", "王建国（安全经理）")
    for n in range(n_signers):
        sign(phone, pads.nth(n), n)
        assert "signed" in (pads.nth(n).get_attribute("class") or "")
    no_sideways_scroll(phone)
    phone.locator("#signatures").scroll_into_view_if_needed()
    shot(phone, "07a-signatures-phone", label)
    phone.set_viewport_size({"width": 380, "height": 700})  # the keyboard, a rotation: kept
    phone.set_viewport_size(PHONE)
    assert all(pads.nth(n).locator("input").input_value() for n in range(n_signers))
    submit(phone, "#finish-form")
    assert phone.locator("#inspection-status").inner_text() == "已完成"
    assert phone.locator("#documents li[data-kind=inspection_record]").count() == 1
    assert phone.locator("#signed img").count() == n_signers
    assert all(  # each stored image is served back to the page
        phone.evaluate("(img) => img.complete && img.naturalWidth > 0", img)
        for img in phone.locator("#signed img").element_handles()
    )
    no_sideways_scroll(phone)
    shot(phone, "07-inspection-done-phone", label)
    with _db(live_database_url) as s:
        images = s.get(Inspection, inspection_id).signatures["images"]
    assert [x["key"] for x in images][-1] == "party" and len(images) == n_signers
    stored = {x["sha256"] for x in images}
    record = phone.request.get(
        base
        + phone.locator("#documents li[data-kind=inspection_record] a").first.get_attribute("href")
    )
    assert record.status == 200
    with zipfile.ZipFile(io.BytesIO(record.body())) as z:
        media = [z.read(n) for n in z.namelist() if n.startswith("word/media/")]
    # the record's DOCX carries exactly the drawn signatures, byte for byte
    assert {hashlib.sha256(m).hexdigest() for m in media} == stored and len(media) == n_signers

    # 4. the case from filing to closing, each step by its role
    head = login(browser, base, "head")
    step(head, base, case_id, "file")
    assert head.inner_text("#case-state") == "立案"
    step(phone, base, case_id, "investigate")
    step(phone, base, case_id, "submit")
    reviewer = login(browser, base, "reviewer")
    # the example table's 一般 range is 20,000–50,000: 60,000 without a reason is refused
    step(reviewer, base, case_id, "notify", fine="60000")
    assert "超出裁量幅度" in reviewer.inner_text("#form-errors")
    assert reviewer.inner_text("#case-state") == "案件审核"
    # the form comes back as it was sent: the same step and amount, not 退回补充调查
    assert (
        reviewer.locator("#step-form input[name=step]:checked").get_attribute("value") == "notify"
    )
    assert reviewer.input_value("#step-form input[name=fine]") == "60000"
    shot(reviewer, "08-case-discretion-refused-desktop", label)
    step(reviewer, base, case_id, "notify", fine="30000")
    assert reviewer.inner_text("#case-state") == "告知（陈述、申辩）"
    step(head, base, case_id, "decide", waived="1")
    assert head.inner_text("#fine").startswith("30,000")
    step(phone, base, case_id, "serve")
    step(phone, base, case_id, "execute", reason="当事人已于期限内缴纳罚款")
    step(head, base, case_id, "close")
    assert head.inner_text("#case-state") == "结案"
    kinds = [
        head.locator("#documents li").nth(n).get_attribute("data-kind")
        for n in range(head.locator("#documents li").count())
    ]
    assert kinds == [
        "inspection_record",
        "case_filing",
        "penalty_notice",
        "penalty_decision",
        "closing_approval",
    ]
    assert head.locator("#step-form").count() == 0  # a closed case takes no more steps
    assert head.inner_text("#no-steps") == "案件已办结，不能再办理"
    shot(head, "09-case-closed-desktop", label)
    phone.goto(f"{base}/enforcement/cases/{case_id}")
    no_sideways_scroll(phone)
    shot(phone, "10-case-closed-phone", label)

    # 5. the electronic case file: every document, then the photo
    pdf = head.request.get(f"{base}/api/v1/enforcement/cases/{case_id}/file.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.body()))
    toc = reader.pages[0].extract_text()
    for title in ("现场检查记录", "立案审批表", "行政处罚告知书", "行政处罚决定书", "结案审批表"):
        assert title in toc
    assert "现场照片 1" in toc
    # the photo and, on the 现场检查记录's page, every signature
    assert sum(len(p.images) for p in reader.pages) == 1 + n_signers
    signed_page = next(
        p for p in reader.pages if "王建国（安全经理）" in p.extract_text() and p.images
    )
    assert (
        len(signed_page.images) == n_signers
        and "被检查单位现场负责人签名" in signed_page.extract_text()
    )
    assert "3名新入职员工" in reader.pages[-1].extract_text()
    docx = head.request.get(
        f"{base}"
        + head.locator("#documents li[data-kind=penalty_decision] a").get_attribute("href")
    )
    assert docx.status == 200 and docx.body()[:2] == b"PK"

    with _db(live_database_url) as s:
        c = s.get(Case, case_id)
        assert c.state == "closed" and c.decided_fine == 30000 and c.inspection_id == inspection_id
        assert [h["step"] for h in c.history] == [
            "file",
            "investigate",
            "submit",
            "notify",
            "decide",
            "serve",
            "execute",
            "close",
        ]


def test_pages_by_role(server: str, browser: Any, live_database_url: str) -> None:
    base = server
    label = "pg" if live_database_url.startswith("postgresql") else "sqlite"
    # the administrator: the desk, statistics, classes and the plans at 1440×900
    admin = login(browser, base, "admin")
    for path, name in (
        ("/enforcement", "11-desk"),
        ("/enforcement/stats", "12-stats"),
        ("/enforcement/classes", "13-classes"),
        ("/enforcement/plans", "14-plans"),
        ("/enforcement/cases?open=1", "15-open-cases"),
    ):
        admin.goto(base + path)
        assert admin.locator(".alert-error").count() == 0
        shot(admin, f"{name}-desktop", label)
    assert int(admin.inner_text("#total")) > 0
    # the case list searched by an enterprise's name within one district
    with _db(live_database_url) as s:
        some = s.scalar(
            select(Case).where(Case.division_code.like("370602%")).order_by(Case.id).limit(1)
        )
        words, expected = (
            some.title[:6],
            {
                c.id
                for c in s.scalars(select(Case).where(Case.division_code.like("370602%")))
                if some.title[:6] in c.title
            },
        )
    admin.goto(f"{base}/enforcement/cases")
    admin.fill("#case-filters input[name=q]", words)
    admin.select_option("#case-filters select[name=division]", "370602")
    submit(admin, "#case-filters")
    rows = admin.locator("#case-table tbody tr[data-id]")
    assert {int(rows.nth(n).get_attribute("data-id")) for n in range(rows.count())} == expected
    assert int(admin.inner_text("#total")) == len(expected)
    shot(admin, "15b-cases-search-desktop", label)
    city_phone = login(browser, base, "admin", phone=True)  # the division choice on a phone
    city_phone.goto(f"{base}/enforcement/cases?division=370602&q={words}")
    assert city_phone.locator("#case-table tbody tr[data-id]").count() == len(expected)
    no_sideways_scroll(city_phone)
    shot(city_phone, "15c-cases-search-phone", label)
    # the city inspector's desk on a phone
    insp = login(browser, base, "inspector", phone=True)
    insp.goto(f"{base}/enforcement")
    no_sideways_scroll(insp)
    assert insp.locator("#my-inspections a[href^='/enforcement/inspections/']").count() == 8
    assert insp.viewport_size["height"] * 4 > insp.evaluate("document.body.scrollHeight")
    shot(insp, "16-desk-phone", label)
    total = int(insp.inner_text("#all-mine").split()[-2])
    with insp.expect_navigation():
        insp.click("#all-mine")
    assert int(insp.inner_text(".count-badge")) == total
    assert insp.locator("#inspection-table tbody tr[data-id]").count() == min(total, 50)
    # the enterprise officer: only its own enterprise's records, its file, no programme pages
    with _db(live_database_url) as s:
        officer = s.scalar(select(User).where(User.username == "enterprise"))
        own = officer.enterprise_id
        ent = s.get(Enterprise, own)
        own_cases = s.scalars(select(Case.id).where(Case.enterprise_id == own)).all()
    ent_page = login(browser, base, "enterprise")
    ent_page.goto(f"{base}/enforcement/cases")
    rows = ent_page.locator("#case-table tbody tr[data-id]")
    shown = [int(rows.nth(n).get_attribute("data-id")) for n in range(rows.count())]
    assert sorted(shown) == sorted(own_cases)
    assert ent_page.goto(f"{base}/enforcement/draws").status == 403
    ent_page.goto(f"{base}/registry/enterprises/{own}")
    section = ent_page.locator("#one-file-enforcement")
    assert section.count() == 1 and ent.name in ent_page.inner_text("h1")
    assert ent_page.locator("a[href='#one-file-enforcement']").count() == 1
    shot(ent_page, "17-enterprise-one-file-desktop", label)
    # the district officer's view of the same file on a phone
    zhifu = login(browser, base, "zhifu", phone=True)
    zhifu.goto(f"{base}/registry/enterprises/{own}")
    assert zhifu.locator("#one-file-enforcement #enf-class").count() == 1
    no_sideways_scroll(zhifu)
    shot(zhifu, "18-one-file-phone", label)
    zhifu.goto(f"{base}/enforcement/cases")
    no_sideways_scroll(zhifu)
    shot(zhifu, "18b-cases-phone", label)
    # the public account: published draws only
    public = login(browser, base, "public")
    assert public.goto(f"{base}/enforcement/draws").status == 403
    assert public.goto(f"{base}/enforcement/cases").status in (403, 404) or (
        public.locator("#case-table tbody tr[data-id]").count() == 0
    )
    public.goto(f"{base}/public/enforcement/draws")
    assert public.locator("#public-draws tbody tr a").count() >= 1
    shot(public, "19-public-list-desktop", label)


def test_case_table_fits_a_desktop(server: str, browser: Any, live_database_url: str) -> None:
    """At 1440×900 every column of the city's case list is in view: long titles and violations
    wrap rather than push the deadline and fine columns past the table's right edge."""
    label = "pg" if live_database_url.startswith("postgresql") else "sqlite"
    admin = login(browser, server, "admin")
    admin.goto(f"{server}/enforcement/cases")
    assert admin.locator("#case-table tbody tr[data-id]").count() > 5
    wrap = admin.evaluate(
        "() => { const w = document.querySelector('#case-table').closest('.table-wrap');"
        " return [w.scrollWidth, w.clientWidth, w.getBoundingClientRect().right]; }"
    )
    assert wrap[0] <= wrap[1] + 1, wrap  # nothing to scroll sideways to
    last = admin.locator("#case-table thead th").last.bounding_box()
    assert last["x"] + last["width"] <= wrap[2] + 1, (last, wrap)
    shot(admin, "15d-cases-desktop", label)
    admin.context.close()
