"""Checklists, recurring plans with the risk rule, tasks and failed items becoming hidden dangers."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from safecity.core.scope import Principal
from safecity.hazards import checks, rules
from safecity.hazards.models import HiddenDanger, InspectionTask
from tests.conftest import login
from tests.factories import NOW


def test_periods_and_frequency_rule() -> None:
    day = date(2026, 11, 23)  # a Monday
    assert rules.period_of("daily", day).key == "2026-11-23"
    week = rules.period_of("weekly", day)
    assert (week.key, week.start, week.due) == ("2026-W48", day, date(2026, 11, 29))
    assert rules.period_of("monthly", day).due == date(2026, 11, 30)
    q4 = rules.period_of("quarterly", day)
    assert (q4.key, q4.start, q4.due) == ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert rules.period_of("quarterly", date(2026, 2, 28)).due == date(2026, 3, 31)
    assert [
        p.key for p in rules.periods_between("monthly", date(2026, 1, 15), date(2026, 3, 1))
    ] == ["2026-01", "2026-02", "2026-03"]
    assert rules.frequency_for("monthly", "orange") == "weekly"
    assert rules.frequency_for("monthly", "red") == "daily"
    assert rules.frequency_for("quarterly", "blue") == "quarterly"
    assert rules.frequency_for("weekly", "red", {"red": 3}) == "daily"  # capped at daily


CHECKLIST = {
    "name": "危化品企业月度排查表",
    "industry_section": "C",
    "items": [
        {"text": "消防通道保持畅通", "clause": "GB 50016-2014 第7.1.8条", "category": "fire"},
        {
            "text": "储罐区可燃气体报警器有效",
            "clause": "GB/T 50493-2019",
            "category": "hazchem",
            "suggested_grade": "major",
        },
        {"text": "特种作业人员持证上岗", "category": "management"},
    ],
}


def test_plan_tasks_and_failed_items(hz_city, client, session) -> None:
    admin = login(client, "zhifu")
    bad = client.post("/api/v1/hazards/checklists", json={"name": "x", "items": []}, headers=admin)
    assert bad.status_code == 422 and {d["field"] for d in bad.json()["detail"]} == {
        "name",
        "items",
    }
    assert (
        client.post(
            "/api/v1/hazards/checklists", json=CHECKLIST, headers=login(client, "grid")
        ).status_code
        == 403
    )
    cl = client.post("/api/v1/hazards/checklists", json=CHECKLIST, headers=admin).json()
    assert [i["seq"] for i in cl["items"]] == [1, 2, 3]
    plan = {
        "name": "芝罘区危化品企业自查",
        "checklist_id": cl["id"],
        "division_code": "370602",
        "frequency": "monthly",
        "assignee_kind": "enterprise",
        "start_date": "2026-01-01",
        "risk_rule": {"red": 2, "orange": 1},
    }
    out_of_scope = client.post(
        "/api/v1/hazards/plans", json={**plan, "division_code": "370613"}, headers=admin
    )
    assert out_of_scope.status_code == 403
    made = client.post("/api/v1/hazards/plans", json=plan, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["tasks_generated"] == 3  # the three 芝罘区 enterprises
    tasks = session.scalars(select(InspectionTask).order_by(InspectionTask.enterprise_id)).all()
    periods = {t.enterprise_id: t.period for t in tasks}
    own = hz_city["own_enterprise_id"]
    # hazardous-chemical enterprises (orange) weekly "YYYY-Www", the logistics one monthly
    assert sorted(len(p) for p in periods.values()) == [7, 8, 8]
    ent = login(client, "enterprise")
    mine = client.get("/api/v1/hazards/tasks", headers=ent).json()
    assert [t["enterprise_id"] for t in mine] == [own]
    task = client.get(f"/api/v1/hazards/tasks/{mine[0]['id']}", headers=ent).json()
    items = [i["id"] for i in task["items"]]
    missing = client.post(
        f"/api/v1/hazards/tasks/{task['id']}/complete",
        json={"results": {str(items[0]): {"result": "passed"}}},
        headers=ent,
    )
    assert missing.status_code == 422 and len(missing.json()["detail"]) == 2
    # shapes the fuzzer sent: a list for results (was a 500), an object or list as a result
    for hostile, field in (
        ([None, None], "results"),
        ("passed", "results"),
        ({str(items[0]): {"result": {}}}, f"item_{items[0]}"),
        ({str(items[0]): ["passed"]}, f"item_{items[0]}"),
    ):
        r = client.post(
            f"/api/v1/hazards/tasks/{task['id']}/complete", json={"results": hostile}, headers=ent
        )
        assert r.status_code == 422, (hostile, r.text)
        assert r.json()["detail"][0]["field"] == field
    done = client.post(
        f"/api/v1/hazards/tasks/{task['id']}/complete",
        json={
            "results": {
                str(items[0]): {"result": "passed"},
                str(items[1]): {"result": "failed", "note": "2号罐报警器无响应"},
                str(items[2]): {"result": "na"},
            }
        },
        headers=ent,
    )
    assert done.status_code == 200, done.text
    opened = done.json()["hidden_dangers"]
    assert len(opened) == 1
    hd = session.get(HiddenDanger, opened[0])
    assert (hd.status, hd.source, hd.enterprise_id, hd.category) == (
        "reported",
        "self_inspection",
        own,
        "hazchem",
    )
    assert "GB/T 50493" in hd.grade_basis and hd.task_id == task["id"]
    again = client.post(
        f"/api/v1/hazards/tasks/{task['id']}/complete", json={"results": {}}, headers=ent
    )
    assert again.status_code == 409
    other = next(t for t in tasks if t.enterprise_id != own)
    assert client.get(f"/api/v1/hazards/tasks/{other.id}", headers=ent).status_code == 404


def test_generation_by_risk_and_idempotent(hz_city, session) -> None:

    zhifu = Principal(4, "zhifu", "district_officer", "370602")
    cl = checks.create_checklist(session, zhifu, CHECKLIST, NOW)
    checks.create_plan(
        session,
        zhifu,
        {
            "name": "执法检查计划",
            "checklist_id": cl.id,
            "division_code": "370602",
            "frequency": "monthly",
            "assignee_kind": "inspector",
            "start_date": "2026-01-01",
            "risk_rule": {"red": 2, "orange": 1},
        },
        NOW,
    )
    # an open major hidden danger makes the first enterprise red → daily
    session.add(
        HiddenDanger(
            title="重大",
            source="enforcement",
            status="rectifying",
            grade="major",
            division_code="370602",
            enterprise_id=hz_city["own_enterprise_id"],
            reported_at=NOW,
            month="2026-11",
            updated_at=NOW,
            escalation_level=0,
        )
    )
    session.flush()
    assert checks.generate_tasks(session, NOW) == 3
    assert checks.generate_tasks(session, NOW) == 0
    periods = {t.enterprise_id: t.period for t in session.scalars(select(InspectionTask))}
    ents = hz_city["enterprises"]
    assert periods == {ents[0].id: "2026-11-23", ents[1].id: "2026-W48", ents[2].id: "2026-11"}
