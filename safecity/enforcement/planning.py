"""Yearly inspection plans (年度监督检查计划): rows, approval, progress."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core.errors import Conflict, NotFound
from safecity.core.scope import Principal
from safecity.core.sql import code_within
from safecity.enforcement import draw as drawing
from safecity.enforcement.common import (
    APPROVERS,
    PLANNERS,
    audit_log,
    bad,
    checked_division,
    checked_int,
    clean_text,
    government_only,
    require,
    row_dict,
)
from safecity.enforcement.models import Draw, Inspection, Plan, PlanRow


def checked_share(value: Any, field: str) -> str:
    raw = str(value or "1/20").strip()
    try:
        frac = Fraction(raw.rstrip("%")) / (100 if raw.endswith("%") else 1)
    except (ValueError, ZeroDivisionError):
        raise bad(
            field, "抽查比例：应为分数或百分数", "share: a fraction or a percentage"
        ) from None
    if not drawing.DEFAULT_MIN_SHARE <= frac <= 1:
        raise bad(field, "抽查比例：应在 5%–100% 之间", "share: between 5% and 100%")
    return f"{frac.numerator}/{frac.denominator}"


def _rows(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not data:
        raise bad("rows", "计划行：至少一行", "rows: at least one row")
    out = []
    for i, r in enumerate(data):
        p = f"rows[{i}]"
        if not isinstance(r, dict):
            raise bad(p, "计划行：格式应为对象", "row: must be an object")
        kind = r.get("scope_kind") or "random"
        if kind not in ("key_units", "random"):
            raise bad(f"{p}.scope_kind", "对象范围：应为 key_units 或 random", "scope_kind")
        section = str(r.get("industry_section") or "").strip().upper() or None
        if section and not (len(section) == 1 and "A" <= section <= "T"):
            raise bad(f"{p}.industry_section", "行业门类：应为 A–T", "industry section: A–T")
        out.append(
            {
                "item": clean_text(r.get("item"), f"{p}.item", 200, "检查事项", "item", True),
                "legal_basis": clean_text(
                    r.get("legal_basis"), f"{p}.legal_basis", 300, "依据", "basis"
                ),
                "scope_kind": kind,
                "random_share": checked_share(r.get("random_share"), f"{p}.random_share"),
                "industry_section": section,
                "content": clean_text(
                    r.get("content"), f"{p}.content", 2000, "检查内容", "content"
                ),
                "method": clean_text(r.get("method"), f"{p}.method", 100, "检查方式", "method"),
                "frequency": checked_int(
                    r.get("frequency", 1), f"{p}.frequency", "频次", "frequency", 1, 12
                ),
                "per_enterprise_cap": checked_int(
                    r.get("per_enterprise_cap", 2),
                    f"{p}.per_enterprise_cap",
                    "同一企业年度上限",
                    "yearly cap per enterprise",
                    1,
                    12,
                ),
                "timing": clean_text(r.get("timing"), f"{p}.timing", 100, "时间安排", "timing"),
                "office": clean_text(r.get("office"), f"{p}.office", 100, "责任科室", "office"),
                "planned_count": checked_int(
                    r.get("planned_count", 0), f"{p}.planned_count", "计划户次", "planned", 0, 10**6
                ),
            }
        )
    return out


def create_plan(session: Session, who: Principal, data: dict[str, Any], now: datetime) -> Plan:
    require(who, PLANNERS, "当前角色无权编制检查计划", "your role may not plan inspections")
    division = checked_division(session, who, data.get("division_code"))
    year = checked_int(data.get("year"), "year", "年度", "year", 2000, 2100)
    title = (
        clean_text(data.get("title"), "title", 200, "计划名称", "title")
        or f"{year}年度监督检查计划"
    )
    rows = _rows(data.get("rows"))
    exists = session.scalar(
        select(Plan.id).where(Plan.division_code == division, Plan.year == year)
    )
    if exists:
        raise Conflict(
            f"该区划 {year} 年度计划已存在（#{exists}）", f"a {year} plan exists (#{exists})"
        )
    plan = Plan(
        division_code=division,
        year=year,
        title=title,
        status="draft",
        created_by=who.username,
        created_at=now,
    )
    session.add(plan)
    session.flush()
    session.add_all([PlanRow(plan_id=plan.id, seq=i, **r) for i, r in enumerate(rows, 1)])
    session.flush()
    audit_log(session, who, "create", "plan", plan.id, None, {**row_dict(plan), "rows": rows}, now)
    return plan


def get_plan(session: Session, who: Principal, plan_id: int) -> Plan:
    government_only(who)
    plan = session.get(Plan, plan_id)
    if plan is None or not who.covers(plan.division_code):
        raise NotFound("检查计划", "plan")
    return plan


def plan_rows(session: Session, plan: Plan) -> list[PlanRow]:
    return list(
        session.scalars(select(PlanRow).where(PlanRow.plan_id == plan.id).order_by(PlanRow.seq))
    )


def list_plans(session: Session, who: Principal) -> list[Plan]:
    government_only(who)
    return list(
        session.scalars(
            select(Plan)
            .where(code_within(Plan.division_code, who.prefix))
            .order_by(Plan.year.desc(), Plan.division_code)
        )
    )


def approve_plan(session: Session, who: Principal, plan_id: int, now: datetime) -> Plan:
    plan = get_plan(session, who, plan_id)
    require(who, APPROVERS, "只有负责人可以批准计划", "only an office head approves a plan")
    if plan.status != "draft":
        raise Conflict("计划已批准，不能重复批准", "the plan is already approved")
    plan.status, plan.approved_by, plan.approved_at = "approved", who.username, now
    session.flush()
    audit_log(
        session, who, "approve", "plan", plan.id, {"status": "draft"}, {"status": "approved"}, now
    )
    return plan


def plan_progress(session: Session, plan: Plan) -> list[dict[str, Any]]:
    """Per row: planned (entered, or the draws' selections), done and in progress."""
    rows = plan_rows(session, plan)
    ids = [r.id for r in rows]
    done: dict[tuple[int, str], int] = {}
    drawn: dict[int, int] = {}
    if ids:
        for row_id, status, n in session.execute(
            select(Inspection.plan_row_id, Inspection.status, func.count())
            .where(Inspection.plan_row_id.in_(ids))
            .group_by(Inspection.plan_row_id, Inspection.status)
        ):
            done[(row_id, status)] = n
        for row_id, n in session.execute(
            select(Draw.plan_row_id, func.sum(Draw.n_selected))
            .where(Draw.plan_row_id.in_(ids), Draw.status == "drawn")
            .group_by(Draw.plan_row_id)
        ):
            drawn[row_id] = int(n or 0)
    out = []
    for r in rows:
        planned = r.planned_count or drawn.get(r.id, 0)
        finished = done.get((r.id, "done"), 0)
        out.append(
            {
                "row_id": r.id,
                "seq": r.seq,
                "item": r.item,
                "planned": planned,
                "drawn": drawn.get(r.id, 0),
                "done": finished,
                "in_progress": done.get((r.id, "in_progress"), 0) + done.get((r.id, "planned"), 0),
                "percent": round(100 * finished / planned, 1) if planned else 0.0,
            }
        )
    return out
