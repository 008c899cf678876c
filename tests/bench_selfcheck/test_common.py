"""bench/_common.py's login, the one both page benchmarks use, against a fake /login (no server)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # after the standard library: bench/warnings.py must not shadow it


def _module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeLogin:
    """/login as the app answers it: a form with a CSRF token; the post throttled `throttled`
    times (429, Retry-After 0), then 303 for the demo password and token, 200 (the form) else."""

    def __init__(
        self, throttled: int = 0, token: str | None = "tok-1", refuse: bool = False
    ) -> None:
        self.throttled, self.token, self.refuse = throttled, token, refuse
        self.posts: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            field = f'<input type="hidden" name="csrf" value="{self.token}">' if self.token else ""
            return httpx.Response(200, text=f"<form>{field}</form>")
        form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
        self.posts.append(form)
        if self.throttled:
            self.throttled -= 1
            return httpx.Response(429, headers={"Retry-After": "0"})
        if not self.refuse and form["password"] == "demo1234" and form["csrf"] == self.token:
            return httpx.Response(303, headers={"Location": form["next"]})
        return httpx.Response(200, text="wrong")


def test_pages_and_load_share_one_login() -> None:
    login = _module("pages").login
    assert (login.__module__, Path(login.__code__.co_filename).name) == ("_common", "_common.py")
    load = (BENCH / "load.py").read_text(encoding="utf-8")
    assert "from _common import alogin" in load and "def login" not in load


@pytest.mark.parametrize("throttled", [0, 2])
def test_sync_login_posts_the_token_and_waits_out_the_throttle(throttled: int) -> None:
    common = _module("_common")
    fake = FakeLogin(throttled)
    with httpx.Client(base_url="http://bench", transport=httpx.MockTransport(fake)) as client:
        common.login(client, "duty")
    assert len(fake.posts) == throttled + 1
    assert fake.posts[-1] == {
        "username": "duty",
        "password": "demo1234",
        "csrf": "tok-1",
        "next": "%2F",
    }


def test_async_login_gives_its_next_page() -> None:
    common = _module("_common")
    fake = FakeLogin(1)

    async def run() -> None:
        transport = httpx.MockTransport(fake)
        async with httpx.AsyncClient(base_url="http://bench", transport=transport) as client:
            await common.alogin(client, "grid", "/map")

    asyncio.run(run())
    assert [p["username"] for p in fake.posts] == ["grid", "grid"]
    assert fake.posts[-1]["next"] == "%2Fmap"


def test_login_fails_loudly() -> None:
    common = _module("_common")
    no_form = httpx.MockTransport(FakeLogin(token=None))
    with (
        httpx.Client(base_url="http://bench", transport=no_form) as client,
        pytest.raises(RuntimeError, match="no CSRF token"),
    ):
        common.login(client, "duty")
    refused = FakeLogin(refuse=True)  # a wrong password: the form again (200)
    with (
        httpx.Client(base_url="http://bench", transport=httpx.MockTransport(refused)) as client,
        pytest.raises(RuntimeError, match="login duty: HTTP 200"),
    ):
        common.login(client, "duty")
    endless = FakeLogin(throttled=10**6)
    with (
        httpx.Client(base_url="http://bench", transport=httpx.MockTransport(endless)) as client,
        pytest.raises(RuntimeError, match="still throttled"),
    ):
        common.login(client, "duty")
    assert len(endless.posts) == common.LOGIN_TRIES
