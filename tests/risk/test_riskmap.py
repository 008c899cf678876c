"""Four-colour map layers (grid, street, district, H3) from the database, scope and explanations."""

from __future__ import annotations

import h3
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.errors import Forbidden, Invalid, NotFound
from safecity.core.models import AuditEntry
from safecity.core.scope import Principal
from safecity.registry.models import Division, GridCell
from safecity.risk.areas import explain as area_explain
from safecity.risk.areas import geometry, layers
from safecity.risk.areas import service as area_service
from tests.factories import NOW, square
from tests.risk.area_seed import point, seed_areas

ADMIN = Principal(user_id=1, username="admin", role="admin", division_code="370600")
ANALYST = Principal(user_id=3, username="analyst", role="risk_analyst", division_code="370600")
ZHIFU = Principal(user_id=4, username="zhifu", role="district_officer", division_code="370602")
LAISHAN = Principal(user_id=5, username="laishan", role="district_officer", division_code="370613")
PUBLIC = Principal(user_id=8, username="public", role="public", division_code="370600")


@pytest.fixture
def seeded(session: Session, city: dict) -> dict:
    return seed_areas(session, city)


def levels(fc: dict) -> dict[str, str]:
    return {f["properties"]["name"]: f["properties"]["level"] for f in fc["features"]}


def test_grid_layer_hand_computed(session: Session, seeded: dict) -> None:
    fc = layers.map_layer(session, ADMIN, "grid")
    assert fc["type"] == "FeatureCollection" and fc["unit"] == "grid"
    assert levels(fc) == {"芝罘区第0001网格": "orange", "莱山区第0001网格": "yellow"}
    by_name = {f["properties"]["name"]: f["properties"] for f in fc["features"]}
    zf = by_name["芝罘区第0001网格"]
    # orange 1 (by location) + yellow 3 (by grid id) + 1 vulnerable target = 10.5
    assert zf["score"] == 10.5 and zf["risk_points"] == [0, 1, 3, 0]
    assert zf["vulnerable_targets"] == 1 and zf["colour"] == area_service.COLOURS["orange"]
    assert by_name["莱山区第0001网格"]["score"] == 3.0
    assert fc["summary"]["areas"] == {"red": 0, "orange": 1, "yellow": 1, "blue": 0}
    assert fc["summary"]["total_areas"] == 2


def test_district_layer_hand_computed(session: Session, seeded: dict) -> None:
    fc = layers.map_layer(session, ADMIN, "district")
    props = {f["id"]: f["properties"] for f in fc["features"]}
    assert set(props) == {"370602", "370613"}  # 青岛 is outside the admin's city
    # By the cells (default): 芝罘区's one cell is orange (100 % ≥ 25 %), 莱山区's is yellow.
    # The point score is still reported; by the points the district would be red (38.5).
    assert props["370602"]["method"] == "cells" and props["370602"]["grid_cells"] == [0, 1, 0, 0]
    assert props["370602"]["score"] == 38.5 and props["370602"]["level"] == "orange"
    assert props["370602"]["risk_points"] == [2, 1, 3, 0]
    assert props["370602"]["major_hazards"] == [0, 1, 0, 0]
    assert props["370613"]["grid_cells"] == [0, 0, 1, 0]
    assert props["370613"]["score"] == 6.0 and props["370613"]["level"] == "yellow"


def test_district_layer_by_points_when_the_city_chooses_it(session: Session, seeded: dict) -> None:
    area_service.save_rule(session, ANALYST, {"aggregate": {"method": "points"}}, NOW)
    session.commit()
    fc = layers.map_layer(session, ADMIN, "district")
    props = {f["id"]: f["properties"] for f in fc["features"]}
    assert props["370602"]["level"] == "red" and "method" not in props["370602"]
    assert props["370613"]["level"] == "yellow"
    d = area_explain.explain(session, ADMIN, "district", "370602")
    assert d["method"] == "points" and d["score"] == 38.5 and d["floor_level"] == "red"


def _blue_cells(session: Session, division: str, lon: float, lat: float, n: int) -> None:
    """n empty grid cells of 0.001° in a row east of (lon, lat): blue by the point rule."""
    session.add_all(
        [
            GridCell(
                code=f"{division}-9{i:03d}",
                name=f"空网格{division}-{i}",
                division_code=division,
                population=10,
                geometry=square(lon + i * 0.001, lat, 0.001),
                lon=lon + i * 0.001 + 0.0005,
                lat=lat + 0.0005,
            )
            for i in range(n)
        ]
    )


def test_one_red_point_among_many_blue_cells_does_not_make_the_district_red(
    session: Session, seeded: dict
) -> None:
    # 莱山区: its cell gets a red point (red cell) and 19 empty cells are added: 1 red of 20.
    session.add(
        point("莱山区红色风险点", "370613", "red", 121.432, 37.362, grid=seeded["laishan_cell"])
    )
    _blue_cells(session, "370613", 121.44, 37.38, 19)
    session.commit()
    grid = layers.map_layer(session, ADMIN, "grid", division="370613")
    assert grid["summary"]["areas"] == {"red": 1, "orange": 0, "yellow": 0, "blue": 19}
    p = {
        f["id"]: f["properties"] for f in layers.map_layer(session, ADMIN, "district")["features"]
    }["370613"]
    # 5 % red < 10 %, 5 % red + orange < 25 %, 5 % < 40 %; the 四级 hazard sets no floor
    assert p["grid_cells"] == [1, 0, 0, 19] and p["level"] == "blue"
    assert p["risk_points"] == [1, 0, 0, 10]
    e = area_explain.explain(session, ADMIN, "district", "370613")
    assert e["level"] == "blue" and e["cells"]["total"] == 20
    assert e["summary_zh"].startswith("共 20 个网格：红色 1 个（5%）")
    assert [c["name"] for c in e["grid_cells"]] == ["莱山区第0001网格"]
    # a city that sets the red share at 5 % makes the same district red
    area_service.save_rule(session, ANALYST, {"aggregate": {"red_share": 0.05}}, NOW)
    session.commit()
    assert area_explain.explain(session, ADMIN, "district", "370613")["level"] == "red"


def test_street_layer_uses_street_divisions(session: Session, seeded: dict) -> None:
    assert layers.map_layer(session, ADMIN, "street")["features"] == []
    session.add(
        Division(
            code="370602001",
            name="向阳街道",
            name_en="Xiangyang",
            level="street",
            parent_code="370602",
            geometry=square(121.36, 37.46, 0.02),
        )
    )
    session.commit()
    fc = layers.map_layer(session, ADMIN, "street")
    assert [f["id"] for f in fc["features"]] == ["370602001"]
    p = fc["features"][0]["properties"]
    # Located inside 121.36–121.38 × 37.46–37.48: orange 1, yellow 3, the 二级 hazard, 1 target
    assert p["risk_points"] == [0, 1, 3, 0] and p["major_hazards"] == [0, 1, 0, 0]
    # The street holds the centre of the (orange) 芝罘 cell: orange by its cells. The 二级
    # hazard no longer floors a street to red; the score is still reported.
    assert p["grid_cells"] == [0, 1, 0, 0]
    assert p["level"] == "orange" and p["score"] == 18.5
    assert layers.map_layer(session, LAISHAN, "street")["features"] == []
    # A point known only by its grid cell counts in the street holding the cell's centre,
    # and the explanation finds it too.
    session.add(
        point("芝罘区无坐标风险点", "370602", "blue", None, None, grid=seeded["zhifu_cell"])
    )
    session.commit()
    fc = layers.map_layer(session, ADMIN, "street")
    assert fc["features"][0]["properties"]["risk_points"] == [0, 1, 3, 1]
    e = area_explain.explain(session, ADMIN, "street", "370602001")
    assert "芝罘区无坐标风险点" in [r["name"] for r in e["risk_points"]]
    assert e["score"] == 18.8


LOCATED = [  # (lat, lon, level index) of the located points an admin of 烟台 sees
    (37.465, 121.365, 1),
    (37.462, 121.362, 2),
    (37.463, 121.363, 2),
    (37.464, 121.364, 2),
    (37.49, 121.39, 0),
    *[(37.361, 121.431 + i * 0.0005, 3) for i in range(10)],
    (37.5, 121.4, 0),
]  # 芝罘区物流风险点 has no coordinates: it stands at its enterprise


def test_h3_layer(session: Session, seeded: dict) -> None:
    fc = layers.map_layer(session, ADMIN, "h3", 9)
    assert fc["resolution"] == 9
    expected: dict[str, list[int]] = {}
    for lat, lon, lv in LOCATED:
        expected.setdefault(h3.latlng_to_cell(lat, lon, 9), [0, 0, 0, 0])[lv] += 1
    props = {f["id"]: f["properties"] for f in fc["features"]}
    assert {k: p["risk_points"] for k, p in props.items() if any(p["risk_points"])} == expected
    cell = h3.latlng_to_cell(37.465, 121.365, 9)  # the orange point and the kindergarten
    assert props[cell]["vulnerable_targets"] == 1
    assert props[cell]["level"] == "orange"
    hazard_cell = h3.latlng_to_cell(37.465, 121.375, 9)
    assert props[hazard_cell]["level"] == "red"  # 二级 major hazard → red floor
    assert props[hazard_cell]["major_hazards"] == [0, 1, 0, 0]
    assert all(h3.get_resolution(k) == 9 for k in props)
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    assert fc["summary"]["total_areas"] == len(
        set(expected) | {hazard_cell, h3.latlng_to_cell(37.39, 121.46, 9)}
    )


def test_point_without_coordinates_stands_at_its_enterprise(session: Session, seeded: dict) -> None:
    # Move 测试企业3 (G54, owner of the red 芝罘区物流风险点) into the 芝罘区 grid cell: the cell
    # turns red although the point itself has neither coordinates nor a grid cell.
    ent = seeded["enterprises"][2]
    ent.lon, ent.lat = 121.368, 37.468
    session.commit()
    fc = layers.map_layer(session, ADMIN, "grid")
    assert levels(fc)["芝罘区第0001网格"] == "red"
    e = area_explain.explain(session, ADMIN, "grid", str(seeded["zhifu_cell"]))
    assert "芝罘区物流风险点" in [p["name"] for p in e["risk_points"]]


def test_default_h3_resolution_and_bad_units(session: Session, seeded: dict) -> None:
    assert layers.map_layer(session, ADMIN, "h3")["resolution"] == geometry.DEFAULT_H3_RES
    with pytest.raises(Invalid) as err:
        layers.map_layer(session, ADMIN, "county")
    assert err.value.errors[0].field == "unit"
    with pytest.raises(Invalid) as err:
        layers.map_layer(session, ADMIN, "h3", 11)
    assert err.value.errors[0].field == "resolution"


def test_scope_of_layers(session: Session, seeded: dict) -> None:
    assert levels(layers.map_layer(session, ZHIFU, "grid")) == {"芝罘区第0001网格": "orange"}
    assert levels(layers.map_layer(session, LAISHAN, "grid")) == {"莱山区第0001网格": "yellow"}
    assert [f["id"] for f in layers.map_layer(session, ZHIFU, "district")["features"]] == ["370602"]
    # The enterprise officer sees their own enterprise's points only: the orange point.
    own = Principal(
        user_id=7,
        username="enterprise",
        role="enterprise_officer",
        division_code="370602",
        enterprise_id=seeded["enterprises"][0].id,
    )
    p = layers.map_layer(session, own, "grid")["features"][0]["properties"]
    assert p["risk_points"] == [0, 1, 0, 0] and p["major_hazards"] == [0, 0, 0, 0]
    assert p["vulnerable_targets"] == 0 and p["level"] == "orange"
    with pytest.raises(Forbidden):
        layers.map_layer(session, PUBLIC, "grid")


def test_division_filter_narrows_the_layer(session: Session, seeded: dict) -> None:
    fc = layers.map_layer(session, ADMIN, "district", division="370613")
    assert [f["id"] for f in fc["features"]] == ["370613"]


def test_explanation_agrees_with_the_layer(session: Session, seeded: dict) -> None:
    cell = str(seeded["zhifu_cell"])
    e = area_explain.explain(session, ADMIN, "grid", cell)
    assert e["level"] == "orange" and e["score"] == 10.5
    assert e["name"] == "芝罘区第0001网格"
    assert [(c["kind"], c["count"]) for c in e["contributions"]] == [
        ("risk_points", 1),
        ("risk_points", 3),
        ("vulnerable_targets", 1),
    ]
    assert e["risk_points"][0]["name"] == "芝罘区储罐区作业"  # most severe first
    assert {p["name"] for p in e["risk_points"]} == {
        "芝罘区储罐区作业",
        "芝罘区仓库一",
        "芝罘区仓库二",
        "芝罘区仓库三",
    }
    [target] = e["vulnerable_targets"]
    assert target["name"] == "芝罘区幼儿园" and target["hazard"] == "液氨储罐区"
    # 0.01° of longitude at 37.465° N on the 6,371,008.8 m sphere
    assert target["distance_m"] == pytest.approx(882.0, abs=2.0)
    assert e["summary_zh"].startswith("综合得分 10.5（橙色风险点1×4＋黄色风险点3×1.5＋")
    assert e["summary_zh"].endswith("最终为橙色（较大风险）。")
    d = area_explain.explain(session, ADMIN, "district", "370602")
    # graded by its one (orange) cell; the 二级 hazard sets no floor for a district
    assert d["method"] == "cells" and d["level"] == "orange" and d["floor_level"] == "blue"
    assert d["cells"]["counts"] == {"red": 0, "orange": 1, "yellow": 0, "blue": 0}
    assert [h["name"] for h in d["major_hazards"]] == ["液氨储罐区"]


def test_explanation_out_of_scope_is_not_found(session: Session, seeded: dict) -> None:
    with pytest.raises(NotFound):
        area_explain.explain(session, ZHIFU, "grid", str(seeded["laishan_cell"]))
    with pytest.raises(NotFound):
        area_explain.explain(session, ZHIFU, "district", "370613")
    with pytest.raises(NotFound):
        area_explain.explain(session, ADMIN, "district", "370202")  # Qingdao
    with pytest.raises(NotFound):
        area_explain.explain(session, ADMIN, "h3", "not-a-cell")
    empty = h3.latlng_to_cell(30.0, 110.0, 9)
    with pytest.raises(NotFound):
        area_explain.explain(session, ADMIN, "h3", empty)


def test_h3_explanation(session: Session, seeded: dict) -> None:
    cell = h3.latlng_to_cell(37.465, 121.375, 9)
    e = area_explain.explain(session, ADMIN, "h3", cell)
    assert e["resolution"] == 9 and e["level"] == "red"
    assert [h["name"] for h in e["major_hazards"]] == ["液氨储罐区"]
    with pytest.raises(NotFound):  # the hazard is in 芝罘区, outside 莱山区's scope
        area_explain.explain(session, LAISHAN, "h3", cell)


def test_hazard_markers_in_scope(session: Session, seeded: dict) -> None:
    fc = layers.hazard_markers(session, ADMIN)
    assert [f["properties"]["name"] for f in fc["features"]] == ["液氨储罐区", "液化石油气储罐"]
    assert fc["features"][0]["geometry"]["coordinates"] == [121.375, 37.465]
    assert [
        f["properties"]["name"] for f in layers.hazard_markers(session, LAISHAN)["features"]
    ] == ["液化石油气储罐"]


def test_city_rule_changes_the_colours_and_is_audited(session: Session, seeded: dict) -> None:
    # Five yellow-equivalents are not enough any more: yellow needs 4.0, so 莱山 cell (3.0)
    # has only its floors left — blue points impose none — and turns blue.
    result = area_service.save_rule(session, ANALYST, {"thresholds": {"yellow": 4}}, NOW)
    session.commit()
    assert result["custom"] and result["rule"]["thresholds"]["yellow"] == 4.0
    fc = layers.map_layer(session, LAISHAN, "grid")
    assert levels(fc) == {"莱山区第0001网格": "blue"}
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "risk_setting")
    ).one()
    assert entry.actor == "analyst" and entry.object_id == "370600:area_rule"
    assert entry.before is None and entry.after["thresholds"]["yellow"] == 4.0
    # back to the default
    area_service.save_rule(session, ADMIN, {}, NOW)
    session.commit()
    assert area_service.rule_setting(session, ZHIFU)["custom"] is False
    assert levels(layers.map_layer(session, LAISHAN, "grid")) == {"莱山区第0001网格": "yellow"}


def test_rule_changes_need_a_city_analyst_or_admin(session: Session, seeded: dict) -> None:
    with pytest.raises(Forbidden):
        area_service.save_rule(session, ZHIFU, {"max_raise": 1}, NOW)
    district_analyst = Principal(
        user_id=9, username="a2", role="risk_analyst", division_code="370602"
    )
    with pytest.raises(Forbidden):
        area_service.save_rule(session, district_analyst, {"max_raise": 1}, NOW)
    with pytest.raises(Invalid) as err:
        area_service.save_rule(session, ADMIN, {"thresholds": {"red": 1, "orange": 5}}, NOW)
    assert err.value.errors[0].field == "thresholds"
    with pytest.raises(NotFound):
        area_service.rule_setting(session, ADMIN, "370202")
    assert session.scalars(select(AuditEntry)).all() == []
