"""The resources pages added after the first release: importing a road network (admins),
requesting and walking transfers, switching shelters open/closed/full and setting minimum
stock — each writes through the service (audited, scoped) and shows its 422 on the page with
nothing written. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core.models import AuditEntry
from safecity.resources import api, demo, roads, service
from safecity.resources.models import (
    MinimumStock,
    RoadNetwork,
    Shelter,
    StockMovement,
    TransferRequest,
)
from tests.conftest import csrf_of, login, web_login
from tests.factories import NOW
from tests.resources.conftest import item, river_town_geojson, warehouse, who
from tests.resources.helpers import ll

BAD_ROADS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"highway": "footway"},
            "geometry": {"type": "LineString", "coordinates": [[121.4, 37.5], [121.41, 37.5]]},
        }
    ],
}


def _as(client, username: str, page: str = "/map") -> None:  # type: ignore[no-untyped-def]
    """Sign in through the form as another user (a fresh cookie jar, as a new browser)."""
    client.cookies.clear()
    assert web_login(client, username, next=page).status_code in (302, 303)


def _page_csrf(client, username: str, page: str) -> str:  # type: ignore[no-untyped-def]
    _as(client, username, page)
    r = client.get(page)
    assert r.status_code == 200, r.text[:500]
    return csrf_of(r.text)


def _stock(session: Session, warehouse_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
                StockMovement.warehouse_id == warehouse_id
            )
        )
    )


# ---------------------------------------------------------------- road network


def test_road_network_upload_by_api_all_or_nothing(
    client, session: Session, rs_city, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    admin = login(client, "admin")
    text = json.dumps(river_town_geojson()).encode()
    url = "/api/v1/resources/road-network"
    r = client.post(url, headers=admin, files={"file": ("river.geojson", text)})
    assert r.status_code == 201, r.text
    body = r.json()
    (tmp_path / "same.geojson").write_bytes(text)
    built = roads.load(tmp_path / "same.geojson")  # the builder on the same file, directly
    # 8 vertices; 15 arcs: six two-way segments and the one-way street
    assert (body["nodes"], body["edges"]) == (built.n_nodes, built.n_edges) == (8, 15)
    assert body["name"] == "river.geojson" and body["active"] is True
    west, south = ll(0, -1000)
    east, north = ll(4000, 1000)
    assert body["bbox"] == [round(west, 6), round(south, 6), round(east, 6), round(north, 6)]
    assert client.get(url, headers=login(client, "commander")).json()["bbox"] == body["bbox"]
    session.expire_all()
    before = session.scalar(select(func.count()).select_from(RoadNetwork))

    # refused whole: no usable ways, a file that is no road file, too large, not an admin
    r = client.post(url, headers=admin, files={"file": ("paths.geojson", json.dumps(BAD_ROADS))})
    assert r.status_code == 422 and r.json()["detail"][0]["message_en"]
    r = client.post(url, headers=admin, files={"file": ("notes.txt", b"hello")})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "file"
    monkeypatch.setattr(api, "upload_cap", lambda: 1000)
    r = client.post(url, headers=admin, files={"file": ("big.geojson", text)})
    assert r.status_code == 422 and "MB" in r.json()["detail"][0]["message"]
    r = client.post(
        url, headers=login(client, "commander"), files={"file": ("river.geojson", text)}
    )
    assert r.status_code == 403
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(RoadNetwork)) == before
    assert client.get(url, headers=admin).json()["id"] == body["id"]  # still the active one


def test_road_network_page_for_admins(client, session: Session, rs_city) -> None:  # type: ignore[no-untyped-def]
    csrf = _page_csrf(client, "admin", "/resources/roads")
    page = client.get("/resources/roads").text
    assert "尚未导入路网" in page
    r = client.post(
        "/resources/roads",
        data={"csrf": csrf, "name": ""},
        files={"file": ("paths.geojson", json.dumps(BAD_ROADS))},
    )
    assert r.status_code == 422
    assert "导入被拒绝" in r.text and "footway" in r.text
    assert session.scalar(select(func.count()).select_from(RoadNetwork)) == 0
    r = client.post(
        "/resources/roads",
        data={"csrf": csrf, "name": "河城路网"},
        files={"file": ("river.geojson", json.dumps(river_town_geojson()))},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/resources/roads?done=1"
    page = client.get("/resources/roads?done=1").text
    row = session.scalar(select(RoadNetwork))
    assert row is not None and row.name == "河城路网" and row.active
    assert f'id="rs-nodes">{row.nodes:,}<' in page and f'id="rs-edges">{row.edges:,}<' in page
    assert re.search(r'id="rs-bbox">西 121\.4000°', page)
    audit = session.scalar(select(AuditEntry).where(AuditEntry.object_type == "road_network"))
    assert audit is not None and audit.actor == "admin"
    # the menu entry and the page are the administrator's only
    _as(client, "commander", "/map")
    assert client.get("/resources/roads").status_code == 403
    assert "/resources/roads" not in client.get("/resources/analysis").text


# ---------------------------------------------------------------- transfers


def test_transfer_requested_and_walked_from_the_page(client, session: Session, rs_city) -> None:  # type: ignore[no-untyped-def]
    a = warehouse(session, "芝罘区一号库", "370602")
    b = warehouse(session, "芝罘区二号库", "370602", 800)
    c = warehouse(session, "莱山区库", "370613", 3000)
    tent = item(session)
    admin = who(session, "admin")
    for wh in (a, c):
        service.record_movement(
            session, admin, wh.id, {"kind": "receive", "item_id": tent.id, "quantity": 10}, NOW
        )
    session.commit()
    csrf = _page_csrf(client, "zhifu", "/resources/transfers")
    qingdao = service.create_resource(
        session,
        who(session, "qdadmin"),
        "warehouses",
        {"name": "市南区库", "lon": 120.38, "lat": 36.07, "division_code": "370202"},
        NOW,
    )
    session.commit()
    page = client.get("/resources/transfers").text
    assert "莱山区库" in page  # any store of the city may be asked, not only the officer's own
    assert qingdao.id and "市南区库" not in page  # another city's stores are not offered
    form = {
        "csrf": csrf,
        "item_id": str(tent.id),
        "source_warehouse_id": str(a.id),
        "destination_warehouse_id": str(b.id),
        "requesting_department": "芝罘区应急管理局",
        "reason": "演练",
    }
    r = client.post("/resources/transfers", data=form | {"quantity": "三"})
    assert r.status_code == 422 and "应为整数" in r.text
    r = client.post("/resources/transfers", data=form | {"quantity": "0"})
    assert r.status_code == 422 and "数量" in r.text
    assert session.scalar(select(func.count()).select_from(TransferRequest)) == 0
    r = client.post("/resources/transfers", data=form | {"quantity": "3"}, follow_redirects=False)
    assert r.status_code == 303
    req = session.scalar(select(TransferRequest))
    assert req is not None and (req.quantity, req.status) == (3, "requested")
    for action in ("approve", "commit", "dispatch", "receive"):
        r = client.post(
            f"/resources/transfers/{req.id}/{action}", data={"csrf": csrf}, follow_redirects=False
        )
        assert r.status_code == 303, (action, r.text[:300])
    r = client.post(f"/resources/transfers/{req.id}/return", data={"csrf": csrf, "quantity": "5"})
    assert r.status_code == 422 and "归还数量不能超过" in r.text  # 5 > the 3 transferred
    r = client.post(
        f"/resources/transfers/{req.id}/return",
        data={"csrf": csrf, "quantity": "2"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    req = session.get(TransferRequest, req.id)
    assert (req.status, req.returned_quantity) == ("returned", 2)
    assert (_stock(session, a.id), _stock(session, b.id)) == (10 - 3 + 2, 3 - 2)
    r = client.post(f"/resources/transfers/{req.id}/approve", data={"csrf": csrf})
    assert r.status_code == 409 and "已归还" in r.text

    # from Laishan's store: approving is Laishan's step, not Zhifu's
    r = client.post(
        "/resources/transfers",
        data=form | {"source_warehouse_id": str(c.id), "quantity": "4"},
        follow_redirects=False,
    )
    cross = session.scalar(
        select(TransferRequest).where(TransferRequest.source_warehouse_id == c.id)
    )
    assert cross is not None
    page = client.get("/resources/transfers").text
    row = page[page.index(f'id="r{cross.id}"') :].split("</tr>")[0]
    assert f"/resources/transfers/{cross.id}/cancel" in row  # the requester may withdraw
    assert f"/resources/transfers/{cross.id}/approve" not in row
    r = client.post(f"/resources/transfers/{cross.id}/approve", data={"csrf": csrf})
    assert r.status_code == 403 and "调出方" in r.text
    session.expire_all()
    assert session.get(TransferRequest, cross.id).status == "requested"


def test_demo_transfers_are_made_through_the_service_in_every_state(
    session: Session, rs_city, monkeypatch
) -> None:
    store = warehouse(session, "烟台市应急物资储备库", "370602")
    store.tier = "city"
    zhifu = warehouse(session, "芝罘区应急物资储备库", "370602", 500)
    laishan = warehouse(session, "莱山区应急物资储备库", "370613", 2000)
    quilt = item(session, "1020101", "棉被")
    admin = who(session, "admin")
    for wh in (store, laishan):
        service.record_movement(
            session, admin, wh.id, {"kind": "receive", "item_id": quilt.id, "quantity": 100}, NOW
        )
    steps = ("approve", "commit", "dispatch", "receive", "return")
    monkeypatch.setattr(
        demo,
        "TRANSFERS",
        [
            ("1020101", "city", "370613", 40, steps, 10, "演练借用", ""),
            ("1020101", "city", "370613", 30, steps[:3], 1, "寒潮", "演示-01"),
            ("1020101", "370613", "370602", 500, (), 0, "多要", ""),  # capped at half of 100
            ("1020101", "city", "370602", 10, ("reject",), 2, "", ""),
            ("9999999", "city", "370602", 10, (), 0, "", ""),  # no such item: left out
        ],
    )
    demo._transfers(session, NOW)
    reqs = list(session.scalars(select(TransferRequest).order_by(TransferRequest.id)))
    assert [(r.status, r.quantity) for r in reqs] == [
        ("returned", 40),
        ("dispatched", 30),
        ("requested", 50),
        ("rejected", 10),
    ]
    assert reqs[1].incident_ref == "演示-01" and reqs[0].requesting_department.endswith(
        "应急管理局"
    )
    # the log: 40 lent and given back, 30 on the road; Laishan got the 40 and returned them
    assert _stock(session, store.id) == 100 - 40 + 40 - 30
    assert _stock(session, laishan.id) == 100 + 40 - 40
    assert zhifu.id and _stock(session, zhifu.id) == 0
    kinds = session.scalars(
        select(StockMovement.kind).where(StockMovement.request_id == reqs[0].id)
    ).all()
    assert sorted(kinds) == ["transfer_in", "transfer_in", "transfer_out", "transfer_out"]


# ---------------------------------------------------------------- shelters and minimums


def test_shelter_status_switched_from_the_board(client, session: Session, rs_city) -> None:  # type: ignore[no-untyped-def]
    admin = who(session, "admin")
    ids = []
    for name, x in (("一号广场", 100), ("二号公园", 300)):
        lon, lat = ll(x, 0)
        obj = service.create_resource(
            session,
            admin,
            "shelters",
            {"name": name, "lon": lon, "lat": lat, "division_code": "370602", "capacity": 500},
            NOW,
        )
        ids.append(obj.id)
    session.commit()
    csrf = _page_csrf(client, "duty", "/resources/shelter-status")
    page = client.get("/resources/shelter-status").text
    assert 'data-status="open"><b>2</b>' in page
    r = client.post(
        f"/resources/shelter-status/{ids[0]}",
        data={"csrf": csrf, "status": "full", "back": "/resources/shelter-status?status=open"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/resources/shelter-status?status=open#s{ids[0]}"
    session.expire_all()
    assert session.get(Shelter, ids[0]).status == "full"
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.object_type == "shelter", AuditEntry.action == "update")
    )
    assert entry is not None and entry.actor == "duty"
    assert (entry.before["status"], entry.after["status"]) == ("open", "full")
    page = client.get("/resources/shelter-status?status=full").text
    assert "一号广场" in page and "二号公园" not in page
    # a redirect never leaves the board; a bad status is a 422 and changes nothing
    r = client.post(
        f"/resources/shelter-status/{ids[1]}",
        data={"csrf": csrf, "status": "closed", "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"/resources/shelter-status#s{ids[1]}"
    r = client.post(f"/resources/shelter-status/{ids[0]}", data={"csrf": csrf, "status": "gone"})
    assert r.status_code == 422
    session.expire_all()
    assert [session.get(Shelter, i).status for i in ids] == ["full", "closed"]
    _as(client, "laishan", "/map")
    csrf = csrf_of(client.get("/resources/shelter-status").text)
    r = client.post(f"/resources/shelter-status/{ids[1]}", data={"csrf": csrf, "status": "open"})
    assert r.status_code == 404  # another district's shelter
    _as(client, "public", "/public/warnings")
    assert client.get("/resources/shelter-status").status_code == 403


def test_minimum_stock_set_from_the_warehouse_page(client, session: Session, rs_city) -> None:  # type: ignore[no-untyped-def]
    wh = warehouse(session, "芝罘区库", "370602")
    tent = item(session)
    service.record_movement(
        session,
        who(session, "admin"),
        wh.id,
        {"kind": "receive", "item_id": tent.id, "quantity": 10},
        NOW,
    )
    session.commit()
    page = f"/resources/stock/{wh.id}"
    csrf = _page_csrf(client, "zhifu", page)
    assert "低于最低库存" not in client.get(page).text
    r = client.post(
        f"{page}/minimum",
        data={"csrf": csrf, "item_id": str(tent.id), "minimum": "50"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    row = session.scalar(select(MinimumStock))
    assert row is not None and row.minimum == 50
    html = client.get(page).text
    level = html[html.index(f'data-item="{tent.id}"') :].split("</tr>")[0]
    assert 'class="below' in level and "低于最低库存" in level and 'value="50"' in level
    r = client.post(
        f"{page}/minimum", data={"csrf": csrf, "item_id": str(tent.id), "minimum": "-1"}
    )
    assert r.status_code == 422 and 'id="rs-minimum-errors"' in r.text
    r = client.post(f"{page}/minimum", data={"csrf": csrf, "item_id": str(tent.id), "minimum": "x"})
    assert r.status_code == 422 and "应为整数" in r.text
    session.expire_all()
    assert session.scalar(select(MinimumStock.minimum)) == 50
    _as(client, "laishan", "/map")
    csrf = csrf_of(client.get("/resources/stock").text)
    r = client.post(f"{page}/minimum", data={"csrf": csrf, "item_id": str(tent.id), "minimum": "1"})
    assert r.status_code == 404


def test_an_incident_opens_the_analysis_that_can_attach_its_plan(
    client, session: Session, rs_city
) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/response/incidents",
        json={
            "title": "化工厂反应釜爆炸",
            "type_key": "accident_disaster.production_safety",
            "production_safety": True,
            "occurred_at": "2026-11-23T08:00:00+00:00",
            "division_code": "370602",
            "lon": 121.40,
            "lat": 37.50,
        },
        headers=login(client, "commander"),
    )
    assert r.status_code == 201, r.text
    iid = r.json()["incident"]["id"]
    _as(client, "commander", f"/response/incidents/{iid}")
    page = client.get(f"/response/incidents/{iid}").text
    link = re.search(r'id="nearest-link" href="([^"]+)"', page)
    assert link and link.group(1) == f"/resources/analysis?lon=121.4&lat=37.5&incident={iid}"
    page = client.get(link.group(1)).text
    assert 'id="rs-attach"' in page and f'"incident": {iid}' in page
    assert f'href="/response/incidents/{iid}"' in page
    page = client.get("/resources/analysis?incident=x1").text  # not an id: no attach button
    assert 'id="rs-attach"' not in page and '"incident": null' in page


def test_material_catalogue_grows_from_the_stock_page(client, session: Session, rs_city) -> None:  # type: ignore[no-untyped-def]
    from safecity.resources.models import Item  # noqa: PLC0415 kept beside its one use

    csrf = _page_csrf(client, "duty", "/resources/stock")
    r = client.post(
        "/resources/items",
        data={"csrf": csrf, "code": "4010101", "name": "防毒面具", "unit": "个",
              "shelf_life_days": "三年"},
    )  # fmt: skip
    assert r.status_code == 422
    errors = dict(re.findall(r'data-field="(\w+)">([^<]+)<', r.text))
    assert set(errors) == {"code", "shelf_life_days"}  # both at once
    assert "GB/T 38565" in errors["code"]
    assert session.scalar(select(func.count()).select_from(Item)) == 0
    r = client.post(
        "/resources/items",
        data={"csrf": csrf, "code": "2050101", "name": "防毒面具", "unit": "个",
              "shelf_life_days": "1095"},
        follow_redirects=False,
    )  # fmt: skip
    assert (
        r.status_code == 303 and r.headers["location"] == "/resources/stock?added=2050101#catalogue"
    )
    item = session.scalar(select(Item))
    assert item is not None and (item.code, item.shelf_life_days) == ("2050101", 1095)
    page = client.get("/resources/stock").text
    row = page[page.index('data-code="2050101"') :].split("</tr>")[0]
    assert "应急装备及配套物资" in row and "1095" in row  # class 2 named from the code
    r = client.post(
        "/resources/items",
        data={"csrf": csrf, "code": "2050101", "name": "重复", "unit": "个"},
    )
    assert r.status_code == 422 and "已存在" in r.text
    _as(client, "analyst", "/resources/stock")  # reads stock, does not keep it
    page = client.get("/resources/stock").text
    assert 'id="rs-item-form"' not in page
    r = client.post(
        "/resources/items",
        data={"csrf": csrf_of(page), "code": "2050102", "name": "滤毒罐", "unit": "个"},
    )
    assert r.status_code == 403
