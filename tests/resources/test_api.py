"""The resources API: typed answers, scope (404 outside, 403 not allowed), 409 illegal steps,
422 zh+en field messages, and the CLI's nearest in JSON."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from safecity.resources import network
from tests.conftest import login
from tests.factories import NOW
from tests.resources.conftest import item, river_town_geojson, warehouse, who
from tests.resources.helpers import ll


def _teams(client, h) -> None:  # type: ignore[no-untyped-def]
    for name, (x, y), div in (("对岸站", (0, 1000), "370602"), ("同岸站", (2000, 0), "370602")):
        lon, lat = ll(x, y)
        r = client.post(
            "/api/v1/resources/rescue-teams",
            headers=h,
            json={"name": name, "lon": lon, "lat": lat, "division_code": div, "members": 30},
        )
        assert r.status_code == 201, r.text


def test_nearest_by_api_and_cli(client, session: Session, rs_city, tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "commander")
    lon, lat = ll(0, 0)
    r = client.get(f"/api/v1/resources/nearest?kind=rescue-teams&lon={lon}&lat={lat}", headers=h)
    assert r.status_code == 409 and "路网" in r.json()["message"]
    path = tmp_path / "town.geojson"
    path.write_text(json.dumps(river_town_geojson()), encoding="utf-8")
    network.import_file(session, who(session, "admin"), path, NOW)
    session.commit()
    _teams(client, h)
    r = client.get(
        f"/api/v1/resources/nearest?kind=rescue-teams&lon={lon}&lat={lat}&n=1", headers=h
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["name"] for x in body["results"]] == ["同岸站"]
    assert body["results"][0]["route"]["type"] == "LineString"
    assert body["direction"] == "to_point"
    public = login(client, "public")
    r = client.get(f"/api/v1/resources/nearest?kind=shelters&lon={lon}&lat={lat}", headers=public)
    assert r.status_code == 403
    from safecity.cli import app  # noqa: PLC0415 the CLI app mounts every plug-in's commands

    out = CliRunner().invoke(
        app,
        ["resources", "nearest", "--kind", "rescue-teams", "--lon", str(lon), "--lat", str(lat)],
    )
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert [x["name"] for x in answer["results"]] == ["同岸站", "对岸站"]
    assert answer["results"][1]["travel_time_s"] > answer["results"][0]["travel_time_s"]


def test_stock_api_scope_conflict_and_field_errors(client, session: Session, rs_city) -> None:  # type: ignore[no-untyped-def]
    wh = warehouse(session, "芝罘区库", "370602")
    tent = item(session)
    session.commit()
    zhifu, laishan = login(client, "zhifu"), login(client, "laishan")
    url = f"/api/v1/resources/stock/{wh.id}/movements"
    r = client.post(
        url, headers=zhifu, json={"kind": "receive", "item_id": tent.id, "quantity": 10}
    )
    assert r.status_code == 201, r.text
    assert r.json()[0]["quantity"] == 10
    r = client.post(url, headers=zhifu, json={"kind": "issue", "item_id": tent.id, "quantity": 11})
    assert r.status_code == 409 and "库存不足" in r.json()["message"]
    r = client.post(url, headers=zhifu, json={"kind": "issue", "item_id": tent.id, "quantity": "x"})
    assert r.status_code == 422
    field = r.json()["detail"][0]
    assert field["field"] == "quantity" and field["message"] and field["message_en"]
    assert client.get(f"/api/v1/resources/stock/{wh.id}", headers=laishan).status_code == 404
    r = client.post(
        url, headers=laishan, json={"kind": "receive", "item_id": tent.id, "quantity": 1}
    )
    assert r.status_code == 404
    r = client.get(f"/api/v1/resources/stock/{wh.id}", headers=zhifu)
    assert r.json()["totals"] == {"1010101": 10}


def test_transfer_api_illegal_step_is_409(client, session: Session, rs_city) -> None:  # type: ignore[no-untyped-def]
    a = warehouse(session, "芝罘区一号库", "370602")
    b = warehouse(session, "芝罘区二号库", "370602", 800)
    tent = item(session)
    session.commit()
    h = login(client, "zhifu")
    r = client.post(
        "/api/v1/resources/transfers",
        headers=h,
        json={
            "item_id": tent.id,
            "quantity": 3,
            "source_warehouse_id": a.id,
            "destination_warehouse_id": b.id,
        },
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["actions"] == ["approve", "reject", "cancel"]
    r = client.post(
        f"/api/v1/resources/transfers/{rid}/actions", headers=h, json={"action": "receive"}
    )
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/resources/transfers/{rid}/actions", headers=h, json={"action": "approve"}
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
