"""GB/T 35561-2017 classes: the four classes, their sub-classes, lookups and validation."""

from __future__ import annotations

import pytest

from safecity.response import classes
from safecity.response.errors import ResponseInputError


def test_four_classes_in_the_standard_order() -> None:
    assert [c.zh for c in classes.CLASSES] == [
        "自然灾害",
        "事故灾难",
        "公共卫生事件",
        "社会安全事件",
    ]


def test_sub_classes_of_the_2006_national_plan() -> None:
    # 国家突发公共事件总体应急预案 1.3: 自然灾害 主要包括水旱灾害，气象灾害，地震灾害，地质灾害，
    # 海洋灾害，生物灾害和森林草原火灾
    assert [t.zh for t in classes.children("natural_disaster")] == [
        "水旱灾害",
        "气象灾害",
        "地震灾害",
        "地质灾害",
        "海洋灾害",
        "生物灾害",
        "森林草原火灾",
    ]
    assert [t.zh for t in classes.children("social_security")] == [
        "恐怖袭击事件",
        "经济安全事件",
        "涉外突发事件",
    ]


def test_codes_are_not_invented() -> None:
    # the GB/T 35561 numeric codes could not be verified: none is given
    assert all(t.code is None for t in classes.all_types())


def test_ancestors_and_class_of() -> None:
    key = "natural_disaster.meteorological.typhoon"
    assert [t.zh for t in classes.ancestors(key)] == ["台风", "气象灾害", "自然灾害"]
    assert classes.class_of(key).key == "natural_disaster"
    assert classes.get(key) is not None and classes.get(key).as_dict()["level"] == "type"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key", "seven_days"),
    [
        ("accident_disaster.transport.road_traffic", True),  # Decree 493 art. 13: 道路交通事故
        ("accident_disaster.fire", True),  # 火灾事故
        ("accident_disaster.transport", False),
        ("accident_disaster.production_safety", False),
    ],
)
def test_road_traffic_and_fire_flag(key: str, seven_days: bool) -> None:
    assert classes.is_road_traffic_or_fire(key) is seven_days


def test_decree_493_candidates_exclude_environmental_and_other_classes() -> None:
    assert classes.is_production_safety_candidate("accident_disaster.production_safety")
    assert not classes.is_production_safety_candidate("accident_disaster.environmental")
    assert not classes.is_production_safety_candidate("natural_disaster.earthquake")


@pytest.mark.parametrize("bad", ["fire", "", None, 3, "natural_disaster."])
def test_unknown_types_are_refused(bad: object) -> None:
    with pytest.raises(ResponseInputError) as err:
        classes.validate(bad)
    assert err.value.errors[0].field == "type" and "GB/T 35561" in err.value.errors[0].message_zh
