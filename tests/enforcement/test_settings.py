"""A city's own discretion table and class scheme replace the examples; a bad file is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from safecity.cli import app
from safecity.core.config import get_settings
from safecity.core.errors import Invalid
from safecity.enforcement import casework, common, settings, supervision
from safecity.enforcement.models import SupervisionClass
from tests.conftest import NOW, principal

CITY_TABLE = """
name = "某市应急管理行政处罚裁量基准（测试）"

[violations.no_plan]
name_zh = "未制定生产安全事故应急救援预案"
name_en = "no emergency plan"
basis = "《安全生产法》第九十七条第六项"

[violations.no_plan.ranges.minor]
fine_min = 10000
fine_max = 30000

[violations.no_plan.ranges.grave]
fine_min = 70000
fine_max = 100000
measures = ["责令停产停业整顿"]
"""

# Three classes: every enterprise with an industry division 26 (chemicals) is 重点.
CITY_SCHEME = {
    "classes": [
        {"key": "重点", "name_zh": "重点监管", "name_en": "key", "inspections_per_year": 6},
        {"key": "一般", "name_zh": "一般监管", "name_en": "ordinary", "inspections_per_year": 1},
        {"key": "抽查", "name_zh": "随机抽查", "name_en": "random", "inspections_per_year": 0},
    ],
    "rules": [
        {"class": "重点", "when": {"field": "industry_division", "op": "eq", "value": "26"}},
        {"class": "一般", "when": {"field": "industry_section", "op": "eq", "value": "C"}},
    ],
    "default": "抽查",
}


@pytest.fixture
def city_tables(tmp_path, monkeypatch) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    table = tmp_path / "discretion.toml"
    table.write_text(CITY_TABLE, encoding="utf-8")
    scheme = tmp_path / "scheme.json"
    scheme.write_text(json.dumps(CITY_SCHEME, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("SAFECITY_ENFORCEMENT_DISCRETION_FILE", str(table))
    monkeypatch.setenv("SAFECITY_ENFORCEMENT_SCHEME_FILE", str(scheme))
    settings.reload()
    yield {"table": table, "scheme": scheme}
    monkeypatch.undo()
    settings.reload()


def test_examples_are_the_default() -> None:
    settings.reload()
    assert settings.loaded().discretion_source == "example"
    assert list(common.table().violations) == ["training", "hidden_danger"]
    assert list(common.scheme().classes) == ["A", "B", "C", "D"]


def test_city_table_proposes_its_ranges(session, enf, city_tables) -> None:  # type: ignore[no-untyped-def]
    assert settings.loaded().discretion_source == str(city_tables["table"])
    who = principal(session, "zhifu")
    ent = enf["enterprises"][0]
    c = casework.open_case(
        session,
        who,
        {
            "enterprise_id": ent.id,
            "violation": "no_plan",
            "circumstance": "minor",
            "facts": "无预案",
        },
        NOW,
    )
    assert (c.fine_min, c.fine_max) == (10000, 30000)
    assert c.title.endswith("未制定生产安全事故应急救援预案案")
    # the example's violation is not the city's: refused with the field named, nothing written
    with pytest.raises(Invalid) as exc:
        casework.open_case(
            session,
            who,
            {
                "enterprise_id": ent.id,
                "violation": "training",
                "circumstance": "minor",
                "facts": "x",
            },
            NOW,
        )
    assert [e.field for e in exc.value.errors] == ["violation"]


def test_city_scheme_classifies(session, enf, city_tables) -> None:  # type: ignore[no-untyped-def]
    counts = supervision.classify(session, principal(session, "admin"), NOW, "370600")
    session.commit()
    rows = {r.enterprise_id: r for r in session.scalars(select(SupervisionClass))}
    ents = enf["enterprises"]
    # Yantai's five: three chemical (26) → 重点, a warehouse (G 54) and a builder (F 51) → 抽查
    assert counts == {"抽查": 2, "重点": 3}
    assert [rows[e.id].class_key for e in ents[:5]] == ["重点", "重点", "抽查", "重点", "抽查"]
    assert [rows[e.id].inspections_per_year for e in ents[:5]] == [6, 6, 0, 6, 0]
    assert ents[5].id not in rows  # Qingdao's is outside Yantai


def test_case_keeps_its_range_when_the_table_changes(  # type: ignore[no-untyped-def]
    session, enf, tmp_path, monkeypatch
) -> None:
    settings.reload()  # the example table
    head = principal(session, "head")
    c = casework.open_case(
        session,
        principal(session, "zhifu"),
        {
            "enterprise_id": enf["enterprises"][0].id,
            "violation": "training",
            "circumstance": "ordinary",
            "facts": "未培训",
        },
        NOW,
    )
    casework.take_step(session, head, c.id, "file", {}, NOW)
    session.commit()
    path = tmp_path / "t.toml"
    path.write_text(CITY_TABLE, encoding="utf-8")
    monkeypatch.setenv("SAFECITY_ENFORCEMENT_DISCRETION_FILE", str(path))
    try:
        settings.reload()
        rng = casework.case_range(c)
        assert (rng.fine_min, rng.fine_max) == (20000, 50000)  # recorded when it was opened
        assert "现行裁量基准已无此项" in rng.explanation_zh
    finally:
        monkeypatch.undo()
        settings.reload()


def test_storage_folder_and_bad_files(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAFECITY_STORAGE_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        folder = tmp_path / "enforcement"
        folder.mkdir()
        (folder / "discretion.toml").write_text(CITY_TABLE, encoding="utf-8")
        assert list(settings.reload().table.violations) == ["no_plan"]
        # min > max and an undefined circumstance, both named; the example is not used instead
        (folder / "discretion.toml").write_text(
            CITY_TABLE.replace("fine_max = 30000", "fine_max = 100")
            + "\n[violations.no_plan.ranges.huge]\nfine_min = 1\nfine_max = 2\n",
            encoding="utf-8",
        )
        with pytest.raises(settings.ConfigError) as exc:
            settings.reload()
        assert [f for f, _, _ in exc.value.errors] == [
            "violations.no_plan.ranges.minor",
            "violations.no_plan.ranges.huge",
        ]
        assert str(folder / "discretion.toml") in str(exc.value)
        # the CLI names the same cells and exits 1
        out = CliRunner().invoke(
            app, ["enforcement", "config", "check", str(folder / "discretion.toml")]
        )
        assert out.exit_code == 1 and "violations.no_plan.ranges.huge" in out.output
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        settings.reload()


def test_config_show_round_trips() -> None:
    settings.reload()
    out = CliRunner().invoke(app, ["enforcement", "config", "show", "scheme"])
    assert out.exit_code == 0
    data = json.loads(out.stdout[out.stdout.index("{") :])
    assert settings.parse_scheme(data).classes == common.scheme().classes
    out = CliRunner().invoke(app, ["enforcement", "config", "show"])
    data = json.loads(out.stdout[out.stdout.index("{") :])
    again = settings.parse_table(data)
    assert again.propose("training", "grave") == common.table().propose("training", "grave")
