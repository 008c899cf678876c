"""Registry import/export: validation row by row, all-or-nothing, scope, formats, round trips."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.core import tabular as regio
from safecity.core.errors import Forbidden, Invalid
from safecity.core.models import AuditEntry
from safecity.core.scope import Principal
from safecity.registry import service
from safecity.registry.kinds import DIVISION, ENTERPRISE, GRID_CELL, PROTECTED_TARGET
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from tests.conftest import login
from tests.factories import NOW, uscc

ADMIN = Principal(user_id=1, username="admin", role="admin", division_code="370600")
ZHIFU = Principal(user_id=4, username="zhifu", role="district_officer", division_code="370602")
PUBLIC = Principal(user_id=8, username="public", role="public", division_code="370600")

HEAD = [
    "名称",
    "统一社会信用代码",
    "行业代码",
    "企业规模",
    "危化品企业",
    "行政区划代码",
    "地址",
    "经度",
    "纬度",
    "从业人数",
]


def row(serial: int, county: str = "370602", **over: Any) -> list[Any]:
    values = {
        "名称": f"导入测试企业{serial}有限公司",
        "统一社会信用代码": uscc(county, serial),
        "行业代码": 2614,
        "企业规模": "中型",
        "危化品企业": "是",
        "行政区划代码": int(county),
        "地址": f" 测试路{serial}号 ",
        "经度": 121.41,
        "纬度": 37.52,
        "从业人数": 120.0,
    }
    values.update(over)
    return [values[h] for h in HEAD]


def xlsx(rows: list[list[Any]], head: list[str] = HEAD) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(head)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_text(rows: list[list[Any]], head: list[str] = HEAD) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(head)
    w.writerows(rows)
    return buf.getvalue()


def bad_uscc(county: str, serial: int) -> str:
    good = uscc(county, serial)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


def count(session: Session, model: type = Enterprise) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def audits(session: Session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def snapshot(session: Session, kind: Any) -> dict[Any, dict[str, Any]]:
    session.expire_all()
    objs = session.scalars(select(kind.model))
    return {
        o.id: {
            **service.to_dict(kind, o, with_geometry=True),
            "updated_at": o.updated_at,
            "note": getattr(o, "note", None),
        }
        for o in objs
    }


def import_(
    session: Session, who: Principal, name: str, content: bytes, kind: Any = ENTERPRISE, **kw: Any
) -> regio.ImportReport:
    return regio.import_file(session, who, kind, name, content, NOW, **kw)


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_creates_rows_converts_cells_and_audits(session: Session, city: dict) -> None:
    before = count(session)
    report = import_(
        session,
        ADMIN,
        "企业.xlsx",
        xlsx(
            [
                row(101),
                [None] * len(HEAD),
                row(102, 行政区划代码=370602.0, 行业代码="2614"),
                row(103, "370613", 危化品企业="否"),
            ]
        ),
    )
    session.commit()
    assert report.ok and report.as_dict()["ok"]
    assert (report.total_rows, report.created, report.updated, report.skipped) == (3, 3, 0, 0)
    assert count(session) == before + 3
    ent = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc("370602", 101)))
    assert ent is not None
    # numbers Excel made of codes come back as text; labels become keys; 是 → True; strip
    assert (ent.division_code, ent.industry_code, ent.industry_section) == ("370602", "2614", "C")
    assert (ent.scale, ent.is_hazchem, ent.address, ent.employees) == (
        "medium",
        True,
        "测试路101号",
        120,
    )
    assert ent.created_at is not None and ent.updated_at is not None
    other = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc("370613", 103)))
    assert other is not None and other.is_hazchem is False
    entries = audits(session)
    assert [(e.action, e.object_type, e.actor) for e in entries] == [
        ("create", "enterprise", "admin")
    ] * 3
    new_ids = set(
        session.scalars(
            select(Enterprise.id).where(
                Enterprise.uscc.in_([uscc("370602", 101), uscc("370602", 102), uscc("370613", 103)])
            )
        )
    )
    assert {e.object_id for e in entries} == {str(i) for i in new_ids}
    assert entries[0].after["uscc"] == uscc("370602", 101)
    assert all(str(e.after["id"]) == e.object_id and e.before is None for e in entries)
    second = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc("370602", 102)))
    assert second is not None and second.division_code == "370602"
    assert audit.verify(session).ok


def test_bad_uscc_row_writes_nothing_and_names_row_and_column(session: Session, city: dict) -> None:
    before = count(session)
    content = xlsx([row(104), row(105, 统一社会信用代码=bad_uscc("370602", 105)), row(106)])
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "e.xlsx", content)
    errors = exc.value.errors
    assert len(errors) == 1
    err = errors[0]
    assert (err.row, err.field) == (3, "uscc")
    assert err.zh.startswith("统一社会信用代码：校验码错误，应为“") and err.en
    assert not session.new and not session.dirty
    session.commit()
    assert count(session) == before and audits(session) == []
    assert exc.value.body()["detail"][0]["row"] == 3


def test_valid_only_writes_good_rows_and_reports_bad(session: Session, city: dict) -> None:
    before = count(session)
    content = xlsx([row(107), row(108, 行政区划代码="370699"), row(109, 名称="")])
    report = import_(session, ADMIN, "e.xlsx", content, valid_only=True)
    session.commit()
    assert not report.ok
    assert (report.total_rows, report.created, report.skipped) == (3, 1, 2)
    by_row = {e["row"]: e for e in report.errors}
    assert by_row[3]["column"] == "division_code" and "370699 不存在" in by_row[3]["message"]
    assert by_row[4]["column"] == "name" and by_row[4]["message"] == "名称：为必填项"
    assert count(session) == before + 1 and len(audits(session)) == 1


def test_dry_run_validates_only(session: Session, city: dict) -> None:
    before = count(session)
    content = xlsx([row(110), row(111, 统一社会信用代码="123")])
    report = import_(session, ADMIN, "e.xlsx", content, dry_run=True)
    assert report.dry_run and not report.ok and report.created == 1 and report.skipped == 1
    assert report.errors[0]["row"] == 3 and "18位" in report.errors[0]["message"]
    session.commit()
    assert count(session) == before and audits(session) == []


# --- CSV and GeoJSON ----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_encodings_with_chinese_headers(session: Session, city: dict, encoding: str) -> None:
    content = csv_text([row(112), row(113, 企业规模="small")]).encode(encoding)
    report = import_(session, ADMIN, "企业名单.CSV", content)
    assert report.created == 2
    names = set(
        session.scalars(
            select(Enterprise.name).where(
                Enterprise.uscc.in_([uscc("370602", 112), uscc("370602", 113)])
            )
        )
    )
    assert names == {"导入测试企业112有限公司", "导入测试企业113有限公司"}


def test_english_and_key_headers_are_accepted(session: Session, city: dict) -> None:
    head = ["name", "Unified Social Credit Code", "industry_code", "division code"]
    content = csv_text([["键名表头企业", uscc("370602", 114), "26", "370602"]], head).encode()
    assert import_(session, ADMIN, "e.csv", content).created == 1


def test_geojson_points(session: Session, city: dict) -> None:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [121.45, 37.48]},
            "properties": {
                "name": "地图导入企业有限公司",
                "uscc": uscc("370602", 115),
                "industry_code": "2614",
                "division_code": 370602,
            },
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [121.46, 95.0]},
            "properties": {
                "name": "坐标错误企业有限公司",
                "uscc": uscc("370602", 116),
                "industry_code": "2614",
                "division_code": "370602",
            },
        },
    ]
    content = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "e.geojson", content)
    assert [(e.row, e.field) for e in exc.value.errors] == [(2, "lat")]  # features count from 1
    report = import_(session, ADMIN, "e.geojson", content, valid_only=True)
    assert report.created == 1
    ent = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc("370602", 115)))
    assert ent is not None and (ent.lon, ent.lat) == (121.45, 37.48)


def test_geojson_must_be_feature_collection(session: Session, city: dict) -> None:
    for content in (b'{"type": "Feature"}', b"[1, 2]", b"{not json", b"\xff\xfe\x00"):
        with pytest.raises(Invalid) as exc:
            import_(session, ADMIN, "e.geojson", content)
        assert exc.value.errors[0].field == "file"


# --- upsert, scope, duplicates --------------------------------------------------------------------


def test_reimport_by_natural_key_updates_not_duplicates(session: Session, city: dict) -> None:
    import_(session, ADMIN, "e.xlsx", xlsx([row(117), row(118)]))
    session.commit()
    before = count(session)
    changed = row(117, 名称="改名后的企业有限公司", 统一社会信用代码=uscc("370602", 117).lower())
    report = import_(session, ADMIN, "e.xlsx", xlsx([changed, row(118)]))
    session.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert count(session) == before
    ent = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc("370602", 117)))
    assert ent is not None and ent.name == "改名后的企业有限公司"
    last = audits(session)[-1]
    assert last.action == "update" and last.object_id == str(ent.id)
    assert last.before["name"] == "导入测试企业117有限公司"
    assert last.after["name"] == "改名后的企业有限公司"
    assert audit.verify(session).ok


def test_columns_absent_keep_values_blank_required_is_error(session: Session, city: dict) -> None:
    seeded = city["enterprises"][0]
    content = csv_text([[seeded.uscc, "张三"]], ["统一社会信用代码", "安全负责人"]).encode()
    report = import_(session, ADMIN, "e.csv", content)
    assert report.updated == 1
    session.refresh(seeded)
    assert seeded.safety_officer == "张三" and seeded.name == "测试企业1有限公司"
    blank_name = csv_text([[seeded.uscc, ""]], ["统一社会信用代码", "名称"]).encode()
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "e.csv", blank_name)
    assert (exc.value.errors[0].row, exc.value.errors[0].field) == (2, "name")


def test_district_officer_cannot_import_outside_district(session: Session, city: dict) -> None:
    before = count(session)
    laishan_existing = city["enterprises"][3]  # 370613
    content = xlsx([row(119), row(120, "370613"), row(121, 统一社会信用代码=laishan_existing.uscc)])
    with pytest.raises(Invalid) as exc:
        import_(session, ZHIFU, "e.xlsx", content)
    errs = {e.row: e for e in exc.value.errors}
    assert set(errs) == {3, 4}
    assert errs[3].zh == "超出您的管辖范围" and errs[3].field == "division_code"
    assert errs[4].zh == "超出您的管辖范围"  # updating an enterprise it cannot see
    session.commit()
    assert count(session) == before
    session.refresh(laishan_existing)
    assert laishan_existing.name == "测试企业4有限公司"
    report = import_(session, ZHIFU, "e.xlsx", content, valid_only=True)
    assert report.created == 1 and report.skipped == 2


def test_role_without_write_right_is_forbidden(session: Session, city: dict) -> None:
    with pytest.raises(Forbidden):
        import_(session, PUBLIC, "e.xlsx", xlsx([row(122)]))


def test_duplicate_natural_key_in_file_is_an_error(session: Session, city: dict) -> None:
    before = count(session)
    dup = row(123, 名称="同码企业二有限公司", 统一社会信用代码=" " + uscc("370602", 123).lower())
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "e.xlsx", xlsx([row(123), row(124), dup]))
    assert sorted((e.row, e.field) for e in exc.value.errors) == [(2, "uscc"), (4, "uscc")]
    assert "重复" in exc.value.errors[0].zh
    session.commit()
    assert count(session) == before


# --- hostile or malformed files -----------------------------------------------------------------


def test_non_xlsx_bytes_and_broken_zip_give_clean_file_errors(session: Session, city: dict) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    for content in (b"PK\x03\x04 this is no zip", b"name,uscc\n", buf.getvalue(), b""):
        with pytest.raises(Invalid) as exc:
            import_(session, ADMIN, "企业.xlsx", content)
        assert exc.value.errors[0].field == "file" and exc.value.errors[0].zh.startswith("文件：")
    with pytest.raises(Invalid):
        import_(session, ADMIN, "企业.xls", xlsx([row(125)]))
    with pytest.raises(Invalid):
        import_(session, ADMIN, "企业.exe", xlsx([row(125)]))


def test_zip_bomb_is_refused_before_parsing(session: Session, city: dict) -> None:
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z,
        z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(201):
            f.write(chunk)
    assert len(buf.getvalue()) < 2_000_000
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "bomb.xlsx", buf.getvalue())
    assert "200 MB" in exc.value.errors[0].zh


def test_unknown_header_and_headerless_data(session: Session, city: dict) -> None:
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "e.xlsx", xlsx([row(126)], HEAD[:-1] + ["工资"]))
    assert exc.value.errors[0].field == "file" and "工资" in exc.value.errors[0].zh
    content = xlsx([row(127) + ["多余数据"]])
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "e.xlsx", content)
    assert exc.value.errors[0].row == 2 and "没有表头" in exc.value.errors[0].zh


def test_row_limit(session: Session, city: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regio, "MAX_ROWS", 2)
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "e.csv", csv_text([row(128), row(129), row(130)]).encode())
    assert "上限" in exc.value.errors[0].zh


# --- export and round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "geojson"])
def test_export_reimport_round_trip_changes_nothing(session: Session, city: dict, fmt: str) -> None:
    report = import_(
        session,
        ADMIN,
        "e.csv",
        csv_text(
            [
                row(131, 地址='=HYPERLINK("http://x")', 从业人数=None),
                row(132, "370613", 经度=None, 纬度=None, 企业规模="micro"),
            ]
        ).encode(),
    )
    assert report.created == 2
    session.commit()
    stored = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc("370602", 131)))
    assert stored is not None and stored.address == '=HYPERLINK("http://x")'
    for kind in (ENTERPRISE, GRID_CELL, PROTECTED_TARGET, DIVISION):
        before = snapshot(session, kind)
        content, media, filename = regio.export(session, ADMIN, kind, service.ListParams(), fmt)
        assert filename == f"{kind.plural}.{fmt}" and media
        n_audit = len(audits(session))
        report = import_(session, ADMIN, filename, content, kind=kind)
        session.commit()
        in_yantai = [
            o
            for o in session.scalars(select(kind.model))
            if (o.code if kind is DIVISION else o.division_code).startswith("3706")
        ]
        assert report.total_rows == len(in_yantai) >= 2, kind
        assert (report.created, report.updated, report.unchanged) == (0, 0, len(in_yantai)), kind
        assert snapshot(session, kind) == before
        assert len(audits(session)) == n_audit


def test_export_headers_bom_and_formula_guard(session: Session, city: dict) -> None:
    import_(session, ADMIN, "e.csv", csv_text([row(133, 名称="=1+2 危险公式企业")]).encode())
    content, media, _ = regio.export(session, ADMIN, ENTERPRISE, service.ListParams(), "csv")
    assert content.startswith(b"\xef\xbb\xbf") and media.startswith("text/csv")
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["编号", "名称", "统一社会信用代码"]
    assert ["'=1+2 危险公式企业"] == [r[1] for r in lines[1:] if "公式" in r[1]]
    raw, _, _ = regio.export(session, ADMIN, ENTERPRISE, service.ListParams(), "xlsx")
    ws = load_workbook(io.BytesIO(raw)).worksheets[0]
    cells = [c for c in ws["B"] if c.value and "公式" in str(c.value)]
    assert len(cells) == 1 and cells[0].data_type == "s"
    assert ws["I1"].value == "行政区划代码"


def test_export_is_scoped(session: Session, city: dict) -> None:
    content, _, _ = regio.export(session, ZHIFU, ENTERPRISE, service.ListParams(), "csv")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 3 and {r["行政区划代码"] for r in rows} == {"370602"}
    geo = json.loads(regio.export(session, ZHIFU, GRID_CELL, service.ListParams(), "geojson")[0])
    assert [f["properties"]["code"] for f in geo["features"]] == ["370602-0001"]
    assert geo["features"][0]["geometry"]["type"] == "Polygon"
    points = json.loads(
        regio.export(session, ZHIFU, ENTERPRISE, service.ListParams(), "geojson")[0]
    )
    assert {f["geometry"]["type"] for f in points["features"]} == {"Point"}


def test_protected_targets_match_by_id(session: Session, city: dict) -> None:
    target = session.scalar(select(ProtectedTarget).where(ProtectedTarget.name == "芝罘区实验小学"))
    assert target is not None
    head = ["编号", "名称", "目标类型", "行政区划代码", "容纳人数"]
    content = csv_text(
        [
            [target.id, "芝罘区实验小学", "学校", "370602", 1500],
            ["", "新建养老院", "养老机构", "370602", 80],
        ],
        head,
    ).encode()
    before = count(session, ProtectedTarget)
    report = import_(session, ZHIFU, "t.csv", content, kind=PROTECTED_TARGET)
    assert (report.created, report.updated) == (1, 1)
    assert count(session, ProtectedTarget) == before + 1
    session.refresh(target)
    assert target.capacity == 1500
    laishan = session.scalar(
        select(ProtectedTarget).where(ProtectedTarget.division_code == "370613")
    )
    assert laishan is not None
    hidden = csv_text([[laishan.id, "莱山区人民医院", "医院", "370602", 1]], head).encode()
    with pytest.raises(Invalid) as exc:
        import_(session, ZHIFU, "t.csv", hidden, kind=PROTECTED_TARGET)
    assert exc.value.errors[0].field == "id"


def test_grid_cells_geojson_polygon(session: Session, city: dict) -> None:
    triangle = {
        "type": "Polygon",
        "coordinates": [[[121.37, 37.47], [121.38, 37.47], [121.38, 37.48], [121.37, 37.47]]],
    }
    props = {"code": "370602-0099", "名称": "新网格", "division_code": "370602"}
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": triangle, "properties": props}],
    }
    report = import_(session, ZHIFU, "g.geojson", json.dumps(fc).encode(), kind=GRID_CELL)
    assert report.created == 1
    cell = session.scalar(select(GridCell).where(GridCell.code == "370602-0099"))
    assert cell is not None and cell.geometry == triangle and cell.lon is None


def test_template_headers_are_importable(session: Session, city: dict) -> None:
    raw = regio.template(ENTERPRISE)
    wb = load_workbook(io.BytesIO(raw))
    header = [c.value for c in wb.worksheets[0][1]]
    assert header[:3] == ["名称", "统一社会信用代码", "行业代码"] and "编号" not in header
    assert wb.sheetnames[1] == "填写说明"
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "template.xlsx", raw)
    assert "没有数据行" in exc.value.errors[0].zh
    ws = wb.worksheets[0]
    values = {
        "名称": "模板企业有限公司",
        "统一社会信用代码": uscc("370602", 134),
        "行业代码": "26",
        "行政区划代码": "370602",
    }
    ws.append([values.get(h) for h in header])
    buf = io.BytesIO()
    wb.save(buf)
    assert import_(session, ADMIN, "template.xlsx", buf.getvalue()).created == 1


def test_title_row_before_header_and_sheet_row_numbers(session: Session, city: dict) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["2026年芝罘区企业名单"])
    ws.append([])
    ws.append(HEAD)
    ws.append(row(135))
    ws.append([])
    ws.append(row(136, 经度=121.4, 纬度=None))
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "e.xlsx", buf.getvalue())
    err = exc.value.errors[0]
    assert (err.row, err.field) == (6, "") and "经度和纬度须同时填写" in err.zh
    assert "body" not in err.zh


def test_entity_expansion_in_xlsx_is_refused(session: Session, city: dict) -> None:
    good = zipfile.ZipFile(io.BytesIO(xlsx([row(137)])))
    dtd = (
        b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in good.infolist():
            data = good.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert b"<t>" in data
                head, _, tail = data.rpartition(b"<t>")  # the address cell of row 2
                data = dtd + head + b"<t>&b;" + tail
            out.writestr(info, data)
    with pytest.raises(Invalid) as exc:
        import_(session, ADMIN, "e.xlsx", buf.getvalue())
    assert exc.value.errors[0].field == "file"


def test_division_import_derives_level_and_parent(session: Session, city: dict) -> None:
    head = ["代码", "名称", "人口"]
    content = csv_text(
        [["370602001", "向阳街道", 30000], ["370612", "牟平区", "450000"]], head
    ).encode()
    report = import_(session, ADMIN, "d.csv", content, kind=DIVISION)
    assert report.created == 2
    street = session.get(Division, "370602001")
    assert street is not None and (street.level, street.parent_code) == ("street", "370602")
    with pytest.raises(Forbidden) as exc:
        import_(session, ZHIFU, "d.csv", content, kind=DIVISION)  # only admins edit divisions
    assert "无权" in exc.value.zh


def test_http_import_422_row_detail_then_200_report_and_export(client) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "zhifu")
    bad = xlsx([row(140), row(141, 统一社会信用代码=bad_uscc("370602", 141))])
    resp = client.post(
        "/api/v1/enterprises/import",
        headers=h,
        files={"file": ("企业.xlsx", bad, regio.XLSX_MEDIA)},
    )
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"]
    assert [(d["row"], d["field"]) for d in detail] == [(3, "uscc")]
    assert "校验码错误" in detail[0]["message"]
    listed = client.get("/api/v1/enterprises", headers=h, params={"q": "导入测试企业140"}).json()
    assert listed["total"] == 0  # the failed import left nothing behind
    resp = client.post(
        "/api/v1/enterprises/import",
        headers=h,
        data={"valid_only": "true"},
        files={"file": ("企业.xlsx", bad, regio.XLSX_MEDIA)},
    )
    assert resp.status_code == 200 and resp.json()["created"] == 1
    assert resp.json()["errors"][0]["row"] == 3
    resp = client.get("/api/v1/enterprises/export", headers=h, params={"format": "csv"})
    assert resp.status_code == 200
    assert 'filename="enterprises.csv"' in resp.headers["content-disposition"]
    assert "导入测试企业140有限公司" in resp.content.decode("utf-8-sig")
