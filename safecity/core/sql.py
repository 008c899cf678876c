"""Small SQL helpers shared by the capabilities' services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, true

from safecity.core.scope import prefix_range


def code_within(column: Any, prefix: str) -> Any:
    """WHERE clause: a division code column lies inside the division with this prefix."""
    bounds = prefix_range(prefix)
    if bounds is None:
        return true()
    return and_(column >= bounds[0], column < bounds[1])


def refresh_statistics(session: Any, table: str) -> None:
    """ANALYZE after a bulk load so the planner picks the division index, not a full scan.

    Without statistics SQLite walks (archived, name) in name order over all 100k enterprises
    for a filtered page (255 ms); with them it uses the division range and sorts (11 ms).
    """
    from sqlalchemy import text

    session.execute(text(f'ANALYZE "{table}"'))
