"""What the page benchmarks share: a fresh PostgreSQL database, a free port, waiting for the
server, and logging in through /login as a demo account (sync and async clients)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN = os.environ.get(
    "SAFECITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "demo1234"  # every demo account's (README)
LOGIN_TRIES = 20  # the login throttle answers 429 with Retry-After; a user would wait too


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_db(name: str) -> str:
    """The URL of a new empty PostgreSQL database `name` (dropped first if a run left it)."""
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_db(url: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def wait_http(base: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"safecity serve did not answer on {base} within {timeout:.0f} s")


# ---------------------------------------------------------------- logging in


def login_form(page: httpx.Response, username: str, next_path: str) -> dict[str, str]:
    """The fields the login form posts, its CSRF token read from the /login page."""
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    if not match:
        raise RuntimeError(f"no CSRF token on /login (HTTP {page.status_code})")
    return {"username": username, "password": PASSWORD, "csrf": match.group(1), "next": next_path}


def login_wait(resp: httpx.Response, username: str) -> float | None:
    """None when the post logged in (303), else the seconds the throttle asks to wait (429)."""
    if resp.status_code == 303:
        return None
    if resp.status_code == 429:
        return float(resp.headers.get("Retry-After", "5"))
    raise RuntimeError(f"login {username}: HTTP {resp.status_code}")


def login(client: httpx.Client, username: str, next_path: str = "/") -> None:
    """Log `client` in as the demo account `username` (its cookies keep the session)."""
    for _ in range(LOGIN_TRIES):
        form = login_form(client.get("/login"), username, next_path)
        wait = login_wait(client.post("/login", data=form), username)
        if wait is None:
            return
        time.sleep(wait)
    raise RuntimeError(f"login {username}: still throttled")


async def alogin(client: Any, username: str, next_path: str = "/") -> None:
    """`login` for an httpx.AsyncClient."""
    for _ in range(LOGIN_TRIES):
        form = login_form(await client.get("/login"), username, next_path)
        wait = login_wait(await client.post("/login", data=form), username)
        if wait is None:
            return
        await asyncio.sleep(wait)
    raise RuntimeError(f"login {username}: still throttled")
