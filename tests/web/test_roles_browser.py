"""Real Chromium on the demo city: the public user lands on the public warnings page with a
menu of what the public may use; a grid member's menu holds their patrol pages and no city
analysis. Screenshots at 1440×900 and 390×844 go to /tmp/shots for a reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import live_server, load_demo_city
from tests.conftest import PASSWORD

SHOTS = Path("/tmp/shots")
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def server(live_database_url: str) -> Iterator[str]:
    load_demo_city(live_database_url)
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
    assert sorted(_menu(page)) == ["/hazards/inbox", "/hazards/report", "/public/warnings"]
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
