"""An enterprise's inherent risk level (企业固有风险等级): the most severe of its risk points'
approved levels and its major hazards' grades."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core.scope import Principal
from safecity.registry import service as registry
from safecity.registry.kinds import ENTERPRISE
from safecity.risk.models import MajorHazard, RiskPoint
from safecity.risk.points.service import (
    LEVEL_ORDER,
)

# Enterprise inherent level from its major hazards: grade 1/2 → red, 3 → orange, 4 → yellow.
HAZARD_GRADE_LEVEL = {1: "red", 2: "red", 3: "orange", 4: "yellow"}


ENTERPRISE_LEVEL_RULE = (
    (
        "企业固有风险等级取以下各项中最严重者：各风险点最新经审核的评价等级；重大危险源一级、二级→重大风险（红），"
        "三级→较大风险（橙），四级→一般风险（黄）。无任何已评价风险点和重大危险源时为未评定。"
    ),
    (
        "An enterprise's inherent level is the most severe of: its risk points' latest approved "
        "levels; its major hazards, grade 1 or 2 → red, grade 3 → orange, grade 4 → yellow. "
        "With neither it is not graded."
    ),
)


def enterprise_level(session: Session, principal: Principal, enterprise_id: Any) -> dict[str, Any]:
    ent = registry.get_object(session, principal, ENTERPRISE, enterprise_id)
    risk = enterprise_risks(session, [ent.id])[ent.id]
    point_counts, grade_counts = risk.points_by_level, risk.hazards_by_grade
    level = inherent_level(point_counts, grade_counts)
    return {
        "enterprise_id": ent.id,
        "name": ent.name,
        "level": level,
        "risk_points_by_level": {k: point_counts.get(k, 0) for k in LEVEL_ORDER},
        "major_hazards_by_grade": {str(g): grade_counts.get(g, 0) for g in (1, 2, 3, 4)},
        "rule": ENTERPRISE_LEVEL_RULE[0],
        "rule_en": ENTERPRISE_LEVEL_RULE[1],
    }


def inherent_level(point_levels: dict[str, int], hazard_grades: dict[int, int]) -> str | None:
    """Pure rule: the most severe of the points' levels and the hazards' mapped grades."""
    found = [lv for lv, n in point_levels.items() if n and lv in LEVEL_ORDER]
    found += [
        HAZARD_GRADE_LEVEL[g] for g, n in hazard_grades.items() if n and g in HAZARD_GRADE_LEVEL
    ]
    return min(found, key=LEVEL_ORDER.__getitem__) if found else None


@dataclass(frozen=True)
class EnterpriseRisk:
    """An enterprise's graded risk points counted by level and its major hazards (units that
    are major) counted by grade; archived and not yet graded ones are not counted."""

    points_by_level: dict[str, int] = field(default_factory=dict)
    hazards_by_grade: dict[int, int] = field(default_factory=dict)

    @property
    def level(self) -> str | None:
        """The inherent level (企业固有风险等级), or None when nothing is graded."""
        return inherent_level(self.points_by_level, self.hazards_by_grade)

    @property
    def major_hazards(self) -> int:
        return sum(self.hazards_by_grade.values())

    @property
    def top_grade(self) -> int | None:
        """The highest grade of its major hazards (1 is the highest), or None without any."""
        return min(self.hazards_by_grade) if self.hazards_by_grade else None


def enterprise_risks(session: Session, enterprise_ids: Iterable[int]) -> dict[int, EnterpriseRisk]:
    """Per enterprise id asked for (an enterprise with nothing graded included, empty), for
    another capability's rules (enforcement's supervision classes): two grouped queries per
    900 ids, never one per enterprise. Not scoped: the caller has scoped the enterprises."""
    ids = sorted(set(enterprise_ids))
    points: dict[int, dict[str, int]] = {}
    hazards: dict[int, dict[int, int]] = {}
    for chunk in (ids[i : i + 900] for i in range(0, len(ids), 900)):
        for ent_id, level, n in session.execute(
            select(RiskPoint.enterprise_id, RiskPoint.level, func.count())
            .where(
                RiskPoint.enterprise_id.in_(chunk),
                RiskPoint.archived.is_(False),
                RiskPoint.level.is_not(None),
            )
            .group_by(RiskPoint.enterprise_id, RiskPoint.level)
        ):
            points.setdefault(ent_id, {})[level] = n
        for ent_id, grade, n in session.execute(
            select(MajorHazard.enterprise_id, MajorHazard.level, func.count())
            .where(
                MajorHazard.enterprise_id.in_(chunk),
                MajorHazard.archived.is_(False),
                MajorHazard.is_major.is_(True),
                MajorHazard.level.is_not(None),
            )
            .group_by(MajorHazard.enterprise_id, MajorHazard.level)
        ):
            hazards.setdefault(ent_id, {})[grade] = n
    return {i: EnterpriseRisk(points.get(i, {}), hazards.get(i, {})) for i in ids}
