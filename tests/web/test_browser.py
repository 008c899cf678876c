"""Real headless Chromium through login, the one map and the registry list, against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import ARTIFACTS, live_server, load_demo_city
from tests.browser import login_page as _login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(live_database_url: str) -> Iterator[str]:
    # The main flows run on SQLite and on PostgreSQL.
    load_demo_city(live_database_url)
    with live_server(live_database_url) as base:
        yield base


def _map_state(page: Any) -> dict[str, Any]:
    page.wait_for_function(
        "() => window.safecityMap && (window.safecityMap.ready || window.safecityMap.error)",
        timeout=60_000,
    )
    state = page.evaluate("""() => ({error: safecityMap.error, counts: safecityMap.counts,
        names: safecityMap.divisionNames, entDivisions: safecityMap.enterpriseDivisions})""")
    assert state["error"] is None, state["error"]
    return state


def test_admin_sees_the_whole_city_on_the_map(server: str, browser: Any) -> None:
    page = _login(browser, server, "admin")
    assert page.url.endswith("/map")
    state = _map_state(page)
    assert state["counts"]["counties"] == 11
    total = page.request.get(f"{server}/api/v1/enterprises?size=1").json()["total"]
    assert total > 0 and state["counts"]["enterprises"] == total
    # The user menu shows the role's Chinese label and the scope.
    assert page.locator(".user-role").text_content() == "系统管理员"
    assert "370600" in page.locator(".user-scope").text_content()
    page.wait_for_timeout(800)  # let the last marker clusters finish drawing for the picture
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-admin.png"))
    page.close()


def test_other_capabilities_add_their_layers_to_the_one_map(server: str, browser: Any) -> None:
    page = _login(browser, server, "admin")
    _map_state(page)
    expected = page.evaluate(
        "JSON.parse(document.getElementById('map-config').textContent).overlays"
    )
    names = {o["name"] for o in expected}
    assert {"risk-districts", "risk-hazards", "risk-points", "warnings", "sensors"} <= names
    eager = [o["name"] for o in expected if not o["lazy"]]
    lazy = {o["name"] for o in expected if o["lazy"]}
    assert {"risk-points", "sensors", "shelters"} <= lazy and "risk-districts" in eager
    page.wait_for_function(
        f"() => Object.keys(safecityMap.overlays || {{}}).length === {len(eager)}"
    )
    counts = page.evaluate("safecityMap.overlays")
    assert set(counts) == set(eager)  # a kind's layer (thousands of points) waits to be chosen
    # Every county is coloured on the risk layer; the warnings layer shows what the API says is in force.
    assert counts["risk-districts"] == 11
    in_force = page.request.get(f"{server}/api/v1/warnings/public").json()["features"]
    assert counts["warnings"] == len(in_force)
    labels = page.locator(".leaflet-control-layers-overlays label")
    assert any("区县风险等级" in text for text in labels.all_text_contents())
    page.locator(".leaflet-control-layers-overlays label", has_text="风险点").locator(
        "input"
    ).check()
    page.wait_for_function("() => (safecityMap.overlays || {})['risk-points'] !== undefined")
    points = page.request.get(f"{server}/api/v1/risk/points/layer").json()["features"]
    # (the registry-only demo city has no risk points yet: the count is the API's, zero or not)
    assert page.evaluate("safecityMap.overlays['risk-points']") == len(points)
    label = page.locator(".leaflet-control-layers-overlays label", has_text="风险点")
    assert f"({len(points):,})" in label.text_content()
    assert label.locator("input").is_checked()  # still on after its count was added
    page.close()


def test_district_officer_sees_only_zhifu(server: str, browser: Any) -> None:
    page = _login(browser, server, "zhifu")
    state = _map_state(page)
    assert state["counts"]["counties"] == 1 and state["names"] == ["芝罘区"]
    assert state["entDivisions"] and all(c.startswith("370602") for c in state["entDivisions"])
    page.goto(f"{server}/registry/enterprises")
    codes = page.locator("td[data-col=division_code]").evaluate_all(
        "cells => cells.map(c => c.dataset.value)"
    )
    assert codes and all(c.startswith("370602") for c in codes)
    assert "一张图" in page.locator("#sidenav").inner_text()
    page.click("text=English")
    page.wait_for_load_state()
    nav = page.locator("#sidenav").inner_text()
    assert "One map" in nav and "Base registry" in nav and "一张图" not in nav
    assert page.url.endswith("/registry/enterprises")  # the switch returns to the same page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/map")
    _map_state(page)
    page.screenshot(path=str(ARTIFACTS / "map-phone.png"))
    page.close()


def test_wrong_password_shows_chinese_error(server: str, browser: Any) -> None:
    page = _login(browser, server, "zhifu", "not-the-password")
    assert "/login" in page.url
    assert page.locator("#login-error").inner_text() == "用户名或密码错误"
    page.close()
