"""The demo city's emergency command: plans, four months of incidents, one in progress."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from safecity.monitoring.models import Sensor
from safecity.registry import demo as registry_demo
from safecity.resources import demo as resources_demo
from safecity.resources.models import Equipment, RescueTeam
from safecity.resources.service import nearest_teams
from safecity.response import command, demo, service
from safecity.response.models import DutyShift, Incident, Plan
from tests.conftest import NOW, principal


def test_demo_loads_once_with_a_live_incident(session) -> None:
    registry_demo.load(session, registry_demo.generate(seed=7, now=NOW), NOW)
    counts = demo.load(session, NOW, None)
    session.commit()
    assert counts["plans"] == 7 and counts["incidents"] == 72
    assert set(counts) == {
        "plans",
        "incidents",
    }  # counts only: ids are no figures for `safecity demo`
    assert demo.load(session, NOW, None) == {}  # idempotent
    items = list(session.scalars(select(Incident)))
    status = Counter(i.status for i in items)
    assert status == {"closed": 70, "responding": 1, "received": 1}
    live = next(i for i in items if i.status == "responding")
    tasks = command.tasks_of(session, live)
    assert live.response_level == "IV" and len(tasks) == 2
    assert sum(t.status == "received" for t in tasks) == 2
    # the demo reports every accident up the chain in time: nothing is flagged 漏报
    assert not any(service.overdue_counts(session, items, NOW).values())
    assert session.scalar(select(Plan).where(Plan.tier == "onsite")).status == "approved"
    # one plan is being revised: its v2 is a draft, v1 stays filed and is what gets proposed
    v2 = session.scalar(select(Plan).where(Plan.previous_id.is_not(None)))
    v1 = session.get(Plan, v2.previous_id)
    assert (v1.version, v1.status, v2.version, v2.status) == (1, "filed", 2, "draft")
    assert [t["due_minutes"] for t in v2.tasks if t["group"] == "coord"] == [20]
    # the roster: nobody leads the shift they are on duty in (the commander, 李振华, takes
    # shifts and leads the day shifts of others)
    shifts = list(session.scalars(select(DutyShift)))
    assert len(shifts) == 16 and all(s.officer_name for s in shifts)
    assert [s for s in shifts if s.leader == s.officer_name] == []
    assert {s.leader for s in shifts} == {"李振华", "张建国"}


def test_the_live_dispatch_is_the_nearest_fire_team_tracked_to_the_scene(session) -> None:
    """With resources and monitoring installed, the demo's live incident has the fire-rescue
    team first at the scene by road dispatched; its vehicle's tracker is a monitoring device
    with a first position at the station, routed to the scene for the simulator to drive."""
    registry_demo.load(session, registry_demo.generate(seed=7, now=NOW), NOW)
    resources_demo.load(session, NOW)
    demo.load(session, NOW, None)
    session.commit()
    live = session.scalar(select(Incident).where(Incident.status == "responding"))
    (d,) = command.dispatches_of(session, live)
    team = session.get(RescueTeam, int(d.resource_ref))
    assert (d.resource_kind, d.resource_name, team.team_type) == ("team", team.name, "fire_rescue")
    commander = principal(session, "commander")
    nearest = nearest_teams(session, commander, live.lon, live.lat, n=3, team_types=["fire_rescue"])
    assert nearest["results"][0]["id"] == team.id  # first by road, not merely the closest
    assert d.eta_minutes == round(nearest["results"][0]["eta_s"] / 60, 1)
    tracker = session.get(Sensor, d.tracker_sensor_id)
    assert tracker.sensor_type == "tracker" and tracker.device_id.startswith("DEMO-TRAC-")
    vehicle = session.scalar(select(Equipment).where(Equipment.tracker_id == tracker.device_id))
    assert vehicle.team_id == team.id and vehicle.equipment_type == "vehicle"
    assert tracker.route["coordinates"][-1] == [live.lon, live.lat]
    seen = command.unit_positions(session, commander, live, [d], NOW)
    assert (seen[d.id]["lon"], seen[d.id]["lat"]) == (team.lon, team.lat)
    assert seen[d.id]["distance_m"] > 0
    # every demo vehicle has a registered tracker; other equipment keeps an unconnected id
    vehicles = session.scalars(select(Equipment).where(Equipment.equipment_type == "vehicle"))
    ids = [e.tracker_id for e in vehicles]
    registered = set(session.scalars(select(Sensor.device_id).where(Sensor.device_id.in_(ids))))
    assert ids and registered == set(ids)
