"""A plan's trigger rules read back in words (the plan page shows them, not JSON)."""

from __future__ import annotations

from safecity.response.levels import TriggerRules


def test_rules_in_words_both_languages() -> None:
    rules = TriggerRules.from_dict(
        {
            "levels": [
                {
                    "level": "II",
                    "when": {
                        "any": [
                            {"field": "deaths", "op": "gte", "value": 10},
                            {
                                "all": [
                                    {"field": "type", "op": "within", "value": "natural_disaster"},
                                    {"field": "alarm_level", "op": "eq", "value": "red"},
                                ]
                            },
                        ]
                    },
                },
                {"level": "IV", "when": {"field": "grade", "op": "gte", "value": "serious"}},
            ]
        }
    )
    assert rules.describe() == [
        (
            "II",
            "死亡人数不小于10，或（事件类型属于类别自然灾害，且预警/报警级别等于红色）",
            "deaths ≥ 10 or (incident type within natural disaster and alarm level = red)",
        ),
        ("IV", "事件等级不小于重大", "grade ≥ serious"),
    ]
