"""enterprise_risks: for many enterprises at once, each one's graded risk points by level and its
major hazards by grade (how many, the highest), for another capability's rules (enforcement's
supervision classes) — archived, ungraded and non-major units left out, one query per table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from safecity.risk.models import MajorHazard, RiskPoint
from safecity.risk.points.enterprise import EnterpriseRisk, enterprise_risks
from tests.conftest import NOW


def _point(ent: int, level: str | None, archived: bool = False) -> RiskPoint:
    return RiskPoint(
        name="储罐区",
        owner_kind="enterprise",
        enterprise_id=ent,
        division_code="370602",
        level=level,
        archived=archived,
        created_at=NOW,
        updated_at=NOW,
    )


def _unit(ent: int, grade: int | None, is_major: bool = True, archived: bool = False) -> Any:
    return MajorHazard(
        enterprise_id=ent,
        name="液氯储罐区",
        unit_kind="storage",
        substances=[],
        division_code="370602",
        s_value=2.0 if is_major else 0.5,
        is_major=is_major,
        r_value=60.0 if grade else None,
        level=grade,
        alpha=1.0,
        exposed_population=0,
        exposed_population_computed=0,
        result={},
        assessed_at=NOW,
        archived=archived,
    )


def test_risk_points_and_major_hazards_counted_per_enterprise(session: Session) -> None:
    session.add_all(
        [
            # 1: two yellow, one blue, a red one archived, one not graded; grades 3, 3 and 2,
            # an archived grade 1, a unit below the threshold and one not graded
            _point(1, "yellow"),
            _point(1, "yellow"),
            _point(1, "blue"),
            _point(1, "red", archived=True),
            _point(1, None),
            _unit(1, 3),
            _unit(1, 3),
            _unit(1, 2),
            _unit(1, 1, archived=True),
            _unit(1, 4, is_major=False),
            _unit(1, None),
            # 2: risk points only; 3: a major hazard only
            _point(2, "orange"),
            _unit(3, 4),
            # 4: only what is left out
            _point(4, "red", archived=True),
            _unit(4, 1, archived=True),
            _unit(4, 2, is_major=False),
        ]
    )
    session.flush()
    statements: list[str] = []
    bind = session.get_bind()

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(bind, "before_cursor_execute", count)
    try:
        risks = enterprise_risks(session, [1, 2, 3, 4, 5])
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert len(statements) == 2  # one grouped query per table, not one per enterprise

    assert risks[1] == EnterpriseRisk({"yellow": 2, "blue": 1}, {3: 2, 2: 1})
    assert (risks[1].level, risks[1].major_hazards, risks[1].top_grade) == ("red", 3, 2)
    assert risks[2] == EnterpriseRisk({"orange": 1}, {})
    assert (risks[2].level, risks[2].major_hazards, risks[2].top_grade) == ("orange", 0, None)
    assert risks[3] == EnterpriseRisk({}, {4: 1})
    assert (risks[3].level, risks[3].major_hazards, risks[3].top_grade) == ("yellow", 1, 4)
    for ent in (4, 5):  # nothing counted, and an unknown id: asked for, so answered, empty
        assert risks[ent] == EnterpriseRisk()
        assert (risks[ent].level, risks[ent].major_hazards, risks[ent].top_grade) == (None, 0, None)
    assert enterprise_risks(session, []) == {}


def test_many_enterprises_are_read_in_chunks(session: Session) -> None:
    """More ids than one IN list holds (900 a chunk): every enterprise is still answered."""
    session.add_all([_point(5, "blue"), _point(1500, "red"), _unit(1500, 1)])
    session.flush()
    risks = enterprise_risks(session, range(1, 2001))
    assert len(risks) == 2000
    assert risks[5].points_by_level == {"blue": 1}
    assert risks[1500] == EnterpriseRisk({"red": 1}, {1: 1})
    assert sum(r.major_hazards for r in risks.values()) == 1
