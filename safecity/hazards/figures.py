"""Yearly figures of the hidden-danger ledger for other capabilities (the plan indicators): per
division code and Beijing year, hidden dangers found, rectified, major ones found and major ones
closed on time; and the hidden dangers behind one such figure.

Read without a caller's scope: the caller scopes its own figures. A year is the month a hidden
danger was reported in (``month``, Beijing time). Closed ones come from the summary of final
ones (``hd_final_counts``, kept by every close, rebuilt after bulk loads), open ones from the
ledger; both by index seeks per division code and year (``ix_hd_final_counts_figures``,
``ix_ind_hidden_dangers_open``), never a pass over a million old rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, case, func, literal, select, true, union_all
from sqlalchemy.orm import Session

from safecity.core.scope import code_within, division_prefix
from safecity.core.sql import loose_distinct
from safecity.hazards import workflow as wf
from safecity.hazards.models import FinalCount, HiddenDanger

MAJOR = "major"


@dataclass(frozen=True)
class YearFigures:
    division_code: str
    year: int
    found: int  # reported and not rejected (open or closed)
    rectified: int  # closed
    major_found: int
    major_closed_on_time: int  # closed, graded major, not closed late


def _months(years: Sequence[int]) -> object:
    rows = [
        select(
            literal(y, Integer).label("y"),
            literal(f"{y:04d}-01", String).label("lo"),
            literal(f"{y:04d}-12", String).label("hi"),
        )
        for y in sorted(set(years))
    ]
    return union_all(*rows).cte("hd_years")


def yearly_figures(session: Session, years: Sequence[int]) -> list[YearFigures]:
    """The four counts for every division code and year with a hidden danger in ``years``
    (a code and year without one is left out: its counts are 0)."""
    if not years:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _grouped(session, years)
    codes = loose_distinct(HiddenDanger.division_code, "hd_codes")
    ys = _months(years)
    fc = FinalCount.__table__.alias("fc")
    closed = (
        fc.c.status == wf.CLOSED,
        fc.c.division_code == codes.c.v,
        fc.c.month >= ys.c.lo,  # type: ignore[attr-defined]
        fc.c.month <= ys.c.hi,  # type: ignore[attr-defined]
    )
    major = fc.c.grade == MAJOR

    def closed_sum(expr: object) -> object:
        return select(func.coalesce(func.sum(expr), 0)).where(*closed).scalar_subquery()

    hd = HiddenDanger.__table__.alias("hd")
    still_open = (
        hd.c.status.in_(sorted(wf.OPEN)),
        hd.c.division_code == codes.c.v,
        hd.c.month >= ys.c.lo,  # type: ignore[attr-defined]
        hd.c.month <= ys.c.hi,  # type: ignore[attr-defined]
    )
    stmt = select(
        codes.c.v,
        ys.c.y,  # type: ignore[attr-defined]
        closed_sum(fc.c.n),
        closed_sum(case((major, fc.c.n), else_=0)),
        closed_sum(case((major, fc.c.n - fc.c.late), else_=0)),
        select(func.count()).where(*still_open).scalar_subquery(),
        select(func.count()).where(*still_open, hd.c.grade == MAJOR).scalar_subquery(),
    ).select_from(codes.join(ys, true()))  # type: ignore[arg-type]
    out = []
    for code, y, n, major_n, major_on_time, open_n, open_major in session.execute(stmt):
        if code is None or not (n or open_n):
            continue
        out.append(
            YearFigures(
                code,
                int(y),
                int(n) + int(open_n),
                int(n),
                int(major_n) + int(open_major),
                int(major_on_time),
            )
        )
    return out


def _grouped(session: Session, years: Sequence[int]) -> list[YearFigures]:
    """The same counts as two GROUP BY queries: PostgreSQL hashes the groups of an index-only
    scan faster than it runs a subquery per code and year (SQLite sorts them: seeks win)."""
    first, last = f"{min(years):04d}-01", f"{max(years):04d}-12"
    fc = FinalCount
    fc_year = func.substr(fc.month, 1, 4)
    major = fc.grade == MAJOR
    acc: dict[tuple[str, int], list[int]] = {}
    for code, y, n, major_n, major_on_time in session.execute(
        select(
            fc.division_code,
            fc_year,
            func.sum(fc.n),
            func.sum(case((major, fc.n), else_=0)),
            func.sum(case((major, fc.n - fc.late), else_=0)),
        )
        .where(fc.status == wf.CLOSED, fc.month >= first, fc.month <= last)
        .group_by(fc.division_code, fc_year)
    ):
        acc[code, int(y)] = [int(n), int(n), int(major_n), int(major_on_time)]
    hd = HiddenDanger
    hd_year = func.substr(hd.month, 1, 4)
    for code, y, n, major_n in session.execute(
        select(
            hd.division_code,
            hd_year,
            func.count(),
            func.sum(case((hd.grade == MAJOR, 1), else_=0)),
        )
        .where(hd.status.in_(sorted(wf.OPEN)), hd.month >= first, hd.month <= last)
        .group_by(hd.division_code, hd_year)
    ):
        row = acc.setdefault((code, int(y)), [0, 0, 0, 0])
        row[0] += int(n)
        row[2] += int(major_n)
    wanted = set(years)
    return [
        YearFigures(code, y, *row)
        for (code, y), row in sorted(acc.items())
        if y in wanted and (row[0] or row[1])
    ]


@dataclass(frozen=True)
class HiddenDangerRecord:
    id: int
    title: str
    reported_at: datetime
    division_code: str
    grade: str | None
    status: str


def hidden_dangers_of(
    session: Session,
    division_code: str,
    year: int,
    *,
    closed_only: bool = False,
    major_only: bool = False,
    on_time_only: bool = False,
    limit: int = 200,
) -> list[HiddenDangerRecord]:
    """The hidden dangers behind a figure: reported in ``year`` inside ``division_code``
    (prefix), rejected ones left out, newest first."""
    h = HiddenDanger
    where = [
        code_within(h.division_code, division_prefix(division_code)),
        h.month >= f"{year:04d}-01",
        h.month <= f"{year:04d}-12",
        h.status != wf.REJECTED,
    ]
    if closed_only or on_time_only:
        where.append(h.status == wf.CLOSED)
    if major_only:
        where.append(h.grade == MAJOR)
    if on_time_only:
        where.append(h.closed_late.is_not(True))
    stmt = select(h).where(*where).order_by(h.reported_at.desc()).limit(limit)
    return [
        HiddenDangerRecord(x.id, x.title, x.reported_at, x.division_code, x.grade, x.status)
        for x in session.scalars(stmt)
    ]
