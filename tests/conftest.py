"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from safecity.core import clock
from safecity.core.db import Base, make_engine, reset_engine
from safecity.core.deps import SESSION_COOKIE
from safecity.core.migrate import upgrade
from safecity.core.models import User
from safecity.core.scope import Principal
from safecity.core.security import hash_password
from safecity.models_all import import_all
from safecity.monitoring.settings import get_monitoring_settings
from safecity.web.app import create_app
from tests.factories import seed_city

PG_ADMIN_URL = os.environ.get(
    "SAFECITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PASSWORD = "demo1234"

import_all()


def _pg_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001  # whatever fails, there is no usable PostgreSQL
        return False


def _fresh_pg_database(worker: str) -> str:
    name = f"safecity_test_{worker}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    # The process id keeps two suites running at once from dropping each other's database.
    worker = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db')}/safecity.db"
    else:
        if not _pg_available():
            if os.environ.get("CI") == "true":
                pytest.fail(
                    f"PostgreSQL unreachable at {PG_ADMIN_URL} (CI=true: failing, not skipping)"
                )
            pytest.skip("PostgreSQL not reachable")
        url = _fresh_pg_database(worker)
    upgrade(url)
    yield url
    if request.param == "postgresql":  # each run's databases would otherwise pile up
        _drop_pg_database(f"safecity_test_{worker}")


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def own_database(kind: str, folder: Path, label: str) -> Iterator[str]:
    """A migrated database of the caller's own ("sqlite" or "postgresql"), dropped afterwards:
    live servers and browsers keep their data apart from the per-test truncated one."""
    if kind == "sqlite":
        url = f"sqlite:///{folder}/safecity.db"
    else:
        if not _pg_available():
            if os.environ.get("CI") == "true":
                pytest.fail(
                    f"PostgreSQL unreachable at {PG_ADMIN_URL} (CI=true: failing, not skipping)"
                )
            pytest.skip("PostgreSQL not reachable")
        worker = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
        url = _fresh_pg_database(f"{label}_{worker}")
    upgrade(url)
    try:
        yield url
    finally:
        if kind == "postgresql":
            _drop_pg_database(f"safecity_test_{label}_{worker}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A module's own database for a live server, on SQLite and on PostgreSQL."""
    # tests.hazards.test_browser → hazards_browser: modules of the same name stay apart.
    label = request.module.__name__.removeprefix("tests.").replace(".test_", "_").replace(".", "_")
    with own_database(request.param, tmp_path_factory.mktemp(label), label) as url:
        yield url


@pytest.fixture(autouse=True)
def _inline_rollup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Readings' aggregates are written with the readings in tests, so a test can look at them
    at once (subprocesses inherit this); the deferred roll-up has its own tests."""
    monkeypatch.setenv("SAFECITY_MONITORING_ROLLUP_INTERVAL_S", "0")
    get_monitoring_settings.cache_clear()
    yield
    get_monitoring_settings.cache_clear()


@pytest.fixture
def engine(database_url: str) -> Iterator:
    eng = make_engine(database_url)
    _truncate(eng)
    yield eng
    eng.dispose()


def _truncate(eng) -> None:  # type: ignore[no-untyped-def]
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def session(engine) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as s:
        yield s


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def city(session: Session, password_hash: str) -> dict:
    """A small hand-made city: two districts of Yantai and one of another city, users per role."""
    data = seed_city(session, password_hash)
    session.commit()
    return data


@pytest.fixture
def client(database_url: str, engine, city, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]

    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    # Background jobs stay off in API tests; the tests of those jobs turn them on.
    monkeypatch.setenv("SAFECITY_ESCALATION_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("SAFECITY_WARNINGS_DISPATCH_INTERVAL_SECONDS", "0")
    reset_engine()
    with TestClient(create_app()) as c:
        yield c
    reset_engine()


def login(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


# ------------------------------------------------ shared helpers (tests import them from here)


def csrf_of(html: str) -> str:
    """The CSRF token of a page's form."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def web_login(
    web,
    username: str,
    password: str = PASSWORD,  # type: ignore[no-untyped-def]
    next: str = "/map",
):
    """Log in through the login form (session cookie); returns the login answer. A session the
    client already holds is dropped first (the login page would redirect to its start page),
    so a test can switch users without clearing cookies itself."""
    web.cookies.delete(SESSION_COOKIE)
    token = csrf_of(web.get("/login").text)
    return web.post(
        "/login",
        data={"username": username, "password": password, "csrf": token, "next": next},
        follow_redirects=False,
    )


def principal(session: Session, username: str):  # type: ignore[no-untyped-def]
    """The Principal of a seeded user, as the API would build it."""

    u = session.scalar(select(User).where(User.username == username))
    return Principal(u.id, u.username, u.role, u.division_code, u.enterprise_id, u.industry)


@pytest.fixture
def frozen_clock() -> Iterator[datetime]:
    """The application's clock stands at NOW (the date every fixture and seed is written for)."""
    with clock.frozen(NOW) as at:
        yield at


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Headless Debian Chromium, one per test module."""
    from tests.browser import chromium  # noqa: PLC0415 cycle: tests.browser imports NOW, PASSWORD from here

    with chromium() as launched:
        yield launched
