"""Decree 493 art. 3 grading at every threshold on both sides, city tables, regrading.

Art. 3 (quoted in safecity/response/grading.py): 特别重大 30人以上死亡 / 100人以上重伤 /
1亿元以上; 重大 10–30 / 50–100 / 5000万–1亿; 较大 3–10 / 10–50 / 1000万–5000万; 一般 below;
"以上"包括本数, "以下"不包括本数 — so every threshold value itself belongs to the higher grade.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from safecity.response.errors import ResponseInputError
from safecity.response.grading import (
    DECREE_493_RULE,
    EXAMPLE_CITY_TABLE,
    GradingTable,
    grade_accident,
    grade_incident,
    regrade,
)

ORD, RS, SER, EXT = "ordinary", "relatively_serious", "serious", "extraordinary"


@pytest.mark.parametrize(
    ("deaths", "grade"),
    [
        (0, ORD),
        (2, ORD),  # (四) 3人以下死亡 — 以下 excludes 3
        (3, RS),
        (9, RS),  # (三) 3人以上10人以下 — 以上 includes 3
        (10, SER),
        (29, SER),  # (二) 10人以上30人以下
        (30, EXT),
        (31, EXT),  # (一) 30人以上
    ],
)
def test_deaths_thresholds(deaths: int, grade: str) -> None:
    assert grade_accident(deaths, 0, 0).grade.key == grade


@pytest.mark.parametrize(
    ("injuries", "grade"),
    [
        (9, ORD),  # (四) 10人以下重伤
        (10, RS),
        (49, RS),  # (三) 10人以上50人以下重伤
        (50, SER),
        (99, SER),  # (二) 50人以上100人以下重伤
        (100, EXT),  # (一) 100人以上重伤（包括急性工业中毒）
    ],
)
def test_serious_injury_thresholds(injuries: int, grade: str) -> None:
    assert grade_accident(0, injuries, 0).grade.key == grade


@pytest.mark.parametrize(
    ("loss", "grade"),
    [
        (9_999_999, ORD),
        ("9999999.99", ORD),  # (四) 1000万元以下
        (10_000_000, RS),
        (49_999_999, RS),  # (三) 1000万元以上5000万元以下
        (50_000_000, SER),
        ("99999999.99", SER),  # (二) 5000万元以上1亿元以下
        (100_000_000, EXT),
        (Decimal("1e9"), EXT),  # (一) 1亿元以上
    ],
)
def test_direct_loss_thresholds(loss: object, grade: str) -> None:
    assert grade_accident(0, 0, loss).grade.key == grade


def test_highest_criterion_wins_and_is_named() -> None:
    # deaths 2 → 一般, serious injuries 50 → 重大, loss 1000万 → 较大: 或者 → the highest, 重大
    result = grade_accident(2, 50, 10_000_000)
    data = result.as_dict()
    assert data["grade"] == {"key": SER, "zh": "重大", "en": "serious", "rank": 3}
    assert data["decided_by"]["criterion"] == "serious_injuries"
    assert data["decided_by"]["rule_zh"] == "50人以上100人以下重伤（包括急性工业中毒）"
    assert data["decided_by_all"] == ["serious_injuries"]
    per = {c["criterion"]: c["grade"]["key"] for c in data["criteria"]}
    assert per == {"deaths": ORD, "serious_injuries": SER, "direct_loss_yuan": RS}
    assert "重伤" in data["explanation_zh"] and "serious injuries" in data["explanation_en"]


def test_several_criteria_reaching_the_grade_are_all_listed() -> None:
    # 30 deaths and 1亿元 both reach 特别重大; 99 injuries only 重大
    data = grade_accident(30, 99, 100_000_000).as_dict()
    assert data["grade"]["key"] == EXT
    assert data["decided_by_all"] == ["deaths", "direct_loss_yuan"]
    money = next(c for c in data["criteria"] if c["criterion"] == "direct_loss_yuan")
    assert money["rule_zh"] == "1亿元以上直接经济损失" and money["value"] == 100_000_000


def test_zero_everything_is_ordinary_with_the_lowest_interval() -> None:
    data = grade_accident(0, 0, 0).as_dict()
    assert data["grade"]["key"] == ORD
    rules = [c["rule_zh"] for c in data["criteria"]]
    assert rules == ["3人以下死亡", "10人以下重伤（包括急性工业中毒）", "1000万元以下直接经济损失"]


def test_money_intervals_read_like_the_decree() -> None:
    data = grade_accident(0, 0, 60_000_000).as_dict()
    assert data["decided_by"]["rule_zh"] == "5000万元以上1亿元以下直接经济损失"
    assert data["decided_by"]["rule_en"] == "50000000 ≤ direct economic loss (yuan) < 100000000"


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ((-1, 0, 0), ["deaths"]),
        ((0, "ten", 0), ["serious_injuries"]),
        ((2.5, 0, 0), ["deaths"]),  # a person is not divisible
        ((True, 0, 0), ["deaths"]),  # bool is not a count
        ((0, 0, "-0.01"), ["direct_loss_yuan"]),
        ((0, 0, "NaN"), ["direct_loss_yuan"]),
        ((0, 0, float("inf")), ["direct_loss_yuan"]),
        ((-3, -1, "x"), ["deaths", "serious_injuries", "direct_loss_yuan"]),  # every bad field
        ((None, 0, None), ["deaths", "direct_loss_yuan"]),
    ],
)
def test_invalid_input_is_refused_naming_each_field(
    args: tuple[object, ...], fields: list[str]
) -> None:
    with pytest.raises(ResponseInputError) as err:
        grade_accident(*args)
    assert [e.field for e in err.value.errors] == fields
    assert all(e.message_zh and e.message_en for e in err.value.errors)


def test_fractional_yuan_is_exact_not_float() -> None:
    # 0.1 + 0.2 style errors must not move 9,999,999.99 over 10,000,000
    assert grade_accident(0, 0, "9999999.99").grade.key == ORD
    assert grade_accident(0, 0, "10000000.00").grade.key == RS


# --------------------------------------------------------------------------- city tables


def test_example_table_most_specific_type_wins() -> None:
    table = GradingTable.from_dict(EXAMPLE_CITY_TABLE)
    # environmental has its own rule: 疏散转移 5000 → 较大 (example numbers)
    env = grade_incident(
        "accident_disaster.environmental", {"evacuated": 5000}, production_safety=False, table=table
    )
    assert env.grade.key == RS and env.decided_by[0].criterion.quantity == "evacuated"
    # a transport accident falls back to the accident_disaster rule
    road = grade_incident(
        "accident_disaster.transport.road_traffic",
        {"deaths": 10},
        production_safety=False,
        table=table,
    )
    assert road.rule.name == "accident_disaster" and road.grade.key == SER
    # typhoon → natural_disaster; 9,999 relocated stays 一般, 10,000 is 较大
    assert (
        grade_incident(
            "natural_disaster.meteorological.typhoon",
            {"relocated": 9_999},
            production_safety=False,
            table=table,
        ).grade.key
        == ORD
    )
    assert (
        grade_incident(
            "natural_disaster.meteorological.typhoon",
            {"relocated": 10_000},
            production_safety=False,
            table=table,
        ).grade.key
        == RS
    )


def test_missing_quantities_are_skipped_but_one_is_needed() -> None:
    table = GradingTable.from_dict(EXAMPLE_CITY_TABLE)
    result = table.rule_for("public_health").grade({"cases": 60})
    data = result.as_dict()
    assert data["grade"]["key"] == SER
    deaths = next(c for c in data["criteria"] if c["criterion"] == "deaths")
    assert deaths["value"] is None and deaths["grade"] is None
    with pytest.raises(ResponseInputError):
        table.rule_for("public_health").grade({"unrelated": 5})


def test_table_from_toml_reproduces_decree_493() -> None:
    table = GradingTable.from_toml("""
name = "decree-as-table"
[[types.accident_disaster.criteria]]
quantity = "deaths"
thresholds = { relatively_serious = 3, serious = 10, extraordinary = 30 }
""")
    rule = table.rule_for("accident_disaster.fire")
    for deaths in (2, 3, 9, 10, 29, 30):
        assert (
            rule.grade({"deaths": deaths}).grade == DECREE_493_RULE.grade({"deaths": deaths}).grade
        )


@pytest.mark.parametrize(
    ("types", "field"),
    [
        (
            {"no_such_type": {"criteria": [{"quantity": "x", "thresholds": {"serious": 1}}]}},
            "types.no_such_type",
        ),
        ({"public_health": {"criteria": []}}, "types.public_health.criteria"),
        (
            {"public_health": {"criteria": [{"thresholds": {"serious": 1}}]}},
            "types.public_health.criteria[0]",
        ),
        (
            {"public_health": {"criteria": [{"quantity": "c", "thresholds": {"ordinary": 1}}]}},
            "types.public_health.criteria[0].thresholds.ordinary",
        ),
        (
            {"public_health": {"criteria": [{"quantity": "c", "thresholds": {"serious": -1}}]}},
            "types.public_health.criteria[0].thresholds.serious",
        ),
        (
            {
                "public_health": {
                    "criteria": [
                        {"quantity": "c", "thresholds": {"relatively_serious": 50, "serious": 10}}
                    ]
                }
            },  # higher grade, lower minimum
            "types.public_health.criteria[0].thresholds",
        ),
    ],
)
def test_malformed_tables_are_refused(types: dict[str, object], field: str) -> None:
    with pytest.raises(ResponseInputError) as err:
        GradingTable.from_dict({"types": types})
    assert [e.field for e in err.value.errors] == [field]


def test_type_without_rule_and_decree_outside_its_scope_are_refused() -> None:
    only_natural = GradingTable.from_dict(
        {"types": {"natural_disaster": EXAMPLE_CITY_TABLE["types"]["natural_disaster"]}}
    )
    with pytest.raises(ResponseInputError, match="no rule"):
        only_natural.rule_for("public_health.animal_epidemic")
    # Decree 493 art. 2: environmental pollution accidents are not under the decree
    with pytest.raises(ResponseInputError) as err:
        grade_incident("accident_disaster.environmental", {"deaths": 1}, production_safety=True)
    assert err.value.errors[0].field == "production_safety"
    assert (
        grade_incident(
            "accident_disaster.production_safety",
            {"deaths": 3, "serious_injuries": 0, "direct_loss_yuan": 0},
            production_safety=True,
        ).grade.key
        == RS
    )


# --------------------------------------------------------------------------- regrading


@pytest.mark.parametrize(
    ("previous", "counts", "grade", "changed", "direction"),
    [
        # first report 2 deaths (一般); follow-up: 3 deaths → 较大
        ("ordinary", {"deaths": 3, "serious_injuries": 0, "direct_loss_yuan": 0}, RS, True, "up"),
        # 12 deaths reported, 3 of the missing found alive → 9 → 较大
        ("重大", {"deaths": 9, "serious_injuries": 0, "direct_loss_yuan": 0}, RS, True, "down"),
        (
            "relatively_serious",
            {"deaths": 9, "serious_injuries": 49, "direct_loss_yuan": 0},
            RS,
            False,
            "same",
        ),
    ],
)
def test_regrade_after_followup(
    previous: str, counts: dict[str, int], grade: str, changed: bool, direction: str
) -> None:
    r = regrade(previous, counts)
    assert (r.grade.key, r.changed, r.direction) == (grade, changed, direction)
    text = r.as_dict()["explanation_zh"]
    assert text.startswith("续报后") and r.previous.zh in text


def test_regrade_refuses_unknown_previous_grade() -> None:
    with pytest.raises(ResponseInputError) as err:
        regrade("huge", {"deaths": 1, "serious_injuries": 0, "direct_loss_yuan": 0})
    assert err.value.errors[0].field == "previous"
