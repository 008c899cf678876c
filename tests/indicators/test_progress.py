"""Hand-computed cases for every shipped formula, trajectories, status bands, plausibility."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from safecity.indicators.definitions import Indicator, load_shipped, parse_set
from safecity.indicators.errors import IndicatorInputError
from safecity.indicators.progress import Thresholds, assess, check_series, trajectory

YANTAI = load_shipped("yantai")
QINGDAO = load_shipped("qingdao")


def _value(key: str, inputs: dict[str, Any], s: Any = YANTAI) -> Fraction | None:
    return s.get(key).formula.evaluate(inputs).value  # type: ignore[no-any-return]


# ---------------------------------------------------------------- each shipped formula by hand


@pytest.mark.parametrize(
    ("key", "inputs", "expected"),
    [
        # 12 deaths, GDP 9,515.9 亿元 = 9,515.9 (100 million yuan): 12 / 9515.9 = 120/95159
        # ≈ 0.001261 deaths per 100 million yuan
        (
            "deaths_per_100m_gdp",
            {"production_safety_deaths": 12, "gdp_100m_yuan": 9515.9},
            Fraction(120, 95159),
        ),
        # 45 road deaths, 250.3 万辆: 45 / 250.3 = 450/2503 ≈ 0.1798 per 10,000 vehicles
        (
            "road_deaths_per_10k_vehicles",
            {"road_traffic_deaths": 45, "vehicles_10k": 250.3},
            Fraction(450, 2503),
        ),
        # 14 fire deaths, 7,000,000 residents: 14 / 7e6 × 1e5 = 0.2 per 100,000
        (
            "fire_deaths_per_100k",
            {"fire_deaths": 14, "resident_population": 7_000_000},
            Fraction("0.2"),
        ),
        # 30 deaths, 1,500,000 workers: 30 / 1.5e6 × 1e5 = 2 per 100,000 workers
        (
            "imt_deaths_per_100k_workers",
            {"industry_mining_trade_deaths": 30, "industry_mining_trade_workers": 1_500_000},
            Fraction(2),
        ),
        # loss 76,000 万元 = 7.6 亿元, GDP 9,515.9 亿元: 7.6 / 9515.9 × 100 ≈ 0.0799 %
        (
            "disaster_loss_gdp_pct",
            {"natural_disaster_loss_10k_yuan": 76_000, "gdp_100m_yuan": 9515.9},
            Fraction(7600, 95159),
        ),
        # 7 deaths, 7,000,000 residents: 7 / 7e6 × 1e6 = 1 per million
        (
            "disaster_deaths_per_million",
            {"natural_disaster_deaths": 7, "resident_population": 7_000_000},
            Fraction(1),
        ),
        # 12 ha burnt of 40,000 ha forest: 12 / 40000 × 1000 = 0.3 ‰
        (
            "forest_fire_damage_permille",
            {"forest_fire_damaged_ha": 12, "forest_area_ha": 40_000},
            Fraction("0.3"),
        ),
        # 14,400,000 m² for 7,200,000 residents: 2 m² each
        (
            "shelter_m2_per_resident",
            {"shelter_area_m2": 14_400_000, "resident_population": 7_200_000},
            Fraction(2),
        ),
        # 6,930,000 reached of the 7,000,000 people in the warned areas: 99 %
        (
            "major_warning_coverage_pct",
            {"major_warning_reached_people": 6_930_000, "major_warning_area_people": 7_000_000},
            Fraction(99),
        ),
        # 19 of 20 forest fires out within 24 h: 95 %
        (
            "forest_fires_out_24h_pct",
            {"forest_fires_out_24h": 19, "forest_fires": 20},
            Fraction(95),
        ),
        # 2,800 fire-rescue staff for 7,000,000 residents: 0.04 %
        (
            "fire_rescue_staff_pct",
            {"fire_rescue_staff": 2800, "resident_population": 7_000_000},
            Fraction("0.04"),
        ),
        ("supply_warehouse_city_m2", {"supply_warehouse_m2": 5200}, Fraction(5200)),
        ("supply_warehouse_county_m2", {"supply_warehouse_m2": 1900}, Fraction(1900)),
    ],
)
def test_shipped_formula_by_hand(key: str, inputs: dict[str, Any], expected: Fraction) -> None:
    assert _value(key, inputs) == expected


@pytest.mark.parametrize(
    ("city", "key", "value", "year", "status"),
    [
        ("yantai", "deaths_per_100m_gdp", Fraction(120, 95159), 2025, "on_track"),  # ≤ 0.005
        ("yantai", "fire_deaths_per_100k", Fraction("0.2"), 2025, "at_risk"),  # < 0.2 not met
        ("yantai", "fire_deaths_per_100k", Fraction("0.1999"), 2025, "on_track"),
        ("qingdao", "fire_deaths_per_100k", Fraction("0.25"), 2025, "on_track"),  # ≤ 0.25
        ("yantai", "disaster_deaths_per_million", Fraction(1), 2024, "on_track"),  # ≤ 1
        ("qingdao", "disaster_deaths_per_million", Fraction(1), 2024, "off_track"),  # ≤ 0.5
        ("yantai", "shelter_m2_per_resident", Fraction(2), 2023, "on_track"),  # ≥ 2
        ("qingdao", "shelter_m2_per_resident", Fraction(2), 2023, "off_track"),  # 20 % short
        ("qingdao", "shelter_m2_per_resident", Fraction("2.3"), 2023, "at_risk"),  # 8 % short
        ("yantai", "major_warning_coverage_pct", Fraction(99), 2023, "at_risk"),  # 1 % short
        ("yantai", "forest_fires_out_24h_pct", Fraction(95), 2023, "on_track"),
        ("yantai", "fire_rescue_staff_pct", Fraction("0.04"), 2023, "on_track"),
        ("yantai", "supply_warehouse_county_m2", Fraction(1900), 2023, "at_risk"),  # 5 % short
        ("yantai", "forest_fire_damage_permille", Fraction("0.5"), 2023, "off_track"),  # +11 %
    ],
)
def test_status_of_shipped_indicators(
    city: str, key: str, value: Fraction, year: int, status: str
) -> None:
    got = assess(load_shipped(city).get(key), value, year)
    assert got.status == status, got.explanation_en


# ---------------------------------------------------------------- percentage-change trajectory


def _change_only(**over: Any) -> Indicator:
    spec: dict[str, Any] = {
        "key": "k",
        "name_zh": "指标",
        "name_en": "indicator",
        "unit": "人/亿元",
        "source": "t",
        "formula": "production_safety_deaths / gdp_100m_yuan",
        "direction": "lower",
        "period": {"start": 2021, "end": 2025},
        "base": {"year": 2020, "value": 0.03},
        "target": {"change_percent": -33},
        "divisions": ["*"],
    }
    spec.update(over)
    return parse_set(
        {
            "set": {"city": "t", "name_zh": "t", "name_en": "t", "divisions": ["370600"]},
            "indicator": [spec],
        }
    ).get("k")


def test_percentage_change_trajectory() -> None:
    ind = _change_only()
    # target 0.03 × 0.67 = 0.0201; 2023 is 3/5 of the way: 0.03 − 0.0099 × 3/5 = 0.02406
    assert ind.target_value() == Fraction("0.0201")
    assert trajectory(ind, 2023) == Fraction("0.02406")
    assert trajectory(ind, 2019) == Fraction("0.03") and trajectory(ind, 2027) == Fraction("0.0201")


def test_boundaries_of_on_track_and_at_risk() -> None:
    ind = _change_only()
    # reference 0.02406; the at-risk band is 10 % of it: up to 0.02406 × 1.1 = 0.026466
    assert assess(ind, "0.02406", 2023).status == "on_track"
    assert assess(ind, "0.024061", 2023).status == "at_risk"
    assert assess(ind, "0.026466", 2023).status == "at_risk"
    assert assess(ind, "0.026467", 2023).status == "off_track"
    # a narrower band moves the same value to off track
    assert assess(ind, "0.025", 2023, thresholds=Thresholds(Fraction(3))).status == "off_track"
    assert assess(ind, "0.025", 2023).status == "at_risk"


def test_higher_is_better_boundaries() -> None:
    shelter = QINGDAO.get("shelter_m2_per_resident")  # ≥ 2.5, band 10 %: down to 2.25
    assert assess(shelter, "2.5", 2022).status == "on_track"
    assert assess(shelter, "2.25", 2022).status == "at_risk"
    assert assess(shelter, "2.2499", 2022).status == "off_track"


def test_change_target_without_base_value_is_unknown_until_given() -> None:
    ind = _change_only(base={"year": 2020})
    got = assess(ind, "0.02", 2023)
    assert got.status == "unknown" and "2020" in got.explanation_en
    # the platform computes the 2020 value and passes it
    assert assess(ind, "0.02", 2023, base_value="0.03").reference == Fraction("0.02406")


def test_missing_denominator_gives_unknown_with_reason() -> None:
    ind = YANTAI.get("deaths_per_100m_gdp")
    got = assess(ind, ind.formula.evaluate({"production_safety_deaths": 12}), 2023)
    assert got.status == "unknown" and got.value is None
    assert got.explanation_en == "cannot compute: missing gdp_100m_yuan"
    zero = ind.formula.evaluate({"production_safety_deaths": 12, "gdp_100m_yuan": 0})
    assert (
        assess(ind, zero, 2023).explanation_en
        == "cannot compute: denominator gdp_100m_yuan is zero"
    )


def test_explanation_is_bilingual_and_names_the_gap() -> None:
    got = assess(_change_only(), "0.025", 2023).as_dict()
    assert got["status_zh"] == "存在风险" and "0.02406" in got["explanation_zh"]
    assert "3.9% worse" in got["explanation_en"]  # (0.025 − 0.02406) / 0.02406 = 3.907 %


def test_bad_value_refused() -> None:
    with pytest.raises(IndicatorInputError):
        assess(_change_only(), "n/a", 2023)
    with pytest.raises(IndicatorInputError):
        assess(_change_only(), 1, 2023, base_value="x")
    with pytest.raises(IndicatorInputError):
        Thresholds(Fraction(-1))


# ---------------------------------------------------------------- plausibility


def test_population_halving_is_flagged_with_reason() -> None:
    flags = check_series(
        "resident_population", {2020: 7_000_000, 2021: 7_050_000, 2022: 3_500_000, 2023: 3_520_000}
    )
    assert [(f.year, f.input) for f in flags] == [(2022, "resident_population")]
    assert "-50.4 %" in flags[0].reason_en and "±10 %" in flags[0].reason_en


def test_negative_zero_and_non_numbers_are_flagged() -> None:
    flags = check_series("gdp_100m_yuan", {2020: -5, 2021: 0, 2022: "lots", 2023: None})
    assert [(f.year, "negative" in f.reason_en, "zero" in f.reason_en) for f in flags] == [
        (2020, True, False),
        (2021, False, True),
        (2022, False, False),
    ]


def test_change_limit_is_a_parameter() -> None:
    series = {2020: 7_000_000, 2021: 7_600_000}  # +8.6 %
    assert check_series("resident_population", series) == []
    flags = check_series("resident_population", series, {"resident_population": 5})
    assert len(flags) == 1 and "+8.6 %" in flags[0].reason_en
    # GDP may grow 40 % under the default 50 % limit, not 60 %
    assert check_series("gdp_100m_yuan", {2020: 100, 2021: 140}) == []
    assert len(check_series("gdp_100m_yuan", {2020: 100, 2021: 160})) == 1
    with pytest.raises(IndicatorInputError):
        check_series("gdp", {2020: 1})
    with pytest.raises(IndicatorInputError) as exc:
        check_series("gdp_100m_yuan", series, {"gdp_100m_yuan": "x", "*": 0})
    assert exc.value.fields == ["max_change_percent.gdp_100m_yuan", "max_change_percent.*"]


def test_a_gap_year_starts_a_new_comparison() -> None:
    # 2020 → 2022 is +20 % over two years: not a yearly change beyond 10 %
    assert check_series("resident_population", {2020: 5_000_000, 2022: 6_000_000}) == []
    assert len(check_series("resident_population", {2020: 5_000_000, 2021: 6_000_000})) == 1
