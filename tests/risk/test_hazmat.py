"""GB 18218-2018 identification and grading, checked against values computed by hand.

Notation in the comments: q/Q per substance, S = Σ q/Q (4.2.1, major when S ≥ 1),
R = α·Σ β·q/Q (4.3), grade by Table 6 (一级 R≥100, 二级 50≤R<100, 三级 10≤R<50,
四级 R<10), α by Table 5 (0 → 0.5, 1–29 → 1.0, 30–49 → 1.2, 50–99 → 1.5, ≥100 → 2.0).
Critical quantities Q come from Table 1 (named) or Table 2 (by category), β from
Table 3 (named toxic gases) or Table 4 (by category).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safecity.risk.major_hazards.hazmat import (
    HazmatInputError,
    SubstanceLookupError,
    alpha_for_population,
    identify,
    load_standard,
    lookup_substance,
    major_hazard_level,
    normalize_cas,
)


def one_unit(
    *substances: dict[str, Any], population: int | None = 10, kind: str = "storage", **top: Any
) -> dict:
    payload: dict[str, Any] = {
        "units": [{"name": "罐区A", "kind": kind, "substances": list(substances)}]
    }
    if population is not None:
        payload["exposed_population"] = population
    payload.update(top)
    return payload


def unit_of(payload: dict) -> dict:
    out = identify(payload)
    json.dumps(out, ensure_ascii=False)  # JSON-serialisable
    return out["units"][0]


def errors_of(payload: Any) -> list[tuple[Any, Any, str]]:
    with pytest.raises(HazmatInputError) as exc:
        identify(payload)
    return [(e.unit_index, e.substance_index, e.field) for e in exc.value.errors]


# --------------------------------------------------------------------------- data


def test_table1_has_85_rows_with_sources_and_valid_cas() -> None:
    std = load_standard()
    assert [s.no for s in std.table1] == list(range(1, 86))
    for s in std.table1:
        assert s.source == f"GB 18218-2018 表1 序号{s.no}"
        assert s.critical_t > 0
        for c in s.cas + s.extra_cas:
            assert normalize_cas(c) == c  # well-formed and check digit correct


@pytest.mark.parametrize(
    ("name", "no", "q_t"),
    [
        ("液氯", 12, 5),
        ("氨", 1, 10),
        ("硫化氢", 10, 5),
        ("光气", 6, 0.3),
        ("氰化氢", 25, 1),
        ("一氧化碳", 13, 20),  # via 煤气(CO, CO和H2、CH4的混合物等)
        ("二氧化硫", 4, 20),
        ("氯化氢", 11, 20),
        ("甲醛", 8, 5),
        ("环氧乙烷", 7, 10),
        ("氢", 51, 5),
        ("甲烷", 49, 50),
        ("天然气", 49, 50),
        ("液化石油气", 52, 50),
        ("乙炔", 54, 1),
        ("乙烯", 55, 50),
        ("苯", 57, 50),
        ("甲苯", 64, 500),
        ("甲醇", 65, 500),
        ("乙醇", 67, 500),
        ("汽油", 66, 200),
        ("硝酸铵(含可燃物>0.2%)", 43, 5),
        ("硝酸铵(含可燃物≤0.2%)", 44, 50),
        ("硝酸铵肥料", 45, 200),
        ("苯乙烯", 58, 500),
        ("丙酮", 59, 500),
        ("硝化甘油", 36, 1),
        ("三硝基甲苯", 35, 5),
        ("氯乙烯", 50, 50),
        ("环氧丙烷", 63, 10),
        ("氟化氢", 20, 1),
        ("溴", 28, 20),
        ("丙烯腈", 60, 50),
        ("二硫化碳", 61, 50),
        ("溴甲烷", 17, 10),
        ("异氰酸甲酯", 30, 0.75),
        ("氧", 56, 200),
        ("硝酸胍", 82, 50),
    ],
)
def test_table1_critical_quantities(name: str, no: int, q_t: float) -> None:
    m = lookup_substance(name)
    assert m.substance.no == no
    assert float(m.substance.critical_t) == q_t


@pytest.mark.parametrize("name", ["丙烯", "原油", "过氧化氢", "煤油", "盐酸"])
def test_substances_not_named_in_table1(name: str) -> None:
    with pytest.raises(SubstanceLookupError) as exc:
        lookup_substance(name)
    assert exc.value.reason == "unknown"


def test_table2_and_table4() -> None:
    std = load_standard()
    q = {k: float(c.critical_t) for k, c in std.categories.items()}
    b = {k: float(c.beta) for k, c in std.categories.items()}
    assert q == {
        "J1": 5, "J2": 50, "J3": 50, "J4": 50, "J5": 500,
        "W1.1": 1, "W1.2": 10, "W1.3": 50, "W2": 10, "W3": 150, "W4": 50,
        "W5.1": 10, "W5.2": 50, "W5.3": 1000, "W5.4": 5000, "W6.1": 10, "W6.2": 50,
        "W7.1": 10, "W7.2": 50, "W8": 50, "W9.1": 50, "W9.2": 200, "W10": 200, "W11": 200,
    }  # fmt: skip
    assert b == {
        "J1": 4, "J2": 1, "J3": 2, "J4": 2, "J5": 1,
        "W1.1": 2, "W1.2": 2, "W1.3": 2, "W2": 1.5, "W3": 1, "W4": 1,
        "W5.1": 1.5, "W5.2": 1, "W5.3": 1, "W5.4": 1, "W6.1": 1.5, "W6.2": 1,
        "W7.1": 1.5, "W7.2": 1, "W8": 1, "W9.1": 1, "W9.2": 1, "W10": 1, "W11": 1,
    }  # fmt: skip


def test_table3_toxic_gas_betas_and_links() -> None:
    std = load_standard()
    got = {t.name: float(t.beta) for t in std.table3}
    assert got == {
        "一氧化碳": 2, "二氧化硫": 2, "氨": 2, "环氧乙烷": 2, "氯化氢": 3, "溴甲烷": 3, "氯": 4,
        "硫化氢": 5, "氟化氢": 5, "二氧化氮": 10, "氰化氢": 10, "碳酰氯": 20, "磷化氢": 20,
        "异氰酸甲酯": 20,
    }  # fmt: skip
    for t in std.table3:
        if t.name != "一氧化碳":
            assert std.by_no[t.table1_no].name.startswith(t.name)


def test_beta_default_rules_agree_with_table4() -> None:
    std = load_standard()
    for rule in std.beta_rules.values():
        if rule.categories:
            assert rule.beta == max(std.categories[k].beta for k in rule.categories)
    # no Table 3 substance carries a default (Table 3 must win)
    t3_rows = {t.table1_no for t in std.table3}
    assert all(std.by_no[n].beta_default is None for n in t3_rows)


@pytest.mark.parametrize(
    ("population", "alpha", "label"),
    [
        (0, 0.5, "0人"),
        (1, 1.0, "1人～29人"),
        (29, 1.0, "1人～29人"),
        (30, 1.2, "30人～49人"),
        (49, 1.2, "30人～49人"),
        (50, 1.5, "50人～99人"),
        (99, 1.5, "50人～99人"),
        (100, 2.0, "100人以上"),
        (25000, 2.0, "100人以上"),
    ],
)
def test_alpha_bands(population: int, alpha: float, label: str) -> None:
    band = alpha_for_population(population)
    assert float(band.alpha) == alpha and band.label_zh == label


def test_major_hazard_level_boundaries() -> None:
    assert [major_hazard_level(r) for r in (9.99, 10, 49.99, 50, 99.99, 100, 1e6)] == [
        4,
        3,
        3,
        2,
        2,
        1,
        1,
    ]


# --------------------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    ("name", "cas", "no"),
    [
        (None, "7782-50-5", 12),  # 氯 by CAS
        (None, " 7664-41-7 ", 1),  # whitespace
        (None, "７７８２－５０－５", 12),  # full-width digits and dash
        (None, "74-98-6", 52),  # 丙烷 is listed under 液化石油气
        (None, "8006-14-2", 49),  # 天然气
        ("液氯", None, 12),
        (" 液 氯 ", None, 12),
        ("氯气", None, 12),
        ("光气", None, 6),  # alias of 碳酰氯
        ("电石", None, 83),
        ("tnt", None, 35),
        ("环氧氯丙烷", None, 21),
        ("液化石油气（含丙烷、丁烷及其混合物）", None, 52),  # full-width brackets
        ("甲烷，天然气", None, 49),  # full-width comma
        ("某厂液氨", "7664-41-7", 1),  # unresolved label, CAS decides
        ("氨", "7664-41-7", 1),
    ],
)
def test_lookup_by_name_alias_and_cas(name: str | None, cas: str | None, no: int) -> None:
    assert lookup_substance(name, cas).substance.no == no


@pytest.mark.parametrize(
    ("name", "cas", "reason"),
    [
        ("硝化棉", None, "ambiguous"),  # rows 37–41
        ("硝酸铵", None, "ambiguous"),  # rows 43, 44
        (None, "9004-70-0", "ambiguous"),
        ("液氯", "7664-41-7", "conflict"),  # 氯 vs 氨
        (None, "7782-50-4", "invalid_cas"),  # wrong check digit
        ("丙烯", None, "unknown"),
    ],
)
def test_lookup_failures(name: str | None, cas: str | None, reason: str) -> None:
    with pytest.raises(SubstanceLookupError) as exc:
        lookup_substance(name, cas)
    assert exc.value.reason == reason


def test_table3_applies_to_carbon_monoxide_not_to_town_gas() -> None:
    assert lookup_substance("一氧化碳").table3 is not None
    assert lookup_substance(None, "630-08-0").table3 is not None
    assert lookup_substance("煤气").table3 is None
    assert lookup_substance("液氯").table3.beta == 4  # type: ignore[union-attr]


# --------------------------------------------------------------------------- identification


def test_several_substances_in_one_unit() -> None:
    # 液氯 3 t:  q/Q = 3/5   = 0.6, β 4 (表3 氯)          → 2.4
    # 氨   2 t:  q/Q = 2/10  = 0.2, β 2 (表3 氨)          → 0.4
    # 甲烷 10 t: q/Q = 10/50 = 0.2, β 1.5 (表4 W2 易燃气体) → 0.3
    # 苯   25 t: q/Q = 25/50 = 0.5, β 1 (表4, 沸点80℃液体)  → 0.5
    # S = 1.5 ≥ 1 → major; Σβq/Q = 3.6; 120 people → α 2.0; R = 7.2 → 四级
    u = unit_of(
        one_unit(
            {"name": "液氯", "quantity_t": 3},
            {"name": "氨", "quantity_t": 2},
            {"name": "甲烷", "quantity_t": 10},
            {"name": "苯", "quantity_t": 25},
            population=120,
        )
    )
    assert u["S"] == 1.5 and u["is_major"] is True
    assert u["R"] == pytest.approx(7.2) and u["level"] == 4 and u["level_zh"] == "四级"
    assert u["alpha"] == 2.0 and u["alpha_band"]["label_zh"] == "100人以上"
    assert u["exceeding"] == []  # no single substance reaches its Q
    t = u["terms"]
    assert [x["Q"] for x in t] == [5, 10, 50, 50]
    assert [x["q_over_Q"] for x in t] == [0.6, 0.2, 0.2, 0.5]
    assert [x["beta"] for x in t] == [4, 2, 1.5, 1]
    assert [x["beta_q_over_Q"] for x in t] == pytest.approx([2.4, 0.4, 0.3, 0.5])
    assert t[0]["name"] == "氯" and t[0]["cas"] == ["7782-50-5"] and t[0]["table1_no"] == 12
    assert t[0]["Q_source"] == "GB 18218-2018 表1 序号12"
    assert t[0]["beta_source"] == "GB 18218-2018 表3（氯）"
    assert t[2]["beta_category"] == "W2" and "SafeCity默认分类" in t[2]["beta_source"]
    assert t[0]["source_table"] == "表1"
    assert u["kind"] == "storage" and u["kind_zh"] == "储存单元"


def test_exam_case_s_exactly_one_is_major() -> None:
    # 乙醇 200 t (Q 500) + 汽油 100 t (Q 200) + 乙醚 1 t (Q 10):
    # S = 0.4 + 0.5 + 0.1 = 1.0 → major ("等于或超过").
    # β: 乙醇 1, 汽油 1 (category W5.3 given), 乙醚 1.5 (类别1易燃液体 W5.1)
    # Σβq/Q = 0.4 + 0.5 + 0.15 = 1.05; 0 people → α 0.5; R = 0.525 → 四级
    subs = [
        {"name": "乙醇", "quantity_t": 200},
        {"name": "汽油", "quantity_t": 100, "category": "W5.3"},
        {"name": "乙醚", "quantity_t": 1},
    ]
    u = unit_of(one_unit(*subs, population=0, kind="production"))
    assert u["S"] == 1.0 and u["is_major"] is True
    assert u["R"] == 0.525 and u["level"] == 4
    assert u["kind_zh"] == "生产单元"
    # 乙醚 0.999 t: S = 0.4 + 0.5 + 0.0999 = 0.9999 → not major, R not computed
    subs[2]["quantity_t"] = 0.999
    u = unit_of(one_unit(*subs, population=0))
    assert u["S"] == pytest.approx(0.9999) and u["is_major"] is False
    assert u["R"] is None and u["level"] is None


def test_s_exactly_one_where_binary_floats_fall_short() -> None:
    # 氨 0.8 t: 0.8/10 = 0.08; 硫化氢 4.6 t: 4.6/5 = 0.92; S = 1.00 exactly → major.
    # In binary floating point 0.8/10 + 4.6/5 == 0.9999999999999999 (even with math.fsum).
    assert 0.8 / 10 + 4.6 / 5 < 1
    u = unit_of(one_unit({"name": "氨", "quantity_t": 0.8}, {"name": "硫化氢", "quantity_t": 4.6}))
    assert u["S"] == 1.0 and u["is_major"] is True
    # R = 1.0 × (2×0.08 + 5×0.92) = 0.16 + 4.6 = 4.76 → 四级
    assert u["R"] == pytest.approx(4.76) and u["level"] == 4


def test_single_substance_at_and_below_its_critical_quantity() -> None:
    # 液氯 5 t = Q → S = 1 → major by itself; R = 1.0 × 4 × 1 = 4 → 四级
    u = unit_of(one_unit({"name": "液氯", "quantity_t": 5}))
    assert u["S"] == 1.0 and u["is_major"] is True and u["R"] == 4.0 and u["level"] == 4
    assert u["exceeding"] == [
        {
            "name": "氯",
            "table1_no": 12,
            "category": None,
            "q_total": 5.0,
            "Q": 5.0,
            "term_indices": [0],
        }
    ]
    u = unit_of(one_unit({"name": "液氯", "quantity_t": 4.999}))
    assert u["S"] == pytest.approx(0.9998) and u["is_major"] is False and u["exceeding"] == []


def test_same_substance_on_two_rows_is_added_for_exceeding() -> None:
    # two 液氯 tanks of 3 t: 6 t ≥ 5 t → 氯 exceeds its Q by itself; S = 0.6 + 0.6 = 1.2
    u = unit_of(one_unit({"name": "液氯", "quantity_t": 3}, {"cas": "7782-50-5", "quantity_t": 3}))
    assert u["S"] == 1.2
    assert [(e["name"], e["q_total"], e["term_indices"]) for e in u["exceeding"]] == [
        ("氯", 6.0, [0, 1])
    ]


@pytest.mark.parametrize(
    ("q", "r", "level"),
    [
        # α = 1.0 (10 people); 液氯 β 4, Q 5 → R = 4 × q/5 = 0.8 q
        (12.49, 9.992, 4),
        (12.5, 10, 3),  # R = 10 exactly → 三级
        (62.49, 49.992, 3),
        (62.5, 50, 2),  # R = 50 exactly → 二级
        (124.99, 99.992, 2),
        (125, 100, 1),  # R = 100 exactly → 一级
    ],
)
def test_r_boundaries_single_substance(q: float, r: float, level: int) -> None:
    u = unit_of(one_unit({"name": "液氯", "quantity_t": q}))
    assert u["is_major"] is True
    assert u["R"] == pytest.approx(r) and u["level"] == level


@pytest.mark.parametrize(
    ("subs", "level"),
    [
        # 甲烷 4 t: 1.5 × 4/50 = 0.12; 氨 49.4 t: 2 × 49.4/10 = 9.88; R = 1.0 × 10.00 → 三级
        ((("甲烷", 4), ("氨", 49.4)), 3),
        # 甲烷 16 t: 1.5 × 0.32 = 0.48; 液氯 61.9 t: 4 × 12.38 = 49.52; R = 50.00 → 二级
        ((("甲烷", 16), ("液氯", 61.9)), 2),
        # 甲烷 32 t: 1.5 × 0.64 = 0.96; 液氯 123.8 t: 4 × 24.76 = 99.04; R = 100.00 → 一级
        ((("甲烷", 32), ("液氯", 123.8)), 1),
    ],
)
def test_r_boundaries_where_binary_floats_fall_short(subs: tuple, level: int) -> None:
    (n1, q1), (n2, q2) = subs
    target = {3: 10, 2: 50, 1: 100}[level]
    # what a naive float implementation would compute (just below the boundary):
    q_of = {"甲烷": (50, 1.5), "氨": (10, 2), "液氯": (5, 4)}
    naive = 1.0 * (q_of[n1][1] * q1 / q_of[n1][0] + q_of[n2][1] * q2 / q_of[n2][0])
    assert naive < target
    u = unit_of(one_unit({"name": n1, "quantity_t": q1}, {"name": n2, "quantity_t": q2}))
    assert u["R"] == target and u["level"] == level


@pytest.mark.parametrize(
    ("population", "alpha", "r", "level"),
    [
        # 液氯 10 t: q/Q = 2, β 4 → Σβq/Q = 8; R = 8α
        (0, 0.5, 4.0, 4),
        (1, 1.0, 8.0, 4),
        (29, 1.0, 8.0, 4),
        (30, 1.2, 9.6, 4),
        (49, 1.2, 9.6, 4),
        (50, 1.5, 12.0, 3),
        (99, 1.5, 12.0, 3),
        (100, 2.0, 16.0, 3),
    ],
)
def test_alpha_for_each_population_band(
    population: int, alpha: float, r: float, level: int
) -> None:
    u = unit_of(one_unit({"name": "液氯", "quantity_t": 10}, population=population))
    assert u["alpha"] == alpha and u["R"] == r and u["level"] == level


def test_alpha_override_with_reason() -> None:
    # analyst sets α = 1.5 (50–99 people) although the grid count says 3: R = 1.5 × 8 = 12 → 三级
    out = identify(
        one_unit(
            {"name": "液氯", "quantity_t": 10}, population=3, alpha=1.5, alpha_reason="规划居住区"
        )
    )
    assert (
        out["alpha"] == 1.5
        and out["alpha_overridden"] is True
        and out["alpha_reason"] == "规划居住区"
    )
    assert out["exposed_population"] == 3
    assert (
        out["units"][0]["R"] == 12.0 and out["units"][0]["alpha_band"]["label_zh"] == "50人～99人"
    )
    # α alone is enough
    assert (
        identify(one_unit({"name": "液氯", "quantity_t": 10}, population=None, alpha=2))["units"][
            0
        ]["R"]
        == 16
    )


@pytest.mark.parametrize(
    ("sub", "q_t", "beta", "source"),
    [
        # named toxic gases (Table 3)
        ({"name": "液氯", "quantity_t": 5}, 5, 4, "表3（氯）"),
        ({"name": "光气", "quantity_t": 0.3}, 0.3, 20, "表3（碳酰氯）"),
        ({"name": "硫化氢", "quantity_t": 5}, 5, 5, "表3（硫化氢）"),
        ({"name": "氰化氢", "quantity_t": 1}, 1, 10, "表3（氰化氢）"),
        ({"name": "一氧化碳", "quantity_t": 20}, 20, 2, "表3（一氧化碳）"),
        ({"name": "环氧乙烷", "quantity_t": 10}, 10, 2, "表3（环氧乙烷）"),
        # flammable gases (Table 4 W2)
        ({"name": "液化石油气", "quantity_t": 50}, 50, 1.5, "表4"),
        ({"name": "氢气", "quantity_t": 5}, 5, 1.5, "表4"),
        (
            {"name": "丙烯", "category": "W2", "quantity_t": 10},
            10,
            1.5,
            "表4 W2",
        ),  # unnamed → 表2 W2 Q 10
        # other classes
        ({"name": "TNT", "quantity_t": 5}, 5, 2, "表4"),  # explosive W1.x → 2
        ({"name": "苯", "quantity_t": 50}, 50, 1, "表4"),
        ({"name": "乙醚", "quantity_t": 10}, 10, 1.5, "表4"),  # category-1 flammable liquid W5.1
        ({"name": "氧气", "quantity_t": 200}, 200, 1, "表4"),  # oxidizing gas W4
        ({"name": "硝酸铵(含可燃物≤0.2%)", "quantity_t": 50}, 50, 1, "表4"),
        ({"name": "某剧毒气体", "category": "J1", "quantity_t": 5}, 5, 4, "表4 J1"),
        ({"name": "某毒性气体", "category": "J3", "quantity_t": 50}, 50, 2, "表4 J3"),
        ({"name": "原油", "category": "W5.4", "quantity_t": 5000}, 5000, 1, "表4 W5.4"),
        ({"name": "过氧化氢溶液", "category": "W9.2", "quantity_t": 200}, 200, 1, "表4 W9.2"),
    ],
)
def test_beta_by_class(sub: dict, q_t: float, beta: float, source: str) -> None:
    # each row is exactly at its critical quantity: q/Q = 1, S = 1, R = α × β = β (α = 1.0)
    u = unit_of(one_unit(sub))
    term = u["terms"][0]
    assert term["Q"] == q_t and term["q_over_Q"] == 1.0
    assert term["beta"] == beta and source in term["beta_source"]
    assert u["is_major"] is True and u["R"] == beta


def test_category_overrides_default_beta_but_not_table1_q_or_table3() -> None:
    # 苯 worked above its boiling point: W5.1 → β 1.5; Q stays 50 (表1, clause 4.1.2 a)
    u = unit_of(one_unit({"name": "苯", "quantity_t": 50, "category": "W5.1"}))
    assert u["terms"][0]["Q"] == 50 and u["terms"][0]["beta"] == 1.5 and u["R"] == 1.5
    # 液氯 is in Table 3: β stays 4, the category is ignored with a warning
    u = unit_of(one_unit({"name": "液氯", "quantity_t": 5, "category": "J3"}))
    assert u["terms"][0]["beta"] == 4 and u["warnings"][0]["substance_index"] == 0


def test_multi_hazard_unnamed_substance() -> None:
    # flammable (W2, Q 10, β 1.5) and toxic (J3, Q 50, β 2) gas, 10 t:
    # Q = min(10, 50) = 10 (4.1.2 b); β = max(1.5, 2) = 2 → q/Q = 1, R = 1.0 × 2 = 2
    u = unit_of(one_unit({"name": "某易燃有毒气体", "category": ["W2", "J3"], "quantity_t": 10}))
    t = u["terms"][0]
    assert t["Q"] == 10 and t["category"] == "W2" and t["categories"] == ["W2", "J3"]
    assert t["beta"] == 2 and t["beta_category"] == "J3" and u["R"] == 2


def test_mixtures_clause_4_2_3() -> None:
    # same hazard category as the pure substance: whole mixture as LPG, Q 50 → 60/50 = 1.2
    u = unit_of(one_unit({"name": "液化石油气", "quantity_t": 60, "mixture": "same_category"}))
    assert u["terms"][0]["Q"] == 50 and u["S"] == 1.2 and "4.2.3" in u["terms"][0]["note"]
    # 68 % nitric acid is not the Table 1 row (>70 %): new category W9.2 (Q 200, β 1)
    # 100 t → q/Q = 0.5, not major
    u = unit_of(
        one_unit(
            {"name": "硝酸(68%)", "quantity_t": 100, "mixture": "new_category", "category": "W9.2"}
        )
    )
    t = u["terms"][0]
    assert t["Q"] == 200 and t["table1_no"] is None and t["source_table"] == "表2"
    assert "4.2.3" in t["Q_source"] and u["S"] == 0.5 and u["is_major"] is False


def test_qualified_row_matched_by_base_name_warns() -> None:
    # "甲醛" resolves to 表1 序号8 "甲醛(含量>90%)" (Q 5) with a warning about solutions
    u = unit_of(one_unit({"name": "甲醛", "quantity_t": 1}))
    assert u["terms"][0]["table1_no"] == 8 and u["terms"][0]["Q"] == 5
    assert "含量>90%" in u["warnings"][0]["message_zh"]


def test_beta_needed_only_for_major_units() -> None:
    # 汽油 100 t: S = 0.5, not major → β not needed, reported as None
    u = unit_of(one_unit({"name": "汽油", "quantity_t": 100}))
    assert u["is_major"] is False and u["terms"][0]["beta"] is None
    # 汽油 250 t: S = 1.25, major → its category is needed for β
    assert errors_of(one_unit({"name": "汽油", "quantity_t": 250})) == [(0, 0, "category")]


# --------------------------------------------------------------------------- bad input


def test_unknown_substance_names_the_row() -> None:
    payload = one_unit({"name": "液氯", "quantity_t": 1}, {"name": "丙烯", "quantity_t": 3})
    with pytest.raises(HazmatInputError) as exc:
        identify(payload)
    (err,) = exc.value.errors
    assert (err.unit_index, err.substance_index, err.field) == (0, 1, "name")
    assert "第1个单元“罐区A”第2种物质“丙烯”" in err.message_zh and "未知物质" in err.message_zh
    assert "unknown substance" in err.message_en
    assert err.path == "units[0].substances[1].name"
    assert exc.value.as_list()[0]["path"] == "units[0].substances[1].name"


@pytest.mark.parametrize(
    ("sub", "field", "text"),
    [
        ({"name": "液氯", "quantity_t": -1}, "quantity_t", "不能为负数"),
        ({"name": "液氯"}, "quantity_t", "缺少数量"),
        ({"name": "液氯", "quantity_t": None}, "quantity_t", "缺少数量"),
        ({"name": "液氯", "quantity_t": "12"}, "quantity_t", "必须是数值"),
        ({"name": "液氯", "quantity_t": float("nan")}, "quantity_t", "必须是数值"),
        ({"name": "液氯", "quantity_t": True}, "quantity_t", "必须是数值"),
        ({"quantity_t": 1}, "name", "name 或 CAS"),
        ({"cas": "7782-50-4", "quantity_t": 1}, "cas", "校验位"),
        ({"name": "液氯", "cas": "7664-41-7", "quantity_t": 1}, "name", "不同的物质"),
        ({"name": "硝化棉", "quantity_t": 1}, "name", "多行"),
        ({"name": "X", "category": "W9", "quantity_t": 1}, "category", "未知的危险性类别"),
        ({"name": "X", "mixture": "yes", "quantity_t": 1}, "mixture", "mixture"),
        ({"name": "X", "mixture": "new_category", "quantity_t": 1}, "category", "4.2.3"),
    ],
)
def test_bad_substance_rows(sub: dict, field: str, text: str) -> None:
    payload = one_unit({"name": "氨", "quantity_t": 1}, sub)
    with pytest.raises(HazmatInputError) as exc:
        identify(payload)
    hits = [
        e for e in exc.value.errors if (e.unit_index, e.substance_index, e.field) == (0, 1, field)
    ]
    assert hits, exc.value.errors
    assert text in hits[0].message_zh
    assert "第1个单元“罐区A”第2种物质" in hits[0].message_zh


def test_every_error_is_collected() -> None:
    payload = {
        "exposed_population": -3,
        "units": [
            {"name": "罐区A", "kind": "tank", "substances": [{"name": "不存在", "quantity_t": -1}]},
            {"name": "", "kind": "production", "substances": []},
        ],
    }
    assert errors_of(payload) == [
        (None, None, "exposed_population"),
        (0, None, "kind"),
        (0, 0, "quantity_t"),
        (0, 0, "name"),
        (1, None, "name"),
        (1, None, "substances"),
    ]


@pytest.mark.parametrize(
    ("top", "field"),
    [
        ({}, "exposed_population"),
        ({"exposed_population": 2.5}, "exposed_population"),
        ({"exposed_population": "30"}, "exposed_population"),
        ({"exposed_population": True}, "exposed_population"),
        ({"exposed_population": 10, "alpha": 1.3}, "alpha"),
    ],
)
def test_bad_exposure(top: dict, field: str) -> None:
    payload = {
        "units": [{"name": "A", "kind": "storage", "substances": [{"name": "氨", "quantity_t": 1}]}]
    }
    payload.update(top)
    assert errors_of(payload) == [(None, None, field)]


def test_bad_payload_shapes() -> None:
    assert errors_of({"exposed_population": 1, "units": []}) == [(None, None, "units")]
    assert errors_of({"exposed_population": 1}) == [(None, None, "units")]
    assert errors_of([]) == [(None, None, "payload")]
    assert errors_of({"exposed_population": 1, "units": ["x"]}) == [(0, None, "units")]


def test_zero_quantity_and_integral_float_population_accepted() -> None:
    u = unit_of(one_unit({"name": "氨", "quantity_t": 0}, population=30.0))  # type: ignore[arg-type]
    assert u["S"] == 0 and u["is_major"] is False and u["alpha"] == 1.2


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
_unit = st.fixed_dictionaries(
    {},
    optional={
        "name": _json,
        "kind": _json | st.sampled_from(["storage", "production"]),
        "substances": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "name": _json | st.just("氯"),
                    "cas": _json,
                    "quantity_t": _json,
                    "category": _json,
                    "mixture": _json,
                },
            )
            | _json,
            max_size=3,
        )
        | _json,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=st.fixed_dictionaries(
        {"units": st.lists(_unit | _json, max_size=3) | _json},
        optional={"exposed_population": _json, "alpha": _json, "alpha_reason": _json},
    )
)
def test_any_json_is_answered_or_refused_field_by_field(payload: dict) -> None:
    """Whatever JSON arrives, identify() answers or raises HazmatInputError naming fields.

    The fuzzer once sent ``"kind": {}`` and got a 500 (a dict is unhashable in ``kind in KINDS``).
    """
    try:
        result = identify(payload)
    except HazmatInputError as exc:
        assert exc.errors and all(e.field and e.message_zh and e.message_en for e in exc.errors)
    else:
        assert len(result["units"]) == len(payload["units"])


def test_unhashable_kind_is_a_field_error() -> None:
    payload = {"units": [{"name": "", "kind": {}, "substances": [{"quantity_t": 0.0}]}]}
    with pytest.raises(HazmatInputError) as exc:
        identify(payload)
    fields = {e.path for e in exc.value.errors}
    assert "units[0].kind" in fields and "units[0].name" in fields
