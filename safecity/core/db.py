"""Database engine, sessions and the declarative base (SQLite embedded, PostgreSQL production)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from safecity.core.config import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


SQLITE_BEGIN = "IMMEDIATE"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # The driver opens a transaction only at the first INSERT/UPDATE/DELETE; "IMMEDIATE"
        # makes that BEGIN take the write lock at once, waiting up to the busy timeout for the
        # other writer. With a plain (deferred) BEGIN, a transaction that read before writing
        # (ingestion's staged insert) fails at once with "database is locked" when a background
        # job committed in between: SQLite cannot upgrade a stale read snapshot, and the busy
        # timeout does not apply. Reads outside a transaction still never wait.
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": 30,
                "isolation_level": SQLITE_BEGIN,
            },
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "checkout")
        def _immediate(dbapi_conn, _record, _proxy):  # type: ignore[no-untyped-def]
            # SQLAlchemy resets a connection used with AUTOCOMMIT to "" (deferred) on return.
            if dbapi_conn.isolation_level == "":
                dbapi_conn.isolation_level = SQLITE_BEGIN

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=_pg_options(url)
    )


def _pg_options(url: str) -> dict[str, str]:
    """PostgreSQL's JIT off, unless the URL (`?options=`) or PGOPTIONS says otherwise.

    JIT compiles a plan whose estimated cost passes jit_above_cost, and the scope rule's per-row
    subqueries inflate estimates: a liaison's 3,000 risk points are costed like a big report, and
    each such short query paid 30-60 ms of compilation (the four lists, the risk map layers).
    """
    if "options" in make_url(url).query or os.environ.get("PGOPTIONS"):
        return {}
    return {"options": "-c jit=off"}


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def _factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def reset_engine() -> None:
    """Forget cached engine and settings (used when the database URL changes, e.g. tests)."""
    if _factory.cache_info().currsize:
        get_engine().dispose()
    _factory.cache_clear()
    get_engine.cache_clear()
    get_settings.cache_clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A transaction: commit on success, roll back on any error so nothing is half-written."""
    session = _factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session
