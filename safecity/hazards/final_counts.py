"""The summary of final (closed or rejected) hidden dangers that statistics read instead of
aggregating every old row: one upsert per transition into a final state, one rebuild after bulk
loads. Its own module so the workflow (service) and the statistics (stats) both use it without
importing each other."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from safecity.hazards import workflow as wf
from safecity.hazards.models import FinalCount, HiddenDanger


def _final_values(hd: HiddenDanger) -> dict[str, Any]:
    return {
        "division_code": hd.division_code,
        "industry_section": hd.industry_section or "",
        "grade": hd.grade or "",
        "month": hd.month,
        "status": hd.status,
        "n": 1,
        "on_time": int(hd.closed_late is False),
        "late": int(hd.closed_late is True),
        "days": float(hd.days_to_close or 0.0),
        "supervised": int(hd.supervisor_division_code is not None),
    }


def count_final(session: Session, hd: HiddenDanger) -> None:
    """Add a hidden danger that just became closed or rejected to the summary (upsert)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(FinalCount).values(**_final_values(hd))
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["division_code", "industry_section", "grade", "month", "status"],
        set_={
            "n": FinalCount.n + ex.n,
            "on_time": FinalCount.on_time + ex.on_time,
            "late": FinalCount.late + ex.late,
            "days": FinalCount.days + ex.days,
            "supervised": FinalCount.supervised + ex.supervised,
        },
    )
    session.execute(stmt)


def rebuild_final(session: Session) -> int:
    """Recompute the summary from the hidden dangers (after bulk loads; idempotent)."""
    hd = HiddenDanger
    session.execute(delete(FinalCount))
    section, grade = func.coalesce(hd.industry_section, ""), func.coalesce(hd.grade, "")
    src = (
        select(
            hd.division_code,
            section,
            grade,
            hd.month,
            hd.status,
            func.count(),
            func.sum(case((hd.closed_late.is_(False), 1), else_=0)),
            func.sum(case((hd.closed_late.is_(True), 1), else_=0)),
            func.coalesce(func.sum(hd.days_to_close), 0.0),
            func.sum(case((hd.supervisor_division_code.is_not(None), 1), else_=0)),
        )
        .where(hd.status.in_(sorted(wf.FINAL)))
        .group_by(hd.division_code, section, grade, hd.month, hd.status)
    )
    cols = [
        "division_code",
        "industry_section",
        "grade",
        "month",
        "status",
        "n",
        "on_time",
        "late",
        "days",
        "supervised",
    ]
    session.execute(insert(FinalCount).from_select(cols, src))
    return session.scalar(select(func.count()).select_from(FinalCount)) or 0
