"""REST API and pages of the four lists, the four-colour map and the area rule."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.models import AuditEntry
from safecity.registry.models import GridCell
from tests.conftest import PASSWORD, login
from tests.factories import square
from tests.risk.area_seed import point, seed_areas


@pytest.fixture
def api(client, session: Session, city: dict):  # type: ignore[no-untyped-def]
    seed_areas(session, city)
    return client


def _web_login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    resp = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf": csrf, "next": "/risk/map"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text


def test_map_geojson_per_unit(api) -> None:  # type: ignore[no-untyped-def]
    h = login(api, "analyst")
    grid = api.get("/api/v1/risk/map", params={"unit": "grid"}, headers=h)
    assert grid.status_code == 200
    body = grid.json()
    assert body["type"] == "FeatureCollection"
    assert body["summary"]["areas"] == {"red": 0, "orange": 1, "yellow": 1, "blue": 0}
    district = api.get("/api/v1/risk/map?unit=district", headers=h).json()
    # districts by their cells: 芝罘区's only cell is orange, 莱山区's yellow
    assert {f["id"]: f["properties"]["level"] for f in district["features"]} == {
        "370602": "orange",
        "370613": "yellow",
    }
    hexes = api.get("/api/v1/risk/map?unit=h3&resolution=8", headers=h).json()
    assert hexes["resolution"] == 8 and hexes["features"]
    assert api.get("/api/v1/risk/map?unit=street", headers=h).json()["features"] == []


def test_district_layer_one_red_point_among_many_blue_cells(api, session: Session) -> None:  # type: ignore[no-untyped-def]

    cells = {c.code: c.id for c in session.scalars(select(GridCell))}
    # 莱山区: a red point in its cell, and 29 more cells with nothing in them (blue)
    session.add(
        point("莱山区红色风险点", "370613", "red", 121.432, 37.362, grid=cells["370613-0001"])
    )
    session.add_all(
        [
            GridCell(
                code=f"370613-9{i:03d}",
                name=f"莱山区空网格{i}",
                division_code="370613",
                population=10,
                geometry=square(121.44 + i * 0.001, 37.38, 0.001),
                lon=121.4405 + i * 0.001,
                lat=37.3805,
            )
            for i in range(29)
        ]
    )
    session.commit()
    h = login(api, "analyst")
    grid = api.get("/api/v1/risk/map?unit=grid&division=370613", headers=h).json()
    assert grid["summary"]["areas"]["red"] == 1 and grid["summary"]["total_areas"] == 30
    district = api.get("/api/v1/risk/map?unit=district", headers=h).json()
    p = {f["id"]: f["properties"] for f in district["features"]}["370613"]
    assert p["risk_points"][0] == 1 and p["grid_cells"] == [1, 0, 0, 29]
    assert p["level"] == "blue" and p["colour"] == "#2c7bb6"
    assert district["summary"]["areas"]["red"] == 0
    why = api.get("/api/v1/risk/map/explain?unit=district&id=370613", headers=h).json()
    assert why["method"] == "cells" and why["level"] == "blue"
    assert "红色网格占 3.3%（< 10%）" in why["summary_zh"]
    # the city may restore the old rule for streets and districts: one red point → red
    assert (
        api.put(
            "/api/v1/risk/area-rule", json={"aggregate": {"method": "points"}}, headers=h
        ).status_code
        == 200
    )
    district = api.get("/api/v1/risk/map?unit=district", headers=h).json()
    assert {f["id"]: f["properties"]["level"] for f in district["features"]}["370613"] == "red"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("unit=county", "unit"),
        ("unit=h3&resolution=3", "resolution"),
        ("unit=h3&resolution=x", "resolution"),
        ("unit=grid&division=37a6", "division"),
    ],
)
def test_map_bad_input_is_422_with_field(api, query: str, field: str) -> None:  # type: ignore[no-untyped-def]
    resp = api.get(f"/api/v1/risk/map?{query}", headers=login(api, "admin"))
    assert resp.status_code == 422
    body = resp.json()
    assert body["detail"][0]["field"].endswith(field)
    assert body["message"] and body["message_en"]


def test_explain_api_and_scope(api, session: Session) -> None:  # type: ignore[no-untyped-def]
    cells = {c.code: c.id for c in session.scalars(select(GridCell))}
    h = login(api, "zhifu")
    ok = api.get(
        "/api/v1/risk/map/explain", params={"unit": "grid", "id": cells["370602-0001"]}, headers=h
    )
    assert ok.status_code == 200 and ok.json()["level"] == "orange"
    assert ok.json()["score"] == 10.5
    hidden = api.get(
        "/api/v1/risk/map/explain", params={"unit": "grid", "id": cells["370613-0001"]}, headers=h
    )
    assert hidden.status_code == 404
    assert api.get("/api/v1/risk/map/explain?unit=district&id=370613", headers=h).status_code == 404
    assert api.get("/api/v1/risk/map/explain?unit=nope&id=1", headers=h).status_code == 422


def test_public_and_anonymous_see_nothing(api) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/api/v1/risk/map").status_code == 401
    h = login(api, "public")
    assert api.get("/api/v1/risk/map", headers=h).status_code == 403
    assert api.get("/api/v1/risk/lists/major-hazards", headers=h).status_code == 403
    assert api.get("/api/v1/risk/map/hazards", headers=h).status_code == 403


def test_area_rule_read_change_audit(api, session: Session) -> None:  # type: ignore[no-untyped-def]
    h = login(api, "analyst")
    got = api.get("/api/v1/risk/area-rule", headers=h).json()
    assert got["division_code"] == "370600" and got["custom"] is False
    assert got["rule"]["floors"]["hazards"] == {
        "1": "red",
        "2": "red",
        "3": "orange",
        "4": "yellow",
    }
    assert got["rule"]["aggregate"]["method"] == "cells"
    assert got["rule"]["aggregate"]["red_share"] == 0.1
    bad = api.put("/api/v1/risk/area-rule", json={"aggregate": {"red_share": 0}}, headers=h)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "aggregate.red_share"
    bad = api.put(
        "/api/v1/risk/area-rule", json={"thresholds": {"red": 5, "orange": 10}}, headers=h
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "thresholds"
    assert "阈值" in bad.json()["detail"][0]["message"]
    for user in ("zhifu", "commander"):
        denied = api.put("/api/v1/risk/area-rule", json={"max_raise": 1}, headers=login(api, user))
        assert denied.status_code == 403
    ok = api.put("/api/v1/risk/area-rule", json={"thresholds": {"yellow": 4}}, headers=h)
    assert ok.status_code == 200 and ok.json()["custom"] is True
    # the district officer reads the same (city) rule, and the map follows it
    zf = login(api, "laishan")
    assert (
        api.get("/api/v1/risk/area-rule", headers=zf).json()["rule"]["thresholds"]["yellow"] == 4.0
    )
    grid = api.get("/api/v1/risk/map?unit=grid", headers=zf).json()
    assert [f["properties"]["level"] for f in grid["features"]] == ["blue"]
    assert api.get("/api/v1/risk/area-rule?division=370202", headers=h).status_code == 404
    session.expire_all()
    actions = session.scalars(
        select(AuditEntry.actor).where(AuditEntry.object_type == "risk_setting")
    ).all()
    assert actions == ["analyst"]  # the rejected and forbidden attempts wrote nothing


def test_lists_overview_and_paging(api) -> None:  # type: ignore[no-untyped-def]
    h = login(api, "admin")
    overview = {i["name"]: i for i in api.get("/api/v1/risk/lists", headers=h).json()["lists"]}
    # red points: 芝罘区红色风险点, 芝罘区物流风险点 (the archived one and Qingdao's do not count);
    # no grid cell is red
    assert overview["major-risks"]["total"] == 2
    assert overview["major-hazards"]["total"] == 2
    assert overview["vulnerable-targets"]["total"] == 1
    assert overview["major-hidden-dangers"]["total"] == 0
    page = api.get("/api/v1/risk/lists/major-hazards?size=1&page=2", headers=h).json()
    assert page["total"] == 2 and page["page"] == 2 and len(page["rows"]) == 1
    assert page["rows"][0]["name"] == "液化石油气储罐"  # ordered by grade: 二级 first
    assert page["summary"]["by_level"][1] == {
        "key": "2",
        "label_zh": "二级重大危险源",
        "label_en": "Grade 2",
        "count": 1,
    }


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/risk/lists/major-hazards?level=red", "level"),
        ("/api/v1/risk/lists/major-risks?level=5", "level"),
        ("/api/v1/risk/lists/major-hazards?industry=ZZ", "industry"),
        ("/api/v1/risk/lists/major-risks?kind=hexagon", "kind"),
        ("/api/v1/risk/lists/major-hazards?page=0", "page"),
        ("/api/v1/risk/lists/major-hazards?size=501", "size"),
        ("/api/v1/risk/lists/major-hazards?format=pdf", "format"),
    ],
)
def test_list_bad_filters_are_422(api, url: str, field: str) -> None:  # type: ignore[no-untyped-def]
    resp = api.get(url, headers=login(api, "admin"))
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["field"].endswith(field)


def test_unknown_list_is_404(api) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/api/v1/risk/lists/nope", headers=login(api, "admin")).status_code == 404


def test_xlsx_export_through_the_api(api) -> None:  # type: ignore[no-untyped-def]
    resp = api.get(
        "/api/v1/risk/lists/major-hazards?format=xlsx&division=370602", headers=login(api, "admin")
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''%E9%87%8D%E5%A4%A7" in resp.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(resp.content))
    ws = wb["重大危险源清单"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("序号", "重大危险源（单元）名称", "单元类型", "等级", "R 值")
    assert len(rows) == 2  # header + 液氨储罐区 (the division filter drops 莱山区's)
    assert rows[1][1:6] == ("液氨储罐区", "储存单元", "二级重大危险源", 62.5, 3.0)


def test_scope_of_lists(api) -> None:  # type: ignore[no-untyped-def]
    zf = api.get("/api/v1/risk/lists/major-hazards", headers=login(api, "laishan")).json()
    assert [r["name"] for r in zf["rows"]] == ["液化石油气储罐"]
    own = api.get("/api/v1/risk/lists/major-risks", headers=login(api, "enterprise")).json()
    assert own["rows"] == []  # enterprise 1 has an orange point only
    liaison = api.get("/api/v1/risk/lists/major-risks", headers=login(api, "liaison")).json()
    # the liaison of section G sees 芝罘区物流风险点 (enterprise 3, G54) and no areas
    assert [r["name"] for r in liaison["rows"]] == ["芝罘区物流风险点"]


def test_pages_render_in_chinese_and_english(api) -> None:  # type: ignore[no-untyped-def]
    _web_login(api, "admin")
    overview = api.get("/risk/lists")
    assert overview.status_code == 200 and "四张清单" in overview.text
    assert 'data-total="major-hazards">2<' in overview.text
    page = api.get("/risk/lists/major-hazards?level=2")
    assert page.status_code == 200
    assert "液氨储罐区" in page.text and "液化石油气储罐" not in page.text
    assert "/api/v1/risk/lists/major-hazards?level=2&amp;format=xlsx" in page.text
    assert api.get("/risk/lists/major-hidden-dangers").status_code == 200
    # the export button's link works with the page's session cookie
    download = api.get("/api/v1/risk/lists/major-hazards?level=2&format=xlsx")
    assert download.status_code == 200
    rows = list(
        load_workbook(io.BytesIO(download.content))["重大危险源清单"].iter_rows(values_only=True)
    )
    assert [r[1] for r in rows[1:]] == ["液氨储罐区"]
    bad = api.get("/risk/lists/major-hazards?level=purple")
    assert bad.status_code == 422 and "filter-errors" in bad.text
    risk_map = api.get("/risk/map")
    assert risk_map.status_code == 200 and "四色风险图" in risk_map.text
    assert "/static/risk/map.js" in risk_map.text
    api.get("/lang/en?next=/risk/map")
    english = api.get("/risk/map")
    assert "Four-colour risk map" in english.text
    hazards_en = api.get("/risk/lists/major-hazards").text
    assert "Major hazard installations" in hazards_en and "Storage unit" in hazards_en
    assert "Grade 2" in hazards_en
    assert api.get("/static/risk/map.js").status_code == 200
