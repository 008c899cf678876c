"""Alarm → hidden danger: created through the hazards service, linked, 409 on repeat, scope,
roles, bilingual 422; the pages link both ways."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from safecity.core.models import AuditEntry, User
from safecity.hazards.models import HiddenDanger
from tests.conftest import login, web_login
from tests.factories import NOW
from tests.monitoring.conftest import make_sensors, token_of


def red_alarm(client: Any, session: Any) -> int:
    make_sensors(session)
    resp = client.post(
        "/api/v1/telemetry",
        json={"ts": int(time.time() * 1000), "value": 60.0},
        headers={"Authorization": f"Bearer {token_of('GAS-0001')}"},
    )
    assert resp.status_code == 202
    items = client.get(
        "/api/v1/monitoring/alarms?open=true", headers=login(client, "admin")
    ).json()["items"]
    assert [(a["level"], a["status"], a["hidden_danger_id"]) for a in items] == [
        ("red", "active", None)
    ]
    return int(items[0]["id"])


def url(aid: int) -> str:
    return f"/api/v1/monitoring/alarms/{aid}/hidden-danger"


def count_hidden_dangers(session: Any) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(HiddenDanger)))


def test_alarm_opens_one_hidden_danger_with_the_alarms_place(client, session) -> None:
    aid = red_alarm(client, session)
    zhifu = login(client, "zhifu")
    resp = client.post(url(aid), json={}, headers=zhifu)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    hid = body["hidden_danger_id"]
    assert body["alarm_id"] == aid and body["alarm"]["status"] == "handling"
    hd = client.get(f"/api/v1/hazards/{hid}", headers=zhifu).json()
    alarm = client.get(f"/api/v1/monitoring/alarms/{aid}", headers=zhifu).json()
    assert (hd["source"], hd["status"], hd["category"], hd["division_code"]) == (
        "monitoring_alarm",
        "reported",
        "gas",
        "370602",
    )
    assert hd["title"] == alarm["message"] and f"#{aid}" in hd["description"]
    assert hd["grid_cell_id"] == alarm["grid_cell_id"] and hd["lon"] == alarm["lon"]
    assert [t["action"] for t in hd["timeline"]] == ["report"]
    assert (alarm["hidden_danger_id"], alarm["status"]) == (hid, "handling")
    assert [(h["action"], h["from_status"], h["to_status"], h["actor"]) for h in alarm["history"]][
        -1
    ] == ("hidden_danger", "active", "handling", "zhifu")
    again = client.post(url(aid), json={"title": "再来一次"}, headers=zhifu)
    assert again.status_code == 409 and again.json()["message"] and again.json()["message_en"]
    assert count_hidden_dangers(session) == 1
    audited = session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id.in_([str(aid), str(hid)]))
    ).all()
    assert "alarm_hidden_danger" in audited and "report" in audited


def test_callers_fields_and_grade_override_the_defaults(client, session) -> None:
    aid = red_alarm(client, session)
    admin = login(client, "admin")
    client.post(f"/api/v1/monitoring/alarms/{aid}/acknowledge", json={}, headers=admin)
    resp = client.post(
        url(aid),
        json={"title": "芝罘路燃气管线泄漏隐患", "grade": "major", "description": "阀门井腐蚀"},
        headers=admin,
    )
    assert resp.status_code == 201, resp.text
    hd = resp.json()["hidden_danger"]
    assert (hd["title"], hd["description"]) == ("芝罘路燃气管线泄漏隐患", "阀门井腐蚀")
    assert "重大" in hd["grade_basis"] and hd["grade"] is None  # the assessor decides
    assert resp.json()["alarm"]["status"] == "handling"


def test_bad_grade_is_a_bilingual_422_and_writes_nothing(client, session) -> None:
    aid = red_alarm(client, session)
    admin = login(client, "admin")
    resp = client.post(url(aid), json={"grade": "huge", "title": "x"}, headers=admin)
    assert resp.status_code == 422
    detail = {d["field"]: d for d in resp.json()["detail"]}
    assert set(detail) == {"grade", "title"}
    assert (
        detail["grade"]["message"].startswith("隐患等级：") and "一般" in detail["grade"]["message"]
    )
    assert "general or major" in detail["grade"]["message_en"]
    assert client.post(url(aid), json=["not", "an", "object"], headers=admin).status_code == 422
    assert count_hidden_dangers(session) == 0
    alarm = client.get(f"/api/v1/monitoring/alarms/{aid}", headers=admin).json()
    assert (alarm["status"], alarm["hidden_danger_id"]) == ("active", None)


def test_scope_roles_and_false_alarms(client, session, password_hash) -> None:
    session.add(
        User(
            username="inspector",
            display_name="inspector",
            password_hash=password_hash,
            role="inspector",
            division_code="370600",
            created_at=NOW,
        )
    )
    session.commit()
    aid = red_alarm(client, session)
    assert client.post(url(aid), json={}, headers=login(client, "laishan")).status_code == 404
    assert client.post(url(aid), json={}, headers=login(client, "public")).status_code == 404
    assert (
        client.post(url(aid), json={}, headers=login(client, "enterprise")).status_code == 404
    )  # not its plant
    # a public gas sensor belongs to no enterprise, so to no liaison's industry: not found
    assert client.post(url(aid), json={}, headers=login(client, "liaison")).status_code == 404
    # visible, but an inspector does not handle alarms
    assert client.post(url(aid), json={}, headers=login(client, "inspector")).status_code == 403
    assert client.post(url(999_999), json={}, headers=login(client, "admin")).status_code == 404
    assert client.post(url(aid), json={}).status_code == 401
    assert count_hidden_dangers(session) == 0
    admin = login(client, "admin")
    client.post(f"/api/v1/monitoring/alarms/{aid}/false_alarm", json={}, headers=admin)
    resp = client.post(url(aid), json={}, headers=admin)
    assert resp.status_code == 409 and "误报" in resp.json()["message"]
    assert count_hidden_dangers(session) == 0


def test_pages_link_alarm_and_hidden_danger_both_ways(client, session) -> None:
    aid = red_alarm(client, session)
    client.headers["accept"] = "text/html"
    web_login(client, "zhifu")
    page = client.get(f"/monitoring/alarms/{aid}")
    assert page.status_code == 200 and 'id="open-hd-submit"' in page.text
    assert 'data-can-open-hd="1"' in client.get("/monitoring/alarms").text
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    bad = client.post(
        f"/monitoring/alarms/{aid}/hidden-danger",
        data={"csrf": csrf, "grade": "huge"},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "隐患等级" in bad.text
    resp = client.post(
        f"/monitoring/alarms/{aid}/hidden-danger",
        data={"csrf": csrf, "title": "燃气泄漏隐患", "grade": ""},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    hd_page = client.get(resp.headers["location"])
    assert hd_page.status_code == 200 and "燃气泄漏隐患" in hd_page.text
    assert f'href="/monitoring/alarms/{aid}"' in hd_page.text
    assert f"来源：监测报警 #{aid}" in hd_page.text
    linked = client.get(f"/monitoring/alarms/{aid}").text
    assert 'id="alarm-hd"' in linked and 'id="open-hd-submit"' not in linked
    client.cookies.clear()
    web_login(client, "laishan")
    assert client.get(f"/monitoring/alarms/{aid}").status_code == 404
