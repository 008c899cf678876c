"""The major hidden dangers list (重大事故隐患清单) for the risk capability's four lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.scope import Principal, division_prefix
from safecity.core.sql import code_within
from safecity.hazards import service
from safecity.hazards import workflow as wf
from safecity.hazards.models import HiddenDanger
from safecity.registry.models import Division, Enterprise
from safecity.registry.rules import INDUSTRY_DIVISIONS


def major_hidden_dangers(session: Session, who: Principal, filters: Any) -> list[dict[str, Any]]:
    """Open major hidden dangers in the caller's scope, as rows keyed like the list's columns."""
    stmt = (
        select(HiddenDanger, Enterprise.name)
        .outerjoin(Enterprise, Enterprise.id == HiddenDanger.enterprise_id)
        .where(
            service.scope_clause(who),
            HiddenDanger.grade == wf.MAJOR,
            HiddenDanger.status.in_(sorted(wf.OPEN - {wf.REPORTED})),
        )
        .order_by(HiddenDanger.division_code, HiddenDanger.id)
    )
    division = getattr(filters, "division", None)
    if division:
        stmt = stmt.where(code_within(HiddenDanger.division_code, division_prefix(division)))
    industry = getattr(filters, "industry", None)
    if industry:
        stmt = stmt.where(
            HiddenDanger.industry_section == industry.upper()
            if industry.isalpha()
            else HiddenDanger.industry_code.startswith(industry, autoescape=True)
        )
    names = {d.code: d.name for d in session.scalars(select(Division))}
    rows = []
    for hd, enterprise in session.execute(stmt):
        rows.append(
            {
                "id": hd.id,
                "name": hd.title,
                "enterprise": enterprise or "",
                "division": names.get(hd.division_code[:6], hd.division_code),
                "division_code": hd.division_code,
                "district_code": hd.division_code[:6],
                "industry": _industry(hd.industry_code),
                "description": hd.description,
                "found_at": wf.as_utc(hd.reported_at).date().isoformat(),
                "deadline": wf.as_utc(hd.deadline).date().isoformat() if hd.deadline else "",
                "status": wf.STATES[hd.status][0],
                "supervisor": hd.supervisor_name,
                "lon": hd.lon,
                "lat": hd.lat,
            }
        )
    return rows


def _industry(code: str | None) -> str:
    if not code:
        return ""
    return f"{code} {INDUSTRY_DIVISIONS.get(code[:2], '')}".strip()
