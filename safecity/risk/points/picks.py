"""Pick lists and number parsing the risk forms share, free of the web layer (kinds import them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.scope import Principal
from safecity.registry import service as registry
from safecity.registry.kinds import ENTERPRISE, GRID_CELL, PROTECTED_TARGET
from safecity.registry.models import Enterprise, GridCell
from safecity.risk.points.matrix import RiskLevel

LEVELS = {lv.key: (lv.zh, lv.en.capitalize()) for lv in RiskLevel}
GRADES = {
    1: ("一级", "Grade 1"),
    2: ("二级", "Grade 2"),
    3: ("三级", "Grade 3"),
    4: ("四级", "Grade 4"),
}
STATUS = {
    "draft": ("待审核", "Draft"),
    "approved": ("已通过", "Approved"),
    "rejected": ("已驳回", "Rejected"),
}


def enterprise_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids))).all()
    )


def enterprise_choices(session: Session, who: Principal, limit: int = 800) -> list[tuple[int, str]]:
    stmt = (
        select(Enterprise.id, Enterprise.name)
        .where(registry.scope_clause(ENTERPRISE, who), Enterprise.archived.is_(False))
        .order_by(Enterprise.is_hazchem.desc(), Enterprise.name)
        .limit(limit)
    )
    return [(i, n) for i, n in session.execute(stmt)]


def parse_number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def registry_choices(
    session: Session, who: Principal, model: Any, limit: int = 500
) -> list[tuple[int, str]]:
    """Grid cells or protected targets in scope for the form's pick lists (largest first)."""
    kind = GRID_CELL if model is GridCell else PROTECTED_TARGET
    order = model.population.desc() if model is GridCell else model.capacity.desc()
    stmt = (
        select(model.id, model.name)
        .where(registry.scope_clause(kind, who), model.archived.is_(False))
        .order_by(order, model.id)
        .limit(limit)
    )
    return [(i, n) for i, n in session.execute(stmt)]
