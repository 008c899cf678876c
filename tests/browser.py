"""Shared parts of the browser tests: the Debian Chromium, a live uvicorn server, the demo city
and logging in through the form (the `browser` fixture itself is in tests/conftest.py)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from safecity.core.db import make_engine, reset_engine
from safecity.registry import demo
from safecity.web.app import create_app
from tests.brokers import free_port
from tests.conftest import NOW, PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # screenshots for a reader
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    # The Debian package may still be installing when the suite starts: give it a while.
    deadline = time.monotonic() + (180 if os.environ.get("CI") == "true" else 20)
    while not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        if time.monotonic() > deadline:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{CHROMIUM} not found (CI=true: failing, not skipping)")
            pytest.skip(f"{CHROMIUM} not installed")
        time.sleep(2)
    return CHROMIUM


@contextmanager
def live_server(database_url: str, **env: str) -> Iterator[str]:
    """The whole app served by uvicorn in a thread on a free port, with `env` set meanwhile."""
    import uvicorn  # noqa: PLC0415 uvicorn loaded only when a server starts

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAFECITY_DATABASE_URL", database_url)
        for name, value in env.items():
            mp.setenv(name, value)
        reset_engine()
        port = free_port()
        srv = uvicorn.Server(
            uvicorn.Config(
                create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
            )
        )
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not srv.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            srv.should_exit = True
            thread.join(timeout=10)
    reset_engine()


@contextmanager
def chromium() -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 Playwright loaded only by browser tests that run

    # Under `make test-future` libfaketime is preloaded into every process; Playwright's node
    # driver and Chromium do not survive it, so they start without it and keep the real clock
    # (the server under test still runs a year ahead).
    preload = os.environ.pop("LD_PRELOAD", None)
    try:
        pw = sync_playwright().start()
    finally:
        if preload is not None:
            os.environ["LD_PRELOAD"] = preload
    try:
        browser = pw.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield browser if preload is None else _ServerClockBrowser(browser)
        finally:
            browser.close()
    finally:
        pw.stop()


class _ServerClockBrowser:
    """Chromium whose pages run on this process's (faked) clock.

    Chromium keeps the real clock under `make test-future`, while the server under test runs a
    year ahead; pages that format times relative to "today" (HH:MM:SS for today, a date
    otherwise) would then disagree with the server. Each new page's clock is installed at this
    process's `now` and flows on naturally from there."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    def new_context(self, **options: Any) -> Any:
        context = self._browser.new_context(**options)
        context.clock.install(time=datetime.now(UTC))
        return context

    def new_page(self, **options: Any) -> Any:
        page = self._browser.new_page(**options)
        page.context.clock.install(time=datetime.now(UTC))
        return page


def load_demo_city(url: str, seed: int = 7) -> None:
    """The generated demo city (registry) in the database at `url`, as of NOW."""

    engine = make_engine(url)
    with Session(engine) as session:
        demo.load(session, demo.generate(seed=seed, now=NOW), NOW)
        session.commit()
    engine.dispose()


def login_page(browser: Any, base: str, username: str, password: str = PASSWORD) -> Any:
    """A new page logged in through the login form (zh-CN, 1400×900)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page.set_default_timeout(30_000)
    page.goto(f"{base}/map")
    assert "/login" in page.url  # unauthenticated pages send the user to the login form
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page
