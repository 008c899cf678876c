"""The indicator pages and the operations-centre wall in real headless Chromium, on the demo city
with the indicators demo (Yantai set, demo statistics) and a few live records: the wall at
1920×1080 and 1440×900 without scrollbars or overlapping tiles, live over server-sent events, and
on a phone one scrolling column of readable tiles; the indicator table, an indicator's detail
with its inputs, and the phone layout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from safecity.core import clock
from safecity.core.db import make_engine
from safecity.indicators import demo as ind_demo
from safecity.monitoring.models import Alarm
from tests.browser import ARTIFACTS, live_server, load_demo_city
from tests.conftest import NOW, PASSWORD
from tests.indicators.helpers import at, hidden_danger

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "indicators"


@pytest.fixture(scope="module")
def server(live_database_url: str) -> Iterator[str]:
    load_demo_city(live_database_url)
    engine = make_engine(live_database_url)
    with Session(engine) as session:
        ind_demo.load(session, NOW)
        for i in range(3):
            hd = hidden_danger(session, "370602", at(2026, 9 + i), grade="major")
            hd.deadline = NOW - timedelta(days=i)  # i = 0 is due right now, not yet overdue
        for level, hours in (("red", 1), ("orange", 3), ("orange", 9), ("yellow", 20)):
            session.add(
                Alarm(
                    division_code="370602",
                    rule="threshold",
                    level=level,
                    peak_level=level,
                    status="active",
                    first_ts=0,
                    last_ts=0,
                    raised_at=NOW - timedelta(hours=hours),
                    updated_at=NOW,
                )
            )
        session.commit()
    engine.dispose()
    # the server runs in this process: the frozen clock is its clock too
    with clock.frozen(NOW), live_server(live_database_url) as base:
        yield base


def _login(browser: Any, base: str, user: str, w: int, h: int, phone: bool = False) -> Any:
    ctx = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN", has_touch=phone)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login?next=/indicators")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/indicators")
    return page


def _no_scroll_no_overlap(page: Any) -> None:
    dims = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
        " innerWidth, innerHeight]"
    )
    assert dims[0] <= dims[2] and dims[1] <= dims[3], f"scrollbars: {dims}"
    boxes = page.evaluate(
        "() => [...document.querySelectorAll('.tile')].map(t => {"
        " const r = t.getBoundingClientRect(); return [t.id, r.left, r.top, r.right, r.bottom]; })"
    )
    assert len(boxes) == 7
    for i, a in enumerate(boxes):
        assert a[3] <= dims[2] + 0.5 and a[4] <= dims[3] + 0.5, f"{a[0]} leaves the screen"
        for b in boxes[i + 1 :]:
            apart = a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2]
            assert apart, f"{a[0]} overlaps {b[0]}"
    # text inside a tile stays inside it (titles, numbers, list rows)
    spill = page.evaluate(
        "() => [...document.querySelectorAll('.tile h2, .tile .big, .tile .lv, .tile li')]"
        ".filter(e => { const t = e.closest('.tile').getBoundingClientRect();"
        " const r = e.getBoundingClientRect();"
        " return r.width && (r.right > t.right + 1 || r.bottom > t.bottom + 1); })"
        ".map(e => e.textContent.trim().slice(0, 30))"
    )
    assert spill == [], f"text spills out of its tile: {spill}"


@pytest.mark.parametrize("size", [(1920, 1080), (1440, 900)])
def test_wall(browser: Any, server: str, size: tuple[int, int]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _login(browser, server, "duty", *size)
    page.goto(f"{server}/indicators/wall")
    # live: the page is updated from the event stream (data-updated set by wall.js)
    page.wait_for_function("() => document.body.dataset.updated", timeout=20_000)
    assert page.text_content('[data-v="alarms.total_24h"]') == "4"
    assert page.text_content('[data-v="alarms.last_24h.orange"]') == "2"
    assert page.text_content('[data-v="hidden_dangers.open_major"]') == "3"
    assert page.text_content('[data-v="hidden_dangers.overdue"]') == "2"
    assert page.locator("#tile-map svg path").count() >= 11  # the districts, coloured
    assert page.locator('[data-list="indicators"] li').count() >= 1
    _no_scroll_no_overlap(page)
    page.screenshot(path=str(SHOTS / f"wall-{size[0]}x{size[1]}.png"))
    page.context.close()


def test_wall_on_a_phone(browser: Any, server: str) -> None:
    """Below ~900 px the wall is one column of tiles that scrolls: each tile the full width,
    one under the other, text at a readable size, nothing wider than the screen."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _login(browser, server, "duty", 390, 844, phone=True)
    page.goto(f"{server}/indicators/wall")
    page.wait_for_function("() => document.body.dataset.updated", timeout=20_000)
    assert page.text_content('[data-v="alarms.total_24h"]') == "4"  # still live
    dims = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
        " innerWidth, innerHeight]"
    )
    assert dims[0] <= dims[2], f"horizontal scroll on a phone: {dims}"
    assert dims[1] > dims[3], "seven tiles on a phone must scroll, not shrink to fit"
    boxes = page.evaluate(
        "() => [...document.querySelectorAll('.tile')].map(t => {"
        " const r = t.getBoundingClientRect();"
        " return [t.id, r.left, r.top + scrollY, r.right, r.bottom + scrollY]; })"
    )
    assert len(boxes) == 7
    boxes.sort(key=lambda b: b[2])
    assert [b[0] for b in boxes[:2]] == ["tile-alarms", "tile-incidents"]  # the urgent first
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert a[4] <= b[2], f"{a[0]} overlaps {b[0]}"  # stacked, one column
    for b in boxes:
        assert b[1] >= 0 and b[3] <= 390 and b[3] - b[1] >= 340, f"{b[0]} not full width: {b}"
    sizes = page.evaluate(
        "() => Object.fromEntries([['h2', '.tile h2'], ['li', '.list li'], ['big', '.big'],"
        " ['level', '.lv span']].map(([k, q]) =>"
        " [k, Math.min(...[...document.querySelectorAll(q)].map("
        "e => parseFloat(getComputedStyle(e).fontSize)))]))"
    )
    assert sizes["h2"] >= 16 and sizes["li"] >= 14 and sizes["big"] >= 36, sizes
    assert sizes["level"] >= 12, sizes
    spill = page.evaluate(
        "() => [...document.querySelectorAll('.tile h2, .tile .big, .tile .lv, .tile li')]"
        ".filter(e => { const t = e.closest('.tile').getBoundingClientRect();"
        " const r = e.getBoundingClientRect();"
        " return r.width && (r.right > t.right + 1 || r.bottom > t.bottom + 1); })"
        ".map(e => e.textContent.trim().slice(0, 30))"
    )
    assert spill == [], f"text spills out of its tile: {spill}"
    assert page.locator("#tile-map svg").bounding_box()["height"] >= 250  # the map is a map
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    assert page.evaluate("() => scrollY") > 0  # the page really scrolls (no overflow: hidden)
    page.screenshot(path=str(SHOTS / "wall-phone-390x844.png"), full_page=True)
    page.context.close()


def test_indicator_pages(browser: Any, server: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _login(browser, server, "analyst", 1440, 900)
    rows = page.locator("#ind-table tbody tr")
    assert rows.count() == 12  # 13 in the set; the county warehouse one is not the city's
    # 2025 is the default year shown (the frozen clock is in 2026, whose statistics are
    # estimates): every indicator has a status
    assert page.locator("#ind-table .ind-chip").count() == 12
    assert page.locator("select[name=year] option[selected]").text_content() == "2025"
    width = page.evaluate("() => document.querySelector('.table-wrap').scrollWidth")
    assert width <= page.evaluate("() => document.querySelector('.table-wrap').clientWidth")
    page.screenshot(path=str(SHOTS / "indicators-1440.png"), full_page=True)
    page.click('#ind-table tr[data-key="deaths_per_100m_gdp"] a')
    page.wait_for_selector("#figure")
    assert page.locator("#inputs tbody tr").count() == 2
    assert page.locator("svg.chart circle").count() >= 5  # a value per year
    page.screenshot(path=str(SHOTS / "indicator-detail-1440.png"), full_page=True)
    page.context.close()
    phone = _login(browser, server, "zhifu", 390, 844, phone=True)
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"horizontal scroll on a phone: {width}"
    table = phone.evaluate(
        "() => [document.querySelector('.table-wrap').scrollWidth,"
        " document.querySelector('.table-wrap').clientWidth]"
    )
    assert table[0] <= table[1], f"the indicator table scrolls sideways on a phone: {table}"
    phone.screenshot(path=str(SHOTS / "indicators-phone.png"), full_page=True)
    phone.context.close()


def test_statistics_page(browser: Any, server: str) -> None:
    """The demo city's statistics a page at a time with the pager, filtered from the form; on a
    phone the filters and the table fit the width (the table may scroll inside its frame)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _login(browser, server, "analyst", 1440, 900)
    page.goto(f"{server}/indicators/statistics")
    assert page.locator("#stats-table tbody tr").count() == 50
    assert page.locator("nav.pager").count() == 1
    page.screenshot(path=str(SHOTS / "statistics-1440.png"), full_page=True)
    page.select_option("#stats-filters select[name=input]", "resident_population")
    page.fill("#stats-filters input[name=year]", "2024")
    page.click("#stats-filters button[type=submit]")
    page.wait_for_url("**input=resident_population**")
    rows = page.locator("#stats-table tbody tr")
    assert 1 <= rows.count() <= 50
    assert set(rows.locator("td:nth-child(2)").all_text_contents()) == {"2024"}
    page.context.close()
    phone = _login(browser, server, "analyst", 390, 844, phone=True)
    phone.goto(f"{server}/indicators/statistics")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"horizontal scroll on a phone: {width}"
    phone.locator("#stats-filters").scroll_into_view_if_needed()
    phone.screenshot(path=str(SHOTS / "statistics-phone.png"))
    phone.context.close()
