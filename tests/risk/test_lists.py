"""The four lists (四张清单): contents, filters, counts, scope, the provider hook, XLSX export."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from safecity.core.errors import Forbidden, Invalid, NotFound
from safecity.core.scope import Principal
from safecity.registry.models import ProtectedTarget
from safecity.risk.lists import service as lists
from safecity.risk.lists.service import ListFilters
from tests.risk.area_seed import point, seed_areas

ADMIN = Principal(user_id=1, username="admin", role="admin", division_code="370600")
ZHIFU = Principal(user_id=4, username="zhifu", role="district_officer", division_code="370602")
LAISHAN = Principal(user_id=5, username="laishan", role="district_officer", division_code="370613")


@pytest.fixture
def seeded(session: Session, city: dict) -> dict:
    data = seed_areas(session, city)
    # One red point makes the 莱山区 grid cell red (10 + 10 × 0.3 = 13, red floor), and a
    # hospital inside it becomes a vulnerable target by area.
    session.add(
        point(
            "莱山区红色风险点",
            "370613",
            "red",
            121.436,
            37.366,
            grid=data["laishan_cell"],
            enterprise=data["enterprises"][3],
        )
    )
    session.add(
        ProtectedTarget(
            name="莱山区社区医院",
            target_type="hospital",
            capacity=80,
            division_code="370613",
            lon=121.437,
            lat=37.367,
        )
    )
    session.commit()
    return data


def names(result: lists.FourList) -> list[str]:
    return [r["name"] for r in result.rows]


def get(session: Session, who: Principal, name: str, **f: str) -> lists.FourList:
    return lists.get_list(
        session,
        who,
        name,
        lists.filters_from(f.get("division"), f.get("industry"), f.get("level"), f.get("kind")),
    )


def test_major_risks_points_and_areas(session: Session, seeded: dict) -> None:
    result = get(session, ADMIN, "major-risks")
    assert names(result) == [
        "芝罘区物流风险点",
        "芝罘区红色风险点",
        "莱山区红色风险点",
        "莱山区第0001网格",
    ]
    area = result.rows[-1]
    assert area["kind"] == "area" and area["level"] == "red" and area["score"] == 13.0
    assert area["hazards"] == "综合得分13：红色风险点1个、蓝色风险点10个"
    point_row = result.rows[1]
    assert point_row["hazards"] == "液氨泄漏" and point_row["accident_types"] == "poisoning"
    assert point_row["division"] == "370602 芝罘区"
    assert point_row["industry"] == "26 化学原料和化学制品制造业"
    summary = result.summary()
    assert summary["total"] == 4
    assert [(s["key"], s["count"]) for s in summary["by_level"]] == [("point", 3), ("area", 1)]
    assert [(d["code"], d["count"]) for d in summary["by_district"]] == [
        ("370602", 2),
        ("370613", 2),
    ]


def test_major_risk_filters(session: Session, seeded: dict) -> None:
    assert names(get(session, ADMIN, "major-risks", division="370613")) == [
        "莱山区红色风险点",
        "莱山区第0001网格",
    ]
    # An industry filter keeps risk points of that industry (areas have none).
    assert names(get(session, ADMIN, "major-risks", industry="C")) == [
        "芝罘区红色风险点",
        "莱山区红色风险点",
    ]
    assert names(get(session, ADMIN, "major-risks", industry="54")) == ["芝罘区物流风险点"]
    assert names(get(session, ADMIN, "major-risks", kind="area")) == ["莱山区第0001网格"]
    assert names(get(session, ADMIN, "major-risks", level="orange")) == []
    assert names(get(session, ZHIFU, "major-risks")) == ["芝罘区物流风险点", "芝罘区红色风险点"]


def test_major_hazards_list_and_filters(session: Session, seeded: dict) -> None:
    result = get(session, ADMIN, "major-hazards")
    assert names(result) == ["液氨储罐区", "液化石油气储罐"]
    row = result.rows[0]
    assert (row["level_label"], row["r_value"], row["substances"], row["enterprise"]) == (
        "二级重大危险源",
        62.5,
        "液氨 30 t",
        "测试企业2有限公司",
    )
    assert row["exposed_population"] == 120 and (row["lon"], row["lat"]) == (121.375, 37.465)
    assert [(s["key"], s["count"]) for s in result.summary()["by_level"]] == [
        ("1", 0),
        ("2", 1),
        ("3", 0),
        ("4", 1),
    ]
    assert names(get(session, ADMIN, "major-hazards", level="二级")) == ["液氨储罐区"]
    assert names(get(session, ADMIN, "major-hazards", level="4")) == ["液化石油气储罐"]
    assert names(get(session, ADMIN, "major-hazards", division="370613")) == ["液化石油气储罐"]
    assert names(get(session, ADMIN, "major-hazards", industry="F")) == []
    assert names(get(session, LAISHAN, "major-hazards")) == ["液化石油气储罐"]


def test_vulnerable_targets_by_hazard_range_and_by_area(session: Session, seeded: dict) -> None:
    result = get(session, ADMIN, "vulnerable-targets")
    assert names(result) == ["芝罘区幼儿园", "莱山区社区医院"]
    kg, hospital = result.rows
    assert kg["hazard"] == "液氨储罐区" and kg["hazard_level"] == 2 and kg["radius_m"] == 1000.0
    assert kg["distance_m"] == pytest.approx(882.0, abs=2.0)
    assert kg["area_level"] == "orange"
    assert kg["reason"] == "位于二级重大危险源影响范围（1000 米）内；位于橙色风险区域内"
    assert kg["target_type_label"] == "幼儿园"
    assert hospital["hazard"] == "" and hospital["distance_m"] is None
    assert hospital["reason"] == "位于红色风险区域内" and hospital["level"] == "red"
    # The school and the hospital of the seed city are neither near a hazard nor in a hot area.
    assert "芝罘区实验小学" not in names(result) and "莱山区人民医院" not in names(result)
    assert names(get(session, ADMIN, "vulnerable-targets", level="2")) == ["芝罘区幼儿园"]
    assert names(get(session, ADMIN, "vulnerable-targets", level="red")) == ["莱山区社区医院"]
    assert names(get(session, ADMIN, "vulnerable-targets", level="orange")) == []
    assert names(get(session, ZHIFU, "vulnerable-targets")) == ["芝罘区幼儿园"]
    assert names(get(session, ADMIN, "vulnerable-targets", division="370613")) == ["莱山区社区医院"]


def test_enterprise_officer_sees_targets_near_own_hazards_only(
    session: Session, seeded: dict
) -> None:
    owner = Principal(
        user_id=7,
        username="e2",
        role="enterprise_officer",
        division_code="370602",
        enterprise_id=seeded["enterprises"][1].id,
    )
    assert names(get(session, owner, "vulnerable-targets")) == ["芝罘区幼儿园"]
    other = Principal(
        user_id=8,
        username="e1",
        role="enterprise_officer",
        division_code="370602",
        enterprise_id=seeded["enterprises"][0].id,
    )
    assert names(get(session, other, "vulnerable-targets")) == []
    assert names(get(session, other, "major-hazards")) == []


@pytest.fixture
def no_provider() -> Iterator[None]:
    lists.load_providers()  # the plug-ins' providers are in, so popping one keeps it out
    saved = lists._PROVIDERS.pop("major-hidden-dangers", None)
    yield
    lists._PROVIDERS.pop("major-hidden-dangers", None)
    if saved is not None:
        lists.register_provider("major-hidden-dangers", saved)


def test_hidden_dangers_empty_with_note_until_a_provider_registers(
    session: Session, seeded: dict, no_provider: None
) -> None:
    empty = get(session, ADMIN, "major-hidden-dangers")
    assert empty.rows == [] and empty.note is not None and "隐患排查治理" in empty.note[0]
    seen: list[ListFilters] = []

    def provider(_s: Session, who: Principal, f: ListFilters) -> list[dict]:
        seen.append(f)
        return [
            {"name": "储罐区未设置防火堤", "division_code": "370602", "status": "整改中"},
            {"name": "青岛的隐患", "division_code": "370202", "status": "整改中"},
            {"name": "莱山区隐患", "division_code": "370613", "status": "已逾期"},
        ]

    lists.register_provider("major-hidden-dangers", provider)
    result = get(session, ADMIN, "major-hidden-dangers", industry="C")
    assert names(result) == ["储罐区未设置防火堤", "莱山区隐患"]  # 青岛 dropped by our scope check
    assert result.note is None and seen[0].industry == "C"
    assert [(s["key"], s["count"]) for s in result.summary()["by_level"]] == [
        ("整改中", 1),
        ("已逾期", 1),
    ]
    assert names(get(session, ADMIN, "major-hidden-dangers", level="已逾期")) == ["莱山区隐患"]
    with pytest.raises(ValueError):
        lists.register_provider("unknown-list", provider)


def test_bad_filters_and_names(session: Session, seeded: dict) -> None:
    with pytest.raises(Invalid) as err:
        get(session, ADMIN, "major-hazards", level="red")
    assert err.value.errors[0].field == "level"
    with pytest.raises(Invalid) as err:
        get(session, ADMIN, "major-risks", industry="Z9")
    assert err.value.errors[0].field == "industry"
    with pytest.raises(NotFound):
        get(session, ADMIN, "minor-risks")
    with pytest.raises(Forbidden):
        get(
            session,
            Principal(user_id=9, username="p", role="public", division_code="370600"),
            "major-hazards",
        )


def test_xlsx_export_reads_back(session: Session, seeded: dict) -> None:
    result = get(session, ADMIN, "major-risks")
    wb = load_workbook(io.BytesIO(lists.export_xlsx(result)))
    assert wb.sheetnames == ["重大安全风险清单", "汇总"]
    rows = list(wb["重大安全风险清单"].iter_rows(values_only=True))
    assert rows[0] == (
        "序号",
        "类型",
        "名称",
        "风险等级",
        "企业",
        "行政区划",
        "行业",
        "主要危险因素 / 风险依据",
        "可能导致的事故类型",
        "管控措施",
        "管控层级及责任人",
        "经度",
        "纬度",
    )
    assert [r[2] for r in rows[1:]] == names(result)
    assert rows[2][:4] == (2, "风险点", "芝罘区红色风险点", "红色（重大风险）")
    assert (
        rows[4][1] == "区域（网格）" and rows[4][7] == "综合得分13：红色风险点1个、蓝色风险点10个"
    )
    summary = [tuple(v for v in r if v is not None) for r in wb["汇总"].iter_rows(values_only=True)]
    assert summary[0] == ("重大安全风险清单", "合计 4 项")
    assert ("红色风险点", 3) in summary and ("红色区域", 1) in summary
    assert ("370613", "莱山区", 2, 1, 1) in summary


def test_xlsx_text_cannot_become_a_formula(session: Session, seeded: dict) -> None:
    result = get(session, ADMIN, "major-hazards")
    result.rows[0]["name"] = '=HYPERLINK("http://x")'
    wb = load_workbook(io.BytesIO(lists.export_xlsx(result)))
    cell = wb["重大危险源清单"]["B2"]
    assert cell.data_type == "s" and cell.value.startswith("'=")
