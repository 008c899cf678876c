"""Yearly figures of the monitoring network for other capabilities (the plan indicators): alarms
raised per division code and Beijing year, and the alarms behind one such figure.

Read without a caller's scope: the caller scopes its own figures. Counted by index seeks on
``ix_alarms_division_raised`` (division code, raised at): one seek per code and year, never a
sort of every alarm of ten years.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.scope import code_within, division_prefix
from safecity.core.sql import beijing_years, loose_distinct
from safecity.monitoring.models import Alarm


def year_start(year: int) -> datetime:
    """1 January 00:00 Beijing time of ``year``, in UTC."""
    return datetime(year, 1, 1, tzinfo=BEIJING).astimezone(UTC)


def alarms_by_year(session: Session, years: Sequence[int]) -> list[tuple[str, int, int]]:
    """(division code, Beijing year, alarms raised) for every code with alarms in ``years``;
    a code and year without an alarm is left out (its count is 0)."""
    if not years:
        return []
    a = Alarm.__table__.alias("a")
    codes = loose_distinct(Alarm.division_code, "alarm_codes")
    ys = beijing_years(years, "alarm_years")
    n = (
        select(func.count())
        .select_from(a)
        .where(a.c.division_code == codes.c.v, a.c.raised_at >= ys.c.lo, a.c.raised_at < ys.c.hi)
        .scalar_subquery()
    )
    stmt = select(codes.c.v, ys.c.y, n).select_from(codes.join(ys, true()))
    return [(code, int(y), int(k)) for code, y, k in session.execute(stmt) if code and k]


@dataclass(frozen=True)
class AlarmRecord:
    id: int
    message: str
    raised_at: datetime
    division_code: str
    peak_level: str
    status: str


def alarms_of(
    session: Session, division_code: str, year: int, limit: int = 200
) -> list[AlarmRecord]:
    """The alarms raised in ``year`` inside ``division_code`` (prefix), newest first."""
    stmt = (
        select(Alarm)
        .where(
            code_within(Alarm.division_code, division_prefix(division_code)),
            Alarm.raised_at >= year_start(year),
            Alarm.raised_at < year_start(year + 1),
        )
        .order_by(Alarm.raised_at.desc())
        .limit(limit)
    )
    return [
        AlarmRecord(a.id, a.message or a.rule, a.raised_at, a.division_code, a.peak_level, a.status)
        for a in session.scalars(stmt)
    ]
