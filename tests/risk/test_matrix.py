"""Risk levels and the 5 × 5 risk matrix (R = L × S).

Default bands (see safecity.risk.points.matrix): R 20–25 red 重大, 15–16 orange 较大,
9–12 yellow 一般, 1–8 blue 低.  Every expected value below is L × S done by hand.
"""

from __future__ import annotations

import pytest

from safecity.risk.points.matrix import (
    DEFAULT_MATRIX,
    MatrixInputError,
    RiskLevel,
    RiskMatrix,
    assess_matrix,
    most_severe,
)

RED, ORANGE, YELLOW, BLUE = RiskLevel.RED, RiskLevel.ORANGE, RiskLevel.YELLOW, RiskLevel.BLUE


def test_risk_level_representation() -> None:
    assert [lv.key for lv in RiskLevel] == ["red", "orange", "yellow", "blue"]
    assert [lv.zh for lv in RiskLevel] == ["重大风险", "较大风险", "一般风险", "低风险"]
    assert [lv.en for lv in RiskLevel] == ["major", "significant", "general", "low"]
    assert [lv.order for lv in RiskLevel] == [1, 2, 3, 4]
    assert RED.as_dict() == {"key": "red", "zh": "重大风险", "en": "major", "order": 1}
    assert RiskLevel.from_key("ORANGE") is ORANGE
    assert RiskLevel.from_key("一般风险") is YELLOW
    assert RiskLevel.from_key("低") is BLUE
    assert RiskLevel.from_key("significant") is ORANGE
    with pytest.raises(ValueError):
        RiskLevel.from_key("purple")
    assert RED.more_severe_than(ORANGE) and not BLUE.more_severe_than(YELLOW)
    assert most_severe([BLUE, YELLOW, ORANGE, YELLOW]) is ORANGE
    assert most_severe([]) is None


@pytest.mark.parametrize(
    ("lk", "sv", "r", "level"),
    [
        (5, 5, 25, RED),  # 5×5 = 25 → 20–25 red
        (4, 5, 20, RED),  # 4×5 = 20, lowest red
        (5, 4, 20, RED),  # 5×4 = 20
        (4, 4, 16, ORANGE),  # 16, highest orange
        (3, 5, 15, ORANGE),  # 15, lowest orange
        (5, 3, 15, ORANGE),
        (3, 4, 12, YELLOW),  # 12, highest yellow
        (2, 5, 10, YELLOW),  # 10
        (3, 3, 9, YELLOW),  # 9, lowest yellow
        (2, 4, 8, BLUE),  # 8, highest blue
        (1, 5, 5, BLUE),
        (1, 1, 1, BLUE),
    ],
)
def test_default_matrix_boundaries(lk: int, sv: int, r: int, level: RiskLevel) -> None:
    result = assess_matrix(lk, sv)
    assert (result.likelihood, result.severity, result.r, result.level) == (lk, sv, r, level)
    d = result.as_dict()
    assert d["method"] == "LS" and d["L"] == lk and d["S"] == sv and d["R"] == r
    assert d["level"]["key"] == level.key


def test_default_matrix_products_never_fall_between_bands() -> None:
    # L×S with L,S ∈ 1..5 never equals 13, 14, 17, 18, 19: the bands 15–16 / 9–12 are exhaustive.
    products = {lk * sv for lk in range(1, 6) for sv in range(1, 6)}
    assert products.isdisjoint({7, 11, 13, 14, 17, 18, 19, 21, 22, 23, 24})
    counts = {lv: 0 for lv in RiskLevel}
    for lk in range(1, 6):
        for sv in range(1, 6):
            counts[DEFAULT_MATRIX.level(lk, sv)] += 1
    # red: (4,5),(5,4),(5,5); orange: (3,5),(5,3),(4,4); yellow: (3,3),(2,5),(5,2),(3,4),(4,3)
    assert counts == {RED: 3, ORANGE: 3, YELLOW: 5, BLUE: 14}


@pytest.mark.parametrize("bad", [0, 6, 2.5, True, "3", None, -1])
def test_only_integers_one_to_five(bad: object) -> None:
    with pytest.raises(MatrixInputError) as exc:
        assess_matrix(bad, 3)
    assert [e.field for e in exc.value.errors] == ["L"]


def test_both_bad_inputs_reported_and_integral_float_accepted() -> None:
    with pytest.raises(MatrixInputError) as exc:
        assess_matrix(0, 9)
    assert [e.field for e in exc.value.errors] == ["L", "S"]
    assert "1–5" in exc.value.errors[0].message_zh
    assert assess_matrix(3.0, 4).r == 12


def test_city_thresholds() -> None:
    # A city using 20–25 red / 10–16 orange / 4–9 yellow / 1–3 blue.
    m = RiskMatrix.from_thresholds(20, 10, 4, name="city-x")
    assert assess_matrix(2, 5, m).level is ORANGE  # 10 ≥ 10
    assert assess_matrix(3, 3, m).level is YELLOW  # 9 < 10
    assert assess_matrix(2, 2, m).level is YELLOW  # 4 ≥ 4
    assert assess_matrix(1, 3, m).level is BLUE  # 3 < 4
    assert assess_matrix(4, 5, m).level is RED
    same = RiskMatrix.from_dict({"thresholds": {"red_min": 20, "orange_min": 10, "yellow_min": 4}})
    assert same.levels == m.levels
    with pytest.raises(MatrixInputError):
        RiskMatrix.from_thresholds(10, 15, 20)  # not yellow ≤ orange ≤ red


def test_city_level_table_and_monotonicity() -> None:
    rows = [
        ["blue", "blue", "blue", "yellow", "yellow"],
        ["blue", "blue", "yellow", "yellow", "orange"],
        ["blue", "yellow", "yellow", "orange", "orange"],
        ["yellow", "yellow", "orange", "orange", "red"],
        ["yellow", "orange", "orange", "red", "red"],
    ]
    m = RiskMatrix.from_dict({"name": "table", "levels": rows})
    assert assess_matrix(1, 4, m).level is YELLOW  # row L=1, column S=4
    assert assess_matrix(4, 5, m).level is RED
    assert m.as_dict()["levels"] == rows
    bad = [row[:] for row in rows]
    bad[4][4] = "blue"  # L=5,S=5 less severe than L=5,S=4
    with pytest.raises(MatrixInputError) as exc:
        RiskMatrix.from_dict({"levels": bad})
    assert "单调" in exc.value.errors[0].message_zh
    with pytest.raises(MatrixInputError):
        RiskMatrix.from_dict({"levels": rows[:4]})
    with pytest.raises(MatrixInputError):
        RiskMatrix.from_dict({"levels": [["pink"] * 5] * 5})
