"""Real Chromium on the demo city (every capability's demo data): the public user lands on the
public warnings page with a menu of what the public may use; a grid member's menu holds their
patrol pages and no city analysis; and every demo role's menu is walked, every page it offers at
1440×900 and 390×844, failing on a 5xx or 4xx, a phone page wider than the phone, a text key or internal token shown, or an English-only label in the Chinese
UI. Screenshots go to /tmp/shots for a reader."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from safecity.core.db import make_engine
from safecity.plugins import hook
from safecity.registry import demo
from tests.browser import live_server
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


def _load_whole_demo(url: str) -> None:
    """The demo city as `safecity demo` loads it: the registry, then every plug-in's demo."""
    engine = make_engine(url)
    with Session(engine) as session:
        demo.load(session, demo.generate(seed=7, now=NOW), NOW)
        hook().safecity_demo(session=session, now=NOW, progress=lambda *_: None)
        session.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def server(live_database_url: str) -> Iterator[str]:
    _load_whole_demo(live_database_url)
    with live_server(live_database_url) as base:
        yield base


def _login(browser: Any, base: str, username: str, size: tuple[int, int]) -> Any:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _menu(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#sidenav a.nav-item", "els => els.map(e => e.getAttribute('href'))"
    )


@pytest.mark.parametrize("size", sorted(SIZES))
def test_public_lands_on_public_warnings(server: str, browser: Any, size: str) -> None:
    page = _login(browser, server, "public", SIZES[size])
    assert page.url.endswith("/public/warnings")  # not the staff map with every count at 0
    assert sorted(_menu(page)) == [
        "/hazards/inbox",
        "/hazards/report",
        "/public/enforcement/draws",  # 双随机一公开: the draws' results are public
        "/public/warnings",
    ]
    assert page.locator("#sidenav >> text=起草预警").count() == 0
    assert page.locator("#sidenav >> text=四张清单").count() == 0
    SHOTS.mkdir(exist_ok=True)
    if size == "phone":  # open the menu, as a phone user would, to show what is in it
        page.click(".nav-toggle")
        page.wait_for_function(
            "() => document.querySelector('.nav-toggle').getAttribute('aria-expanded') === 'true'"
        )
        # The drawer slides in: shoot once it is fully on screen, not mid-animation.
        page.wait_for_function(
            "() => document.querySelector('#sidenav').getBoundingClientRect().left >= 0"
        )
    page.screenshot(path=str(SHOTS / f"public-landing-{size}.png"))
    page.close()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_grid_member_menu(server: str, browser: Any, size: str) -> None:
    page = _login(browser, server, "grid", SIZES[size])
    assert page.url.endswith("/hazards/tasks")
    links = _menu(page)
    assert "/hazards/tasks" in links and "/hazards/report" in links
    for hidden in (
        "/risk/lists",
        "/warnings/new",
        "/risk/white-paper",
        "/warnings/coverage",
        "/admin/users",
    ):
        assert hidden not in links
    if size == "phone":
        page.click(".nav-toggle")
        page.wait_for_function(
            "() => document.querySelector('.nav-toggle').getAttribute('aria-expanded') === 'true'"
        )
        # The drawer slides in: shoot once it is fully on screen, not mid-animation.
        page.wait_for_function(
            "() => document.querySelector('#sidenav').getBoundingClientRect().left >= 0"
        )
    page.screenshot(path=str(SHOTS / f"grid-menu-{size}.png"))
    page.close()


# The demo accounts of README, one per role (zhifu: a district officer).
ROLES = (
    "admin",
    "duty",
    "commander",
    "analyst",
    "inspector",
    "liaison",
    "zhifu",
    "grid",
    "enterprise",
    "public",
)
# Page speed is judged by bench/load.py and bench/soak.py, not here: a timed test passes or
# fails with whatever else the machine is doing.
# A text key (nav_xxx, hd_xxx) or an internal snake_case value (hidden_danger, fire_rescue).
TOKEN = re.compile(r"(?<![\w./-])[a-z]{2,}(?:_[a-z0-9]+)+(?![\w./-])")
# Latin words a Chinese label may carry: formats, standards, units, the product's name.
LATIN_OK = {
    "safecity", "english", "xlsx", "csv", "geojson", "json", "pdf", "cap", "osm", "pbf", "api",
    "lec", "gb", "gbt", "id", "no", "sms", "url", "ics", "edxl", "mqtt", "http", "https",
    "km", "kg", "mpa", "kpa", "ppm", "lel", "min", "utc", "gdp", "gps", "app", "wifi",
}  # fmt: skip
# Elements that name things (headings, labels, buttons, menu); table cells hold data.
LABELS = (
    "h1, h2, h3, th, label, button, .btn, .nav-item, .nav-group, dt, legend, summary, .crumbs, "
    ".tab, .rs-tabs a, .filters option:checked, .page-head .muted"
)


def _english_only(texts: list[str]) -> list[str]:
    """Labels with Latin words and no Chinese (beyond the allowed formats and units)."""
    found = []
    for text in texts:
        if re.search(r"[\u4e00-\u9fff]", text):
            continue
        words = {w.lower() for w in re.findall(r"[A-Za-z]{2,}", text)}
        if words - LATIN_OK:
            found.append(text.strip()[:60])
    return found


def _open(page: Any, url: str) -> int:
    return page.goto(url, wait_until="load").status


@pytest.mark.parametrize("username", ROLES)
def test_every_page_of_every_menu(server: str, browser: Any, username: str) -> None:
    """Each role's menu, each page in it, on the desktop and on a phone."""
    problems: dict[str, list[str]] = {}
    walked = 0
    for size, (width, _) in SIZES.items():
        page = _login(browser, server, username, SIZES[size])
        links = _menu(page)
        assert links, (username, size)
        if size == "phone":  # every entry is reachable from the drawer, in a group that opens
            page.click(".nav-toggle")
            page.wait_for_function(
                "() => document.querySelector('#sidenav').getBoundingClientRect().left >= 0"
            )
            for fold in page.locator("#sidenav details.nav-fold").all():
                if not fold.evaluate("d => d.open"):
                    fold.locator("summary").click()
            hidden = page.eval_on_selector_all(
                "#sidenav a.nav-item",
                "els => els.filter(e => !e.offsetParent).map(e => e.getAttribute('href'))",
            )
            assert not hidden, (username, hidden)
            drawer = page.eval_on_selector("#sidenav", "e => e.getBoundingClientRect().right")
            assert drawer <= width, drawer
        for href in links:
            status = _open(page, f"{server}{href}")
            walked += 1
            seen = problems.setdefault(f"{href} @{size}", [])
            if status >= 400:
                seen.append(f"HTTP {status}")
                continue
            page.wait_for_load_state("domcontentloaded")
            wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if size == "phone" and wide > 0:
                seen.append(f"{wide}px wider than the phone")
            text = page.locator("main").inner_text()
            seen += [f"token {tok}" for tok in sorted(set(TOKEN.findall(text)))]
            labels = page.eval_on_selector_all(
                LABELS, "els => els.filter(e => e.offsetParent).map(e => e.innerText)"
            )
            seen += [f"English label {w!r}" for w in _english_only(labels)]
            if size == "desktop" or not seen:
                continue
            SHOTS.mkdir(exist_ok=True)  # a phone page with problems, for the reader
            name = href.strip("/").replace("/", "_").replace("?", "_")
            page.screenshot(path=str(SHOTS / f"walk-{username}-{name}-{size}.png"))
        page.close()
    problems = {k: v for k, v in problems.items() if v}
    assert walked >= 2 * len(links) and not problems, problems


def test_walk_detectors_catch_what_they_look_for() -> None:
    text = "状态 hidden_danger，菜单 nav_enf_cases；设备 GAS-0001，文件 a_b.xlsx，/api/x_y"
    assert TOKEN.findall(text) == ["hidden_danger", "nav_enf_cases"]
    labels = ["Alert", "导出 XLSX", "XLSX", "370602 芝罘区", "km", "Draft warning", "CAP 1.2"]
    assert _english_only(labels) == ["Alert", "Draft warning"]
