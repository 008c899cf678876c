"""Response-level trigger rules (data, no eval), drill due dates (预案管理办法 art. 33) and reviews.

art. 33: 每年至少组织一次综合应急预案演练或者专项应急预案演练，每半年至少组织一次现场处置方案演练.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from safecity.response.errors import ResponseInputError
from safecity.response.levels import TriggerRules, add_months, drill_status, review_status

CST = timezone(timedelta(hours=8))

PLAN: dict[str, Any] = {
    "levels": [
        # written out of order on purpose: Ⅳ first — the evaluator must still try Ⅰ first
        {"level": "IV", "when": {"field": "type", "op": "within", "value": "accident_disaster"}},
        {
            "level": "I",
            "when": {
                "any": [
                    {"field": "deaths", "op": "gte", "value": 30},
                    {"field": "grade", "op": "eq", "value": "extraordinary"},
                ]
            },
        },
        {
            "level": "II",
            "when": {
                "all": [
                    {"field": "type", "op": "within", "value": "accident_disaster"},
                    {
                        "any": [
                            {"field": "affected_population", "op": "gte", "value": 10000},
                            {"field": "alarm_level", "op": "gte", "value": "orange"},
                        ]
                    },
                ]
            },
        },
        {"level": "III", "when": {"field": "grade", "op": "gte", "value": "relatively_serious"}},
    ]
}
RULES = TriggerRules.from_dict(PLAN)
FIRE = "accident_disaster.fire"


@pytest.mark.parametrize(
    ("incident", "level", "matched"),
    [
        ({"type": FIRE, "deaths": 30}, "I", ["levels[I].when.any[0]"]),
        ({"type": FIRE, "deaths": 29, "grade": "extraordinary"}, "I", ["levels[I].when.any[1]"]),
        # all: type within 事故灾难 and (population ≥ 10000 or alarm ≥ orange) — both leaves reported
        (
            {"type": FIRE, "affected_population": 10000},
            "II",
            ["levels[II].when.all[0]", "levels[II].when.all[1].any[0]"],
        ),
        (
            {"type": FIRE, "alarm_level": "red"},
            "II",
            ["levels[II].when.all[0]", "levels[II].when.all[1].any[1]"],
        ),
        (
            {
                "type": FIRE,
                "affected_population": 9999,
                "alarm_level": "yellow",
                "grade": "relatively_serious",
            },
            "III",
            ["levels[III].when"],
        ),
        ({"type": FIRE, "grade": "ordinary"}, "IV", ["levels[IV].when"]),
        # a typhoon is not 事故灾难; 一般 is below 较大 → nothing proposed
        ({"type": "natural_disaster.meteorological.typhoon", "grade": "ordinary"}, None, []),
    ],
)
def test_most_severe_matching_level_is_proposed(
    incident: dict[str, Any], level: str | None, matched: list[str]
) -> None:
    proposal = RULES.propose(incident)
    assert proposal.level == level
    assert list(proposal.matched) == matched


def test_proposal_is_only_a_proposal_and_explains_itself() -> None:
    data = RULES.propose({"type": FIRE, "deaths": 31}).as_dict()
    assert data["proposal_only"] is True and data["level_zh"] == "Ⅰ级响应"
    assert "死亡人数不小于30" in data["explanation_zh"]
    assert "GB/T 29639-2020" in data["explanation_zh"] and "commander" in data["explanation_en"]


def test_missing_fields_make_conditions_false_and_are_listed() -> None:
    proposal = RULES.propose({"type": FIRE})
    assert proposal.level == "IV"  # no deaths, grade, population or alarm: only the type rule
    assert "deaths" in proposal.missing_fields and "type" not in proposal.missing_fields


def test_incident_values_are_checked() -> None:
    with pytest.raises(ResponseInputError):
        RULES.propose({"type": FIRE, "grade": "huge"})
    with pytest.raises(ResponseInputError):
        RULES.propose({"type": "not_a_type"})
    with pytest.raises(ResponseInputError):
        RULES.propose({"type": FIRE, "deaths": "__import__('os')"})


def _cond(when: Any) -> dict[str, Any]:
    return {"levels": [{"level": "I", "when": when}]}


def _deep(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"field": "deaths", "op": "gte", "value": 1}
    for _ in range(depth - 1):
        node = {"any": [node]}
    return node


@pytest.mark.parametrize(
    ("rules", "fields"),
    [
        (_cond({"field": "salary", "op": "gte", "value": 1}), ["levels[0].when.field"]),
        (_cond({"field": "deaths", "op": "within", "value": 1}), ["levels[0].when.op"]),
        (_cond({"field": "deaths", "op": "__gt__", "value": 1}), ["levels[0].when.op"]),
        (
            _cond({"field": "deaths", "op": "gte", "value": "__import__('os').system('x')"}),
            ["levels[0].when.value"],
        ),
        (_cond({"field": "grade", "op": "gte", "value": "huge"}), ["levels[0].when.value"]),
        (_cond({"field": "type", "op": "eq", "value": "fire"}), ["levels[0].when.value"]),
        (_cond({"field": "alarm_level", "op": "in", "value": "red"}), ["levels[0].when.value"]),
        (_cond({"field": "deaths", "op": "gte"}), ["levels[0].when"]),
        (_cond({"any": []}), ["levels[0].when.any"]),
        (
            _cond({"any": [{"field": "deaths", "op": "gte", "value": 1}], "all": []}),
            ["levels[0].when"],
        ),
        (_cond(_deep(6)), ["levels[0].when.any[0].any[0].any[0].any[0].any[0]"]),
        (
            {"levels": [{"level": "V", "when": {"field": "deaths", "op": "gte", "value": 1}}]},
            ["levels[0].level"],
        ),
        (
            {
                "levels": [
                    {"level": "I", "when": {"field": "deaths", "op": "gte", "value": 1}},
                    {"level": "I", "when": {"field": "deaths", "op": "gte", "value": 2}},
                ]
            },
            ["levels[1].level"],
        ),
        ({"levels": []}, ["levels"]),
        # every bad entry is reported at once
        (
            {
                "levels": [
                    {"level": "I", "when": {"field": "x", "op": "eq", "value": 1}},
                    {"level": "II", "when": {"field": "deaths", "op": "in", "value": [1]}},
                ]
            },
            ["levels[0].when.field", "levels[1].when.op"],
        ),
    ],
)
def test_malformed_rules_are_refused(rules: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(ResponseInputError) as err:
        TriggerRules.from_dict(rules)
    assert [e.field for e in err.value.errors] == fields


def test_depth_five_is_accepted() -> None:
    assert TriggerRules.from_dict(_cond(_deep(5))).propose({"deaths": 1}).level == "I"


# --------------------------------------------------------------------------- drills and reviews


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (datetime(2024, 1, 15), 6, datetime(2024, 7, 15)),
        (datetime(2023, 8, 31), 6, datetime(2024, 2, 29)),  # leap year: clamp to 29 Feb
        (datetime(2022, 8, 31), 6, datetime(2023, 2, 28)),
        (datetime(2024, 2, 29), 12, datetime(2025, 2, 28)),
        (datetime(2024, 11, 30), 3, datetime(2025, 2, 28)),  # across the year end
    ],
)
def test_add_months_calendar(start: datetime, months: int, due: datetime) -> None:
    assert add_months(start, months) == due


LAST = datetime(2024, 1, 15, 10, 0, tzinfo=CST)


@pytest.mark.parametrize(
    ("tier", "now", "overdue"),
    [
        ("onsite", datetime(2024, 7, 15, 10, 0, tzinfo=CST), False),  # 每半年: due 15 Jul
        ("onsite", datetime(2024, 7, 15, 10, 0, 1, tzinfo=CST), True),
        ("special", datetime(2025, 1, 15, 10, 0, tzinfo=CST), False),  # 每年: due 15 Jan 2025
        ("comprehensive", datetime(2025, 1, 15, 10, 0, 1, tzinfo=CST), True),
        ("comprehensive", datetime(2024, 7, 16, tzinfo=CST), False),  # 6 months is fine
    ],
)
def test_drill_overdue_art_33(tier: str, now: datetime, overdue: bool) -> None:
    status = drill_status(
        tier, effective_at=LAST - timedelta(days=400), last_drill_at=LAST, now=now
    )
    assert status.overdue is overdue
    assert ("已逾期" in status.explanation_zh) is overdue
    assert "第三十三条" in status.explanation_zh


def test_never_drilled_counts_from_the_effective_date() -> None:
    effective = datetime(2024, 3, 1, tzinfo=CST)
    status = drill_status("onsite", effective, None, now=datetime(2024, 9, 2, tzinfo=CST))
    assert status.due_at == datetime(2024, 9, 1, tzinfo=CST) and status.overdue
    assert status.days_left == -1  # exactly one day late
    one_second = drill_status(
        "onsite", effective, None, now=datetime(2024, 9, 1, 0, 0, 1, tzinfo=CST)
    )
    assert one_second.overdue and one_second.days_left == -1  # floor: any lateness is ≤ −1


def test_review_every_three_years() -> None:
    approved = datetime(2021, 2, 28, 9, 0, tzinfo=CST)
    due = datetime(2024, 2, 28, 9, 0, tzinfo=CST)
    assert review_status(approved, now=due).overdue is False
    late = review_status(approved, now=due + timedelta(seconds=1))
    assert late.overdue and late.due_at == due


def test_drill_refuses_unknown_tier_and_naive_times() -> None:
    with pytest.raises(ResponseInputError):
        drill_status("yearly", LAST, None, LAST)
    with pytest.raises(ResponseInputError):
        drill_status("onsite", LAST, None, datetime(2024, 1, 1))
