"""Risk register import from XLSX: template round trip, row-by-row Chinese errors, all-or-nothing."""

from __future__ import annotations

import io as _io
import re
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core.errors import Forbidden, Invalid
from safecity.core.kinds_service import ListParams
from safecity.core.models import AuditEntry, User
from safecity.core.security import to_principal
from safecity.risk.models import RiskPoint
from safecity.risk.points import io
from safecity.risk.points.kind import RISK_POINT
from tests.conftest import PASSWORD, login
from tests.factories import NOW

HEADERS = [
    "风险点编号",
    "风险点名称",
    "所属类型",
    "企业统一社会信用代码",
    "网格编码",
    "危险有害因素",
    "事故类型",
    "管控措施",
    "复评日期",
]


def xlsx(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["2026年风险辨识清单"])  # a title row, as government sheets often have
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buf = _io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def who(session: Session, username: str):  # type: ignore[no-untyped-def]
    return to_principal(session.scalar(select(User).where(User.username == username)))


def good_rows(city: dict) -> list[list[Any]]:
    uscc = city["enterprises"][0].uscc
    return [
        [
            "FX-001",
            "液氯储罐区",
            "企业",
            uscc,
            None,
            "物的因素：储罐腐蚀泄漏；人的因素：违章作业",
            "中毒和窒息、容器爆炸",
            "工程技术：设置氯气泄漏报警仪/车间级/王海；个体防护：配备空气呼吸器/岗位级/李强",
            "2027-06-30",
        ],
        [
            "FX-002",
            "装卸站台",
            "企业",
            uscc,
            None,
            "环境因素：夜间照明不足",
            "车辆伤害",
            "管理措施：装卸作业票制度",
            None,
        ],
        [
            "WG-01",
            "老旧小区燃气管网",
            "区域",
            None,
            "370602-0001",
            "物的因素：管道老化",
            "其它爆炸、火灾",
            "",
            "2027-01-01",
        ],
    ]


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(RiskPoint)) or 0)


def test_template_headers_are_accepted(session: Session, city: dict) -> None:
    wb = load_workbook(_io.BytesIO(io.template()))
    headers = [c.value for c in wb.worksheets[0][1]]
    assert headers[:3] == ["风险点编号", "风险点名称", "所属类型"]
    assert "填写说明" in wb.sheetnames
    content = xlsx(
        [[r[0], r[1], r[2], r[3], r[4]] for r in good_rows(city)[:1]] + [], headers=headers[:5]
    )
    report = io.import_points(session, who(session, "analyst"), "a.xlsx", content, NOW)
    assert report.created == 1


def test_import_creates_points_with_parsed_lists(session: Session, city: dict) -> None:
    report = io.import_points(
        session, who(session, "analyst"), "register.xlsx", xlsx(good_rows(city)), NOW
    )
    assert (report.ok, report.total_rows, report.created) == (True, 3, 3)
    tank = session.scalar(select(RiskPoint).where(RiskPoint.code == "FX-001"))
    assert tank.division_code == "370602" and tank.industry_code == "26"
    assert tank.hazard_factors == [
        {"category": "material", "description": "储罐腐蚀泄漏"},
        {"category": "people", "description": "违章作业"},
    ]
    assert tank.accident_types == ["poisoning", "vessel_explosion"]
    assert tank.control_measures[0] == {
        "type": "engineering",
        "description": "设置氯气泄漏报警仪",
        "level": "workshop",
        "person": "王海",
    }
    assert tank.review_date.isoformat() == "2027-06-30"
    area = session.scalar(select(RiskPoint).where(RiskPoint.code == "WG-01"))
    assert area.owner_kind == "area" and area.grid_cell_id is not None
    entries = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "risk_point"))
    assert sorted(e.action for e in entries) == ["import"] * 3
    # the same file again: matched by enterprise + register number, nothing changes
    again = io.import_points(
        session, who(session, "analyst"), "register.xlsx", xlsx(good_rows(city)), NOW
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    rows = good_rows(city)
    rows[1][1] = "装卸站台（改）"
    third = io.import_points(session, who(session, "analyst"), "register.xlsx", xlsx(rows), NOW)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)


def test_any_bad_row_writes_nothing_and_errors_name_row_and_column(
    session: Session, city: dict
) -> None:
    rows = good_rows(city)
    rows[0][6] = "中毒和窒息、天降陨石"
    rows[1][3] = "91370602MA00000000"
    rows[2][5] = "管道老化"  # no category
    rows += [["FX-009", "重复编号", "企业", city["enterprises"][0].uscc, None, "", "", "", ""]] * 2
    with pytest.raises(Invalid) as err:
        io.import_points(session, who(session, "analyst"), "bad.xlsx", xlsx(rows), NOW)
    found = {(e.row, e.field) for e in err.value.errors}
    # the title row is row 1 and the header row 2, so data starts on row 3
    assert (3, "accident_types") in found
    assert (4, "enterprise_uscc") in found
    assert (5, "hazard_factors") in found
    assert {(6, "code"), (7, "code")} <= found
    assert any("天降陨石" in e.zh for e in err.value.errors)
    assert any("不存在" in e.zh for e in err.value.errors if e.field == "enterprise_uscc")
    assert count(session) == 0
    report = io.import_points(
        session, who(session, "analyst"), "bad.xlsx", xlsx(rows), NOW, valid_only=True
    )
    assert report.created == 0 and report.skipped == 5 and not report.ok
    rows = good_rows(city)
    rows[1][1] = ""
    report = io.import_points(
        session, who(session, "analyst"), "bad.xlsx", xlsx(rows), NOW, valid_only=True
    )
    assert report.created == 2 and report.errors[0]["row"] == 4
    assert report.errors[0]["column"] == "name" and "必填" in report.errors[0]["message"]


def test_scope_on_import(session: Session, city: dict) -> None:
    with pytest.raises(Forbidden):
        io.import_points(session, who(session, "public"), "a.xlsx", xlsx(good_rows(city)), NOW)
    with pytest.raises(Invalid) as err:
        io.import_points(session, who(session, "laishan"), "a.xlsx", xlsx(good_rows(city)), NOW)
    assert {e.row for e in err.value.errors} == {3, 4, 5}
    # an enterprise officer's rows default to their own enterprise
    rows = [["E-1", "危废暂存间", "企业", None, None, "", "火灾", "", ""]]
    report = io.import_points(session, who(session, "enterprise"), "a.xlsx", xlsx(rows), NOW)
    assert report.created == 1
    assert session.scalar(select(RiskPoint.enterprise_id)) == city["own_enterprise_id"]


def test_file_problems(session: Session, city: dict) -> None:
    with pytest.raises(Invalid) as err:
        io.import_points(session, who(session, "analyst"), "a.xlsx", b"not a zip", NOW)
    assert err.value.errors[0].field == "file"
    with pytest.raises(Invalid) as err:
        io.import_points(
            session,
            who(session, "analyst"),
            "a.xlsx",
            xlsx([["x"]], headers=["风险点名称", "颜色"]),
            NOW,
        )
    assert "无法识别的表头" in err.value.errors[0].zh


def test_import_over_http(client: Any, city: dict) -> None:
    headers = login(client, "analyst")
    assert client.get("/api/v1/risk/points/template", headers=headers).status_code == 200
    rows = good_rows(city)
    rows[0][2] = "外星基地"
    files = {"file": ("r.xlsx", xlsx(rows), io.tabular.XLSX_MEDIA)}
    resp = client.post("/api/v1/risk/points/import", files=files, headers=headers)
    assert resp.status_code == 422
    detail = resp.json()["detail"][0]
    assert (
        detail["row"] == 3 and detail["field"] == "owner_kind" and "外星基地" in detail["message"]
    )
    files = {"file": ("r.xlsx", xlsx(good_rows(city)), io.tabular.XLSX_MEDIA)}
    resp = client.post("/api/v1/risk/points/import", files=files, headers=headers)
    assert resp.status_code == 200 and resp.json()["created"] == 3


def test_import_page(client: Any, city: dict) -> None:

    client.headers["accept"] = "text/html"
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post(
        "/login", data={"username": "analyst", "password": PASSWORD, "csrf": token, "next": "/map"}
    )
    page = client.get("/risk/points/import")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    rows = good_rows(city)
    rows[2][4] = "999999-0001"
    files = {"file": ("r.xlsx", xlsx(rows), io.tabular.XLSX_MEDIA)}
    resp = client.post("/risk/points/import", data={"csrf": csrf}, files=files)
    assert resp.status_code == 422
    assert "未写入任何数据" in resp.text and "网格编码" in resp.text and "999999-0001" in resp.text
    assert re.search(r"<td>5</td><td>网格编码</td>", resp.text)
    resp = client.post(
        "/risk/points/import",
        data={"csrf": csrf, "valid_only": "on"},
        files={"file": ("r.xlsx", xlsx(rows), io.tabular.XLSX_MEDIA)},
    )
    assert resp.status_code == 200 and 'data-key="created">2<' in resp.text


def test_export_round_trips(session: Session, city: dict) -> None:

    analyst = who(session, "analyst")
    io.import_points(session, analyst, "register.xlsx", xlsx(good_rows(city)), NOW)
    session.flush()
    content = io.export(session, analyst, RISK_POINT, ListParams(), "xlsx")[0]
    sheet = load_workbook(_io.BytesIO(content)).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:2] == ["风险点编号", "风险点名称"] and len(rows) == 4
    tank = next(r for r in rows if r[0] == "FX-001")
    assert tank[10] == "物的因素：储罐腐蚀泄漏；人的因素：违章作业"
    assert tank[11] == "中毒和窒息、容器爆炸"
    assert tank[12].startswith("工程技术：设置氯气泄漏报警仪/车间级/王海；")
    again = io.import_points(session, analyst, "export.xlsx", content, NOW)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    laishan = io.export(session, who(session, "laishan"), RISK_POINT, ListParams(), "xlsx")[0]
    assert len(list(load_workbook(_io.BytesIO(laishan)).worksheets[0].iter_rows())) == 1
