"""What staff read and see, walked in headless Chromium on the whole demo city: the four lists'
cards keep their width, long lists are paginated, no internal tokens or English leak into the
Chinese pages, the warning preview names what it counts (issue 17, "Words and numbers")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import live_server
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser


def _load(url: str) -> None:
    from sqlalchemy.orm import Session

    from safecity.capabilities import modules
    from safecity.core.db import make_engine
    from safecity.registry import demo
    from safecity.risk import demo as risk_demo

    engine = make_engine(url)
    with Session(engine) as session:
        demo.load(session, demo.generate(seed=7, now=NOW), NOW)
        for module in [risk_demo, *modules("demo")]:
            module.load(session, NOW)
        session.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from safecity.core.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('words-browser')}/safecity.db"
    upgrade(url)
    with pytest.MonkeyPatch.context() as mp:
        # The demo's own red warning is drafted and approved by one demo account.
        mp.setenv("SAFECITY_SEPARATION_OF_DUTIES", "false")
        from safecity.core.config import get_settings

        get_settings.cache_clear()
        _load(url)
        with live_server(url, SAFECITY_SEPARATION_OF_DUTIES="false") as base:
            yield base
        get_settings.cache_clear()


def _page(browser: Any, base: str, width: int = 1440, height: int = 900,
          user: str = "admin") -> Any:
    page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)])
def test_four_list_cards_keep_their_width(server: str, browser: Any,
                                          size: tuple[int, int]) -> None:
    page = _page(browser, server, *size)
    page.goto(f"{server}/risk/lists")
    boxes = page.eval_on_selector_all(".four-list-card", """els => els.map(e => {
        const r = e.getBoundingClientRect();
        return {w: r.width, overflow: e.scrollWidth > e.clientWidth + 1,
                title: e.querySelector('h2').getBoundingClientRect().width}; })""")
    assert len(boxes) == 4
    content = page.eval_on_selector(".page", "e => e.clientWidth")
    for box in boxes:
        # Desktop: four side by side (each about a quarter of the page); phone: full width.
        least = content / 4 - 40 if size[0] > 1000 else content - 60
        assert box["w"] >= least, (box, content)
        assert not box["overflow"] and box["title"] <= box["w"]
    if size[0] > 1000:  # one row on the desktop
        tops = page.eval_on_selector_all(".four-list-card",
                                         "els => els.map(e => e.getBoundingClientRect().top)")
        assert len(set(tops)) == 1
    page.close()


def test_inspection_tasks_are_paginated(server: str, browser: Any) -> None:
    page = _page(browser, server)
    page.goto(f"{server}/hazards/tasks")
    total = int(re.search(r"\d+", page.locator(".count-badge").inner_text()).group())
    rows = page.locator("#tasks tbody tr").count()
    assert total > 50, total  # the demo city has ~200 tasks
    assert rows == 50  # one page, not all of them
    assert page.locator(".pager .pager-info").inner_text() == f"第 1 / {-(-total // 50)} 页"
    page.click(".pager a[rel=next]")
    page.wait_for_load_state()
    assert "page=2" in page.url and page.locator("#tasks tbody tr").count() == min(50, total - 50)
    first_ids = page.eval_on_selector_all("#tasks tbody tr", "els => els.map(e => e.dataset.id)")
    page.goto(f"{server}/hazards/tasks?page=1")
    assert not set(first_ids) & set(page.eval_on_selector_all(
        "#tasks tbody tr", "els => els.map(e => e.dataset.id)"))
    page.close()


def test_major_hazard_markers_are_clustered_not_overlapping(server: str, browser: Any) -> None:
    page = _page(browser, server)
    page.goto(f"{server}/risk/map")
    page.wait_for_function("() => window.safecityRiskMap && window.safecityRiskMap.hazards",
                           timeout=60_000)
    page.wait_for_timeout(1500)  # cluster icons are drawn (and faded in) after the markers
    shown = page.eval_on_selector_all(".hazard-icon, .hazard-cluster", """els => els.filter(e =>
        getComputedStyle(e).opacity !== '0').map(e => {
        const r = e.getBoundingClientRect();
        return {x: r.left, y: r.top, w: r.width, h: r.height,
                n: e.classList.contains('hazard-cluster') ? Number(e.textContent) : 1}; })""")
    total = int(page.locator('[data-count="hazards"]').inner_text())
    assert total > 10 and sum(s["n"] for s in shown) == total
    assert len(shown) < total  # grouped at city zoom
    for i, a in enumerate(shown):
        for b in shown[i + 1:]:
            apart = (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                     or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])
            assert apart, (a, b)
    page.close()
