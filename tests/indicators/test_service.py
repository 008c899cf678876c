"""Indicators computed from recorded statistics and the platform's records, by hand; missing
inputs named; versioned corrections; scope. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from fractions import Fraction

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.errors import Forbidden, Invalid, NotFound
from safecity.core.models import AuditEntry
from safecity.indicators import service
from safecity.indicators.models import Statistic
from tests.conftest import NOW, principal
from tests.indicators.helpers import at, hidden_danger, import_yantai, stats

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _cell(session: Session, set_id: int, key: str, division: str, year: int, who: str = "admin"):
    ev = service.evaluate(session, principal(session, who), set_id, NOW, years=[year])
    return ev.cell(key, division, year)


def test_import_creates_the_yantai_set_and_audits(session: Session, city: dict) -> None:
    s = import_yantai(session)
    rows = service.indicator_rows(session, s.id)
    assert len(rows) == 13
    assert rows[0].key == "deaths_per_100m_gdp" and rows[0].target_value == "0.005"
    assert rows[0].target_change_percent == "-33"
    actions = session.scalars(select(AuditEntry.object_id).where(AuditEntry.action == "import"))
    assert "yantai" in set(actions)
    # importing the same file again changes nothing
    again = service.import_set(
        session, principal(session, "admin"), service_text := _yantai_text(), NOW
    )
    assert again.unchanged and not again.created and not again.updated
    assert service_text


def _yantai_text() -> str:
    from tests.indicators.helpers import shipped_text  # noqa: PLC0415 kept beside its one use

    return shipped_text("yantai")


def test_fire_death_rate_by_hand_and_status(session: Session, city: dict) -> None:
    s = import_yantai(session)
    # 2 fire deaths (recorded from the yearly bulletin) in 900,000 residents:
    # 2 / 900000 × 100000 = 0.2222…; the target is "< 0.2" (strict), no base: off track by 11.1 %
    stats(
        session,
        [
            ("370602", 2024, "fire_deaths", 2),
            ("370602", 2024, "resident_population", 900_000),
        ],
    )
    c = _cell(session, s.id, "fire_deaths_per_100k", "370602", 2024)
    assert c.progress.value == Fraction(2, 9)
    assert c.progress.status == "off_track"
    assert c.progress.target == Fraction("0.2")
    d = c.as_dict()
    assert d["inputs"][0]["origin"] == "statistic"
    assert "测试统计公报" in d["inputs"][0]["note_zh"]


def test_percentage_change_target_with_computed_base(session: Session, city: dict) -> None:
    s = import_yantai(session)
    # base 2020: 10 deaths / 500,000 workers × 100,000 = 2.0; target down 20 % → 1.6 in 2025;
    # path in 2023: 2 + (1.6 − 2) × 3/5 = 1.76; 2023: 9 / 500,000 × 100,000 = 1.8, 2.3 % worse
    stats(
        session,
        [
            ("370613", 2020, "industry_mining_trade_deaths", 10),
            ("370613", 2020, "industry_mining_trade_workers", 500_000),
            ("370613", 2023, "industry_mining_trade_deaths", 9),
            ("370613", 2023, "industry_mining_trade_workers", 500_000),
        ],
    )
    c = _cell(session, s.id, "imt_deaths_per_100k_workers", "370613", 2023)
    assert c.base_value == Fraction(2)
    assert c.progress.target == Fraction("1.6")
    assert c.progress.reference == Fraction("1.76")
    assert c.progress.value == Fraction("1.8")
    assert c.progress.status == "at_risk"


def test_missing_inputs_are_named_not_a_number(session: Session, city: dict) -> None:
    s = import_yantai(session)
    stats(session, [("370613", 2024, "production_safety_deaths", 3)])
    c = _cell(session, s.id, "deaths_per_100m_gdp", "370613", 2024)
    assert c.progress.value is None and c.progress.status == "unknown"
    d = c.as_dict()
    assert d["missing"] == ["gdp_100m_yuan"]
    assert "地区生产总值" in d["explanation_zh"] and "未录入" in d["explanation_zh"]
    # the forest area burnt has no record source: it says the source is not connected
    c2 = _cell(session, s.id, "forest_fire_damage_permille", "370613", 2024)
    d2 = c2.as_dict()
    assert set(d2["missing"]) == {"forest_fire_damaged_ha", "forest_area_ha"}
    assert "来源未接入" in d2["explanation_zh"] and "森林火灾受害面积" in d2["explanation_zh"]


def test_zero_denominator_named(session: Session, city: dict) -> None:
    s = import_yantai(session)
    stats(
        session,
        [("370602", 2024, "forest_fires", 0), ("370602", 2024, "forest_fires_out_24h", 0)],
    )
    c = _cell(session, s.id, "forest_fires_out_24h_pct", "370602", 2024)
    assert c.progress.value is None
    assert "forest_fires" in c.progress.explanation_en and "zero" in c.progress.explanation_en


def test_correction_keeps_history_and_is_used(session: Session, city: dict) -> None:
    s = import_yantai(session)
    stats(
        session,
        [("370602", 2024, "fire_deaths", 1), ("370602", 2024, "resident_population", 900_000)],
    )
    report = stats(session, [("370602", 2024, "resident_population", 1_000_000)])
    assert (report.created, report.corrected) == (0, 1)
    same = stats(session, [("370602", 2024, "resident_population", "1,000,000")])
    assert same.unchanged == 1 and same.corrected == 0
    history = service.statistic_history(
        session, principal(session, "admin"), "370602", 2024, "resident_population"
    )
    assert [(h.version, h.value, h.superseded_at is None) for h in history] == [
        (2, "1000000", True),
        (1, "900000", False),
    ]
    c = _cell(session, s.id, "fire_deaths_per_100k", "370602", 2024)
    assert c.progress.value == Fraction(1, 10)  # 1 / 1,000,000 × 100,000
    assert c.inputs[1].version == 2


def test_bad_statistics_refused_or_flagged(session: Session, city: dict) -> None:
    who = principal(session, "admin")
    with pytest.raises(Invalid) as exc:
        service.record_statistics(
            session,
            who,
            [
                service.StatIn("370602", 2024, "resident_population", -5, "x", row=2),
                service.StatIn("370602", 2024, "gdp_100m_yuan", 0, "x", row=3),
                service.StatIn("370602", 2024, "no_such_input", 1, "x", row=4),
                service.StatIn("370602", 2030, "vehicles_10k", 1, "x", row=5),
            ],
            NOW,
        )
    assert [(e.field, e.row) for e in exc.value.errors] == [
        ("value", 2),
        ("value", 3),
        ("input", 4),
        ("year", 5),
    ]
    assert session.scalar(select(Statistic.id)) is None  # nothing written
    # population that halves in a year is recorded but flagged with the reason
    report = stats(
        session,
        [
            ("370602", 2022, "resident_population", 900_000),
            ("370602", 2023, "resident_population", 450_000),
        ],
    )
    assert len(report.flags) == 1 and report.flags[0].year == 2023
    assert "-50.0%" in report.flags[0].reason_zh


def test_hidden_danger_source_counts_by_year_and_division(session: Session, city: dict) -> None:
    from safecity.indicators.definitions import INPUTS  # noqa: PLC0415 kept beside its use
    from safecity.indicators.sources import SOURCES  # noqa: PLC0415 kept beside its use

    # 2025 (Beijing year): 3 found in Zhifu (one rejected → not counted), 1 closed;
    # one reported at 2025-12-31 17:00 UTC is 2026-01-01 in Beijing: counted in 2026
    hidden_danger(session, "370602", at(2025, 3), status="closed", grade="major", closed_late=False)
    hidden_danger(session, "370602", at(2025, 4))
    hidden_danger(session, "370602", at(2025, 5), status="rejected")
    hidden_danger(session, "370613", at(2025, 5), grade="major")
    from datetime import UTC, datetime  # noqa: PLC0415 kept beside its use

    hidden_danger(session, "370602", datetime(2025, 12, 31, 17, 0, tzinfo=UTC))
    session.commit()
    values = SOURCES["hazards"].values(session, ["370600", "370602"], [2025, 2026], NOW)
    assert values["hidden_dangers_found", "370602", 2025] == 2
    assert values["hidden_dangers_found", "370600", 2025] == 3
    assert values["hidden_dangers_rectified", "370602", 2025] == 1
    assert values["major_hidden_dangers_found", "370600", 2025] == 2
    assert values["major_hidden_dangers_closed_on_time", "370600", 2025] == 1
    assert values["hidden_dangers_found", "370602", 2026] == 1
    assert "hidden_dangers_found" in INPUTS
    recs = SOURCES["hazards"].records(session, "hidden_dangers_found", "370602", 2025, NOW)
    assert len(recs) == 2 and all(r.link.startswith("/hazards/") for r in recs)


def test_a_city_defined_indicator_over_hidden_dangers(session: Session, city: dict) -> None:
    text = """
[set]
city = "yantai-hd"
name_zh = "隐患指标"
name_en = "Hidden-danger indicators"
divisions = ["370600", "370602", "370613"]

[[indicator]]
key = "rectification_pct"
name_zh = "隐患整改率"
name_en = "rectification rate"
unit = "%"
formula = "hidden_dangers_rectified / hidden_dangers_found * 100"
direction = "higher"
period = { start = 2021, end = 2025 }
target = { value = 95 }
divisions = ["*"]
source = "test"
"""
    res = service.import_set(session, principal(session, "admin"), text, NOW)
    for i in range(4):
        status = "closed" if i < 3 else "registered"
        hidden_danger(session, "370613", at(2025, 2 + i), status=status, closed_late=False)
    session.commit()
    ev = service.evaluate(session, principal(session, "analyst"), res.set.id, NOW, years=[2025])
    c = ev.cell("rectification_pct", "370613", 2025)
    assert c.progress.value == 75  # 3 of 4 closed
    assert c.progress.status == "off_track"
    assert c.inputs[0].origin == "records"
    # Zhifu has none that year: 0 / 0 — a zero denominator, not 0 %
    z = ev.cell("rectification_pct", "370602", 2025)
    assert z.progress.value is None and "hidden_dangers_found" in z.progress.explanation_en
    drill = service.drill_down(
        session, principal(session, "analyst"), res.set.id, "rectification_pct", "370613", 2025, NOW
    )
    assert len(drill.records["hidden_dangers_found"]) == 4
    assert len(drill.records["hidden_dangers_rectified"]) == 3


def test_scope(session: Session, city: dict) -> None:
    s = import_yantai(session)
    ev = service.evaluate(session, principal(session, "laishan"), s.id, NOW, years=[2024])
    assert ev.divisions == ["370613"]
    assert {d for (_, d, _) in ev.cells} == {"370613"}
    with pytest.raises(NotFound):
        service.evaluate(session, principal(session, "laishan"), s.id, NOW, division="370602")
    with pytest.raises(NotFound):
        service.get_set(session, principal(session, "qdadmin"), s.id)
    with pytest.raises(Forbidden):
        service.list_sets(session, principal(session, "enterprise"))
    with pytest.raises(Forbidden):  # a district officer reads but does not edit the set
        service.update_indicator(
            session, principal(session, "zhifu"), s.id, "fire_deaths_per_100k", {"unit": "x"}, NOW
        )
    with pytest.raises(Forbidden):  # statistics of another district
        service.record_statistics(
            session,
            principal(session, "zhifu"),
            [service.StatIn("370613", 2024, "resident_population", 1, "x")],
            NOW,
        )


def test_edit_indicator_validated(session: Session, city: dict) -> None:
    s = import_yantai(session)
    who = principal(session, "analyst")
    with pytest.raises(Invalid) as exc:
        service.update_indicator(
            session, who, s.id, "deaths_per_100m_gdp", {"target_change_percent": "10"}, NOW
        )
    assert exc.value.errors[0].field == "target.change_percent"
    with pytest.raises(Invalid) as exc2:
        service.update_indicator(
            session, who, s.id, "deaths_per_100m_gdp", {"formula": "gdp / nothing"}, NOW
        )
    assert exc2.value.errors[0].field == "formula"
    row = service.update_indicator(
        session, who, s.id, "deaths_per_100m_gdp", {"base_value": "0.03", "binding": "binding"}, NOW
    )
    assert row.base_value == "0.03" and row.binding == "binding"
