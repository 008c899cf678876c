"""Demo-city data of the risk capability, loaded by `safecity demo` after the registry: risk points
with approved LEC/matrix assessments for every enterprise, area and public-place risk points, and
hazardous-chemical units graded per GB 18218 with their computed exposure."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.core.sql import refresh_statistics
from safecity.risk.major_hazards.demo import major_hazards
from safecity.risk.models import MajorHazard, RiskPoint
from safecity.risk.points.demo import LEVEL_KEYS, area_points, enterprise_points, insert_points

SEED = 20260101
ACTOR = "demo"
Progress = Callable[[str, int, int], None]


# --------------------------------------------------------------------------- entry point


def _already_loaded(session: Session) -> bool:
    return (
        session.scalar(select(RiskPoint.id).limit(1)) is not None
        or session.scalar(select(MajorHazard.id).limit(1)) is not None
    )


def _audit(
    session: Session, points: list[dict[str, Any]], hazards: list[dict[str, Any]], now: datetime
) -> None:
    changes = [
        audit.Change(
            "risk_point",
            p["id"],
            "demo",
            None,
            {
                "code": p["code"],
                "name": p["name"],
                "owner_kind": p["owner_kind"],
                "division_code": p["division_code"],
                "level": p["level"],
                "level_assessment_id": p["level_assessment_id"],
            },
        )
        for p in points
    ]
    changes += [
        audit.Change(
            "major_hazard",
            h["id"],
            "demo",
            None,
            {
                "name": h["name"],
                "enterprise_id": h["enterprise_id"],
                "S": h["s_value"],
                "R": h["r_value"],
                "level": h["level"],
                "exposed_population": h["exposed_population"],
            },
        )
        for h in hazards
    ]
    audit.record_many(session, ACTOR, changes, now)


def load(
    session: Session, now: datetime, progress: Progress | None = None, seed: int = SEED
) -> dict[str, Any]:
    """Load this capability's demo data; a second call does nothing (idempotent)."""
    if _already_loaded(session):
        return {}
    rng = random.Random(seed)
    report = progress or (lambda label, done, total: None)
    report("风险点 / risk points", 0, 3)
    points = enterprise_points(session, rng) + area_points(session, rng)
    rows, _assessments = insert_points(session, points, now, rng)
    report("风险点 / risk points", 1, 3)
    hazards = major_hazards(session, now, rng)
    report("风险点 / risk points", 2, 3)
    _audit(session, rows, hazards, now)
    session.flush()
    for table in ("risk_points", "risk_assessments", "major_hazards"):
        refresh_statistics(session, table)
    report("风险点 / risk points", 3, 3)
    levels = {k: sum(1 for r in rows if r["level"] == k) for k in LEVEL_KEYS}
    grades = {g: sum(1 for h in hazards if h["level"] == g) for g in (1, 2, 3, 4)}
    return {
        "risk_points": len(rows),
        **{f"risk_points_{k}": v for k, v in levels.items()},
        "hazmat_units": len(hazards),
        "major_hazards": sum(1 for h in hazards if h["is_major"]),
        **{f"major_hazards_grade_{g}": n for g, n in grades.items()},
    }
