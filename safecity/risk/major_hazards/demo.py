"""Demo-city hazardous-chemical units: storage and production units of the hazchem enterprises,
graded per GB 18218 with their computed exposure to give every grade."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from safecity.registry.models import Enterprise
from safecity.risk.major_hazards import exposure, hazmat, service
from safecity.risk.models import MajorHazard

ACTOR = "demo"


# Unit profiles: (name, kind, [(substance, share of the unit's base quantity in t)]).
PROFILES: dict[str, tuple[tuple[str, str, tuple[tuple[str, float], ...]], ...]] = {
    "chemical": (
        ("液氯储罐区", "storage", (("液氯", 1.0),)),
        ("液氨罐区", "storage", (("液氨", 1.0),)),
        ("甲醇储罐区", "storage", (("甲醇", 1.0),)),
        ("苯及甲苯储罐区", "storage", (("苯", 0.4), ("甲苯", 0.6))),
        ("环氧乙烷储罐区", "storage", (("环氧乙烷", 1.0),)),
        ("氯乙烯合成装置", "production", (("氯乙烯", 0.6), ("液氯", 0.1), ("氯化氢(无水)", 0.3))),
        ("加氢裂化装置", "production", (("氢", 0.1), ("汽油", 0.9))),
        ("乙烯裂解装置", "production", (("乙烯", 0.7), ("液化石油气", 0.3))),
        ("溶剂储罐区", "storage", (("丙酮", 0.4), ("乙酸乙酯", 0.3), ("乙醇", 0.3))),
        ("硫化氢回收装置", "production", (("硫化氢", 0.3), ("天然气", 0.7))),
    ),
    "port": (
        ("港区油品储罐区", "storage", (("汽油", 1.0),)),
        ("液化石油气码头储罐", "storage", (("液化石油气", 1.0),)),
        ("甲醇中转罐区", "storage", (("甲醇", 1.0),)),
    ),
    "gas": (
        ("液化石油气储配站", "storage", (("液化石油气", 1.0),)),
        ("LNG应急调峰储备站", "storage", (("天然气", 1.0),)),
    ),
}
# How many units aim at each grade; the rest stay below S = 1 (identified, not major).
# Table 1 substances whose Table 4 β needs the hazard category (汽油: 易燃液体类别2 → W5.3).
CATEGORY = {"汽油": "W5.3"}
GRADE_PLAN = ((1, 4), (2, 7), (3, 14), (4, 22))
R_TARGET = {1: (115.0, 260.0), 2: (56.0, 92.0), 3: (13.0, 44.0), 4: (None, 8.5)}


@dataclass
class _Unit:
    enterprise_id: int
    enterprise_scale: str
    division_code: str
    name: str
    kind: str
    mix: tuple[tuple[str, float], ...]
    lon: float
    lat: float
    boundary: dict[str, Any]


def _unit_candidates(session: Session, rng: random.Random) -> list[_Unit]:
    stmt = (
        select(
            Enterprise.id,
            Enterprise.scale,
            Enterprise.division_code,
            Enterprise.supervision_category,
            Enterprise.industry_code,
            Enterprise.lon,
            Enterprise.lat,
        )
        .where(Enterprise.archived.is_(False), Enterprise.lon.is_not(None))
        .order_by(Enterprise.id)
    )
    units: list[_Unit] = []
    for eid, scale, division, category, industry, lon, lat in session.execute(stmt):
        if category == "hazchem":
            profile, count = "chemical", {"large": 3, "medium": 2, "small": 1}.get(scale, 0)
        elif industry in ("55", "59") and scale in ("large", "medium") and rng.random() < 0.5:
            profile, count = "port", 1
        elif industry == "45" and rng.random() < 0.35:
            profile, count = "gas", 1
        else:
            continue
        for name, kind, mix in rng.sample(PROFILES[profile], min(count, len(PROFILES[profile]))):
            ulon, ulat = exposure.local_offset(
                lon, lat, rng.uniform(-250, 250), rng.uniform(-250, 250)
            )
            w, h = rng.uniform(40, 90), rng.uniform(40, 90)
            units.append(
                _Unit(
                    eid,
                    scale,
                    division,
                    name,
                    kind,
                    mix,
                    round(ulon, 6),
                    round(ulat, 6),
                    exposure.rectangle(ulon, ulat, -w, -h, w, h),
                )
            )
    return units


def _substance(name: str, tonnes: float) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "quantity_t": tonnes}
    if name in CATEGORY:
        row["category"] = CATEGORY[name]
    return row


def _beta_sum(unit: _Unit) -> tuple[float, float]:
    """(Σ βᵢ·qᵢ/Qᵢ, Σ qᵢ/Qᵢ) for one tonne of the unit's mix (grading is linear in quantity)."""
    big = 1000.0
    payload = {
        "units": [
            {
                "name": unit.name,
                "kind": unit.kind,
                "substances": [_substance(n, share * big) for n, share in unit.mix],
            }
        ],
        "exposed_population": 0,
    }
    result = hazmat.identify(payload)["units"][0]
    return (
        sum(t["beta_q_over_Q"] for t in result["terms"]) / big,
        sum(t["q_over_Q"] for t in result["terms"]) / big,
    )


S_MAX = 30.0  # no unit holds more than 30 × its critical quantity: big, but real, inventories


def _tonnes_for(
    grade: int | None, alpha: float, beta_per_t: float, s_per_t: float, rng: random.Random
) -> float:
    if grade is None:
        return rng.uniform(0.15, 0.85) / s_per_t
    lo, hi = R_TARGET[grade]
    if grade == 4:
        # major (S ≥ 1.05) yet R < 10: between the S floor and the R ceiling
        low = 1.05 / s_per_t
        high = max(low, (hi or 8.5) / (alpha * beta_per_t))
        return rng.uniform(low, high)
    top = min(hi, _max_r(alpha, beta_per_t, s_per_t))  # type: ignore[type-var]
    return rng.uniform(lo, max(lo, top)) / (alpha * beta_per_t)  # type: ignore[operator]


def _max_r(alpha: float, beta_per_t: float, s_per_t: float) -> float:
    """The largest R a unit reaches within S_MAX: grade 1 needs toxic gases, not solvents."""
    return alpha * beta_per_t / s_per_t * S_MAX


@dataclass
class _Graded:
    unit: _Unit
    found: exposure.Exposure | None
    people: int
    alpha: float
    beta_per_t: float
    s_per_t: float
    grade: int | None = None


def _assign_grades(graded: list[_Graded]) -> None:
    """Give each planned grade to the next unit that can reach it within S_MAX."""
    free = list(graded)
    for grade, count in GRADE_PLAN:
        lo = R_TARGET[grade][0] or 0.0
        for _ in range(count):
            pick = next(
                (
                    g
                    for g in free
                    if grade == 4 or _max_r(g.alpha, g.beta_per_t, g.s_per_t) >= lo * 1.05
                ),
                None,
            )
            if pick is None:
                break
            pick.grade = grade
            free.remove(pick)


def _round_t(value: float) -> float:
    if value >= 100:
        return float(round(value))
    return round(value, 1) if value >= 1 else round(value, 2)


def major_hazards(session: Session, now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    units = _unit_candidates(session, rng)
    order = {"large": 0, "medium": 1, "small": 2}
    units.sort(key=lambda u: (order.get(u.enterprise_scale, 3), rng.random()))
    graded = []
    for unit in units:
        found = service.compute_exposure(session, unit.lon, unit.lat, unit.boundary)
        people = found.total if found else 0
        alpha = float(hazmat.alpha_for_population(people).alpha)
        graded.append(_Graded(unit, found, people, alpha, *_beta_sum(unit)))
    _assign_grades(graded)
    rows: list[dict[str, Any]] = []
    for g in graded:
        unit, found, people = g.unit, g.found, g.people
        tonnes = _tonnes_for(g.grade, g.alpha, g.beta_per_t, g.s_per_t, rng)
        substances = [_substance(n, _round_t(tonnes * share)) for n, share in unit.mix]
        result = hazmat.identify(
            {
                "units": [{"name": unit.name, "kind": unit.kind, "substances": substances}],
                "exposed_population": people,
            }
        )
        u = result["units"][0]
        rows.append(
            {
                "enterprise_id": unit.enterprise_id,
                "name": unit.name,
                "unit_kind": unit.kind,
                "substances": substances,
                "division_code": unit.division_code,
                "lon": unit.lon,
                "lat": unit.lat,
                "boundary": unit.boundary,
                "s_value": u["S"],
                "is_major": u["is_major"],
                "r_value": u["R"],
                "level": u["level"],
                "alpha": result["alpha"],
                "exposed_population": people,
                "exposed_population_computed": people,
                "exposed_override_reason": None,
                "exposure": found.as_dict() if found else None,
                "result": {
                    **u,
                    "alpha_band": result["alpha_band"],
                    "exposed_population": people,
                    "standard": result["standard"],
                },
                "assessed_at": now - timedelta(days=rng.randint(5, 120)),
                "archived": False,
            }
        )
    if rows:
        ids = list(
            session.scalars(
                insert(MajorHazard).returning(MajorHazard.id, sort_by_parameter_order=True), rows
            )
        )
        for row, new_id in zip(rows, ids, strict=True):
            row["id"] = new_id
    return rows
