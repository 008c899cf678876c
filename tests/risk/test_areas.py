"""Area risk rule (区域风险等级): hand-computed cases at the rule's boundaries, explanations,
per-city configuration and the influence-radius search."""

from __future__ import annotations

import math

import numpy as np
import pytest

from safecity.risk.areas import rules as areas
from safecity.risk.areas.rules import DEFAULT_RULE, AreaRule, AreaRuleError

# points: counts by level (red, orange, yellow, blue); hazards: counts by grade (一级…四级)


def grade(
    points: list[int],
    hazards: list[int] | None = None,
    vulnerable: int = 0,
    raise_steps: int = 0,
    rule: AreaRule = DEFAULT_RULE,
) -> dict:
    g = areas.grade_areas(
        np.array([points]),
        np.array([hazards or [0, 0, 0, 0]]),
        np.array([vulnerable]),
        np.array([raise_steps]),
        rule,
    )
    return {
        "score": float(g.score[0]),
        "score_level": areas.LEVELS[int(g.score_level[0])],
        "floor": areas.LEVELS[int(g.floor_level[0])],
        "level": areas.LEVELS[int(g.level[0])],
    }


@pytest.mark.parametrize(
    ("points", "hazards", "vulnerable", "score", "score_level", "level"),
    [
        # nothing in the area: blue
        ([0, 0, 0, 0], None, 0, 0.0, "blue", "blue"),
        # 9 × 0.3 = 2.7 < 3 → blue; 10 × 0.3 = 3.0 meets the yellow threshold exactly
        ([0, 0, 0, 9], None, 0, 2.7, "blue", "blue"),
        ([0, 0, 0, 10], None, 0, 3.0, "yellow", "yellow"),
        # one yellow point: score 1.5 is blue, the highest-level floor makes the area yellow
        ([0, 0, 1, 0], None, 0, 1.5, "blue", "yellow"),
        # 6 × 1.5 + 3 × 0.3 = 9.9 < 10 → yellow; one more blue point: 10.2 → orange
        ([0, 0, 6, 3], None, 0, 9.9, "yellow", "yellow"),
        ([0, 0, 6, 4], None, 0, 10.2, "orange", "orange"),
        # 5 vulnerable targets × 2 = 10.0 exactly → orange; 4 × 2 + 6 × 0.3 = 9.8 → yellow
        ([0, 0, 0, 0], None, 5, 10.0, "orange", "orange"),
        ([0, 0, 0, 6], None, 4, 9.8, "yellow", "yellow"),
        # 6 × 4 + 3 × 1.5 + 4 × 0.3 = 29.7 → orange; 6 × 4 + 4 × 1.5 = 30.0 → red (score alone)
        ([0, 6, 3, 4], None, 0, 29.7, "orange", "orange"),
        ([0, 6, 4, 0], None, 0, 30.0, "red", "red"),
        # one red point: score 10 is orange, the floor makes the area red
        ([1, 0, 0, 0], None, 0, 10.0, "orange", "red"),
        # major hazards: 四级 3 → yellow; 三级 5 → yellow by score, orange by floor;
        # 二级 8 → red by floor; 一级 12 → red by floor
        ([0, 0, 0, 0], [0, 0, 0, 1], 0, 3.0, "yellow", "yellow"),
        ([0, 0, 0, 0], [0, 0, 1, 0], 0, 5.0, "yellow", "orange"),
        ([0, 0, 0, 0], [0, 1, 0, 0], 0, 8.0, "yellow", "red"),
        ([0, 0, 0, 0], [1, 0, 0, 0], 0, 12.0, "orange", "red"),
        # everything together: 10 + 2×4 + 1.5 + 0.3 + 5 + 3 + 2×2 = 31.8 → red
        ([1, 2, 1, 1], [0, 0, 1, 1], 2, 31.8, "red", "red"),
    ],
)
def test_default_rule_hand_computed(
    points: list[int],
    hazards: list[int] | None,
    vulnerable: int,
    score: float,
    score_level: str,
    level: str,
) -> None:
    got = grade(points, hazards, vulnerable)
    assert got["score"] == pytest.approx(score, abs=1e-9)
    assert got["score_level"] == score_level
    assert got["level"] == level


def test_dynamic_raise_steps_and_cap() -> None:
    assert grade([0, 0, 1, 0], raise_steps=1)["level"] == "orange"
    assert grade([0, 0, 1, 0], raise_steps=2)["level"] == "red"
    assert grade([1, 0, 0, 0], raise_steps=1)["level"] == "red"  # red stays red
    assert grade([0, 0, 0, 0], raise_steps=1)["level"] == "yellow"  # blue + 1 step


def test_signals_combine_max_by_default_sum_when_configured() -> None:
    idx = np.array([0, 0, 0, 1, -1])  # three signals in area 0, one in area 1, one outside
    steps = np.array([1, 1, 0, 1, 3])
    assert areas.combine_raise(idx, steps, 3, DEFAULT_RULE).tolist() == [1, 1, 0]
    summing = AreaRule.from_dict({"signal_combine": "sum", "max_raise": 3})
    assert areas.combine_raise(idx, steps, 3, summing).tolist() == [2, 1, 0]
    capped = AreaRule.from_dict({"signal_combine": "sum", "max_raise": 1})
    assert areas.combine_raise(idx, steps, 3, capped).tolist() == [1, 1, 0]


def test_signal_steps_of_default_rule() -> None:
    assert DEFAULT_RULE.signal_raise("alarm", "red") == 1
    assert DEFAULT_RULE.signal_raise("alarm", "orange") == 0
    assert DEFAULT_RULE.signal_raise("hidden_danger_overdue", "major") == 1
    assert DEFAULT_RULE.signal_raise("hidden_danger_overdue", "general") == 0
    assert DEFAULT_RULE.signal_raise("unknown", "red") == 0


def test_city_rule_overrides_floors_and_thresholds() -> None:
    # A city that wants three red points for a red area: one red point is then orange.
    rule = AreaRule.from_dict(
        {"floors": {"points": {"red": 3}, "hazards": {"2": "orange"}}, "thresholds": {"red": 40}}
    )
    assert rule.point_floors == (3, 1, 1) and rule.hazard_floors == (0, 1, 1, 2)
    assert grade([1, 0, 0, 0], rule=rule)["level"] == "orange"
    assert grade([2, 0, 0, 0], rule=rule)["level"] == "orange"  # 20 < 40
    assert grade([3, 0, 0, 0], rule=rule)["level"] == "red"
    assert grade([0, 0, 0, 0], [0, 1, 0, 0], rule=rule)["level"] == "orange"
    # A grade mapped to null imposes no floor: 四级 alone scores 3 → yellow by score only.
    none = AreaRule.from_dict({"floors": {"hazards": {"3": None}}})
    assert grade([0, 0, 0, 0], [0, 0, 1, 0], rule=none)["level"] == "yellow"
    # A point floor of 0 disables it: one yellow point (1.5) stays blue.
    off = AreaRule.from_dict({"floors": {"points": {"yellow": 0}}})
    assert grade([0, 0, 1, 0], rule=off)["level"] == "blue"
    # as_dict round-trips
    assert AreaRule.from_dict(rule.as_dict()) == AreaRule.from_dict(
        {**rule.as_dict(), "source": rule.source}
    )


@pytest.mark.parametrize(
    ("cfg", "field"),
    [
        ({"thresholds": {"red": 5, "orange": 10}}, "thresholds"),
        ({"point_weights": {"red": -1}}, "point_weights.red"),
        ({"point_weights": {"purple": 1}}, "point_weights"),
        ({"hazard_weights": {"5": 1}}, "hazard_weights"),
        ({"vulnerable_weight": "two"}, "vulnerable_weight"),
        ({"floors": {"points": {"red": 1.5}}}, "floors.points.red"),
        ({"floors": {"hazards": {"1": "purple"}}}, "floors.hazards.1"),
        ({"floors": {"walls": {}}}, "floors"),
        ({"signal_combine": "avg"}, "signal_combine"),
        ({"max_raise": -1}, "max_raise"),
        ({"signal_steps": {"alarm": {"red": True}}}, "signal_steps.alarm.red"),
        ({"colour": "red"}, "area_rule"),
        ([1, 2], "area_rule"),
    ],
)
def test_bad_rule_is_rejected_naming_the_field(cfg: object, field: str) -> None:
    with pytest.raises(AreaRuleError) as err:
        AreaRule.from_dict(cfg)  # type: ignore[arg-type]
    fields = [f for f, _zh, _en in err.value.errors]
    assert field in fields
    zh = [z for _f, z, _e in err.value.errors]
    assert all(zh)


def test_explanation_lists_contributions_floor_and_signals() -> None:
    out = areas.explain_area(
        [1, 0, 2, 0], [0, 0, 1, 0], 1, [{"source": "alarm", "source_ref": "A-1", "raise_steps": 1}]
    )
    # 10 + 2 × 1.5 + 5 + 2 = 20 → orange by score, red by floor, raise capped at red
    assert out["score"] == 20.0
    assert (out["score_level"], out["floor_level"], out["base_level"], out["level"]) == (
        "orange",
        "red",
        "red",
        "red",
    )
    assert out["raise_steps"] == 1
    assert [(c["kind"], c["class"], c["count"], c["score"]) for c in out["contributions"]] == [
        ("risk_points", "red", 1, 10.0),
        ("risk_points", "yellow", 2, 3.0),
        ("major_hazards", 3, 1, 5.0),
        ("vulnerable_targets", None, 1, 2.0),
    ]
    floors = [(n["floor"], n["source"]) for n in out["hard_rules"]]
    assert ("red", "risk_points") in floors and ("orange", "major_hazards") in floors
    assert out["summary_zh"] == (
        "综合得分 20（红色风险点1×10＋黄色风险点2×1.5＋三级重大危险源1×5＋"
        "重大危险源影响范围内的脆弱性目标1×2），按得分为橙色（较大风险），"
        "按就高原则提升为红色（重大风险），动态信号上调 1 级，最终为红色（重大风险）。"
    )
    assert out["summary_en"].startswith("Score 20 (1 red risk points × 10")
    assert out["signals"][0]["source_ref"] == "A-1"
    assert out["rule"]["thresholds"] == {"red": 30.0, "orange": 10.0, "yellow": 3.0}


def test_explanation_of_an_empty_area() -> None:
    out = areas.explain_area([0, 0, 0, 0], [0, 0, 0, 0], 0)
    assert out["level"] == "blue" and out["contributions"] == [] and out["hard_rules"] == []
    assert "区域内无风险源" in out["summary_zh"]


def test_haversine_one_degree_of_latitude() -> None:
    # 2π × 6,371,008.8 m / 360 = 111,195.08 m
    assert float(areas.haversine_m(121.0, 37.0, 121.0, 38.0)) == pytest.approx(111_195.08, abs=0.01)


def _north(lon: float, lat: float, metres: float) -> tuple[float, float]:
    return lon, lat + math.degrees(metres / areas.EARTH_RADIUS_M)


def _east(lon: float, lat: float, metres: float) -> tuple[float, float]:
    return lon + math.degrees(metres / areas.EARTH_RADIUS_M / math.cos(math.radians(lat))), lat


def test_nearest_within_radius_boundaries() -> None:
    hazards = np.array([[121.40, 37.50], [121.50, 37.50]])
    radius = np.array([500.0, 1000.0])
    targets = np.array(
        [
            _north(121.40, 37.50, 499),  # inside the 500 m of hazard 0
            _north(121.40, 37.50, 501),  # outside it
            _east(121.50, 37.50, 999),  # inside the 1,000 m of hazard 1 (east-west at 37.5°N)
            _east(121.50, 37.50, 1001),  # outside it
            (121.45, 37.50),  # between both, far from each
        ]
    )
    best, dist = areas.nearest_within(targets, hazards, radius)
    assert best.tolist() == [0, -1, 1, -1, -1]
    assert dist[0] == pytest.approx(499, abs=0.5) and dist[2] == pytest.approx(999, abs=1.0)
    assert np.isnan(dist[1])


def test_nearest_within_picks_the_nearest_reaching_source() -> None:
    # Source 0 is nearer but its radius does not reach; source 1 is farther and reaches.
    target = np.array([_north(121.40, 37.50, 600)])
    sources = np.array([[121.40, 37.50], list(_north(121.40, 37.50, 1500))])
    best, dist = areas.nearest_within(target, sources, np.array([500.0, 1000.0]))
    assert best.tolist() == [1] and dist[0] == pytest.approx(900, abs=1.0)


def test_count_matrix_and_assign_by_key() -> None:
    m = areas.count_matrix(np.array([0, 0, 1, -1, 2]), np.array([0, 3, 1, 0, 2]), 3)
    assert m.tolist() == [[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]]
    keys = np.array([30, 10, 20])
    order = np.argsort(keys)
    got = areas.assign_by_key(np.array([10, 20, 99, 30]), keys[order], order)
    assert got.tolist() == [1, 2, -1, 0]


# ---------------------------------------------------------------- streets and districts (step 5)


def aggregate(
    cells: list[int],
    hazards: list[int] | None = None,
    raise_steps: int = 0,
    rule: AreaRule = DEFAULT_RULE,
    points: list[int] | None = None,
) -> str:
    g = areas.grade_aggregates(
        np.array([cells]),
        np.array([points or [0, 0, 0, 0]]),
        np.array([hazards or [0, 0, 0, 0]]),
        np.array([0]),
        np.array([raise_steps]),
        rule,
    )
    return areas.LEVELS[int(g.level[0])]


@pytest.mark.parametrize(
    ("cells", "level"),
    [
        # cells by colour (red, orange, yellow, blue)
        ([1, 0, 0, 9], "red"),  # 1 of 10 = 10 %: the red boundary counts
        ([1, 0, 0, 19], "blue"),  # 1 of 20 = 5 %: not red, 5 % < 25 %, 5 % < 40 %
        ([1, 3, 0, 16], "blue"),  # red + orange 4 of 20 = 20 % < 25 %; with yellow 20 % < 40 %
        ([1, 4, 0, 15], "orange"),  # red + orange 5 of 20 = 25 %: the orange boundary counts
        ([0, 0, 4, 6], "yellow"),  # 4 of 10 = 40 %: the yellow boundary counts
        ([0, 0, 3, 7], "blue"),  # 30 % < 40 %
        ([0, 1, 3, 6], "yellow"),  # orange 10 % < 25 %, red + orange + yellow 40 %
        ([0, 0, 39, 61], "blue"),  # 39 % < 40 %
        ([9, 16, 0, 75], "orange"),  # 9 % red is not red; red + orange 25 % is orange
        ([0, 0, 0, 0], "blue"),  # no cells and nothing else: the point rule gives blue
    ],
)
def test_aggregate_by_cell_shares_hand_computed(cells: list[int], level: str) -> None:
    assert aggregate(cells) == level


def test_aggregate_floors_signals_and_no_point_floors() -> None:
    # a 一级 major hazard makes the unit at least orange — not red; 二级 imposes nothing
    assert aggregate([0, 0, 0, 10], hazards=[1, 0, 0, 0]) == "orange"
    assert aggregate([1, 0, 0, 9], hazards=[1, 0, 0, 0]) == "red"  # the floor never lowers
    assert aggregate([0, 0, 0, 10], hazards=[0, 1, 0, 0]) == "blue"
    # one red point (and its red cell) among 20 cells: no point floor for a district
    assert aggregate([1, 0, 0, 19], points=[1, 0, 0, 0]) == "blue"
    # a red alarm raises one step, as for a grid cell
    assert aggregate([1, 4, 0, 15], raise_steps=1) == "red"
    assert aggregate([0, 0, 0, 20], raise_steps=1) == "yellow"
    assert aggregate([1, 0, 0, 9], raise_steps=1) == "red"  # capped at red


def test_aggregate_method_points_and_units_without_cells_use_the_point_rule() -> None:
    points = AreaRule.from_dict({"aggregate": {"method": "points"}})
    assert aggregate([0, 0, 0, 20], points=[1, 0, 0, 0], rule=points) == "red"
    assert aggregate([0, 0, 0, 10], hazards=[0, 1, 0, 0], rule=points) == "red"
    # the "cells" default falls back to the point rule for a unit that has no cells
    assert aggregate([0, 0, 0, 0], points=[1, 0, 0, 0]) == "red"
    assert aggregate([0, 0, 0, 0], points=[0, 0, 6, 4]) == "orange"  # score 10.2


def test_aggregate_setting_default_overrides_and_round_trip() -> None:
    assert DEFAULT_RULE.as_dict()["aggregate"] == {
        "method": "cells",
        "red_share": 0.10,
        "orange_share": 0.25,
        "yellow_share": 0.40,
        "hazard_floors": {"1": "orange", "2": None, "3": None, "4": None},
    }
    rule = AreaRule.from_dict(
        {
            "aggregate": {
                "red_share": 0.2,
                "orange_share": 0.3,
                "hazard_floors": {"1": "red", "2": "orange"},
            }
        }
    )
    assert rule.aggregate_shares == (0.2, 0.3, 0.4)
    assert rule.aggregate_hazard_floors == (0, 1, 3, 3) and rule.aggregate_method == "cells"
    assert aggregate([1, 0, 0, 9], rule=rule) == "blue"  # 10 % < 20 %, < 30 %, < 40 %
    assert aggregate([2, 1, 0, 7], rule=rule) == "red"  # 20 %
    assert aggregate([0, 0, 0, 10], hazards=[0, 1, 0, 0], rule=rule) == "orange"
    assert AreaRule.from_dict(rule.as_dict()) == rule
    assert AreaRule.from_dict(
        {"aggregate": {"red_share": 1, "orange_share": 1, "yellow_share": 1}}
    ).aggregate_shares == (1, 1, 1)


@pytest.mark.parametrize(
    ("aggregate_cfg", "field"),
    [
        ({"red_share": 0}, "aggregate.red_share"),
        ({"orange_share": 1.5}, "aggregate.orange_share"),
        ({"yellow_share": -0.1}, "aggregate.yellow_share"),
        ({"red_share": "10%"}, "aggregate.red_share"),
        ({"red_share": True}, "aggregate.red_share"),
        ({"red_share": 0.3}, "aggregate"),  # red 0.30 > orange 0.25
        ({"orange_share": 0.5}, "aggregate"),  # orange 0.50 > yellow 0.40
        ({"method": "max"}, "aggregate.method"),
        ({"hazard_floors": {"1": "purple"}}, "aggregate.hazard_floors.1"),
        ({"hazard_floors": {"5": "red"}}, "aggregate.hazard_floors"),
        ({"share": 0.1}, "aggregate"),
    ],
)
def test_bad_aggregate_setting_is_rejected_naming_the_field(
    aggregate_cfg: dict, field: str
) -> None:
    with pytest.raises(AreaRuleError) as err:
        AreaRule.from_dict({"aggregate": aggregate_cfg})
    assert field in [f for f, _zh, _en in err.value.errors]
    assert all(zh and en for _f, zh, en in err.value.errors)


def test_bad_aggregate_setting_is_not_an_object() -> None:
    with pytest.raises(AreaRuleError) as err:
        AreaRule.from_dict({"aggregate": "cells"})
    assert [f for f, _zh, _en in err.value.errors] == ["aggregate"]


def test_aggregate_explanation_gives_counts_shares_thresholds_floor_and_raise() -> None:
    out = areas.explain_area(
        [3, 10, 40, 200],
        [0, 0, 0, 0],
        0,
        [{"source": "alarm", "source_ref": "A-9", "raise_steps": 1}],
        cells=[1, 4, 0, 15],
    )
    assert out["method"] == "cells"
    assert (
        out["share_level"],
        out["floor_level"],
        out["base_level"],
        out["raise_steps"],
        out["level"],
    ) == ("orange", "blue", "orange", 1, "red")
    assert out["cells"] == {
        "total": 20,
        "counts": {"red": 1, "orange": 4, "yellow": 0, "blue": 15},
        "shares": {"red": 0.05, "orange": 0.2, "yellow": 0.0, "blue": 0.75},
    }
    assert [(t["level"], t["share"], t["threshold"], t["met"]) for t in out["share_tests"]] == [
        ("red", 0.05, 0.10, False),
        ("orange", 0.25, 0.25, True),
        ("yellow", 0.25, 0.40, False),
    ]
    assert out["thresholds"] == {"red_share": 0.10, "orange_share": 0.25, "yellow_share": 0.40}
    assert out["summary_zh"] == (
        "共 20 个网格：红色 1 个（5%）、橙色 4 个（20%）、黄色 0 个（0%）、蓝色 15 个（75%）。"
        "红色网格占 5%（< 10%），红、橙色网格占 25%（≥ 25%），按网格占比为橙色（较大风险），"
        "动态信号上调 1 级，最终为红色（重大风险）。"
    )
    assert out["summary_en"] == (
        "20 grid cells: 1 red (5%), 4 orange (20%), 0 yellow (0%), 15 blue (75%). red cells 5% "
        "(< 10%), red + orange cells 25% (≥ 25%): by cell shares orange (significant), raised 1 "
        "step(s) by live signals; final level red (major)."
    )
    assert out["signals"][0]["source_ref"] == "A-9"


def test_aggregate_explanation_of_a_hazard_floor_and_of_a_unit_without_cells() -> None:
    out = areas.explain_area([0, 0, 0, 0], [1, 0, 0, 0], 0, cells=[0, 0, 0, 10])
    assert (out["share_level"], out["floor_level"], out["level"]) == ("blue", "orange", "orange")
    assert [(n["floor"], n["source"]) for n in out["hard_rules"]] == [("orange", "major_hazards")]
    assert (
        "红色网格占 0%（< 10%），红、橙色网格占 0%（< 25%），红、橙、黄色网格占 0%（< 40%）"
        "，按网格占比为蓝色（低风险）；一级重大危险源 1 处 → 街道/区县至少橙色（较大风险），"
        "提升为橙色（较大风险），最终为橙色（较大风险）。" in out["summary_zh"]
    )
    none = areas.explain_area([1, 0, 0, 0], [0, 0, 0, 0], 0, cells=[0, 0, 0, 0])
    assert none["method"] == "points" and none["level"] == "red"
    assert none["summary_zh"].startswith("单元内无网格，按风险点规则定级：综合得分 10")
