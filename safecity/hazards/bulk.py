"""Fast bulk loading for the demo and the benchmark: COPY on PostgreSQL, multi-row INSERT
elsewhere; ids are taken from the sequence first so child rows can point at their parents."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def reserve_ids(session: Session, table: Table, n: int) -> list[int]:
    """n fresh primary keys from the table's sequence (PostgreSQL only)."""
    seq = session.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
    return list(
        session.scalars(text("SELECT nextval(:s) FROM generate_series(1, :n)"), {"s": seq, "n": n})
    )


def copy_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """COPY rows into a table through the session's own connection (same transaction)."""
    if not rows:
        return
    columns = list(rows[0])
    json_cols = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
    raw = session.connection().connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[c], ensure_ascii=False)
                    if c in json_cols and row[c] is not None
                    else row[c]
                    for c in columns
                ]
            )


def insert_with_ids(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert parent rows and return their ids in the same order."""
    if not rows:
        return []
    if is_pg(session):
        ids = reserve_ids(session, table, len(rows))
        copy_rows(session, table, [{**r, "id": i} for r, i in zip(rows, ids, strict=True)])
        return ids
    # Core (not ORM bulk): rows differ in which columns are None, and the ORM would split them
    # into thousands of small statements.
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.connection().execute(stmt, list(rows)).scalars())


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if is_pg(session):
        copy_rows(session, table, rows)
    else:
        session.connection().execute(insert(table), list(rows))
