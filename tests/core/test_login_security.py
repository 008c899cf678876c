"""Login throttling per (username, address) and per address; CSRF only in header or form, rotated."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safecity.core.clock import frozen
from safecity.core.deps import SESSION_COOKIE
from safecity.core.security import LoginThrottle, csrf_for
from tests.conftest import NOW, PASSWORD


@pytest.fixture(autouse=True)
def _still_clock() -> Any:
    # Waits are whole seconds: a slow machine must not let one pass between two attempts.
    with frozen(NOW):
        yield


def _from(client: Any, address: str) -> TestClient:
    """A second client on the same app whose requests come from another address."""
    return TestClient(client.app, client=(address, 40000))


def _token(c: Any, username: str, password: str = PASSWORD) -> Any:
    return c.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_unknown_usernames_are_throttled_too(client: Any) -> None:
    statuses = [_token(client, "nobody-here", "x").status_code for _ in range(5)]
    assert statuses[:3] == [401, 401, 401] and 429 in statuses
    limited = _token(client, "nobody-here", "x")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_spraying_many_usernames_from_one_address_slows_it_down(client: Any) -> None:
    sprayer = _from(client, "203.0.113.7")
    statuses = [_token(sprayer, f"guess{i}", "Password1").status_code for i in range(25)]
    assert statuses[:20] == [401] * 20  # one wrong password per name: only the address counts
    assert 429 in statuses[20:]
    # The same address cannot slip a known user's login through while it waits.
    assert _token(sprayer, "admin").status_code == 429
    # Everyone else is unaffected.
    assert _token(client, "admin").status_code == 200


def test_nobody_can_lock_out_a_known_user_from_elsewhere(client: Any) -> None:
    attacker = _from(client, "198.51.100.9")
    for _ in range(8):
        assert _token(attacker, "zhifu", "wrong").status_code in (401, 429)
    assert _token(attacker, "zhifu").status_code == 429  # the guessing pair waits
    assert _token(client, "zhifu").status_code == 200  # the real user, from their address


def test_web_login_429_carries_retry_after(client: Any) -> None:
    client.headers["accept"] = "text/html"
    for _ in range(5):
        page = client.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        resp = client.post(
            "/login",
            data={"username": "zhifu", "password": "bad", "csrf": csrf, "next": "/map"},
            follow_redirects=False,
        )
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "秒后再试" in resp.text


def test_throttle_forgets_after_quiet_window_and_never_grows_without_bound() -> None:
    t = LoginThrottle(pair_free=1, address_free=100, ceiling=900, max_entries=10)
    t.failed("a", "1.1.1.1", NOW)
    t.failed("a", "1.1.1.1", NOW)
    assert t.wait_seconds("a", "1.1.1.1", NOW) == 2  # 1 s, rounded up
    assert t.wait_seconds("A", "1.1.1.1", NOW) == 2  # usernames compared case-blind
    assert t.wait_seconds("a", "2.2.2.2", NOW) == 0
    later = NOW + timedelta(hours=2)
    t.failed("a", "1.1.1.1", later)  # the old failures are forgotten: this is the first again
    assert t.wait_seconds("a", "1.1.1.1", later) == 0
    for i in range(50):
        t.failed(f"u{i}", f"10.0.0.{i}", NOW)
    assert len(t._pairs) <= 10 and len(t._addresses) <= 10


def _cookie_session(client: Any) -> str:
    token = _token(client, "admin").json()["access_token"]
    client.cookies.set(SESSION_COOKIE, token)
    return token


def test_csrf_in_the_query_string_is_refused(client: Any) -> None:
    token = _cookie_session(client)
    url = "/api/v1/enterprises/1/archive"
    resp = client.post(url, params={"csrf": csrf_for(token)})
    assert resp.status_code == 403 and "CSRF" in resp.json()["message"]
    ok = client.post(url, headers={"X-CSRF-Token": csrf_for(token)})
    assert ok.status_code == 200, ok.text
    client.cookies.clear()


def _page_csrf(client: Any, path: str = "/map") -> str:
    return re.search(
        r'name="csrf-token" content="([^"]+)"|name="csrf" value="([^"]+)"', client.get(path).text
    ).group(0)  # type: ignore[union-attr]


def test_csrf_token_rotates_at_login_and_the_old_session_ends(client: Any) -> None:
    client.headers["accept"] = "text/html"

    def login() -> None:
        held = client.cookies.get(SESSION_COOKIE)
        client.cookies.delete(SESSION_COOKIE)  # a signed-in browser is sent on from /login
        page = client.get("/login").text
        if held:  # e.g. a login form left open in another tab
            client.cookies.set(SESSION_COOKIE, held)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        resp = client.post(
            "/login",
            data={"username": "admin", "password": PASSWORD, "csrf": csrf, "next": "/map"},
            follow_redirects=False,
        )
        assert resp.status_code == 303

    login()
    first_cookie = client.cookies.get(SESSION_COOKIE)
    first = _page_csrf(client)
    login()  # again, in the same browser
    second = _page_csrf(client)
    assert first != second
    # The earlier session and its CSRF token are dead: nothing stays valid "for the session".
    client.cookies.set(SESSION_COOKIE, first_cookie)
    resp = client.post(
        "/api/v1/enterprises/1/archive",
        headers={"X-CSRF-Token": csrf_for(first_cookie), "accept": "application/json"},
    )
    assert resp.status_code == 401
    client.cookies.clear()
