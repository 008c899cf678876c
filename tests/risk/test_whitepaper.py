"""Risk white paper: content and counts in PDF and DOCX, Chinese glyphs, scope, the endpoint."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from starlette.routing import Match

from safecity.core import fonts
from safecity.core.errors import FieldError, Invalid, NotFound
from safecity.core.scope import Principal
from safecity.registry.models import GridCell
from safecity.risk.lists import service as lists
from safecity.risk.models import MajorHazard, RiskAssessment, RiskPoint
from safecity.risk.whitepaper import compose as wp_compose
from safecity.risk.whitepaper import data as wp_data
from safecity.risk.whitepaper import gather as wp_gather
from safecity.risk.whitepaper import mapimage
from safecity.risk.whitepaper import render as wp_render
from safecity.risk.whitepaper import service as whitepaper
from tests.conftest import login, web_login
from tests.factories import NOW

ADMIN = Principal(user_id=1, username="admin", role="admin", division_code="370600")
ZHIFU = Principal(user_id=4, username="zhifu", role="district_officer", division_code="370602")
TITLE = "烟台市城市安全风险白皮书（2025年度）"


def _t(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 8, 0, tzinfo=UTC)


def _rp(
    name: str,
    division: str,
    level: str | None,
    created: datetime,
    *,
    enterprise: Any = None,
    grid_cell_id: int | None = None,
    archived: bool = False,
    review: date | None = None,
) -> RiskPoint:
    return RiskPoint(
        name=name,
        owner_kind="enterprise" if enterprise else "public_place",
        enterprise_id=enterprise.id if enterprise else None,
        grid_cell_id=grid_cell_id,
        division_code=division,
        industry_code=enterprise.industry_code if enterprise else None,
        lon=121.4,
        lat=37.5,
        level=level,
        archived=archived,
        created_at=created,
        updated_at=created,
        review_date=review,
    )


def _mh(
    enterprise: Any,
    name: str,
    level: int | None,
    r: float | None,
    lon: float,
    lat: float,
    assessed: datetime,
    substance: str,
    is_major: bool = True,
) -> MajorHazard:
    return MajorHazard(
        enterprise_id=enterprise.id,
        name=name,
        unit_kind="storage",
        substances=[{"name": substance, "quantity_t": 120}],
        division_code=enterprise.division_code,
        lon=lon,
        lat=lat,
        s_value=12.0 if is_major else 0.5,
        is_major=is_major,
        r_value=r,
        level=level,
        alpha=2.0,
        exposed_population=150,
        exposed_population_computed=150,
        result={"terms": [{"name": substance, "q_over_Q": 12.0}]},
        assessed_at=assessed,
    )


@pytest.fixture
def seeded(session: Session, city: dict) -> dict:
    """A small city with risk points and major hazards in 2024, 2025 and 2026.

    End of 2025, city-wide: risk points 7 (red 4: 芝罘区 3, 莱山区 1), major hazards 3
    (芝罘区 2, 莱山区 1), vulnerable targets 1 (the school 200 m from 液氨储罐区).
    End of 2024: risk points 2 (red 1), major hazards 1.
    """
    e = city["enterprises"]  # 0,1: 芝罘区 C26; 2: 芝罘区 G54; 3: 莱山区 C26; 4: 莱山区 F51; 5: 青岛
    for ent in e:  # on the platform since 2020, except e[2], registered after 2025
        ent.created_at = _t(2026, 3, 1) if ent is e[2] else _t(2020, 1, 1)
    cells = {c.code: c.id for c in session.query(GridCell)}
    zhifu_cell, laishan_cell = cells["370602-0001"], cells["370613-0001"]
    z5 = _rp("芝罘区回溯风险点", "370602", "red", _t(2024, 2, 1), enterprise=e[1])
    session.add_all(
        [
            _rp(
                "芝罘区红色风险点一",
                "370602",
                "red",
                _t(2025, 3, 1),
                enterprise=e[0],
                grid_cell_id=zhifu_cell,
            ),
            _rp(
                "芝罘区红色风险点二",
                "370602",
                "red",
                _t(2024, 5, 1),
                enterprise=e[1],
                review=date(2025, 6, 1),
            ),
            _rp("芝罘区物流风险点", "370602", "orange", _t(2025, 6, 1), enterprise=e[2]),
            _rp("芝罘区广场风险点", "370602", "yellow", _t(2025, 1, 10)),
            z5,
            _rp("芝罘区明年风险点", "370602", "red", _t(2026, 2, 1), enterprise=e[0]),
            _rp(
                "芝罘区归档风险点", "370602", "red", _t(2024, 2, 1), enterprise=e[0], archived=True
            ),
            _rp(
                "莱山区红色风险点",
                "370613",
                "red",
                _t(2025, 7, 1),
                enterprise=e[3],
                grid_cell_id=laishan_cell,
            ),
            _rp("莱山区蓝色风险点", "370613", "blue", _t(2025, 7, 1), enterprise=e[4]),
            _rp("青岛风险点", "370202", "red", _t(2025, 1, 1), enterprise=e[5]),
        ]
    )
    session.flush()
    # z5 was yellow at the end of 2024 and red at the end of 2025.
    for level, when in (("yellow", _t(2024, 3, 1)), ("red", _t(2025, 4, 1))):
        session.add(
            RiskAssessment(
                risk_point_id=z5.id,
                method="lec",
                inputs={},
                result={},
                score=1.0,
                level=level,
                status="approved",
                assessed_by="analyst",
                assessed_at=when,
                approved_by="analyst",
                approved_at=when,
            )
        )
    session.add_all(
        [
            _mh(e[0], "液氨储罐区", 2, 62.5, 121.382, 37.5215, _t(2025, 5, 1), "氨"),
            _mh(e[1], "甲醇罐区", 4, 6.2, 121.40, 37.50, _t(2024, 9, 1), "甲醇"),
            _mh(e[3], "液化石油气储罐", 3, 24.0, 121.47, 37.37, _t(2025, 8, 1), "液化石油气"),
            _mh(e[5], "青岛储罐", 1, 130.0, 120.4, 36.1, _t(2025, 1, 1), "氯"),
            _mh(e[0], "小仓库", None, None, 121.39, 37.51, _t(2025, 1, 1), "乙醇", is_major=False),
        ]
    )
    session.commit()
    return city


def _docx_text(content: bytes) -> tuple[Any, str]:
    import docx  # noqa: PLC0415 python-docx loaded only when a Word file is written

    doc = docx.Document(io.BytesIO(content))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    for section in doc.sections:
        parts += [p.text for p in section.header.paragraphs]
    return doc, "\n".join(parts)


def _table(doc: Any, first_header: str, second_header: str) -> list[list[str]]:
    for table in doc.tables:
        header = [c.text for c in table.rows[0].cells]
        if header[0] == first_header and header[1] == second_header:
            return [[c.text for c in row.cells] for row in table.rows]
    raise AssertionError(f"no table with header {first_header}/{second_header}")


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader  # noqa: PLC0415 pypdf loaded only when a PDF is read back

    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in reader.pages))


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} missing (Debian package poppler-utils); CI=true: failing")
        pytest.skip(f"{tool} missing: apt-get install poppler-utils")
    return path


def _page_png(content: bytes, tmp_path: Path, name: str, page: int = 1) -> Any:
    from PIL import Image  # noqa: PLC0415 Pillow loaded only when an image is drawn

    pdf = tmp_path / f"{name}.pdf"
    pdf.write_bytes(content)
    subprocess.run(
        [
            _poppler("pdftoppm"),
            "-r",
            "60",
            "-f",
            str(page),
            "-l",
            str(page),
            "-png",
            "-singlefile",
            str(pdf),
            str(tmp_path / name),
        ],
        check=True,
        timeout=60,
    )
    return Image.open(tmp_path / f"{name}.png").convert("L")


# --------------------------------------------------------------------------- content


def test_docx_has_headings_and_district_counts(session: Session, seeded: dict) -> None:
    content, media_type, filename = whitepaper.build(session, ADMIN, 2025, "370600", "docx", NOW)
    assert media_type.endswith("wordprocessingml.document")
    assert filename == "烟台市城市安全风险白皮书-2025.docx"
    doc, text = _docx_text(content)
    assert doc.core_properties.title == TITLE
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    for expected in (
        "一、总体情况",
        "二、“四张清单”汇总",
        "三、安全风险四色分布图",
        "四、重大危险源",
        "五、与上年度相比的变化",
        "六、风险防控工作建议",
    ):
        assert expected in headings
    lists = _table(doc, "区县", "重大安全风险（项）")
    rows = {r[0]: r[1:] for r in lists[1:]}
    # major risks, major hidden dangers (none recorded here), major hazards, vulnerable targets
    assert rows["芝罘区"] == ["3", "0", "2", "1"]
    assert rows["莱山区"] == ["1", "0", "1", "0"]
    assert rows["合计"] == ["4", "0", "3", "1"]
    categories = {r[0]: r[1] for r in _table(doc, "监管类别", "企业数（家）")[1:]}
    assert categories == {"危险化学品": "3", "其他": "1", "合计": "4"}
    levels = {r[0]: r[1] for r in _table(doc, "风险等级", "风险点（个）")[1:]}
    assert levels == {
        "重大风险（红）": "4",
        "较大风险（橙）": "1",
        "一般风险（黄）": "1",
        "低风险（蓝）": "1",
        "合计": "7",
    }
    hazards = _table(doc, "序号", "企业")
    assert [r[2] for r in hazards[1:]] == ["液氨储罐区", "液化石油气储罐", "甲醇罐区"]
    assert hazards[1][4:7] == ["二级", "62.5", "氨"]
    change = {r[0]: r[1:] for r in _table(doc, "指标", "2024年末")[1:]}
    assert change["风险点总数"] == ["2", "7", "+5"]
    assert change["重大风险点"] == ["1", "4", "+3"]
    assert change["重大危险源总数"] == ["1", "3", "+2"]
    areas = {r[0]: r[1:] for r in _table(doc, "区县", "红色")[1:]}
    assert areas["芝罘区"] == ["1", "0", "0", "0", "1"]
    # w:eastAsia makes Word use a Chinese font for the Chinese text (no theme font overriding it).
    from docx.oxml.ns import qn  # noqa: PLC0415 python-docx loaded only when a Word file is written

    for style, font in (("Normal", "宋体"), ("Heading 1", "黑体"), ("Title", "黑体")):
        rfonts = doc.styles[style].element.rPr.rFonts
        assert rfonts.get(qn("w:eastAsia")) == font
        assert rfonts.get(qn("w:eastAsiaTheme")) is None
    assert b'w:eastAsia="zh-CN"' in _docx_part(content, "word/styles.xml")
    assert "芝罘区实验小学距测试企业1有限公司液氨储罐区约" in text
    assert "青岛" not in text and "小仓库" not in text and "明年风险点" not in text
    assert len(doc.inline_shapes) == 1  # the four-colour map


def test_major_hidden_dangers_come_from_the_registered_provider(
    session: Session, seeded: dict, monkeypatch: pytest.MonkeyPatch
) -> None:

    seen: list[Any] = []

    def provider(session: Session, who: Any, filters: Any) -> list[dict[str, Any]]:
        seen.append(filters.division)
        return [
            {
                "division_code": "370602",
                "industry": "2614 化学原料和化学制品制造业",
                "found_at": "2025-06-01",
            },
            {"division_code": "370613", "industry": "", "found_at": "2025-12-31"},
            # found after the paper's year: not on record at its end
            {"division_code": "370602", "industry": "", "found_at": "2026-01-02"},
        ]

    lists.load_providers()  # let the real providers register first, then stand in for hazards
    monkeypatch.setitem(lists._PROVIDERS, "major-hidden-dangers", provider)
    content, _media, _name = whitepaper.build(session, ADMIN, 2025, "370600", "docx", NOW)
    doc, text = _docx_text(content)
    rows = {r[0]: r[1:] for r in _table(doc, "区县", "重大安全风险（项）")[1:]}
    assert rows["芝罘区"][1] == "1" and rows["莱山区"][1] == "1" and rows["合计"][1] == "2"
    industries = {r[0]: r[2] for r in _table(doc, "行业", "重大安全风险（项）")[1:]}
    assert industries["化学原料和化学制品制造业"] == "1"
    assert seen == ["3706"]
    assert "重大事故隐患 2 项" in text
    assert "尚有 2 项重大事故隐患未完成整改销号（芝罘区 最多，1 项）" in text


def _docx_part(content: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return z.read(name)


def test_pdf_contains_title_and_counts(session: Session, seeded: dict) -> None:
    content, media_type, filename = whitepaper.build(session, ADMIN, "2025", "370600", "pdf", NOW)
    assert media_type == "application/pdf" and content.startswith(b"%PDF")
    assert filename.endswith(".pdf")
    text = _pdf_text(content)
    assert TITLE in text
    assert "登记风险点7个，其中重大风险4个、较大风险1个、一般风险1个、低风险1个" in text
    assert "重大安全风险4项" in text and "重大危险源3处" in text and "脆弱性目标1个" in text
    assert "与2024年末相比，风险点总数增加5个（2→7）" in text
    assert "青岛" not in text


def test_each_document_embeds_its_own_characters(session: Session, seeded: dict) -> None:
    # Two different papers in one process: the second must not reuse the first one's font
    # subset (reportlab keys faces by PostScript name), or its extra characters go missing.
    district, _m, _n = whitepaper.build(session, ADMIN, "2025", "370602", "pdf", NOW)
    city, _m, _n = whitepaper.build(session, ADMIN, "2025", "370600", "pdf", NOW)
    district_text, city_text = _pdf_text(district), _pdf_text(city)
    assert "芝罘区城市安全风险白皮书" in district_text and "莱山" not in district_text
    assert TITLE in city_text and "莱山区" in city_text
    assert "\x00" not in city_text and "\x00" not in district_text


def test_no_previous_year_is_said(session: Session, seeded: dict) -> None:
    data = wp_gather.gather(session, ADMIN, 2024, "370600", NOW)
    text = wp_compose.compose(data).text()
    assert "2023年度平台中无风险点和重大危险源数据" in text
    assert len(data.current.risk_levels) == 2 and len(data.current.hazards) == 1
    assert data.current.level_counts() == {"red": 1, "yellow": 1}


def test_recommendations_come_from_the_data(session: Session, seeded: dict) -> None:
    recs = wp_compose.recommendations(wp_gather.gather(session, ADMIN, 2025, "370600", NOW))
    joined = "\n".join(recs)
    assert "全市共有重大安全风险 4 项，其中芝罘区 3 项" in joined
    assert "化学原料和化学制品制造业集中了 3 处重大危险源" in joined
    assert "有 1 个学校、医院等脆弱性目标位于重大危险源 500 米范围内" in joined
    assert "重大风险数量较上年增加 3 个" in joined
    assert "有 1 个风险点已超过复评日期" in joined


# --------------------------------------------------------------------------- rendering


def test_pdf_page_renders_chinese_glyphs_not_boxes(
    session: Session, seeded: dict, tmp_path: Path
) -> None:
    from fontTools import subset  # noqa: PLC0415 fontTools loaded only when fonts are subset
    from fontTools.ttLib import TTFont  # noqa: PLC0415 fontTools loaded only when fonts are subset
    from PIL import ImageChops  # noqa: PLC0415 Pillow loaded only when an image is drawn

    doc = wp_compose.compose(wp_gather.gather(session, ADMIN, 2025, "370600", NOW))
    cjk = fonts.load_fonts(doc.text())
    png = mapimage.render_map(doc.map_spec, cjk)
    real = wp_render.render_pdf(doc, cjk, png)

    # Every character the paper shows has a glyph in the embedded font.
    cmap = TTFont(io.BytesIO(cjk.regular)).getBestCmap()
    missing = {ch for ch in doc.text() if not ch.isspace() and ord(ch) not in cmap}
    assert not missing, f"characters without a glyph: {''.join(sorted(missing))}"

    page = _page_png(real, tmp_path, "real")
    inked = sum(page.point(lambda v: 255 if v < 128 else 0).histogram()[255:])
    assert inked > 0.002 * page.width * page.height, "page 1 is blank"

    # The same page with a font that has no Chinese glyphs shows tofu boxes; ours must not.
    tofu_font = TTFont(io.BytesIO(cjk.regular))
    options = subset.Options()
    options.notdef_outline = True
    options.name_IDs = ["*"]
    sub = subset.Subsetter(options)
    sub.populate(text="0123456789 :")
    sub.subset(tofu_font)
    for record in tofu_font["name"].names:
        if record.nameID == 6:
            record.string = "TofuSans"
    buf = io.BytesIO()
    tofu_font.save(buf)
    tofu = fonts.Fonts(buf.getvalue(), buf.getvalue(), "tofu" + cjk.key, "test")
    tofu_page = _page_png(wp_render.render_pdf(doc, tofu, png), tmp_path, "tofu")
    diff = ImageChops.difference(page, tofu_page).point(lambda v: 255 if v > 64 else 0)
    changed = diff.histogram()[255]
    assert changed > 0.003 * page.width * page.height, "Chinese text renders like tofu boxes"

    # And poppler reads the title back from page 1 (tofu has no text to read back).
    pdf = tmp_path / "real.pdf"
    out = subprocess.run(
        [_poppler("pdftotext"), "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert TITLE in re.sub(r"\s+", "", out)
    tofu_text = subprocess.run(
        [_poppler("pdftotext"), "-f", "1", "-l", "1", str(tmp_path / "tofu.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert TITLE not in re.sub(r"\s+", "", tofu_text)


def test_map_is_coloured_by_area_level(session: Session, seeded: dict) -> None:
    from PIL import Image  # noqa: PLC0415 Pillow loaded only when an image is drawn

    data = wp_gather.gather(session, ADMIN, 2025, "370600", NOW)
    assert sorted(a.level for a in data.areas) == ["red", "red"]
    doc = wp_compose.compose(data)
    image = Image.open(io.BytesIO(mapimage.render_map(doc.map_spec, fonts.load_fonts(doc.text()))))
    image = image.convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    red = mapimage._rgb(wp_data.LEVEL_HEX["red"])
    red_pixels = sum(
        n for n, c in colours if sum(abs(a - b) for a, b in zip(c, red, strict=False)) < 30
    )
    assert red_pixels > 500
    assert "重大风险（红）2 个网格" in doc.map_spec.legend


# --------------------------------------------------------------------------- scope and input


def test_district_officer_gets_only_their_district(session: Session, seeded: dict) -> None:
    content, _, filename = whitepaper.build(session, ZHIFU, 2025, "370600", "docx", NOW)
    assert filename.startswith("芝罘区城市安全风险白皮书")
    doc, text = _docx_text(content)
    assert "芝罘区城市安全风险白皮书（2025年度）" in text
    assert "莱山" not in text and "测试企业4" not in text and "液化石油气储罐" not in text
    assert "烟台市" not in text
    rows = {r[0]: r[1:] for r in _table(doc, "区县", "重大安全风险（项）")[1:]}
    assert rows == {"芝罘区": ["3", "0", "2", "1"], "合计": ["3", "0", "2", "1"]}
    with pytest.raises(NotFound):  # outside scope: 404, as every read outside scope
        whitepaper.build(session, ZHIFU, 2025, "370200", "pdf", NOW)


def test_enterprise_officer_sees_only_their_enterprise(session: Session, seeded: dict) -> None:
    own = Principal(
        user_id=7,
        username="enterprise",
        role="enterprise_officer",
        division_code="370602",
        enterprise_id=seeded["own_enterprise_id"],
    )
    data = wp_gather.gather(session, own, 2025, "370600", NOW)
    assert {h.name for h in data.current.hazards} == {"液氨储罐区"}
    assert {rp.name for rp, _ in data.current.risk_levels} == {"芝罘区红色风险点一"}
    assert [e.id for e in data.enterprises] == [seeded["own_enterprise_id"]]


@pytest.mark.parametrize(
    ("year", "fmt", "division", "field"),
    [
        ("abc", "pdf", "370600", "year"),
        ("25", "pdf", "370600", "year"),
        ("2025.0", "pdf", "370600", "year"),
        ("1999", "pdf", "370600", "year"),
        ("2027", "pdf", "370600", "year"),
        ("2025", "xls", "370600", "format"),
        ("2025", "pdf", "37x600", "division"),
    ],
)
def test_bad_input_is_invalid(
    session: Session, year: str, fmt: str, division: str, field: str
) -> None:
    with pytest.raises(Invalid) as info:
        whitepaper.build(session, ADMIN, year, division, fmt, NOW)
    assert [e.field for e in info.value.errors] == [field]
    assert isinstance(info.value.errors[0], FieldError) and info.value.errors[0].zh


def test_missing_font_fails_with_a_bilingual_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "_package_font", lambda: None)
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", (("/nonexistent/font.ttc", 0),))
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    with pytest.raises(fonts.FontUnavailable) as info:
        fonts.find_font()
    assert "fonts-wqy-zenhei" in info.value.zh and "justmytype-intl-cjk" in info.value.en


# --------------------------------------------------------------------------- HTTP


@pytest.fixture
def wp_client(client: Any) -> Any:
    # The application itself must serve the white paper: a test that mounted the router would
    # hide a missing route.
    for path in ("/api/v1/risk/white-paper", "/risk/white-paper", "/risk/white-paper/download"):
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "root_path": "",
            "query_string": b"",
            "headers": [],
        }
        assert any(r.matches(scope)[0] == Match.FULL for r in client.app.router.routes), path
    return client


def test_endpoint_downloads_and_validates(wp_client: Any, seeded: dict) -> None:
    headers = login(wp_client, "admin")
    resp = wp_client.get(
        "/api/v1/risk/white-paper?year=2025&division=370600&format=docx", headers=headers
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith(wp_data.FORMATS["docx"])
    disposition = resp.headers["content-disposition"]
    assert 'filename="safecity-white-paper-2025.docx"' in disposition
    assert "filename*=UTF-8''%E7%83%9F%E5%8F%B0" in disposition  # 烟台
    assert resp.content[:2] == b"PK"

    bad = wp_client.get("/api/v1/risk/white-paper?year=twenty&format=pdf", headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "year"
    bad = wp_client.get("/api/v1/risk/white-paper?year=2025&format=xls", headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "format"
    assert wp_client.get("/api/v1/risk/white-paper?year=2025").status_code == 401

    zhifu = login(wp_client, "zhifu")
    resp = wp_client.get("/api/v1/risk/white-paper?year=2025&division=370200", headers=zhifu)
    assert resp.status_code == 404
    resp = wp_client.get("/api/v1/risk/white-paper?year=2025&format=pdf", headers=zhifu)
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")
    assert "芝罘区城市安全风险白皮书（2025年度）" in _pdf_text(resp.content)
    assert (
        wp_client.get(
            "/api/v1/risk/white-paper?year=2025", headers=login(wp_client, "public")
        ).status_code
        == 403
    )


def test_page_has_form_and_shows_errors(wp_client: Any, seeded: dict) -> None:
    wp_client.headers["accept"] = "text/html"
    web_login(wp_client, "zhifu")
    page = wp_client.get("/risk/white-paper")
    assert page.status_code == 200
    assert 'action="/risk/white-paper/download"' in page.text
    assert 'value="pdf"' in page.text and 'value="docx"' in page.text
    assert "370602 芝罘区" in page.text and "370613" not in page.text
    bad = wp_client.get("/risk/white-paper/download?year=20x5&division=370602&format=pdf")
    assert bad.status_code == 422 and "四位数字年份" in bad.text
    ok = wp_client.get("/risk/white-paper/download?year=2025&division=370602&format=docx")
    assert ok.status_code == 200 and ok.content[:2] == b"PK"


def test_division_without_boundaries_or_risk_data_still_builds(
    session: Session, city: dict
) -> None:
    qingdao = Principal(user_id=9, username="qdadmin", role="admin", division_code="370200")
    data = wp_gather.gather(session, qingdao, 2026, "370200", NOW)
    assert data.partial and data.areas == [] and data.current.empty
    text = wp_compose.compose(data).text()
    assert "2026年度尚未结束，本白皮书数据截至2026年11月23日" in text
    assert "无法绘制四色分布图" in text and "2025年度平台中无风险点和重大危险源数据" in text
    for fmt in ("pdf", "docx"):
        content, _, _ = whitepaper.build(session, qingdao, 2026, "370200", fmt, NOW)
        assert content[:4] in (b"%PDF", b"PK\x03\x04")


def test_page_defaults_to_the_current_year_and_says_the_period(
    wp_client: Any, seeded: dict, frozen_clock: Any
) -> None:
    """The clock stands at 23 November 2026: the default is 2026 to date, not the year 2025
    (whose paper reported 0 major hazards while the maps showed them), and the page says so."""
    wp_client.headers["accept"] = "text/html"
    web_login(wp_client, "admin")
    page = wp_client.get("/risk/white-paper").text
    assert 'id="wp-year" name="year" value="2026"' in page
    assert "统计期：2026年1月1日至11月23日" in page
    past = wp_client.get("/risk/white-paper/download?year=20x5&format=pdf").text
    assert "统计期" not in past  # no period claimed for an invalid year
