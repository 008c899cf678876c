"""The tests' web_login helper switches users on a client that still holds a session."""

from __future__ import annotations

import re

from tests.conftest import web_login


def _role(html: str) -> str:
    found = re.search(r'class="user-role">([^<]*)<', html)
    return found.group(1) if found else ""


def test_web_login_switches_users_with_an_open_session(client) -> None:  # type: ignore[no-untyped-def]
    assert web_login(client, "admin").status_code == 303
    assert _role(client.get("/map").text) == "系统管理员"
    switched = web_login(client, "zhifu")  # no cookies.clear() in between
    assert switched.status_code == 303, switched.text[:300]
    role = _role(client.get("/map").text)
    assert role and role != "系统管理员"
