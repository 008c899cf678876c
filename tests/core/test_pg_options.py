"""PostgreSQL sessions run without JIT unless the operator asks for it (core/db._pg_options)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from safecity.core.db import _pg_options

URL = "postgresql+psycopg://u@127.0.0.1:5432/city"


def test_jit_off_by_default_and_the_operators_options_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGOPTIONS", raising=False)
    assert _pg_options(URL) == {"options": "-c jit=off"}
    assert _pg_options(URL + "?options=-c%20jit%3Don") == {}
    monkeypatch.setenv("PGOPTIONS", "-c jit=on")
    assert _pg_options(URL) == {}


def test_sessions_of_the_store_have_jit_off(engine, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with engine.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"
