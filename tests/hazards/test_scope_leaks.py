"""Hidden dangers and inspection tasks follow the one scope rule; assessors are told by the
configured city code."""

from __future__ import annotations

from sqlalchemy import select

from safecity.core.config import get_settings
from safecity.core.models import User
from safecity.core.scope import Principal
from safecity.hazards import service
from safecity.hazards.models import InspectionTask, Notification
from safecity.registry.models import Enterprise
from tests.conftest import login
from tests.factories import NOW

CHECKLIST = {"name": "通用月度排查表", "items": [{"text": "消防通道保持畅通", "category": "fire"}]}


def test_liaison_sees_and_completes_only_its_industry_tasks(hz_city, client, session) -> None:
    admin = login(client, "admin")
    cl = client.post("/api/v1/hazards/checklists", json=CHECKLIST, headers=admin).json()
    plan = {
        "name": "全市企业月度排查",
        "checklist_id": cl["id"],
        "division_code": "370600",
        "frequency": "monthly",
        "assignee_kind": "enterprise",
        "start_date": "2026-01-01",
    }
    assert client.post("/api/v1/hazards/plans", json=plan, headers=admin).status_code == 201
    industry = dict(session.execute(select(Enterprise.id, Enterprise.industry_section)).all())
    tasks = session.scalars(select(InspectionTask)).all()
    assert {industry[t.enterprise_id] for t in tasks} == {"C", "G", "F"}
    liaison = login(client, "liaison")  # industry G (transport)
    seen = client.get("/api/v1/hazards/tasks", headers=liaison).json()
    assert seen and {industry[t["enterprise_id"]] for t in seen} == {"G"}
    other = next(t for t in tasks if industry[t.enterprise_id] == "F")
    item = cl["items"][0]
    done = client.post(
        f"/api/v1/hazards/tasks/{other.id}/complete",
        headers=liaison,
        json={"results": {str(item["id"]): {"result": "failed"}}},
    )
    assert done.status_code == 404
    session.expire_all()
    assert session.get(InspectionTask, other.id).status == "open"
    assert client.get(f"/api/v1/hazards/tasks/{other.id}", headers=liaison).status_code == 404


def test_assessors_told_by_configured_city_code(
    hz_city, session, monkeypatch, password_hash
) -> None:
    """The city's own district officers do not assess; the configured city, not Yantai's code."""
    monkeypatch.setenv("SAFECITY_CITY_CODE", "370200")
    get_settings.cache_clear()
    for name, division in (("qdcity", "370200"), ("qdcounty", "370202")):
        session.add(
            User(
                username=name,
                display_name=name,
                password_hash=password_hash,
                role="district_officer",
                division_code=division,
                created_at=NOW,
            )
        )
    session.flush()
    qd = session.scalar(select(User).where(User.username == "qdadmin"))
    who = Principal(qd.id, qd.username, qd.role, qd.division_code)
    try:
        service.report(
            session,
            who,
            {
                "title": "消防通道堵塞",
                "description": "楼道堆放杂物",
                "category": "fire",
                "division_code": "370202",
            },
            [],
            NOW,
        )
    finally:
        get_settings.cache_clear()
    told = {
        session.get(User, n.user_id).username
        for n in session.scalars(select(Notification).where(Notification.kind == "reported"))
    }
    assert "qdcounty" in told and "qdcity" not in told


def test_liaison_reports_only_for_its_industry(hz_city, client, session) -> None:
    """A liaison (industry G) reporting against another industry's enterprise would create a
    hidden danger outside their own scope: refused, nothing written; their own industry's
    enterprise is accepted."""
    liaison = login(client, "liaison")
    rows = session.execute(
        select(Enterprise.id, Enterprise.industry_section, Enterprise.division_code)
    ).all()
    before = len(client.get("/api/v1/hazards", headers=login(client, "admin")).json()["items"])
    for ent_id, section, _division in rows:
        r = client.post(
            "/api/v1/hazards",
            json={"title": "消防通道堵塞", "enterprise_id": ent_id, "category": "fire"},
            headers=liaison,
        )
        if section == "G":
            assert r.status_code == 201, r.text
        else:
            assert r.status_code == 403, (section, r.text)
            assert "行业" in r.json()["message"]
    after = client.get("/api/v1/hazards", headers=login(client, "admin")).json()["items"]
    assert len(after) - before == sum(1 for _i, s, _d in rows if s == "G") > 0
