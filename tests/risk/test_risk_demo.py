"""Risk demo data on the demo city: believable distribution, consistent grades, idempotent."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.registry import demo as city_demo
from safecity.risk import demo
from safecity.risk.major_hazards import hazmat
from safecity.risk.models import MajorHazard, RiskAssessment, RiskPoint
from tests.factories import NOW


@pytest.fixture
def loaded(engine: Any) -> Any:
    with Session(engine) as session:
        city_demo.load(session, city_demo.generate(now=NOW), NOW)
        counts = demo.load(session, NOW)
        session.commit()
    with Session(engine) as session:
        yield session, counts


def test_demo_city_risk_data(loaded: Any) -> None:
    # one load per database: the demo city takes a few seconds to build
    risk_points_look_like_a_city(loaded)
    major_hazards_are_graded_per_the_standard(loaded)
    demo_is_idempotent(loaded)


def risk_points_look_like_a_city(loaded: Any) -> None:
    session, counts = loaded
    total = session.scalar(select(func.count()).select_from(RiskPoint))
    assert total == counts["risk_points"] and total > 3000
    levels = Counter(session.scalars(select(RiskPoint.level)))
    assert levels["blue"] > levels["yellow"] > levels["orange"] > levels["red"] > 0
    assert levels["red"] / total < 0.04 and levels[None] == 0
    kinds = Counter(session.scalars(select(RiskPoint.owner_kind)))
    assert kinds["enterprise"] > 3000 and kinds["area"] > 0 and kinds["public_place"] > 0
    # every point's level is the one of its approved assessment
    mismatched = session.scalar(
        select(func.count())
        .select_from(RiskPoint)
        .join(RiskAssessment, RiskAssessment.id == RiskPoint.level_assessment_id)
        .where((RiskAssessment.level != RiskPoint.level) | (RiskAssessment.status != "approved"))
    )
    assert mismatched == 0
    drafts = session.scalar(select(func.count()).where(RiskAssessment.status == "draft"))
    assert drafts > 0
    assert audit.verify(session).ok


def major_hazards_are_graded_per_the_standard(loaded: Any) -> None:
    session, counts = loaded
    hazards = list(session.scalars(select(MajorHazard)))
    grades = Counter(h.level for h in hazards if h.is_major)
    assert set(grades) == {1, 2, 3, 4} and 20 <= sum(grades.values()) <= 80
    assert counts["major_hazards"] == sum(grades.values())
    assert any(not h.is_major for h in hazards)
    for h in hazards[:60]:
        again = hazmat.identify(
            {
                "units": [{"name": h.name, "kind": h.unit_kind, "substances": h.substances}],
                "exposed_population": h.exposed_population,
            }
        )["units"][0]
        assert (again["S"], again["R"], again["level"]) == (h.s_value, h.r_value, h.level)
        assert h.exposed_population == h.exposed_population_computed == h.exposure["total"]
    assert max(h.exposed_population for h in hazards) > 100


def demo_is_idempotent(loaded: Any) -> None:
    session, _counts = loaded
    before = session.scalar(select(func.count()).select_from(RiskPoint))
    assert demo.load(session, NOW) == {}
    assert session.scalar(select(func.count()).select_from(RiskPoint)) == before
