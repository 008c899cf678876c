"""The main pages still work under the Content-Security-Policy: no violation in real Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import live_server, load_demo_city, login_page
from tests.conftest import own_database

pytestmark = pytest.mark.browser

# The CSP does not depend on the database: SQLite is enough here.
PAGES = [
    "/map",
    "/monitoring/alarms",
    "/registry/enterprises",
    "/warnings",
    "/public/warnings",
    "/hazards",
    "/risk/map",
    "/api/v1/docs",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("csp")
    with own_database("sqlite", folder, "web_csp") as url:
        load_demo_city(url)
        with live_server(url) as base:
            yield base


def _watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return problems


def _violations(page: Any) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def test_main_pages_run_with_no_csp_violation(server: str, browser: Any) -> None:
    page = login_page(browser, server, "admin")
    problems = _watch(page)
    # Violations are also reported as DOM events; record them from the start of every page.
    page.add_init_script("""window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', e =>
            window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));""")
    for path in PAGES:
        resp = page.goto(server + path)
        assert resp is not None and resp.status == 200, path
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        assert _violations(page) == [], (path, _violations(page))
    csp = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert csp == [], csp
    # The scripts really ran: the map drew, the docs rendered the operations.
    page.goto(server + "/map")
    page.wait_for_function(
        "() => window.safecityMap && (window.safecityMap.ready || window.safecityMap.error)",
        timeout=60_000,
    )
    assert page.evaluate("window.safecityMap.error") is None
    page.goto(server + "/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 50
    page.close()


def test_login_page_cannot_be_framed(server: str, browser: Any) -> None:
    page = browser.new_page()
    page.set_content(f'<iframe id="f" src="{server}/login"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frame_locator("#f")
    assert frame.locator("input[name=username]").count() == 0
    page.close()


def test_warnings_filter_still_submits_on_change(server: str, browser: Any) -> None:
    page = login_page(browser, server, "admin")
    page.goto(server + "/warnings")
    select = page.locator("select[name=status]")
    value = select.locator("option").nth(1).get_attribute("value")
    with page.expect_navigation():
        select.select_option(value)
    assert f"status={value}" in page.url
    page.close()
