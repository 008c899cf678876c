"""Shared parts of the browser tests: the Debian Chromium and a live uvicorn server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(database_url: str, **env: str) -> Iterator[str]:
    """The whole app served by uvicorn in a thread on a free port, with `env` set meanwhile."""
    import uvicorn

    from safecity.core.db import reset_engine

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAFECITY_DATABASE_URL", database_url)
        for name, value in env.items():
            mp.setenv(name, value)
        reset_engine()
        from safecity.web.app import create_app

        port = free_port()
        srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                            log_level="warning", lifespan="off"))
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
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
