"""The live alarm console is staff-only; sensors and alarms follow the one scope rule (a
liaison sees those of their industry's enterprises)."""

from __future__ import annotations

import re

from sqlalchemy import select

from safecity.monitoring.models import Alarm
from safecity.registry.models import Enterprise
from tests.conftest import PASSWORD, login
from tests.scope_city import seed_everything


def _web_login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    resp = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf": csrf},
        follow_redirects=False,
    )
    assert resp.status_code == 303


def test_public_account_does_not_see_the_alarm_console(
    client, session, city, password_hash
) -> None:
    seed_everything(session, password_hash)
    message = session.scalar(select(Alarm.message).where(Alarm.division_code == "370602"))
    _web_login(client, "duty")
    staff = client.get("/monitoring/alarms")
    assert staff.status_code == 200 and message in staff.text  # the console works for staff
    _web_login(client, "public")
    page = client.get("/monitoring/alarms")
    assert page.status_code == 403 and message not in page.text
    assert "燃气探头" not in page.text


def test_liaison_sees_its_industrys_sensors_and_alarms(
    client, session, city, password_hash
) -> None:
    seed_everything(session, password_hash)
    section = dict(session.execute(select(Enterprise.id, Enterprise.industry_section)).all())
    h = login(client, "liaison")  # industry G
    alarms = client.get("/api/v1/monitoring/alarms", headers=h).json()["items"]
    sensors = client.get("/api/v1/monitoring/sensors", headers=h).json()["items"]
    for items in (alarms, sensors):
        assert items and {section.get(x["enterprise_id"]) for x in items} == {"G"}
    other = session.scalar(select(Alarm).where(Alarm.enterprise_id.is_(None)))
    assert client.get(f"/api/v1/monitoring/alarms/{other.id}", headers=h).status_code == 404
