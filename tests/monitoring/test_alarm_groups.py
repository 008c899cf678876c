"""Acknowledging a console group of alarms at once: each audited, scope and state respected."""

from __future__ import annotations

import time

from sqlalchemy import select

from safecity.core.models import AuditEntry
from tests.conftest import login
from tests.monitoring.conftest import make_sensors, token_of

URL = "/api/v1/monitoring/alarms/acknowledge-group"


def test_group_acknowledge_audits_each_and_refuses_what_is_not_waiting(client, session) -> None:
    make_sensors(session, count=3)
    now = int(time.time() * 1000)
    for i in range(1, 4):
        resp = client.post(
            "/api/v1/telemetry",
            json={"ts": now, "value": 60.0},
            headers={"Authorization": f"Bearer {token_of(f'GAS-{i:04d}')}"},
        )
        assert resp.status_code == 202
    admin = login(client, "admin")
    ids = [
        a["id"]
        for a in client.get("/api/v1/monitoring/alarms?open=true", headers=admin).json()["items"]
    ]
    assert len(ids) == 4  # three detectors and their grid cell's joint gas-leak alarm
    # Another district's officer sees none of them: nothing acknowledged, 409.
    assert client.post(URL, json={"ids": ids}, headers=login(client, "laishan")).status_code == 409
    assert client.post(URL, json={"ids": []}, headers=admin).status_code == 422
    client.post(f"/api/v1/monitoring/alarms/{ids[0]}/acknowledge", json={}, headers=admin)
    done = client.post(URL, json={"ids": ids, "note": "现场核实中"}, headers=admin)
    assert done.status_code == 200 and done.json()["acknowledged"] == 3  # one was already
    assert {a["status"] for a in done.json()["items"]} == {"acknowledged"}
    notes = [
        h["note"]
        for h in client.get(f"/api/v1/monitoring/alarms/{ids[-1]}", headers=admin).json()["history"]
    ]
    assert notes[-1] == "批量确认 3 条同类报警 / group of 3：现场核实中"
    audited = session.scalars(
        select(AuditEntry.object_id).where(AuditEntry.action == "alarm_acknowledge")
    ).all()
    assert sorted(int(x) for x in audited) == sorted(ids)
    assert client.post(URL, json={"ids": ids}, headers=admin).status_code == 409
