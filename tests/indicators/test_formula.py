"""The formula evaluator: exact arithmetic, whitelist only, explained non-results."""

from __future__ import annotations

from fractions import Fraction

import pytest

from safecity.indicators.definitions import INPUTS
from safecity.indicators.errors import IndicatorInputError
from safecity.indicators.formula import Formula


def _f(text: str) -> Formula:
    return Formula.parse(text, INPUTS)


def test_arithmetic_is_exact_and_respects_precedence() -> None:
    f = _f("natural_disaster_loss_10k_yuan / (gdp_100m_yuan * 10000) * 100")
    # 76,000 万元 / (9,515.9 亿元 × 10,000 万元/亿元) × 100 = 7,600,000 / 95,159,000 % = 7600/95159
    got = f.evaluate({"natural_disaster_loss_10k_yuan": 76000, "gdp_100m_yuan": 9515.9})
    assert got.value == Fraction(7600, 95159)
    assert f.inputs == {"natural_disaster_loss_10k_yuan", "gdp_100m_yuan"}
    # without the parentheses the division binds first: a different (wrong) number
    g = _f("natural_disaster_loss_10k_yuan / gdp_100m_yuan * 10000 * 100")
    assert (
        g.evaluate({"natural_disaster_loss_10k_yuan": 76000, "gdp_100m_yuan": 9515.9}).value
        != got.value
    )


def test_min_max_and_unary_minus() -> None:
    f = _f("max(fire_deaths, road_traffic_deaths) - min(fire_deaths, 3) + -1")
    assert f.evaluate({"fire_deaths": 2, "road_traffic_deaths": 9}).value == 9 - 2 - 1


def test_missing_input_names_it_and_gives_no_number() -> None:
    got = _f("production_safety_deaths / gdp_100m_yuan").evaluate({"production_safety_deaths": 12})
    assert got.value is None and got.missing == ("gdp_100m_yuan",)
    zh, en = got.explanation()
    assert "gdp_100m_yuan" in zh and en == "cannot compute: missing gdp_100m_yuan"
    assert got.as_dict()["value"] is None


def test_zero_denominator_names_the_expression() -> None:
    f = _f("forest_fires_out_24h / forest_fires * 100")
    got = f.evaluate({"forest_fires_out_24h": 0, "forest_fires": 0})
    assert got.value is None and got.zero_denominator == "forest_fires"
    assert got.explanation()[1] == "cannot compute: denominator forest_fires is zero"
    nested = _f("fire_deaths / (resident_population - resident_population)")
    assert nested.evaluate({"fire_deaths": 1, "resident_population": 5}).zero_denominator == (
        "resident_population - resident_population"
    )


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "fire_deaths ** 2",
        "fire_deaths.real",
        "[fire_deaths][0]",
        "fire_deaths if fire_deaths else 1",
        "fire_deaths > 1",
        "'a'",
        "abs(fire_deaths)",
        "min(fire_deaths)",
        "lambda: 1",
        "fire_deaths // 2",
        "True + fire_deaths",
    ],
)
def test_anything_outside_the_whitelist_is_refused(text: str) -> None:
    with pytest.raises(IndicatorInputError) as exc:
        _f(text)
    assert exc.value.fields[0] == "formula"


def test_unknown_inputs_are_each_named() -> None:
    with pytest.raises(IndicatorInputError) as exc:
        _f("deaths / gdp + min")  # 'min' not called is a name, not the function
    text = str(exc.value)
    assert "'deaths'" in text and "'gdp'" in text and "'min'" in text
    assert len(exc.value.errors) == 3


def test_syntax_error_and_empty_and_overlong() -> None:
    for bad in ("fire_deaths /", "", "   ", None, "1+" * 300 + "1"):
        with pytest.raises(IndicatorInputError):
            _f(bad)  # type: ignore[arg-type]


def test_non_number_input_is_refused_by_name() -> None:
    with pytest.raises(IndicatorInputError) as exc:
        _f("fire_deaths / resident_population").evaluate(
            {"fire_deaths": "many", "resident_population": float("nan")}
        )
    assert exc.value.fields == ["fire_deaths", "resident_population"]


def test_result_beyond_float_range_is_refused() -> None:
    f = _f("fire_deaths * 1e200 * 1e200")
    assert f.evaluate({"fire_deaths": 0}).value == 0
    with pytest.raises(IndicatorInputError, match="out of range"):
        f.evaluate({"fire_deaths": 1})
