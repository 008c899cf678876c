"""LEC: D = L × E × C, listed values only, default four-colour bands
(D > 320 red, 160 < D ≤ 320 orange, 70 < D ≤ 160 yellow, D ≤ 70 blue).
Every D below is multiplied out by hand in the comment next to it.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest

from safecity.risk.points.lec import (
    C_TABLE,
    DEFAULT_LEC_BANDS,
    E_TABLE,
    L_TABLE,
    LecBands,
    LecInputError,
    assess_lec,
    classic_band,
)
from safecity.risk.points.matrix import RiskLevel

RED, ORANGE, YELLOW, BLUE = RiskLevel.RED, RiskLevel.ORANGE, RiskLevel.YELLOW, RiskLevel.BLUE


def test_tables_are_the_standard_values() -> None:
    assert [float(r.value) for r in L_TABLE] == [10, 6, 3, 1, 0.5, 0.2, 0.1]
    assert [float(r.value) for r in E_TABLE] == [10, 6, 3, 2, 1, 0.5]
    assert [float(r.value) for r in C_TABLE] == [100, 40, 15, 7, 3, 1]


@pytest.mark.parametrize(
    ("lec", "d", "level"),
    [
        ((3, 3, 7), 63, BLUE),  # 3×3×7 = 63 ≤ 70
        ((1, 10, 7), 70, BLUE),  # 1×10×7 = 70: boundary stays in the lower band (D ≤ 70 低)
        ((0.5, 10, 15), 75, YELLOW),  # 0.5×10×15 = 75 > 70
        ((1, 10, 15), 150, YELLOW),  # 1×10×15 = 150 ≤ 160
        ((6, 2, 15), 180, ORANGE),  # 6×2×15 = 180 > 160
        ((10, 2, 15), 300, ORANGE),  # 10×2×15 = 300 ≤ 320
        ((3, 3, 40), 360, RED),  # 3×3×40 = 360 > 320
        ((10, 10, 100), 10000, RED),  # maximum
        ((0.1, 0.5, 1), 0.05, BLUE),  # minimum 0.1×0.5×1 = 0.05
    ],
)
def test_bands_at_reachable_neighbours(
    lec: tuple[float, float, float], d: float, level: RiskLevel
) -> None:
    result = assess_lec(*lec)
    assert result.d == Fraction(str(d))
    assert result.level is level
    out = result.as_dict()
    assert out["D"] == d and out["level"]["key"] == level.key
    assert out["method"] == "LEC"


def test_exact_product_no_float_noise() -> None:
    # 0.2 × 3 × 1 = 0.6 (binary floats give 0.6000000000000001)
    assert 0.2 * 3 * 1 != 0.6
    assert assess_lec(0.2, 3, 1).as_dict()["D"] == 0.6
    # 0.1 × 6 × 7 = 4.2
    assert assess_lec(0.1, 6, 7).d == Fraction("4.2")


def test_160_and_320_are_unreachable_so_only_70_and_20_are_real_boundaries() -> None:
    ds = {a.value * b.value * c.value for a, b, c in itertools.product(L_TABLE, E_TABLE, C_TABLE)}
    assert Fraction(160) not in ds and Fraction(320) not in ds
    assert Fraction(70) in ds and Fraction(20) in ds


@pytest.mark.parametrize(
    ("d", "right", "left"),
    [
        ("69.9", BLUE, BLUE),
        ("70", BLUE, YELLOW),  # default (closed right): D ≤ 70 低; closed left: 70 ≤ D 一般
        ("70.1", YELLOW, YELLOW),
        ("159.9", YELLOW, YELLOW),
        ("160", YELLOW, ORANGE),
        ("160.1", ORANGE, ORANGE),
        ("319.9", ORANGE, ORANGE),
        ("320", ORANGE, RED),  # default: 320 itself is 较大; closed left: D ≥ 320 重大
        ("320.1", RED, RED),
    ],
)
def test_band_boundaries_both_conventions(d: str, right: RiskLevel, left: RiskLevel) -> None:
    assert DEFAULT_LEC_BANDS.classify(Decimal(d)) is right
    assert LecBands(closed="left").classify(Decimal(d)) is left


def test_classic_five_bands() -> None:
    assert classic_band(20).zh == "稍有危险"  # 20 is not > 20
    assert classic_band(21).zh == "一般危险"  # 1×3×7 = 21
    assert classic_band(70).zh == "一般危险"
    assert classic_band(75).zh == "显著危险"
    assert classic_band(180).zh == "高度危险"
    assert classic_band(360).zh == "极其危险"
    assert classic_band(20, closed="left").zh == "一般危险"
    assert assess_lec(1, 3, 7).as_dict()["classic_band"]["zh"] == "一般危险"


@pytest.mark.parametrize(
    ("lec", "fields"),
    [
        ((4, 6, 7), ["L"]),  # 4 is not a listed L
        ((0.3, 6, 7), ["L"]),
        ((3, 5, 7), ["E"]),  # 5 is not a listed E
        ((3, 6, 10), ["C"]),  # 10 is not a listed C
        ((0.2, 0.2, 0.2), ["E", "C"]),  # 0.2 is a listed L but not an E or C
        ((True, 6, 7), ["L"]),
        (("x", None, float("nan")), ["L", "E", "C"]),
    ],
)
def test_only_listed_values(lec: tuple[object, object, object], fields: list[str]) -> None:
    with pytest.raises(LecInputError) as exc:
        assess_lec(*lec)
    assert [e.field for e in exc.value.errors] == fields


def test_numeric_strings_and_decimals_accepted() -> None:
    # "0.5" × 6 × Decimal("15.0") = 45 → D ≤ 70 低
    r = assess_lec("0.5", 6, Decimal("15.0"))
    assert r.d == 45 and r.level is BLUE
    d = r.as_dict()
    assert d["factors"]["L"]["zh"] == "很不可能，可以设想"
    assert d["factors"]["E"]["zh"] == "每天工作时间内暴露"
    assert d["factors"]["C"]["zh"] == "非常严重，一人死亡"


def test_city_configured_bands() -> None:
    bands = LecBands.from_dict({"thresholds": [70, 160, 320], "closed": "left", "name": "city-y"})
    assert assess_lec(1, 10, 7, bands).level is YELLOW  # 70 ≥ 70 under the left-closed convention
    assert bands.as_dict()["bands"][0]["rule"] == "D≥320"
    shifted = LecBands.from_dict({"thresholds": [20, 70, 160]})
    assert assess_lec(1, 3, 7, shifted).level is YELLOW  # 21 > 20
    assert assess_lec(6, 2, 15, shifted).level is RED  # 180 > 160
    assert DEFAULT_LEC_BANDS.as_dict()["bands"][3]["rule"] == "D≤70"
    with pytest.raises(LecInputError):
        LecBands.from_dict({"thresholds": [160, 70, 320]})
    with pytest.raises(LecInputError):
        LecBands.from_dict({"thresholds": [70, 160]})
    with pytest.raises(LecInputError):
        LecBands(closed="middle")  # type: ignore[arg-type]
