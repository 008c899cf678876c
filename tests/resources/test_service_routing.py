"""The travel-time questions through the service: scoped resources on the imported network,
both directions, unreachable places, shelters for N people and the evacuation plan (HiGHS)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core.errors import Conflict, Forbidden, Invalid
from safecity.registry.models import GridCell
from safecity.resources import evacuation, network, service
from safecity.resources.models import RoadNetwork
from tests.factories import NOW
from tests.resources.conftest import river_town_geojson, who
from tests.resources.helpers import highs_evacuation, ll, seconds


def _import(session: Session, tmp_path) -> None:
    path = tmp_path / "town.geojson"
    path.write_text(json.dumps(river_town_geojson()), encoding="utf-8")
    network.import_file(session, who(session, "admin"), path, NOW)


def _team(session: Session, name: str, x: float, y: float, division: str = "370602", **kw):
    lon, lat = ll(x, y)
    return service.create_resource(
        session,
        who(session, "admin"),
        "rescue-teams",
        {"name": name, "lon": lon, "lat": lat, "division_code": division} | kw,
        NOW,
    )


def _shelter(session: Session, name: str, x: float, y: float, capacity: int, **kw):
    lon, lat = ll(x, y)
    return service.create_resource(
        session,
        who(session, "admin"),
        "shelters",
        {"name": name, "lon": lon, "lat": lat, "division_code": "370602", "capacity": capacity}
        | kw,
        NOW,
    )


def test_no_network_yet_is_a_409_and_a_bad_file_writes_nothing(
    session: Session, rs_city, tmp_path
) -> None:
    with pytest.raises(Conflict):
        service.nearest(session, who(session, "admin"), "rescue-teams", *ll(0, 0))
    bad = tmp_path / "paths.geojson"
    bad.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"highway": "footway"},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[121.4, 37.5], [121.41, 37.5]],
                        },
                    }
                ],
            }
        )
    )
    with pytest.raises(Invalid) as err:
        network.import_file(session, who(session, "admin"), bad, NOW)
    assert "highway=footway" in err.value.errors[0].en
    assert session.scalar(select(func.count()).select_from(RoadNetwork)) == 0
    with pytest.raises(Forbidden):
        network.import_file(session, who(session, "commander"), bad, NOW)


def test_nearest_teams_go_over_the_bridge_with_eta_and_straight_line(
    session: Session, rs_city, tmp_path
) -> None:
    _import(session, tmp_path)
    across = _team(session, "对岸消防站", 0, 1000)
    same = _team(session, "同岸消防站", 2000, 0)
    _team(session, "莱山区消防站", 4000, 0, division="370613")
    _team(session, "出动中的队伍", 100, 0, readiness="deployed")
    body = service.nearest_teams(session, who(session, "zhifu"), *ll(0, 0), n=5)
    assert [r["name"] for r in body["results"]] == ["同岸消防站", "对岸消防站"]
    first, second = body["results"]
    assert first["id"] == same.id and second["id"] == across.id
    assert first["eta_s"] == pytest.approx(round(seconds((2000, 0), (0, 0), 40), 1))
    expected = (
        seconds((0, 1000), (4000, 1000), 40)
        + seconds((4000, 1000), (4000, 0), 50)
        + seconds((4000, 0), (0, 0), 40)
    )
    assert second["travel_time_s"] == pytest.approx(expected, abs=0.1)
    assert second["straight_m"] == pytest.approx(1000, rel=2e-3)  # 1 km as the crow flies
    assert second["distance_m"] == pytest.approx(9000, rel=2e-3)
    assert body["direction"] == "to_point"
    # the commander sees the city: the 莱山区 team (4 km along the bank) ranks between them
    city = service.nearest_teams(session, who(session, "commander"), *ll(0, 0), n=5)
    assert [r["name"] for r in city["results"]] == ["同岸消防站", "莱山区消防站", "对岸消防站"]


def test_one_way_street_gives_different_times_in_each_direction(
    session: Session, rs_city, tmp_path
) -> None:
    """(2000,0)→(2000,-1000) is one-way southbound; back north goes round by (0,-1000), (0,0)."""
    _import(session, tmp_path)
    _shelter(session, "南区避难场所", 2000, -1000, 500)
    _team(session, "南区消防站", 2000, -1000)
    admin = who(session, "admin")
    people = service.nearest(session, admin, "shelters", *ll(2000, 0))  # from the point
    force = service.nearest(session, admin, "rescue-teams", *ll(2000, 0))  # to the point
    assert people["direction"] == "from_point" and force["direction"] == "to_point"
    assert people["results"][0]["travel_time_s"] == pytest.approx(
        seconds((2000, 0), (2000, -1000), 25), abs=0.1
    )
    assert force["results"][0]["travel_time_s"] == pytest.approx(
        seconds((2000, -1000), (0, -1000), 25)
        + seconds((0, -1000), (0, 0), 25)
        + seconds((0, 0), (2000, 0), 40),
        abs=0.1,
    )


def test_unreachable_and_off_road_resources_get_no_time(
    session: Session, rs_city, tmp_path
) -> None:
    _import(session, tmp_path)
    _team(session, "远处的队伍", 20000, 20000)  # 20 km from any road
    body = service.nearest(session, who(session, "admin"), "rescue-teams", *ll(1000, 0))
    assert body["results"] == []
    assert body["not_reached"][0]["status"] == "off_road"
    with pytest.raises(Invalid) as err:  # the point itself far from the roads: say how far
        service.nearest(session, who(session, "admin"), "rescue-teams", *ll(1000, 3000))
    assert "2,000" in err.value.errors[0].zh


def test_shelters_for_n_people_in_travel_order_until_capacity_covers_them(
    session: Session, rs_city, tmp_path
) -> None:
    _import(session, tmp_path)
    _shelter(session, "甲", 1000, 0, 300)
    _shelter(session, "乙", 3000, 0, 500)
    _shelter(session, "丙（关闭）", 500, 0, 10_000, status="closed")
    _shelter(session, "丁", 0, 1000, 1000)
    body = service.shelters_for(session, who(session, "zhifu"), *ll(0, 0), 700)
    assert [(r["name"], r["take"]) for r in body["results"]] == [("甲", 300), ("乙", 400)]
    assert body["covered_people"] == 700 and body["short_people"] == 0
    short = service.shelters_for(session, who(session, "zhifu"), *ll(0, 0), 2000)
    assert short["covered_people"] == 1800 and short["short_people"] == 200


def test_evacuation_plan_equals_highs_and_reports_the_unassigned(
    session: Session, rs_city, tmp_path
) -> None:
    _import(session, tmp_path)
    rng = np.random.default_rng(7)
    for i in range(12):
        x = float(rng.uniform(0, 4000))
        y = float(rng.choice([0, 1000, -1000]))
        lon, lat = ll(x, y + float(rng.uniform(-50, 50)))
        session.add(
            GridCell(
                code=f"T-{i}",
                name=f"测试网格{i}",
                division_code="370602",
                population=int(rng.integers(100, 900)),
                lon=lon,
                lat=lat,
            )
        )
    session.flush()
    for j, (x, y) in enumerate([(500, 0), (3500, 1000), (1000, -1000), (4000, 0)]):
        _shelter(session, f"场所{j}", x, y, int(rng.integers(500, 1500)))
    plan = service.evacuation_plan(
        session, who(session, "zhifu"), center=ll(2000, 0), radius_m=5000, k=3
    )
    cells = session.scalars(select(GridCell).where(GridCell.code.like("T-%"))).all()
    people = sum(c.population for c in cells)
    assert plan["people"] == people and plan["cells"] == 12
    assert plan["assigned_people"] + plan["unassigned_people"] == people
    assert sum(f["people"] for f in plan["flows"]) == plan["assigned_people"]
    assert sum(u["people"] for u in plan["unassigned"]) == plan["unassigned_people"]
    for fill in plan["shelters"]:
        assert fill["people"] <= fill["capacity"]
    # the same network solved by HiGHS as an LP: same optimum
    g = network.graph(session)
    cell_nodes, snap = g.snap_many([c.lon for c in cells], [c.lat for c in cells])
    off_road = [c for c, m in zip(cells, snap, strict=True) if m > 500]
    assert {u["cell_id"] for u in plan["unassigned"] if u["reason"] == "off_road"} == {
        c.id for c in off_road
    }
    assert off_road  # the instance has cells beside no road (x > 2 km at y = -1 km)
    cells = [c for c, m in zip(cells, snap, strict=True) if m <= 500]
    cell_nodes = cell_nodes[snap <= 500]
    shelters = service.list_resources(session, who(session, "zhifu"), "shelters")
    sh_nodes, _ = g.snap_many([s.lon for s in shelters], [s.lat for s in shelters])
    arcs = evacuation.candidate_arcs(g, cell_nodes, sh_nodes, k=3, max_time_s=1800)
    pop = np.array([c.population for c in cells])
    cap = np.array([s.capacity for s in shelters])
    mine = evacuation.assign(pop, cap, arcs)
    cost, most = highs_evacuation(pop, cap, arcs, mine.overflow_cost)
    assert mine.solver_cost == pytest.approx(cost)
    assert plan["assigned_people"] == pytest.approx(most)
    assert plan["assigned_people"] == mine.assigned_people
    assert plan["total_person_time_s"] == mine.total_person_time_s
    # and nothing of 芝罘区 is offered to 莱山区's officer
    other = service.evacuation_plan(
        session, who(session, "laishan"), center=ll(2000, 0), radius_m=5000
    )
    assert other["cells"] == 0 and other["flows"] == []
