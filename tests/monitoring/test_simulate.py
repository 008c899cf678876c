"""Simulator values: normal ranges with a daily pattern, and the scripted anomalies."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import numpy as np
from sqlalchemy import select

from safecity.core.db import reset_engine
from safecity.monitoring.demo import ALARMS, add_trackers, route_tracker
from safecity.monitoring.models import Sensor
from safecity.monitoring.simulate import (
    DRIVE_MS,
    ON_SCENE_MS,
    Fleet,
    fleet,
    post_with_retry,
    script_progress,
    values,
)

T = 1_795_424_400_000


def make_fleet() -> Fleet:
    types = ["gas", "gas", "gas", "pipe_pressure", "bridge_strain", "elevator", "vehicle"]
    return Fleet(
        [f"D{i}" for i in range(len(types))],
        types,
        np.array([5, 5, 6, 5, 5, 5, 5]),
        np.full(len(types), 121.4),
        np.full(len(types), 37.5),
    )


def test_normal_values_stay_below_alarm_levels() -> None:
    f = make_fleet()
    v, lon, _lat = values(f, np.arange(7), T, 0.1, True, np.random.default_rng(1))
    assert (v[:3] < 5).all() and 0.2 < v[3] < 0.45 and v[5] == 0
    assert np.isfinite(lon[6]) and np.isnan(lon[0])


def test_scripted_anomalies_along_the_run() -> None:
    f = make_fleet()
    rng = np.random.default_rng(2)
    v, _, _ = values(f, np.arange(7), T, 0.24, True, rng)
    assert v[0] >= 15 and v[1] >= 30 and v[2] < 5  # leak spreads within cell 5 only
    assert values(f, np.arange(7), T, 0.36, True, rng)[0][3] == 0.04  # pipe burst
    assert values(f, np.arange(7), T, 0.55, True, rng)[0][4] == 950  # bridge overload
    assert values(f, np.arange(7), T, 0.70, True, rng)[0][5] == 3  # trapped
    normal = values(f, np.arange(7), T, 0.5, True, rng)[2][6]
    off = values(f, np.arange(7), T, 0.85, True, rng)[2][6]
    assert abs(off - normal - 0.01) < 1e-9  # vehicle 0.01° north of its corridor


def test_scripted_incidents_start_within_minutes_of_a_day_long_demo() -> None:
    # `make demo` runs the simulator for 86,400 s: the first incident must come within two
    # minutes and all five within fifteen (they used to be 4.8 h to 19 h in).
    day = 86_400.0
    starts = {
        "gas leak": 0.2,
        "pipe burst": 0.35,
        "bridge overload": 0.5,
        "elevator": 0.65,
        "vehicle off route": 0.8,
    }
    seconds = np.arange(0, 3600, 1.0)
    progress = np.array([script_progress(t, day) for t in seconds])
    first = {name: seconds[np.argmax(progress >= p)] for name, p in starts.items()}
    assert first["gas leak"] <= 120
    assert max(first.values()) <= 900, first
    assert all((progress >= p).any() for p in starts.values())
    assert script_progress(3600 + 60, day) == script_progress(60, day)  # again every hour
    assert script_progress(20, 60) >= 0.35  # a one-minute run plays the script faster


def test_incident_sensors_skip_those_the_demo_opened_alarms_on() -> None:
    seeded_gas = sum(1 for t, _ in ALARMS if t == "gas")
    types = ["gas"] * (seeded_gas + 2) + ["pipe_pressure", "pipe_pressure"]
    cells = np.array([1] * seeded_gas + [9, 9, 1, 1])
    f = Fleet(
        [f"D{i}" for i in range(len(types))],
        types,
        cells,
        np.full(len(types), 121.4),
        np.full(len(types), 37.5),
    )
    v, _, _ = values(f, np.arange(len(types)), T, 0.4, True, np.random.default_rng(3))
    assert (v[:seeded_gas] < 5).all() and (v[seeded_gas : seeded_gas + 2] >= 15).all()
    assert v[-2] > 0.2 and v[-1] == 0.04  # the second pipe sensor bursts, not the seeded one


def test_http_posts_retry_with_backoff_until_the_server_answers() -> None:

    answers: list = [
        httpx.ConnectError("refused"),
        httpx.Response(500),
        httpx.Response(503),
        httpx.Response(202),
    ]
    waits: list[float] = []

    def post() -> httpx.Response:
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    assert post_with_retry(post, sleep=waits.append).status_code == 202
    assert waits == [0.5, 1.0, 2.0]
    answers[:] = [httpx.Response(422)]  # a refused body is not sent again
    assert post_with_retry(post, sleep=waits.append).status_code == 422 and len(waits) == 3


def test_trackers_stay_at_their_station_or_drive_to_the_scene() -> None:
    """A rescue-vehicle tracker with a route drives start → end in ten minutes at 40 km/h and
    stays five minutes on scene (speed 0); one without a route reports its station."""
    assert T % (DRIVE_MS + ON_SCENE_MS) == 0  # T starts a cycle
    f = Fleet(
        ["TRAC-1", "TRAC-2", "G"],
        ["tracker", "tracker", "gas"],
        np.array([1, 1, 1]),
        np.array([121.40, 121.30, 121.0]),
        np.array([37.50, 37.40, 37.0]),
        np.array([121.50, np.nan, np.nan]),
        np.array([37.60, np.nan, np.nan]),
    )
    idx = np.arange(3)
    rng = np.random.default_rng(4)
    for offset, lon, lat, speed in (
        (0, 121.40, 37.50, 40.0),
        (DRIVE_MS // 2, 121.45, 37.55, 40.0),
        (DRIVE_MS + 60_000, 121.50, 37.60, 0.0),
    ):
        v, lons, lats = values(f, idx, T + offset, 0.0, False, rng)
        assert abs(lons[0] - lon) < 1e-9 and abs(lats[0] - lat) < 1e-9, offset
        assert v[0] == speed
        assert (lons[1], lats[1], v[1]) == (121.30, 37.40, 0.0)  # parked at its station
        assert np.isnan(lons[2])  # a gas detector sends no position


def test_the_fleet_adds_every_demo_tracker_to_the_count(
    database_url: str, session, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """`make demo` simulates exactly the 3,000 demo sensors: the resources demo's trackers,
    registered after them, come on top (taking their places would leave sensors silent and
    raise offline alarms) with their route's end as where they drive to."""
    for i, stype in enumerate(["gas", "gas", "smoke"]):
        session.add(
            Sensor(
                device_id=f"DEMO-GAS-{i}",
                name=f"s{i}",
                sensor_type=stype,
                division_code="370602",
                lon=121.0,
                lat=37.0,
            )
        )
    session.add(Sensor(device_id="OTHER-1", name="x", sensor_type="gas", division_code="370602"))
    session.flush()
    add_trackers(
        session,
        [
            {
                "device_id": "DEMO-TRAC-1",
                "name": "t1",
                "division_code": "370602",
                "lon": 121.4,
                "lat": 37.5,
            },
            {
                "device_id": "DEMO-TRAC-2",
                "name": "t2",
                "division_code": "370602",
                "lon": 121.3,
                "lat": 37.4,
            },
        ],
        datetime(2026, 11, 1, tzinfo=UTC),
    )
    t1 = session.scalar(select(Sensor).where(Sensor.device_id == "DEMO-TRAC-1"))
    route_tracker(session, t1.id, (121.4, 37.5), (121.5, 37.6))
    session.commit()
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    reset_engine()
    try:
        f = fleet(2)
    finally:
        reset_engine()
    assert f.devices == ["DEMO-GAS-0", "DEMO-GAS-1", "DEMO-TRAC-1", "DEMO-TRAC-2"]
    assert f.types[2:] == ["tracker", "tracker"]
    assert (f.dest_lon[2], f.dest_lat[2]) == (121.5, 37.6)
    assert np.isnan(f.dest_lon[3]) and np.isnan(f.dest_lon[0])
