"""Yearly accident figures of emergency command for other capabilities (the plan indicators):
the incidents of each division code and Beijing year grouped by what classifies them (type,
class, production safety), with their deaths, direct loss and, for forest fires, how many were
put out within 24 hours.

The selection is that of ``records.accident_records`` (drills and merged duplicates left out),
and so is the classification (road traffic, fire, forest fire); read without a caller's scope
(the caller scopes its own figures). Ten years of a city's incidents are grouped in the
database, never read one by one: on SQLite in the order of ``ix_rs_incidents_figures`` (division
code, Beijing year, type …: the groups come out of the index without a sort), on PostgreSQL by
hashing an index-only scan of ``ix_ind_incidents_year``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, and_, case, cast, func, literal_column, select, text
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.response import workflow as wf
from safecity.response.models import Incident

ROAD_TRAFFIC = "accident_disaster.transport.road_traffic"
FIRE = "accident_disaster.fire"
FOREST_FIRE = "natural_disaster.forest_grassland_fire"

# SQLite: the Beijing calendar year of a stored (naive UTC text) time, written exactly as in the
# expression index ``ix_rs_incidents_figures`` so that SQLite reads it from the index.
SQLITE_YEAR = "substr(datetime(occurred_at, '+8 hours'), 1, 4)"


def _sqlite_year(column: object = None) -> object:
    col = Incident.occurred_at if column is None else column
    return func.substr(func.datetime(col, literal_column("'+8 hours'")), literal_column("1"),
                       literal_column("4"))  # fmt: skip


def year_start(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=BEIJING).astimezone(UTC)


def is_road_traffic(type_key: str) -> bool:
    return type_key == ROAD_TRAFFIC or type_key.startswith(ROAD_TRAFFIC + ".")


def is_fire(type_key: str) -> bool:
    """A fire accident (road-traffic ones left out, as ``accident_records`` does)."""
    return (type_key == FIRE or type_key.startswith(FIRE + ".")) and not is_road_traffic(type_key)


def is_forest_fire(type_key: str) -> bool:
    return type_key.startswith(FOREST_FIRE)


class AccidentGroup(NamedTuple):
    """Incidents of one division code and year that classify alike, and their totals (a plain
    tuple: a city's ten years make some 10,000 of them)."""

    division_code: str
    year: int
    type_key: str
    class_key: str
    production_safety: bool
    incidents: int
    deaths: int
    direct_loss_cents: int  # exact: whole cents (floats would drift over 100,000 rows)
    out_within_24h: int  # forest fires whose response ended within 24 h of the fire


@cache
def classify(type_key: str) -> tuple[bool, bool, bool]:
    """(road traffic, fire, forest fire) of an incident type, as ``accident_records``."""
    return is_road_traffic(type_key), is_fire(type_key), is_forest_fire(type_key)


def _counted() -> tuple[object, ...]:
    return (Incident.is_drill.is_(False), Incident.status != wf.MERGED)


def accident_groups(
    session: Session, years: Sequence[int], code_digits: int | None = None
) -> list[AccidentGroup]:
    """Every group of incidents that occurred in ``years`` (Beijing time); with
    ``code_digits``, division codes cut to their first digits (6: districts, a city's streets
    added into them), which the caller's finest division needs no more than."""
    if not years:
        return []
    if session.get_bind().dialect.name == "sqlite":
        return _groups_sqlite(session, years, code_digits)
    return _groups_hashed(session, years, code_digits)


def _cents(column: object) -> object:
    return cast(func.round(func.coalesce(column, 0) * 100), Integer)


def _code(column: Any, digits: int | None) -> Any:
    return column if digits is None else func.substr(column, 1, digits)


def _groups_sqlite(
    session: Session, years: Sequence[int], code_digits: int | None
) -> list[AccidentGroup]:
    i = Incident
    y = _sqlite_year()
    first, last = f"{min(years):04d}", f"{max(years):04d}"
    # forest fires put out within 24 h: milliseconds between the stored times (julianday is
    # exact to well under that), computed for forest-fire rows only
    forest = and_(i.type_key >= FOREST_FIRE, i.type_key < FOREST_FIRE + "\U0010ffff")
    span_ms = cast(
        func.round(
            (func.julianday(i.response_ended_at) - func.julianday(i.occurred_at)) * 86_400_000
        ),
        Integer,
    )
    quick = case((and_(forest, span_ms <= 86_400_000), 1), else_=0)
    inner = (
        select(
            i.division_code.label("code"),
            y.label("y"),
            i.type_key,
            i.class_key,
            i.production_safety,
            func.count().label("n"),
            func.coalesce(func.sum(i.deaths), 0).label("deaths"),
            func.coalesce(func.sum(_cents(i.direct_loss_yuan)), 0).label("cents"),
            func.sum(quick).label("quick"),
        )
        .where(y >= first, y <= last, *_counted())
        .group_by(i.division_code, y, i.type_key, i.class_key, i.production_safety)
        .subquery()
    )
    if code_digits is None:
        stmt = select(inner)
    else:  # the index-ordered groups of streets added into their districts: a small sort
        code = _code(inner.c.code, code_digits)
        keys = (code, inner.c.y, inner.c.type_key, inner.c.class_key, inner.c.production_safety)
        stmt = select(
            *keys,
            func.sum(inner.c.n),
            func.sum(inner.c.deaths),
            func.sum(inner.c.cents),
            func.sum(inner.c.quick),
        ).group_by(*keys)
    wanted = {f"{v:04d}": v for v in years}
    return [
        AccidentGroup(
            code,
            wanted[yy],
            type_key,
            class_key,
            bool(ps),
            n,
            deaths,
            cents,
            quick_n if is_forest_fire(type_key) else 0,
        )  # fmt: skip
        for code, yy, type_key, class_key, ps, n, deaths, cents, quick_n in session.execute(stmt)
        if yy in wanted
    ]


def _groups_hashed(
    session: Session, years: Sequence[int], code_digits: int | None
) -> list[AccidentGroup]:
    # One GROUP BY per year: a year's ~10,000 rows hash in memory, where one query over ten
    # years (its groups misjudged) sorts 100,000 rows on disk.
    i = Incident
    quick = case((i.response_ended_at - i.occurred_at <= text("interval '24 hours'"), 1), else_=0)
    out = []
    for y in sorted(set(years)):
        code = _code(i.division_code, code_digits)
        stmt = (
            select(
                code,
                i.type_key,
                i.class_key,
                i.production_safety,
                func.count(),
                func.coalesce(func.sum(i.deaths), 0),
                func.coalesce(func.sum(_cents(i.direct_loss_yuan)), 0),
                func.coalesce(func.sum(quick), 0),
            )
            .where(i.occurred_at >= year_start(y), i.occurred_at < year_start(y + 1), *_counted())
            .group_by(code, i.type_key, i.class_key, i.production_safety)
        )
        out += [
            AccidentGroup(
                code,
                y,
                type_key,
                class_key,
                bool(ps),
                int(n),
                int(deaths),
                int(cents),
                int(quick_n) if is_forest_fire(type_key) else 0,
            )  # fmt: skip
            for code, type_key, class_key, ps, n, deaths, cents, quick_n in session.execute(stmt)
        ]
    return out
