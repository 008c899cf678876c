"""Second reports of the same event: type, distance and time limits at their boundaries.

Distances by hand: one degree of latitude on the mean-radius sphere is
6,371,008.8 m × π / 180 = 111,195.08 m, so 0.0044° = 489.26 m and 0.0045° = 500.38 m.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from safecity.response.duplicates import Report, find_candidates, haversine_m, match
from safecity.response.errors import ResponseInputError

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 7, 1, 14, 0, tzinfo=CST)
LAT, LON = 37.4638, 121.4479  # Yantai
GAS = "accident_disaster.production_safety"


def rep(id_: str, dlat: float = 0.0, minutes: float = 0.0, type_key: str = GAS) -> Report:
    return Report(id_, type_key, LAT + dlat, LON, T0 + timedelta(minutes=minutes))


def test_haversine_one_degree_of_latitude() -> None:
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195.08, abs=0.01)
    # along a parallel at 60° N a degree of longitude is half as long (cos 60° = 0.5)
    assert haversine_m(60, 0, 60, 1) == pytest.approx(111_195.08 / 2, rel=1e-4)


@pytest.mark.parametrize(
    ("dlat", "is_candidate"),
    [
        (0.0044, True),  # 489.26 m ≤ 500 m
        (0.0045, False),  # 500.38 m > 500 m
    ],
)
def test_distance_limit_default_500_m(dlat: float, is_candidate: bool) -> None:
    assert (match(rep("b", dlat), rep("a")) is not None) is is_candidate


def test_distance_limit_is_inclusive() -> None:
    d = haversine_m(LAT, LON, LAT + 0.0045, LON)
    assert match(rep("b", 0.0045), rep("a"), max_distance_m=d) is not None
    assert match(rep("b", 0.0045), rep("a"), max_distance_m=d - 0.01) is None


@pytest.mark.parametrize(
    ("minutes", "is_candidate"),
    [
        (30, True),  # exactly 30 min: within ("以内")
        (30 + 1 / 60, False),  # 30 min 1 s
        (-30, True),  # the earlier report may come second in the list
    ],
)
def test_time_limit_default_30_minutes(minutes: float, is_candidate: bool) -> None:
    assert (match(rep("b", minutes=minutes), rep("a")) is not None) is is_candidate


def test_type_must_be_the_same_or_a_refinement() -> None:
    typhoon = rep("b", type_key="natural_disaster.meteorological.typhoon")
    weather = rep("a", type_key="natural_disaster.meteorological")
    c = match(typhoon, weather)
    assert c is not None and not c.same_type
    assert match(rep("b"), rep("a", type_key="natural_disaster.earthquake")) is None
    # siblings are not refinements of each other
    assert match(typhoon, rep("a", type_key="natural_disaster.meteorological.snow")) is None


def test_candidates_best_first_and_never_itself() -> None:
    new = rep("new", minutes=0)
    existing = [
        rep("far_late", 0.004, 25),
        rep("close", 0.0001, 1),
        new,
        rep("other_type", type_key="public_health.infectious_disease"),
        rep("too_far", 0.01),
    ]
    found = find_candidates(new, existing)
    assert [c.existing_id for c in found] == ["close", "far_late"]
    # score = 1 − ¼·d/500 − ¼·t/30: close ≈ 1 − ¼·11.1/500 − ¼·1/30 = 0.9861
    assert found[0].score == pytest.approx(0.9861, abs=1e-4)
    assert "建议合并" in found[0].as_dict()["explanation_zh"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"lat": 91.0}, "lat"),
        ({"lon": float("nan")}, "lon"),
        ({"type_key": "fire"}, "type"),
        ({"at": datetime(2024, 7, 1, 14, 0)}, "at"),
    ],
)
def test_bad_reports_are_refused(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"id": "x", "type_key": GAS, "lat": LAT, "lon": LON, "at": T0}
    with pytest.raises(ResponseInputError) as err:
        Report(**(args | kwargs))  # type: ignore[arg-type]
    assert [e.field for e in err.value.errors] == [field]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ResponseInputError) as err:
        match(rep("b"), rep("a"), max_distance_m=0, max_minutes=-5)
    assert [e.field for e in err.value.errors] == ["max_distance_m", "max_minutes"]
