"""The operations-centre wall renders from a small, fixed number of SQL statements, whatever the
number of records behind it, and grades the risk map's grid layer once (the district colours
are graded from it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from safecity.core.db import get_engine
from safecity.monitoring.models import Alarm
from tests.conftest import NOW, web_login
from tests.indicators.helpers import at, hidden_danger, import_yantai

# statements per render (the wall re-renders every 10 s on every screen of the centre): the
# login's own reads, one or two per tile, the indicators' set, statistics and sources, the map
# (PostgreSQL groups the accidents per year: this year's and the base year's)
MAX_QUERIES = {"sqlite": 26, "postgresql": 27}
MAX_SAVEPOINTS = 2 * 11  # SAVEPOINT + RELEASE: each tile and record source isolated


@contextmanager
def counted() -> Iterator[list[str]]:
    seen: list[str] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def _records(session: Session, n: int) -> None:
    for i in range(n):
        hidden_danger(session, "370602", at(2026, 1 + i % 6), grade="major" if i % 2 else "general")
        session.add(
            Alarm(
                division_code="370613" if i % 2 else "370602",
                rule="threshold",
                level=("red", "orange", "yellow", "blue")[i % 4],
                peak_level=("red", "orange", "yellow", "blue")[i % 4],
                status="active",
                first_ts=i,
                last_ts=i,
                raised_at=NOW - timedelta(hours=1 + i % 20),
                updated_at=NOW,
            )
        )
    session.commit()


def test_wall_statements_are_few_and_do_not_grow_with_the_records(
    client, session: Session, frozen_clock, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from safecity.risk.areas import layers  # noqa: PLC0415 kept beside its one use

    import_yantai(session)
    graded: list[str] = []
    real = layers.compute_layer

    def spy(session, principal, unit="grid", *a, **k):  # type: ignore[no-untyped-def]
        graded.append(unit)
        return real(session, principal, unit, *a, **k)

    monkeypatch.setattr(layers, "compute_layer", spy)
    web_login(client, "commander", next="/indicators/wall")
    _records(session, 2)
    assert client.get("/indicators/wall").status_code == 200  # caches warm
    renders = []
    for n in (0, 40):
        _records(session, n)
        graded.clear()
        with counted() as seen:
            r = client.get("/indicators/wall")
        assert r.status_code == 200, r.text[:300]
        assert graded.count("grid") == 1, graded  # graded once, the districts from it
        queries = [q for q in seen if not q.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]
        renders.append((len(queries), len(seen) - len(queries)))
    assert renders[0] == renders[1], renders  # nothing read per record
    n_queries, savepoints = renders[1]
    assert n_queries <= MAX_QUERIES[session.get_bind().dialect.name], queries
    assert savepoints <= MAX_SAVEPOINTS, savepoints
    assert 'data-v="alarms.total_24h">' in r.text  # the figures are on the page
