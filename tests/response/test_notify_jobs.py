"""Who hears about an incident (the kernel's inbox), and the reporting-deadline reminder job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from safecity.core import clock
from safecity.core.models import Notification, User
from safecity.response.models import TimelineEntry
from safecity.response.service import remind_overdue_reports
from tests.conftest import NOW, login

API = "/api/v1/response"


def inbox(session, username: str) -> list[str]:  # type: ignore[no-untyped-def]
    uid = session.scalar(select(User.id).where(User.username == username))
    session.expire_all()
    return [
        n.kind for n in session.scalars(select(Notification).where(Notification.user_id == uid))
    ]


def test_reception_tells_the_place_and_the_job_reminds_once(rs_city, client, session) -> None:
    body = {
        "title": "储罐泄漏",
        "type_key": "accident_disaster.production_safety",
        "production_safety": True,
        "occurred_at": (NOW - timedelta(minutes=30)).isoformat(),
        "division_code": "370602",
        "deaths": 3,
    }
    with clock.frozen(NOW):
        resp = client.post(f"{API}/incidents", json=body, headers=login(client, "duty"))
    assert resp.status_code == 201, resp.text
    iid = resp.json()["incident"]["id"]
    # the commander and Zhifu's officer hear of it; Laishan's does not; the receiver is not told
    assert inbox(session, "commander") == ["incident_reported"]
    assert inbox(session, "zhifu") == ["incident_reported"]
    assert inbox(session, "laishan") == []
    assert inbox(session, "duty") == []
    # nothing is late yet
    assert remind_overdue_reports(session, NOW)["reminded"] == 0
    # 2 h after the city heard of it the province step (art. 11) is missing: one reminder
    later = NOW + timedelta(hours=2, minutes=1)
    assert remind_overdue_reports(session, later) == {"incidents": 1, "reminded": 1}
    session.commit()
    assert remind_overdue_reports(session, later + timedelta(minutes=5))["reminded"] == 0
    session.commit()
    notes = session.scalars(
        select(TimelineEntry).where(
            TimelineEntry.incident_id == iid, TimelineEntry.action == "overdue"
        )
    ).all()
    assert [n.data["steps"] for n in notes] == [["city→province"]]
    assert inbox(session, "commander") == ["incident_reported", "incident_overdue"]
    assert inbox(session, "duty") == ["incident_overdue"]
