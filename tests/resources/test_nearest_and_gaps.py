"""Experts (by field) and equipment (by type, with its tracker) in the nearest-resources
question, and the gap analyses added later: each town's 200 m² of town-tier stores and the
supplies for the relocated people — service, API and CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from safecity.registry.models import Division
from safecity.resources import network, service
from tests.conftest import login
from tests.factories import NOW, square
from tests.resources.conftest import item, river_town_geojson, who
from tests.resources.helpers import ll, seconds


def _import(session: Session, tmp_path) -> None:
    path = tmp_path / "town.geojson"
    path.write_text(json.dumps(river_town_geojson()), encoding="utf-8")
    network.import_file(session, who(session, "admin"), path, NOW)


def _add(session: Session, kind: str, name: str, x: float, y: float, **kw) -> int:
    lon, lat = ll(x, y)
    obj = service.create_resource(
        session,
        who(session, "admin"),
        kind,
        {"name": name, "lon": lon, "lat": lat, "division_code": "370602"} | kw,
        NOW,
    )
    return obj.id


def _people_and_kit(session: Session) -> None:
    # the south bank at x=2000 is 2 km by road from (0, 0); the north bank at x=0 is 1 km away
    # in a straight line but 9 km by road (over the only bridge at x=4000)
    _add(session, "experts", "南岸危化专家", 2000, 0, field="hazchem", organisation="化工院")
    _add(session, "experts", "北岸危化专家", 0, 1000, field="hazchem", phone="13800000000")
    _add(session, "experts", "消防专家", 4000, 0, field="fire")
    _add(session, "equipment", "排涝泵甲", 2000, 0, equipment_type="pump", tracker_id="BD-1")
    _add(
        session,
        "equipment",
        "排涝泵乙",
        0,
        1000,
        equipment_type="pump",
        tracker_id="BD-2",
        status="maintenance",
    )
    _add(session, "equipment", "冲锋舟", 4000, 0, equipment_type="boat")


def test_nearest_experts_by_field_and_equipment_by_type_with_tracker(
    session: Session, rs_city, tmp_path
) -> None:
    _import(session, tmp_path)
    _people_and_kit(session)
    admin = who(session, "commander")
    lon, lat = ll(0, 0)
    found = service.nearest(session, admin, "experts", lon, lat, field="hazchem")
    assert found["direction"] == "to_point"  # experts travel to the scene
    assert [r["name"] for r in found["results"]] == ["南岸危化专家", "北岸危化专家"]
    south, north = found["results"]
    assert south["field"] == "hazchem" and south["organisation"] == "化工院"
    assert abs(south["travel_time_s"] - seconds((2000, 0), (0, 0), 40)) < 0.5
    # over the bridge: 4 km east, 1 km across (primary, 50 km/h), 4 km back west
    by_bridge = (
        seconds((0, 1000), (4000, 1000), 40)
        + seconds((4000, 1000), (4000, 0), 50)
        + seconds((4000, 0), (0, 0), 40)
    )
    assert abs(north["travel_time_s"] - by_bridge) < 1.0
    assert found["filters"] == {"field": "hazchem"}
    every = service.nearest(session, admin, "experts", lon, lat)
    assert {r["name"] for r in every["results"]} == {"南岸危化专家", "北岸危化专家", "消防专家"}

    pumps = service.nearest(session, admin, "equipment", lon, lat, equipment_type="pump")
    assert [(r["name"], r["tracker_id"]) for r in pumps["results"]] == [
        ("排涝泵甲", "BD-1"),
        ("排涝泵乙", "BD-2"),
    ]
    usable = service.nearest(
        session, admin, "equipment", lon, lat, equipment_type="pump", available_only=True
    )
    assert [r["tracker_id"] for r in usable["results"]] == ["BD-1"]
    assert usable["filters"] == {"equipment_type": "pump", "status": "available"}


def test_nearest_experts_and_equipment_by_api_and_cli(
    client, session: Session, rs_city, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _import(session, tmp_path)
    _people_and_kit(session)
    session.commit()
    h = login(client, "commander")
    lon, lat = ll(0, 0)
    base = f"/api/v1/resources/nearest?lon={lon}&lat={lat}"
    r = client.get(f"{base}&kind=experts&field=hazchem&n=1", headers=h)
    assert r.status_code == 200, r.text
    assert [(x["name"], x["field"]) for x in r.json()["results"]] == [("南岸危化专家", "hazchem")]
    r = client.get(f"{base}&kind=equipment&equipment_type=boat", headers=h)
    assert [(x["name"], x["tracker_id"]) for x in r.json()["results"]] == [("冲锋舟", "")]
    r = client.get(f"{base}&kind=experts&field=astrology", headers=h)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "field" and r.json()["detail"][0]["message_en"]
    r = client.get(f"{base}&kind=shelters&field=hazchem", headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "field"
    r = client.get(f"{base}&kind=equipment&equipment_type=spaceship", headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "equipment_type"
    assert client.get(f"{base}&kind=experts", headers=login(client, "public")).status_code == 403
    # another district's officer sees none of Zhifu's experts
    r = client.get(f"{base}&kind=experts", headers=login(client, "laishan"))
    assert r.status_code == 200 and r.json()["results"] == []

    from safecity.cli import app  # noqa: PLC0415 the CLI app mounts every plug-in's commands

    out = CliRunner().invoke(
        app,
        ["resources", "nearest", "--kind", "experts", "--field", "hazchem"]
        + ["--lon", str(lon), "--lat", str(lat)],
    )
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert [x["name"] for x in answer["results"]] == ["南岸危化专家", "北岸危化专家"]
    assert answer["results"][1]["phone"] == "13800000000"
    out = CliRunner().invoke(
        app,
        ["resources", "nearest", "--kind", "equipment", "--type", "pump"]
        + ["--lon", str(lon), "--lat", str(lat)],
    )
    assert out.exit_code == 0, out.output
    assert [x["tracker_id"] for x in json.loads(out.output)["results"]] == ["BD-1", "BD-2"]


def _towns(session: Session) -> None:
    session.add_all(
        [
            Division(code="370602100", name="测试镇", level="street", parent_code="370602",
                     population=30_000, geometry=square(121.36, 37.46, 0.02)),
            Division(code="370602101", name="另一镇", level="street", parent_code="370602",
                     population=20_000, geometry=square(121.40, 37.50, 0.02)),
            Division(code="370602001", name="向阳街道", level="street", parent_code="370602",
                     population=50_000, geometry=square(121.42, 37.52, 0.02)),
        ]
    )  # fmt: skip
    session.flush()


def _store(session: Session, name: str, lon: float, lat: float, tier: str, area: float) -> None:
    service.create_resource(
        session,
        who(session, "admin"),
        "warehouses",
        {"name": name, "lon": lon, "lat": lat, "division_code": "370602", "tier": tier}
        | {"floor_area_m2": area},
        NOW,
    )


def test_town_tier_gap_is_200_square_metres_per_town(session: Session, rs_city) -> None:
    _towns(session)
    _store(session, "测试镇储备点", 121.37, 37.47, "town", 150)  # inside 测试镇: 50 m² short
    _store(session, "另一镇储备点", 121.41, 37.51, "town", 260)  # inside 另一镇: enough
    _store(session, "街道储备点", 121.43, 37.53, "town", 90)  # in a 街道, not a town: no credit
    _store(session, "芝罘区库", 121.38, 37.50, "district", 2400)
    gaps = service.gaps(session, who(session, "commander"), today=NOW.date())
    zhifu = next(r for r in gaps["divisions"] if r["division_code"] == "370602")
    assert zhifu["towns"] == 2  # 向阳街道 is a sub-district, not a town
    assert zhifu["town_warehouses"] == 3 and zhifu["town_warehouse_m2"] == 500.0
    assert zhifu["town_warehouse_short_m2"] == 50.0
    assert zhifu["towns_short"] == [
        {"code": "370602100", "name": "测试镇", "area_m2": 150.0, "short_m2": 50.0}
    ]
    assert zhifu["district_warehouse_short_m2"] == 0.0 and zhifu["town_basis"] == "per_town"
    laishan = next(r for r in gaps["divisions"] if r["division_code"] == "370613")
    assert laishan["towns"] == 0 and laishan["town_warehouse_short_m2"] == 0.0
    assert laishan["district_warehouse_short_m2"] == 2000.0
    assert gaps["towns_short"] == 1 and gaps["town_warehouse_short_m2"] == 50.0
    assert gaps["tier_minimum_m2"]["town"] == 200.0

    # no towns registered: each town-tier store is held to 200 m² instead
    session.execute(delete(Division).where(Division.level == "street"))
    gaps = service.gaps(session, who(session, "commander"), today=NOW.date())
    zhifu = next(r for r in gaps["divisions"] if r["division_code"] == "370602")
    assert zhifu["town_basis"] == "per_store"
    assert zhifu["town_warehouse_short_m2"] == 50.0 + 110.0
    assert sorted(t["name"] for t in zhifu["towns_short"]) == ["测试镇储备点", "街道储备点"]


def test_relocation_supplies_count_unexpired_stock_against_the_target(
    client, session: Session, rs_city
) -> None:  # type: ignore[no-untyped-def]
    _store(session, "芝罘区库", 121.38, 37.50, "district", 2400)
    wh = session.scalar(select(service.Warehouse).where(service.Warehouse.name == "芝罘区库"))
    tent = item(session, "1010101", "单帐篷")
    quilt = item(session, "1020101", "棉被")
    admin = who(session, "admin")
    service.record_movement(
        session, admin, wh.id, {"kind": "receive", "item_id": tent.id, "quantity": 100}, NOW
    )
    old = (NOW - timedelta(days=1)).date().isoformat()
    service.record_movement(
        session,
        admin,
        wh.id,
        {"kind": "receive", "item_id": tent.id, "quantity": 10, "batch": "old", "expiry": old},
        NOW,
    )
    service.record_movement(
        session, admin, wh.id, {"kind": "receive", "item_id": quilt.id, "quantity": 50}, NOW
    )
    session.commit()
    r = client.get(
        "/api/v1/resources/gaps?relocation_people=1000", headers=login(client, "commander")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["relocation_people_target"] == 1000
    kit = {x["code"]: x for x in body["relocation_supplies"]}
    # 100 usable tents (the expired 10 do not count) shelter four each: 400 people
    assert (kit["1010101"]["quantity"], kit["1010101"]["people_served"]) == (100, 400)
    assert (kit["1010101"]["short_people"], kit["1010101"]["short_quantity"]) == (600, 150)
    assert (kit["1020101"]["people_served"], kit["1020101"]["short_quantity"]) == (50, 950)
    # an item of the kit the catalogue lacks: nothing in stock, the whole target short
    assert kit["1010201"]["quantity"] == 0 and kit["1010201"]["short_quantity"] == 1000
    laishan = client.get("/api/v1/resources/gaps", headers=login(client, "laishan")).json()
    assert {x["code"]: x["quantity"] for x in laishan["relocation_supplies"]}["1010101"] == 0
