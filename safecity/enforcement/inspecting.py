"""Inspections: who sees which, lists, scheduling outside a draw, findings read back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from safecity.core import scope
from safecity.core.errors import FieldError, Invalid, NotFound
from safecity.core.scope import Principal
from safecity.enforcement import draw as drawing
from safecity.enforcement import notices
from safecity.enforcement.common import (
    INSPECTION_SHAPE,
    MAX_PAGE_SIZE,
    PLANNERS,
    audit_log,
    bad,
    checked_date,
    checked_int,
    clean_text,
    enterprise_for,
    id_list,
    local_date,
    require,
    row_dict,
)
from safecity.enforcement.models import Finding, Inspection, Inspector
from safecity.enforcement.roster import inspector_of
from safecity.hazards import checks as hd_checks
from safecity.hazards import uploads
from safecity.registry.models import Enterprise


def inspection_clause(who: Principal) -> Any:
    return scope.clause(who, INSPECTION_SHAPE)


def inspection_visible(who: Principal, i: Inspection) -> bool:
    return scope.sees(
        who,
        INSPECTION_SHAPE,
        i.division_code,
        enterprise_id=i.enterprise_id,
        industry_code=i.industry_code,
    )


def get_inspection(
    session: Session, who: Principal, inspection_id: int, for_update: bool = False
) -> Inspection:
    i = session.get(Inspection, inspection_id, with_for_update=for_update or None)
    if i is None or not inspection_visible(who, i):
        raise NotFound("检查记录", "inspection")
    return i


def list_inspections(
    session: Session,
    who: Principal,
    status: str | None = None,
    enterprise_id: int | None = None,
    draw_id: int | None = None,
    page: int = 1,
    size: int = 50,
) -> tuple[list[Inspection], int]:
    stmt = select(Inspection).where(inspection_clause(who))
    if status:
        stmt = stmt.where(Inspection.status == status)
    if enterprise_id:
        stmt = stmt.where(Inspection.enterprise_id == enterprise_id)
    if draw_id:
        stmt = stmt.where(Inspection.draw_id == draw_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    size = max(1, min(size, MAX_PAGE_SIZE))
    items = session.scalars(
        stmt.order_by(Inspection.scheduled_on.desc(), Inspection.id.desc())
        .limit(size)
        .offset((max(1, page) - 1) * size)
    )
    return list(items), total


def my_inspections(session: Session, who: Principal, limit: int = 200) -> list[Inspection]:
    """The open inspections the caller is on (the phone's start list)."""
    me = inspector_of(session, who)
    if me is None:
        return []
    stmt = (
        select(Inspection)
        .where(inspection_clause(who), Inspection.status != "done")
        .order_by(Inspection.scheduled_on, Inspection.id)
    )
    # inspector_ids is a JSON list: filtered here, not in SQL, so SQLite and PostgreSQL agree.
    return [i for i in session.scalars(stmt) if me.id in (i.inspector_ids or [])][:limit]


def _check_team(session: Session, ids: list[int], ent: Enterprise, on: date) -> list[Inspector]:
    """At least two inspectors, each with a valid certificate and no conflict with the target."""
    if len(set(ids)) < drawing.MIN_PER_TARGET:
        raise bad("inspector_ids", "执法人员：至少两名", "inspectors: at least two")
    team = []
    errors = []
    for n, i in enumerate(sorted(set(ids))):
        ins = session.get(Inspector, i)
        if ins is None or not ins.active:
            errors.append(
                FieldError(
                    f"inspector_ids[{n}]", f"执法人员 {i}：不存在", f"inspector {i}: not found"
                )
            )
            continue
        if ins.certificate_expires < on:
            errors.append(
                FieldError(
                    f"inspector_ids[{n}]",
                    f"{ins.name} 的执法证已于 {ins.certificate_expires} 过期",
                    f"{ins.name}'s certificate expired on {ins.certificate_expires}",
                )
            )
        if ent.id in (ins.related_enterprise_ids or []) or ent.id in (
            ins.former_employer_ids or []
        ):
            errors.append(
                FieldError(
                    f"inspector_ids[{n}]",
                    f"{ins.name} 与 {ent.name} 存在利害关系，应当回避",
                    f"{ins.name} has a conflict of interest with {ent.name}",
                )
            )
        team.append(ins)
    if errors:
        raise Invalid(errors)
    return team


def create_inspection(
    session: Session, who: Principal, data: dict[str, Any], now: datetime
) -> Inspection:
    """A planned inspection outside a draw (key units, complaints, follow-ups)."""
    require(who, PLANNERS, "当前角色无权安排检查", "your role may not schedule an inspection")
    ent = enterprise_for(session, who, data.get("enterprise_id"))
    on = checked_date(
        data.get("scheduled_on") or local_date(now), "scheduled_on", "检查日期", "date"
    )
    ids = id_list(data.get("inspector_ids"), "inspector_ids")
    _check_team(session, ids, ent, on)
    checklist_id = data.get("checklist_id") or None
    if checklist_id is not None:
        checklist_id = hd_checks.get_checklist(
            session, who, checked_int(checklist_id, "checklist_id", "检查表", "checklist", 1)
        ).id
    row_id = data.get("plan_row_id") or None
    i = Inspection(
        enterprise_id=ent.id,
        division_code=ent.division_code,
        industry_code=ent.industry_code,
        inspector_ids=ids,
        checklist_id=checklist_id,
        status="planned",
        scheduled_on=on,
        plan_row_id=int(row_id) if row_id else None,
        summary=clean_text(data.get("summary"), "summary", 2000, "检查事项", "subject"),
        created_by=who.username,
        created_at=now,
        updated_at=now,
    )
    session.add(i)
    session.flush()
    audit_log(session, who, "create", "inspection", i.id, None, row_dict(i), now)
    notices.inspections_assigned(session, [i], now, names={ent.id: ent.name})
    return i


def findings_of(session: Session, inspection_id: int) -> list[Finding]:
    return list(
        session.scalars(
            select(Finding).where(Finding.inspection_id == inspection_id).order_by(Finding.id)
        )
    )


def finding_with_photo(session: Session, who: Principal, name: str) -> Finding | None:
    """The finding a stored photo belongs to, if the caller may see its inspection."""
    if uploads.path_of(name) is None:  # only our generated names (hex + extension)
        return None
    for f in session.scalars(select(Finding).where(cast(Finding.photos, Text).contains(name))):
        i = session.get(Inspection, f.inspection_id)
        if i is not None and inspection_visible(who, i):
            return f
    return None
