"""The page shell (base.html, css/app.css) in real Chromium on a phone: with the menu drawer
closed, nothing of it shows at the left edge of the page. Screenshots in /tmp/shots/polish."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.browser import live_server, load_demo_city
from tests.conftest import PASSWORD, own_database

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/polish")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Layout only: one database is enough (the shell reads nothing database-specific).
    with own_database("sqlite", tmp_path_factory.mktemp("shell"), "web_shell") as url:
        load_demo_city(url)
        with live_server(url) as base:
            yield base


def _phone(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.mark.parametrize("username", ["duty", "grid", "public"])
def test_no_shadow_at_the_left_edge_of_a_phone_page(
    server: str, browser: Any, username: str
) -> None:
    page = _phone(browser, server, username)
    path = page.url.removeprefix(server)
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(244, 246, 249)", background  # --grey-100
    # The page's own padding (12 px on a phone) is bare background from top to bottom: the
    # closed drawer (parked left of the screen) must not cast anything onto it.
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    top = 56 + 4  # under the top bar
    band = [shot.getpixel((x, y)) for x in range(0, 8) for y in range(top, PHONE["height"], 7)]
    off = [p for p in band if p != (244, 246, 249)]
    # Cards and tables start at x=12; a few anti-aliased pixels of a full-width element are fine,
    # a shadow darkens the whole band.
    assert len(off) < len(band) // 20, (path, sorted(set(off))[:5])
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"shell-{username}-phone.png"))
    # Opened, the drawer still casts its shadow over the page.
    page.click(".nav-toggle")
    page.wait_for_function(
        "() => document.querySelector('#sidenav').getBoundingClientRect().left >= 0"
    )
    page.wait_for_timeout(300)  # the slide's transition
    assert page.evaluate(
        "() => getComputedStyle(document.querySelector('#sidenav')).boxShadow"
    ) != ("none")
    page.screenshot(path=str(SHOTS / f"shell-{username}-phone-menu.png"))
    page.context.close()
