"""Dispatch with live position: a force whose equipment carries a tracker registered in
monitoring shows where it last reported, how long ago and how far from the scene; a tracker
named by hand must exist; a tracker outside the viewer's scope or a returned force shows none
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from safecity.monitoring.models import Reading, Sensor, SensorLatest
from safecity.resources.models import Equipment, RescueTeam
from tests.conftest import NOW, login, web_login
from tests.response.test_api import API, post, receive

NOW_MS = int(NOW.timestamp() * 1000)
M_PER_DEG_LAT = 111_195.0


def tracker(session, device: str, division: str, north_m: float | None, age_s: int) -> Sensor:  # type: ignore[no-untyped-def]
    s = Sensor(
        device_id=device,
        name=f"车载终端 {device}",
        sensor_type="vehicle",
        division_code=division,
        lon=121.30,
        lat=37.40,
        status="active",
        archived=False,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(s)
    session.flush()
    at = NOW_MS - age_s * 1000
    lat = 37.50 + north_m / M_PER_DEG_LAT if north_m is not None else None
    session.add(
        SensorLatest(sensor_id=s.id, ts=at, value=40.0, lon=121.40 if lat else None, lat=lat)
    )
    return s


def seed(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    team = RescueTeam(name="芝罘消防救援站", division_code="370602", lon=121.35, lat=37.48)
    session.add(team)
    session.flush()
    session.add(
        Equipment(
            name="水罐消防车",
            division_code="370602",
            team_id=team.id,
            tracker_id="BD-ZF-01",
            equipment_type="vehicle",
            lon=121.35,
            lat=37.48,
        )
    )
    own = tracker(session, "BD-ZF-01", "370602", 1000, 90)
    # the last reading came without a fix; the one before had it
    blind = tracker(session, "BD-ZF-02", "370602", None, 30)
    session.add(Reading(sensor_id=blind.id, ts=NOW_MS - 600_000, value=0.0, lon=121.40, lat=37.51))
    laishan = tracker(session, "BD-LS-01", "370613", 500, 60)
    session.commit()
    return {"team": team.id, "own": own.id, "blind": blind.id, "laishan": laishan.id}


def test_dispatched_units_show_where_their_tracker_last_reported(
    rs_city, client, frozen_clock, session
) -> None:
    ids = seed(session)
    inc = receive(client, "commander")["incident"]
    post(client, "commander", f"/incidents/{inc['id']}/grade")
    url = f"/incidents/{inc['id']}/dispatches"
    team = post(
        client, "commander", url, 201, resource_kind="team", resource_ref=str(ids["team"]),
        resource_name="芝罘消防救援站",
    )  # fmt: skip
    assert team["tracker_sensor_id"] == ids["own"]  # from the team's vehicle in resources
    # named by hand: must be a registered device, else 422 and nothing dispatched
    resp = client.post(
        f"{API}{url}",
        json={"resource_name": "社会救援车", "tracker_device_id": "NO-SUCH"},
        headers=login(client, "commander"),
    )
    assert resp.status_code == 422 and "tracker_device_id" in resp.text
    blind = post(
        client, "commander", url, 201, resource_name="社会救援车", tracker_device_id="BD-ZF-02"
    )
    other = post(
        client, "commander", url, 201, resource_name="莱山增援车", tracker_device_id="BD-LS-01"
    )
    none = post(client, "commander", url, 201, resource_name="物资车")
    assert none["tracker_sensor_id"] is None

    detail = client.get(f"{API}/incidents/{inc['id']}", headers=login(client, "commander"))
    by_id = {d["id"]: d for d in detail.json()["dispatches"]}
    assert len(by_id) == 4  # the refused one was never written
    pos = by_id[team["id"]]["position"]
    assert pos["age_s"] == 90 and pos["distance_m"] == 1000 and pos["device_id"] == "BD-ZF-01"
    assert by_id[blind["id"]]["position"]["lat"] == 37.51  # the last reading with a fix
    assert by_id[blind["id"]]["position"]["age_s"] == 600
    assert by_id[other["id"]]["position"]["distance_m"] == 500
    assert by_id[none["id"]]["position"] is None

    # Zhifu's officer commands the incident but sees no Laishan tracker
    zhifu = client.get(f"{API}/incidents/{inc['id']}", headers=login(client, "zhifu")).json()
    seen = {d["id"]: d["position"] for d in zhifu["dispatches"]}
    assert seen[other["id"]] is None and seen[team["id"]]["age_s"] == 90

    # the command view: age and distance in the dispatch list, the unit on the map
    client.headers["accept"] = "text/html"
    web_login(client, "commander")
    page = client.get(f"/response/incidents/{inc['id']}").text
    row = page.split(f'data-dispatch="{team["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "1 分钟前" in row and "距现场 1,000 m" in row
    layers = json.loads(
        page.split('id="command-layers"', 1)[1].split(">", 1)[1].split("</script>")[0]
    )
    units = {u["name"]: u for u in layers["units"]}
    assert set(units) == {"芝罘消防救援站", "社会救援车", "莱山增援车"}
    assert units["芝罘消防救援站"]["age"] == "1 分钟前"

    # a force that has returned is off the map
    for step in ("dispatched", "en_route", "on_scene", "returned"):
        post(client, "commander", f"/dispatches/{team['id']}/status", status=step)
    detail = client.get(f"{API}/incidents/{inc['id']}", headers=login(client, "commander"))
    assert {d["id"]: d for d in detail.json()["dispatches"]}[team["id"]]["position"] is None
