"""The command map's live layers around an incident: sensors with their latest value and state,
open alarms with their level, and warnings in force whose area covers the incident — inside vs
just outside the chosen radius, and never out of the viewer's scope (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from safecity.monitoring.models import Alarm, Sensor, SensorLatest
from safecity.warnings.models import Warning
from tests.conftest import NOW, login, web_login
from tests.response.test_api import API, receive

LON, LAT = 121.40, 37.50
M_PER_DEG_LAT = 111_195.0  # the mean Earth radius the distances are computed on
NOW_MS = int(NOW.timestamp() * 1000)


def north(metres: float) -> tuple[float, float]:
    return LON, LAT + metres / M_PER_DEG_LAT


def sensor(session, name: str, metres: float, division: str = "370602", **kw: Any) -> Sensor:  # type: ignore[no-untyped-def]
    lon, lat = north(metres)
    s = Sensor(
        device_id=name,
        name=name,
        sensor_type=kw.pop("sensor_type", "gas"),
        division_code=division,
        lon=kw.pop("lon", lon),
        lat=kw.pop("lat", lat),
        status=kw.pop("status", "active"),
        archived=False,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(s)
    session.flush()
    if "value" in kw:
        session.add(
            SensorLatest(
                sensor_id=s.id,
                ts=NOW_MS - kw.pop("age_s", 120) * 1000,
                value=kw.pop("value"),
                lon=kw.pop("at_lon", None),
                lat=kw.pop("at_lat", None),
            )
        )
    return s


def alarm(session, s: Sensor | None, metres: float, level: str, status: str = "active") -> Alarm:  # type: ignore[no-untyped-def]
    lon, lat = north(metres)
    a = Alarm(
        open_key=None if status in ("resolved", "false_alarm") else f"{s.id if s else 'x'}:{level}",
        sensor_id=s.id if s else None,
        division_code=s.division_code if s else "370602",
        rule="threshold",
        level=level,
        peak_level=level,
        status=status,
        value=30.0,
        message=f"{level} 报警 {metres} 米",
        lon=lon,
        lat=lat,
        first_ts=NOW_MS,
        last_ts=NOW_MS,
        raised_at=NOW,
        updated_at=NOW,
    )
    session.add(a)
    return a


def warning(  # type: ignore[no-untyped-def]
    session, headline: str, centre_m: float, km: float, division: str = "370602", **kw: Any
) -> Warning:
    lon, lat = north(centre_m)
    w = Warning(
        kind="local",
        status=kw.pop("status", "issued"),
        msg_type="Alert",
        event_type="hazchem_leak",
        level=kw.pop("level", "orange"),
        headline=headline,
        areas=[{"desc": headline, "circles": [[lon, lat, km]]}],
        division_code=division,
        expires=kw.pop("expires", NOW + timedelta(hours=6)),
        issued_at=NOW - timedelta(hours=1),
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(w)
    return w


def seed_layers(session) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    inside = sensor(session, "GAS-IN-480", 480, value=3.5)
    outside = sensor(session, "GAS-OUT-520", 520, value=2.0)
    stale = sensor(session, "GAS-STALE-300", 300, value=1.0, age_s=7200)  # gas: offline after 600 s
    laishan = sensor(session, "GAS-LAISHAN-100", 100, division="370613", value=4.0)
    # a hazmat truck registered 20 km away that last reported 200 m from the scene
    far_lon, far_lat = north(200)
    truck = sensor(
        session,
        "TRUCK-01",
        20_000,
        sensor_type="vehicle",
        value=42.0,
        at_lon=far_lon,
        at_lat=far_lat,
    )
    alarm(session, inside, 480, "red")
    alarm(session, outside, 520, "orange")
    alarm(session, None, 100, "yellow", status="resolved")  # closed: not on the map
    alarm(session, laishan, 100, "red")
    # warnings: covering the scene by 20 m, missing it by 20 m, expired, a draft, the
    # neighbouring district's (covering), the city's (covering)
    warning(session, "覆盖事发点", 1000, 1.02)
    warning(session, "差二十米", 1000, 0.98)
    warning(session, "已过期", 0, 1, expires=NOW - timedelta(minutes=1))
    warning(session, "草稿", 0, 1, status="draft")
    warning(session, "莱山区预警", 0, 2, division="370613")
    warning(session, "烟台市预警", 0, 5, division="370600", level="red")
    session.commit()
    return {"inside": inside.id, "outside": outside.id, "stale": stale.id, "truck": truck.id}


def layers(client, who: str, incident_id: int, r: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = client.get(
        f"{API}/incidents/{incident_id}/surroundings", params={"r": r}, headers=login(client, who)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def names(data: dict[str, Any], kind: str) -> list[str]:
    return [i["name"] for i in data["items"] if i["kind"] == kind]


def test_sensors_alarms_and_warnings_inside_the_radius_and_scope(
    rs_city, client, frozen_clock, session
) -> None:
    ids = seed_layers(session)
    inc = receive(client, "commander")["incident"]
    city = layers(client, "commander", inc["id"], 500)

    sensors = {i["name"]: i for i in city["items"] if i["kind"] == "sensor"}
    assert set(sensors) == {"GAS-IN-480", "GAS-STALE-300", "GAS-LAISHAN-100", "TRUCK-01"}
    assert sensors["GAS-IN-480"]["distance_m"] == 480
    assert sensors["GAS-IN-480"]["detail"]["state"] == "alarm"
    assert sensors["GAS-IN-480"]["detail"]["level"] == "red"
    assert sensors["GAS-IN-480"]["detail"]["reading_zh"] == "3.5 %LEL"
    assert sensors["GAS-IN-480"]["detail"]["age_s"] == 120
    assert sensors["GAS-STALE-300"]["detail"]["state"] == "offline"
    truck = sensors["TRUCK-01"]
    assert truck["detail"]["moving"] is True and truck["distance_m"] == 200
    assert city["counts"]["sensor"] == 4

    alarms = {i["name"]: i["detail"]["level"] for i in city["items"] if i["kind"] == "alarm"}
    assert alarms == {"red 报警 480 米": "red", "red 报警 100 米": "red"}

    warned = names(city, "warning")
    assert warned == ["烟台市预警", "莱山区预警", "覆盖事发点"]  # most severe first
    area = next(i for i in city["items"] if i["name"] == "覆盖事发点")
    assert area["geometry"]["type"] == "Polygon" and area["href"].startswith("/warnings/")
    # warnings and alarms come first in the list
    assert [i["kind"] for i in city["items"][:5]] == ["warning"] * 3 + ["alarm"] * 2

    # one more metre of radius class: the 520 m sensor and its alarm appear at 1 km
    wide = layers(client, "commander", inc["id"], 1000)
    assert "GAS-OUT-520" in names(wide, "sensor")
    assert "orange 报警 520 米" in names(wide, "alarm")
    assert ids["outside"] in {i["id"] for i in wide["items"] if i["kind"] == "sensor"}

    # Zhifu's district officer: nothing of Laishan's, the city's warning (public over the
    # district) with its public page, since it is not Zhifu's own
    zhifu = layers(client, "zhifu", inc["id"], 500)
    assert "GAS-LAISHAN-100" not in names(zhifu, "sensor")
    assert names(zhifu, "alarm") == ["red 报警 480 米"]
    assert names(zhifu, "warning") == ["烟台市预警", "覆盖事发点"]
    city_warning = next(i for i in zhifu["items"] if i["name"] == "烟台市预警")
    assert city_warning["href"].startswith("/public/warnings/")

    # bad radius: 422; another district's officer cannot even see the incident
    resp = client.get(
        f"{API}/incidents/{inc['id']}/surroundings",
        params={"r": 50},
        headers=login(client, "zhifu"),
    )
    assert resp.status_code == 422
    resp = client.get(f"{API}/incidents/{inc['id']}/surroundings", headers=login(client, "laishan"))
    assert resp.status_code == 404


def test_command_view_lists_the_live_layers(rs_city, client, frozen_clock, session) -> None:
    seed_layers(session)
    inc = receive(client, "commander")["incident"]
    client.headers["accept"] = "text/html"
    web_login(client, "zhifu")
    page = client.get(f"/response/incidents/{inc['id']}?r=500").text
    table = page.split('id="nearby"', 1)[1].split("</table>", 1)[0]
    assert 'data-kind="sensor"' in table and 'data-state="alarm"' in table
    assert "GAS-LAISHAN-100" not in table and "GAS-OUT-520" not in table
    assert "3.5 %LEL" in table and "2 分钟前" in table
    assert 'data-kind="warning"' in table and "烟台市预警" in table and "差二十米" not in table
    counts = page.split('id="layer-counts"', 1)[1].split("</p>", 1)[0]
    assert '<b data-kind="warning">2</b>' in counts and '<b data-kind="alarm">1</b>' in counts
    # the JSON of the web page says the same
    data = client.get(f"/response/incidents/{inc['id']}/surroundings?r=500").json()
    assert names(data, "alarm") == ["red 报警 480 米"]
    assert data["counts"]["warning"] == 2
