"""Menus and start pages per role: the menu shows exactly the pages the role may open (the
same table guards the pages), and each role lands on its own start page after login."""

from __future__ import annotations

import re

import pytest

from safecity.core.scope import Principal
from safecity.web.access import _groups, menu, start_page
from tests.conftest import web_login

ROLES = ("admin", "commander", "analyst", "zhifu", "liaison", "enterprise", "public")


def _menu_links(html: str) -> set[str]:
    nav = html[html.index('id="sidenav"') : html.index("</nav>", html.index('id="sidenav"'))]
    return set(re.findall(r'href="([^"]+)"', nav.replace("&amp;", "&")))


@pytest.mark.parametrize("username", ROLES)
def test_menu_shows_exactly_the_pages_the_role_may_open(client, username: str) -> None:
    client.headers["accept"] = "text/html"
    landed = web_login(client, username, next="/")
    start = landed.headers["location"]
    shown = _menu_links(client.get(start).text)
    every = {href for _, entries in _groups() for href, _, _ in entries}
    assert shown <= every
    for href in sorted(every):
        status = client.get(href, follow_redirects=False).status_code
        if "?" in href:  # a filtered view (the triage queue) of a list the role may open
            assert href not in shown or status == 200, (username, href, status)
            continue
        # Shown → opens; hidden → refused, never a page of zeros behind a hidden link.
        assert (status == 200) == (href in shown), (username, href, status)


def test_public_menu_and_landing(client) -> None:
    client.headers["accept"] = "text/html"
    landed = web_login(client, "public")  # the form's default target is the one map
    assert landed.headers["location"] == "/public/warnings"
    page = client.get("/public/warnings").text
    # Report, inbox, the public warnings and the published random draws (双随机一公开).
    assert _menu_links(page) == {
        "/hazards/report",
        "/hazards/inbox",
        "/public/warnings",
        "/public/enforcement/draws",
    }
    assert "起草预警" not in page and "四张清单" not in page
    assert client.get("/map").status_code == 403 and client.get("/risk/lists").status_code == 403
    assert client.get("/response/incidents").status_code in (403, 404)
    assert client.get("/enforcement/cases").status_code in (403, 404)


def test_enterprise_officer_sees_no_city_analysis(client) -> None:
    client.headers["accept"] = "text/html"
    landed = web_login(client, "enterprise")
    assert landed.headers["location"] == "/hazards"
    page = client.get("/hazards").text
    assert "四张清单" not in page and "起草预警" not in page
    assert "/registry/grid-cells" not in _menu_links(page)  # the scope rule shows them none
    assert client.get("/warnings/new").status_code == 403


def test_start_pages_per_role() -> None:
    def who(role: str) -> Principal:
        return Principal(1, role, role, "370602", enterprise_id=1 if "enterprise" in role else None)

    assert start_page(who("public")) == "/public/warnings"
    assert start_page(who("grid_member")) == "/hazards/tasks"
    assert start_page(who("enterprise_officer")) == "/hazards"
    assert start_page(who("duty_officer")) == "/monitoring/alarms"
    assert start_page(who("commander")) == "/response/incidents?open=1"  # open incidents
    assert start_page(who("risk_analyst")) == "/risk/lists"  # the four lists they keep
    assert start_page(who("inspector")) == "/enforcement"  # the inspector's desk
    assert start_page(who("district_officer")) == "/map"
    grid = menu(who("grid_member"))
    assert "nav_risk" in grid and [h for h, _ in grid["nav_risk"]] == [
        "/risk/points",
        "/risk/major-hazards",
    ]
    assert ("/warnings/new", "nav_warnings_new") not in grid["nav_warnings"]
