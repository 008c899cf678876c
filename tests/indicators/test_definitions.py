"""Indicator definitions: validation names each bad field; the four shipped sets are valid."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from safecity.indicators.definitions import SHIPPED_SETS, load_set, load_shipped, parse_set
from safecity.indicators.errors import IndicatorInputError


def _ind(**over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "key": "k",
        "name_zh": "指标",
        "name_en": "indicator",
        "unit": "人/亿元",
        "source": "test",
        "formula": "production_safety_deaths / gdp_100m_yuan",
        "direction": "lower",
        "period": {"start": 2021, "end": 2025},
        "base": {"year": 2020, "value": 0.03},
        "target": {"change_percent": -33},
        "divisions": ["*"],
    }
    spec.update(over)
    return {k: v for k, v in spec.items() if v is not None}


def _set(*indicators: dict[str, Any]) -> dict[str, Any]:
    return {
        "set": {
            "city": "t",
            "name_zh": "测试",
            "name_en": "test",
            "divisions": ["370600", "370602"],
        },
        "indicator": list(indicators),
    }


def _errors(*indicators: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(IndicatorInputError) as exc:
        parse_set(_set(*indicators))
    return {e.field: e.message_en for e in exc.value.errors}


def test_valid_definition_and_percentage_target() -> None:
    ind = parse_set(_set(_ind())).get("k")
    # 0.03 × (1 − 0.33) = 0.0201
    assert ind.target_value() == Fraction("0.0201")
    assert ind.binding is None and ind.applies_to("370602")


def test_missing_fields_are_each_named() -> None:
    errs = _errors(_ind(formula=None, direction=None, source=None))
    assert {"indicator[0].formula", "indicator[0].direction", "indicator[0].source"} <= set(errs)


def test_unknown_formula_input_is_refused() -> None:
    errs = _errors(_ind(formula="deaths / gdp_100m_yuan"))
    assert "deaths" in errs["indicator[0].formula"]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"target": {"value": 0.04}}, "indicator[0].target.value"),  # lower, target above base
        ({"target": {"change_percent": 5}}, "indicator[0].target.change_percent"),
        ({"target": {"change_percent": 0}}, "indicator[0].target.change_percent"),
        ({"direction": "higher"}, "indicator[0].target.change_percent"),  # higher, going down
        ({"direction": "higher", "target": {"value": 0.02}}, "indicator[0].target.value"),
    ],
)
def test_direction_contradicting_base_and_target_is_refused(
    over: dict[str, Any], field: str
) -> None:
    errs = _errors(_ind(**over))
    assert field in errs and "better" in errs[field]


def test_direction_consistent_cases_pass() -> None:
    parse_set(_set(_ind(target={"value": 0.02})))
    parse_set(_set(_ind(direction="higher", target={"change_percent": 10})))


def test_other_bad_fields() -> None:
    errs = _errors(
        _ind(
            direction="down",
            period={"start": 2025, "end": 2021},
            binding="must",
            divisions=["999999"],
            base={"year": 2023, "value": "x"},
            target={"value": 1, "strict": 1},
        )
    )
    assert {
        "indicator[0].direction",
        "indicator[0].period",
        "indicator[0].binding",
        "indicator[0].divisions",
        "indicator[0].base.value",
        "indicator[0].target.strict",
    } <= set(errs)
    # a change target needs a base year; a target needs something
    assert "indicator[0].base.year" in _errors(_ind(base=None))
    assert "indicator[0].target" in _errors(_ind(target={}))


def test_duplicate_keys_and_bad_set_head() -> None:
    assert "indicator" in _errors(_ind(), _ind(target={"value": 0.02}))
    with pytest.raises(IndicatorInputError) as exc:
        parse_set({"set": {"city": "t", "name_zh": "x", "name_en": "x", "divisions": ["37"]}})
    assert {"set.divisions", "indicator"} <= set(exc.value.fields)
    with pytest.raises(IndicatorInputError):
        load_set("[set\n")


def test_both_targets_the_stricter_wins() -> None:
    ind = load_shipped("yantai").get("deaths_per_100m_gdp")
    assert ind.target_value(Fraction("0.03")) == Fraction("0.005")  # 0.0201 is looser
    assert ind.target_value(Fraction("0.006")) == Fraction("0.00402")  # 0.006 × 0.67
    assert ind.target_value() == Fraction("0.005")  # no base: the absolute value alone


@pytest.mark.parametrize("city", SHIPPED_SETS)
def test_all_four_sets_ship_valid_and_honest(city: str) -> None:
    s = load_shipped(city)
    keys = {i.key for i in s}
    assert {
        "deaths_per_100m_gdp",
        "road_deaths_per_10k_vehicles",
        "fire_deaths_per_100k",
        "imt_deaths_per_100k_workers",
        "disaster_loss_gdp_pct",
        "disaster_deaths_per_million",
        "forest_fire_damage_permille",
        "major_warning_coverage_pct",
        "forest_fires_out_24h_pct",
        "fire_rescue_staff_pct",
        "supply_warehouse_city_m2",
    } <= keys
    for ind in s:
        # never a plan citation that PRODUCT.md does not give
        assert ind.source.startswith("PRODUCT.md") and "assumed" in ind.source, ind.key
        assert ind.binding is None  # PRODUCT.md does not say which targets are binding


def test_city_specific_targets() -> None:
    shelter = {c: load_shipped(c) for c in ("yantai", "qingdao", "liaocheng")}
    assert shelter["yantai"].get("shelter_m2_per_resident").target_value() == 2
    assert shelter["qingdao"].get("shelter_m2_per_resident").target_value() == Fraction("2.5")
    assert shelter["liaocheng"].get("shelter_m2_per_resident").target_value() == Fraction("2.5")
    assert "shelter_m2_per_resident" not in {i.key for i in load_shipped("hunchun")}
    fire = load_shipped("yantai").get("fire_deaths_per_100k")
    assert fire.target.strict and fire.target_value() == Fraction("0.2")
    county = load_shipped("yantai").get("supply_warehouse_county_m2")
    assert county.applies_to("370602") and not county.applies_to("370600")


def test_unknown_city() -> None:
    with pytest.raises(IndicatorInputError):
        load_shipped("atlantis")
