"""Supervision classes: rules as data, first match decides and is explained, override needs reason."""

from __future__ import annotations

from typing import Any

import pytest

from safecity.enforcement.classes import DEFAULT_SCHEME, Scheme, override
from safecity.enforcement.errors import EnforcementInputError


@pytest.mark.parametrize(
    ("facts", "cls", "rule"),
    [
        ({"risk_level": "red"}, "A", 0),
        ({"mhi_count": 1, "mhi_top_grade": "二级"}, "A", 0),  # 二级 is at least as severe as 二级
        ({"mhi_count": 1, "mhi_top_grade": "三级"}, "B", 1),  # 三级 is less severe → only B
        (
            {"key_process": True, "key_chemical": True, "mhi_count": 1, "mhi_top_grade": "四级"},
            "A",
            0,
        ),
        ({"key_process": True, "key_chemical": True}, "B", 1),  # two keys but no major hazard
        ({"open_major_hazards": 1}, "A", 0),
        ({"overdue_hazards": 2, "risk_level": "blue"}, "B", 1),
        ({"credit": "C"}, "B", 1),
        ({"credit": "B"}, "D", None),
        ({"risk_level": "yellow"}, "C", 2),
        ({"standardisation": "none"}, "C", 2),
        ({"risk_level": "blue", "standardisation": "二级", "industry_section": "C"}, "D", None),
        ({}, "D", None),
    ],
)
def test_default_scheme(facts: dict[str, Any], cls: str, rule: int | None) -> None:
    out = DEFAULT_SCHEME.classify(facts)
    assert (out.class_key, out.rule) == (cls, rule)
    assert out.inspections_per_year == {"A": 4, "B": 2, "C": 1, "D": 0}[cls]
    if rule is not None:
        assert f"规则{rule + 1}" in out.explanation_zh and out.reasons
    else:
        assert "默认" in out.explanation_zh


def test_explanation_names_the_condition_that_decided() -> None:
    out = DEFAULT_SCHEME.classify({"risk_level": "blue", "overdue_hazards": 3})
    assert out.reasons == (("逾期未整改隐患数不小于1", "overdue hidden dangers ≥ 1"),)


def test_a_city_scheme_by_industry_division() -> None:
    city = Scheme.from_dict(
        {
            "classes": [
                {"key": "重点", "inspections_per_year": 6},
                {"key": "一般", "inspections_per_year": 1},
            ],
            "rules": [
                {
                    "class": "重点",
                    "when": {"field": "industry_division", "op": "in", "value": ["26", "25"]},
                }
            ],
            "default": "一般",
        }
    )
    assert city.classify({"industry_division": "26"}).class_key == "重点"
    assert city.classify({"industry_division": "13"}).inspections_per_year == 1


def test_bad_scheme_and_bad_facts_name_every_field() -> None:
    with pytest.raises(EnforcementInputError) as err:
        Scheme.from_dict(
            {
                "classes": [{"key": "A", "inspections_per_year": -1}],
                "rules": [
                    {"class": "Z", "when": {}},
                    {"class": "A", "when": {"field": "risk_level", "op": "gte", "value": "purple"}},
                ],
                "default": "A",
            }
        )
    # class A is invalid, so rules naming it and the default are refused too
    assert [e.field for e in err.value.errors] == [
        "classes[0]",
        "rules[0].class",
        "rules[1].class",
        "default",
    ]
    with pytest.raises(EnforcementInputError) as err:
        DEFAULT_SCHEME.classify(
            {
                "risk_level": "purple",
                "mhi_count": -1,
                "colour": 1,
                "industry_section": "Z",
                "industry_division": "2",
            }
        )
    assert {e.field for e in err.value.errors} == {
        "risk_level",
        "mhi_count",
        "colour",
        "industry_section",
        "industry_division",
    }


def test_bad_rule_value_named_by_path() -> None:
    with pytest.raises(EnforcementInputError) as err:
        Scheme.from_dict(
            {
                "classes": [{"key": "A", "inspections_per_year": 1}],
                "default": "A",
                "rules": [
                    {
                        "class": "A",
                        "when": {
                            "any": [
                                {"field": "risk_level", "op": "gte", "value": "purple"},
                                {"field": "key_process", "op": "gt", "value": True},
                            ]
                        },
                    }
                ],
            }
        )
    assert [e.field for e in err.value.errors] == [
        "rules[0].when.any[0].value",
        "rules[0].when.any[1].op",
    ]


def test_override_needs_a_reason_and_keeps_it() -> None:
    out = DEFAULT_SCHEME.classify({"risk_level": "yellow"})
    with pytest.raises(EnforcementInputError) as err:
        override(out, DEFAULT_SCHEME, "A", "  ")
    assert [e.field for e in err.value.errors] == ["reason"]
    up = override(out, DEFAULT_SCHEME, "A", "近期发生较大事故")
    assert (up.class_key, up.computed_class, up.inspections_per_year) == ("A", "C", 4)
    assert "近期发生较大事故" in up.explanation_zh and up.override_reason == "近期发生较大事故"
