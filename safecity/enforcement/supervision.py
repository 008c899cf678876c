"""Supervision classes (监管类别): every enterprise's facts, its computed class, an
inspector's override with its reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core import audit, scope
from safecity.core.errors import Conflict
from safecity.core.scope import Principal, division_prefix
from safecity.core.sql import code_within
from safecity.enforcement import classes
from safecity.enforcement.common import (
    CLASS_SHAPE,
    MAX_PAGE_SIZE,
    PLANNERS,
    audit_log,
    checked_division,
    enterprise_for,
    require,
    rules_errors,
    scheme,
)
from safecity.enforcement.models import Case, SupervisionClass
from safecity.hazards import service as hd_service
from safecity.registry.models import Enterprise
from safecity.risk.points.enterprise import enterprise_risks


def enterprise_facts(
    session: Session, enterprises: list[Enterprise], now: datetime
) -> dict[int, dict[str, Any]]:
    """Each enterprise's facts for the class rules, read in a few grouped queries."""
    ids = [e.id for e in enterprises]
    out: dict[int, dict[str, Any]] = {}
    risks = enterprise_risks(session, ids)
    hidden_dangers = hd_service.enterprise_counts(session, ids, now)  # (open major, overdue)
    penalised: set[int] = set()
    for chunk in (ids[i : i + 900] for i in range(0, len(ids), 900)):
        penalised.update(
            session.scalars(
                select(Case.enterprise_id).where(
                    Case.enterprise_id.in_(chunk),
                    Case.decided_at >= now - timedelta(days=365),
                    Case.decided_fine > 0,
                )
            )
        )
    grade_name = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
    for e in enterprises:
        risk = risks[e.id]
        code = (e.industry_code or "").lstrip("ABCDEFGHIJKLMNOPQRST")
        out[e.id] = {
            "industry_section": e.industry_section or None,
            "industry_division": code[:2] if len(code) >= 2 and code[:2].isdigit() else None,
            "risk_level": risk.level,
            "mhi_count": risk.major_hazards,
            "mhi_top_grade": grade_name[risk.top_grade] if risk.top_grade is not None else None,
            "open_major_hazards": hidden_dangers.get(e.id, (0, 0))[0],
            "overdue_hazards": hidden_dangers.get(e.id, (0, 0))[1],
            # A penalty decided in the last year marks the enterprise C until a credit feed
            # (信用等级) is connected; unknown credit is left out of the rules.
            "credit": "C" if e.id in penalised else None,
        }
    return out


def classify(
    session: Session, who: Principal, now: datetime, division: str | None = None
) -> dict[str, int]:
    """(Re)compute the class of every enterprise in the caller's scope; overrides are kept."""
    require(who, PLANNERS, "当前角色无权评定监管类别", "your role may not classify")
    prefix = division_prefix(checked_division(session, who, division))
    ents = list(
        session.scalars(
            select(Enterprise).where(
                code_within(Enterprise.division_code, prefix), Enterprise.archived.is_(False)
            )
        )
    )
    facts = enterprise_facts(session, ents, now)
    existing = {
        s.enterprise_id: s
        for s in session.scalars(
            select(SupervisionClass).where(code_within(SupervisionClass.division_code, prefix))
        )
    }
    sch = scheme()
    changes: list[audit.Change] = []
    counts: dict[str, int] = {}
    for e in ents:
        fact = {k: v for k, v in facts[e.id].items() if v is not None}
        with rules_errors():
            result = sch.classify(fact)
        row = existing.get(e.id)
        before = None if row is None else {"class": row.class_key, "computed": row.computed_class}
        if row is None:
            row = SupervisionClass(enterprise_id=e.id)
            session.add(row)
        row.division_code, row.industry_code = e.division_code, e.industry_code
        row.facts = fact
        row.computed_class = result.class_key
        if not row.override_reason:
            row.class_key = result.class_key
            row.inspections_per_year = result.inspections_per_year
            row.explanation_zh, row.explanation_en = result.explanation_zh, result.explanation_en
        row.updated_at = now
        counts[row.class_key] = counts.get(row.class_key, 0) + 1
        after = {"class": row.class_key, "computed": row.computed_class}
        if before != after:
            changes.append(audit.Change("enf_class", e.id, "classify", before, after))
    session.flush()
    audit.record_many(session, who.username, changes, now)
    return dict(sorted(counts.items()))


def override_class(
    session: Session, who: Principal, enterprise_id: Any, to_class: str, reason: str, now: datetime
) -> SupervisionClass:
    """An inspector's override: the new class and its frequency, with the reason kept."""
    ent = enterprise_for(session, who, enterprise_id)
    require(who, PLANNERS, "当前角色无权调整监管类别", "your role may not override a class")
    row = session.scalar(select(SupervisionClass).where(SupervisionClass.enterprise_id == ent.id))
    if row is None:
        raise Conflict("该企业尚未评定监管类别，请先评定", "classify the enterprise first")
    sch = scheme()
    computed = classes.Classification(
        row.computed_class, sch.classes[row.computed_class][2], None, (), "", ""
    )
    with rules_errors():
        result = classes.override(computed, sch, str(to_class or ""), str(reason or ""))
    before = {"class": row.class_key, "override_reason": row.override_reason}
    row.class_key, row.inspections_per_year = result.class_key, result.inspections_per_year
    row.override_reason, row.overridden_by = result.override_reason, who.username
    row.explanation_zh, row.explanation_en = result.explanation_zh, result.explanation_en
    row.updated_at = now
    session.flush()
    audit_log(
        session,
        who,
        "override",
        "class",
        ent.id,
        before,
        {"class": row.class_key, "override_reason": row.override_reason},
        now,
    )
    return row


def list_classes(
    session: Session, who: Principal, class_key: str | None = None, page: int = 1, size: int = 50
) -> tuple[list[SupervisionClass], int]:
    stmt = select(SupervisionClass).where(scope.clause(who, CLASS_SHAPE))
    if class_key:
        stmt = stmt.where(SupervisionClass.class_key == class_key)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    size = max(1, min(size, MAX_PAGE_SIZE))
    rows = session.scalars(
        stmt.order_by(SupervisionClass.class_key, SupervisionClass.enterprise_id)
        .limit(size)
        .offset((max(1, page) - 1) * size)
    )
    return list(rows), total


def class_counts(session: Session, who: Principal) -> dict[str, int]:
    rows = session.execute(
        select(SupervisionClass.class_key, func.count())
        .where(scope.clause(who, CLASS_SHAPE))
        .group_by(SupervisionClass.class_key)
    )
    return {k: n for k, n in rows}


def class_of(session: Session, enterprise_id: int) -> SupervisionClass | None:
    return session.scalar(
        select(SupervisionClass).where(SupervisionClass.enterprise_id == enterprise_id)
    )
