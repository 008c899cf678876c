"""Emergency command over HTTP on SQLite and PostgreSQL: reception, grading at the Decree 493
thresholds, regrading with history, merging, scope, illegal steps, bilingual 422s, the
response with tasks and dispatch, clocks on a frozen clock, documents, accident records."""

from __future__ import annotations

import io
from datetime import timedelta

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from safecity.core import clock
from safecity.core.models import AuditEntry
from safecity.response import command
from safecity.response.models import Incident, Plan, Task
from safecity.response.records import accident_records
from tests.conftest import NOW, login
from tests.response.conftest import PLAN

API = "/api/v1/response"
WHEN = (NOW - timedelta(hours=1)).isoformat()


def receive(client, who: str = "duty", expect: int = 201, **extra) -> dict:  # type: ignore[no-untyped-def]
    body = {
        "title": "化工厂反应釜爆炸",
        "type_key": "accident_disaster.production_safety",
        "production_safety": True,
        "occurred_at": WHEN,
        "division_code": "370602",
        "lon": 121.40,
        "lat": 37.50,
        **extra,
    }
    resp = client.post(f"{API}/incidents", json=body, headers=login(client, who))
    assert resp.status_code == expect, resp.text
    return resp.json()


def post(client, who: str, path: str, expect: int = 200, **body):  # type: ignore[no-untyped-def]
    resp = client.post(f"{API}{path}", json=body, headers=login(client, who))
    assert resp.status_code == expect, resp.text
    return resp.json()


def plan(client) -> int:  # type: ignore[no-untyped-def]
    p = post(client, "commander", "/plans", 201, **PLAN)
    post(client, "commander", f"/plans/{p['id']}/approve")
    return p["id"]


# Decree 493 art. 3: 以上 includes the number, 以下 excludes it; both sides of every threshold.
@pytest.mark.parametrize(
    ("counts", "grade", "decided_by"),
    [
        ({"deaths": 2}, "ordinary", "deaths"),
        ({"deaths": 3}, "relatively_serious", "deaths"),
        ({"deaths": 9}, "relatively_serious", "deaths"),
        ({"deaths": 10}, "serious", "deaths"),
        ({"deaths": 29}, "serious", "deaths"),
        ({"deaths": 30}, "extraordinary", "deaths"),
        ({"serious_injuries": 9}, "ordinary", "deaths"),
        ({"serious_injuries": 10}, "relatively_serious", "serious_injuries"),
        ({"serious_injuries": 49}, "relatively_serious", "serious_injuries"),
        ({"serious_injuries": 50}, "serious", "serious_injuries"),
        ({"serious_injuries": 99}, "serious", "serious_injuries"),
        ({"serious_injuries": 100}, "extraordinary", "serious_injuries"),
        ({"direct_loss_yuan": "9999999.99"}, "ordinary", "deaths"),
        ({"direct_loss_yuan": "10000000"}, "relatively_serious", "direct_loss_yuan"),
        ({"direct_loss_yuan": "49999999.99"}, "relatively_serious", "direct_loss_yuan"),
        ({"direct_loss_yuan": "50000000"}, "serious", "direct_loss_yuan"),
        ({"direct_loss_yuan": "99999999.99"}, "serious", "direct_loss_yuan"),
        ({"direct_loss_yuan": "100000000"}, "extraordinary", "direct_loss_yuan"),
        ({"deaths": 3, "serious_injuries": 50}, "serious", "serious_injuries"),
    ],
)
def test_decree_493_thresholds_through_the_api(
    rs_city, client, frozen_clock, counts, grade, decided_by
) -> None:
    inc = receive(client, **counts)["incident"]
    assert inc["grade"]["key"] == grade
    assert inc["grade_explanation"]["decided_by"]["criterion"] == decided_by
    assert inc["status"] == "received"
    rows = {c["criterion"]: c for c in inc["grade_explanation"]["criteria"]}
    assert set(rows) == {"deaths", "serious_injuries", "direct_loss_yuan"}


def test_follow_up_regrades_with_history_and_grade_needs_a_commander(
    rs_city, client, frozen_clock, session
) -> None:
    inc = receive(client, deaths=2)["incident"]
    assert inc["grade"]["key"] == "ordinary"
    post(client, "duty", f"/incidents/{inc['id']}/grade", 403, note="")
    graded = post(client, "commander", f"/incidents/{inc['id']}/grade", note="核实")
    assert graded["status"] == "graded"
    up = post(client, "duty", f"/incidents/{inc['id']}/followups", deaths=3, serious_injuries=4)
    assert (up["changed"], up["direction"]) == (True, "up")
    assert up["incident"]["grade"]["key"] == "relatively_serious"
    assert "一般 → 较大" in up["explanation_zh"]
    down = post(client, "duty", f"/incidents/{inc['id']}/followups", deaths=2, serious_injuries=4)
    assert (down["changed"], down["direction"]) == (True, "down")
    detail = client.get(f"{API}/incidents/{inc['id']}", headers=login(client, "zhifu")).json()
    assert [(h["reason"], h["previous"], h["grade"]) for h in detail["grade_history"]] == [
        ("reception", None, "ordinary"),
        ("confirm", "ordinary", "ordinary"),
        ("followup", "ordinary", "relatively_serious"),
        ("followup", "relatively_serious", "ordinary"),
    ]
    actions = [t["action"] for t in detail["timeline"]]
    assert actions == ["receive", "grade", "followup", "regrade", "followup", "regrade"]
    audited = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "incident")
    )
    assert audited == 4  # receive, grade, two follow-ups


def test_second_report_is_offered_for_merging_and_counted_once(
    rs_city, client, frozen_clock, session
) -> None:
    first = receive(client, deaths=1)["incident"]
    later = (NOW - timedelta(minutes=50)).isoformat()
    second = receive(client, occurred_at=later, lon=121.401, lat=37.5005, deaths=1)
    dup = second["duplicates"]
    assert [d["existing_id"] for d in dup] == [first["id"]]
    assert dup[0]["minutes"] == 10.0 and dup[0]["distance_m"] < 150
    assert "建议合并" in dup[0]["explanation_zh"]
    # far away: not offered
    far = receive(client, lon=121.45, lat=37.55)
    assert far["duplicates"] == []
    merged = post(
        client, "duty", f"/incidents/{second['incident']['id']}/merge", into_id=first["id"]
    )
    assert merged["status"] == "merged" and merged["merged_into_id"] == first["id"]
    post(client, "duty", f"/incidents/{second['incident']['id']}/merge", 409, into_id=first["id"])
    page = client.get(f"{API}/incidents", headers=login(client, "commander")).json()
    assert sorted(i["id"] for i in page["items"]) == sorted([first["id"], far["incident"]["id"]])
    records = accident_records(session, 2026, "370602")
    assert [r.incident_id for r in records] == [first["id"], far["incident"]["id"]]
    assert sum(r.deaths for r in records) == 1


def test_scope_404_outside_403_not_allowed(rs_city, client, frozen_clock) -> None:
    inc = receive(client)["incident"]
    # a district officer of another district: the incident does not exist for them
    resp = client.get(f"{API}/incidents/{inc['id']}", headers=login(client, "laishan"))
    assert resp.status_code == 404
    post(client, "laishan", f"/incidents/{inc['id']}/grade", 404)
    # their own district's list holds nothing of Zhifu's
    assert client.get(f"{API}/incidents", headers=login(client, "laishan")).json()["total"] == 0
    # receiving for a place outside one's division
    receive(client, "zhifu", 403, division_code="370613", lon=None, lat=None)
    # the public sees nothing; an analyst may read but not command
    assert client.get(f"{API}/incidents", headers=login(client, "public")).json()["total"] == 0
    assert (
        client.get(f"{API}/incidents/{inc['id']}", headers=login(client, "public")).status_code
        == 404
    )
    post(client, "analyst", f"/incidents/{inc['id']}/grade", 403)
    # the district officer of the place commands it
    assert post(client, "zhifu", f"/incidents/{inc['id']}/grade")["status"] == "graded"


def test_bad_input_is_422_in_both_languages_and_writes_nothing(
    rs_city, client, frozen_clock, session
) -> None:
    resp = client.post(
        f"{API}/incidents",
        json={
            "title": "爆炸",
            "type_key": "accident_disaster",
            "occurred_at": WHEN,
            "division_code": "370602",
            "deaths": -1,
        },
        headers=login(client, "duty"),
    )
    assert resp.status_code == 422
    body = resp.json()
    fields = {d["field"]: d for d in body["detail"]}
    assert "deaths" in fields and fields["deaths"]["message"] and fields["deaths"]["message_en"]
    future = receive(client, expect=422, occurred_at=(NOW + timedelta(hours=1)).isoformat())
    assert future["detail"][0]["field"] == "occurred_at"
    assert "不能晚于当前时间" in future["detail"][0]["message"]
    assert "future" in future["detail"][0]["message_en"]
    crowd = receive(client, expect=422, deaths=950_000)
    assert "超过事发地人口" in crowd["message"] and "exceed the population" in crowd["message_en"]
    wrong = receive(client, expect=422, type_key="natural_disaster.earthquake")
    assert wrong["detail"][0]["field"] == "production_safety"
    unknown = receive(client, expect=422, type_key="nonsense")
    assert unknown["detail"][0]["field"] == "type_key"
    assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_response_tasks_dispatch_and_illegal_steps(rs_city, client, frozen_clock, session) -> None:
    plan_id = plan(client)
    inc = receive(client, deaths=3)["incident"]
    iid = inc["id"]
    # not graded yet: the response cannot start
    post(client, "commander", f"/incidents/{iid}/response", 409, plan_id=plan_id, level="III")
    post(client, "commander", f"/incidents/{iid}/grade")
    detail = client.get(f"{API}/incidents/{iid}", headers=login(client, "commander")).json()
    assert [(p["plan_id"], p["level"]) for p in detail["proposals"]] == [(plan_id, "III")]
    assert detail["proposals"][0]["proposal_only"] is True
    started = post(client, "commander", f"/incidents/{iid}/response", plan_id=plan_id, level="II")
    assert started["incident"]["status"] == "responding"
    assert started["incident"]["response_level"] == "II"
    assert sorted(t["title"] for t in started["tasks"]) == ["伤员救治", "搜救被困人员"]
    start_note = [t for t in started["timeline"] if t["action"] == "start_response"][0]["note"]
    assert "预案规则建议Ⅲ级响应，指挥长决定Ⅱ级响应" in start_note
    # the same start again: nothing changes; another level: 409
    again = post(client, "commander", f"/incidents/{iid}/response", plan_id=plan_id, level="II")
    assert len(again["tasks"]) == 2
    assert len([t for t in again["timeline"] if t["action"] == "start_response"]) == 1
    post(client, "commander", f"/incidents/{iid}/response", 409, plan_id=plan_id, level="I")
    # tasks: only the group's members sign; twice is 409; progress needs a receipt first
    rescue = next(t for t in started["tasks"] if t["group_key"] == "rescue")
    post(client, "medic", f"/tasks/{rescue['id']}/receive", 403)
    post(client, "rescuer", f"/tasks/{rescue['id']}/progress", 409, note="出发")
    got = post(client, "rescuer", f"/tasks/{rescue['id']}/receive")
    assert got["status"] == "received" and got["received_by"] == "rescuer"
    post(client, "rescuer", f"/tasks/{rescue['id']}/receive", 409)
    done = post(client, "rescuer", f"/tasks/{rescue['id']}/progress", note="救出2人", done=True)
    assert done["status"] == "done"
    # dispatch: one step at a time
    d = post(
        client,
        "commander",
        f"/incidents/{iid}/dispatches",
        201,
        resource_name="特勤中队",
        eta_minutes=12,
    )
    post(client, "duty", f"/dispatches/{d['id']}/status", 409, status="on_scene")
    for step in ("dispatched", "en_route", "on_scene", "returned"):
        assert post(client, "duty", f"/dispatches/{d['id']}/status", status=step)["status"] == step
    post(client, "duty", f"/dispatches/{d['id']}/status", 409, status="returned")
    # raise the level: the new level's tasks are added once
    raised = post(client, "commander", f"/incidents/{iid}/response/level", level="I")
    assert raised["response_level"] == "I"
    assert session.scalar(select(func.count()).select_from(Task)) == 2
    post(client, "commander", f"/incidents/{iid}/response/level", 409, level="I")
    # close only after the response ends; final report after the end
    post(client, "commander", f"/incidents/{iid}/close", 409, summary="处置完毕")
    post(client, "duty", f"/incidents/{iid}/reports", 409, kind="followup", level="city")
    post(client, "duty", f"/incidents/{iid}/reports", kind="first", level="city")
    post(client, "duty", f"/incidents/{iid}/reports", 409, kind="final", level="city")
    # ending needs its reason (422, nothing changed); ending twice is 409
    bad = post(client, "commander", f"/incidents/{iid}/response/end", 422, note="  ")
    assert bad["detail"][0]["field"] == "note" and "终止理由" in bad["detail"][0]["message"]
    assert "reason" in bad["detail"][0]["message_en"]
    session.expire_all()
    assert session.get(Incident, iid).status == "responding"
    ended = post(client, "commander", f"/incidents/{iid}/response/end", note="险情排除")
    assert ended["status"] == "ended" and ended["response_ended_at"]
    post(client, "commander", f"/incidents/{iid}/response/end", 409, note="再次终止")
    closed = post(client, "commander", f"/incidents/{iid}/close", summary="处置完毕", review="及时")
    assert closed["status"] == "closed"
    records = accident_records(session, 2026, "370600", final_only=True)
    assert [(r.incident_id, r.deaths, r.grade, r.final) for r in records] == [
        (iid, 3, "relatively_serious", True)
    ]


def test_regrade_during_the_response_proposes_a_level_and_the_end_stops_task_clocks(
    rs_city, client, session
) -> None:
    with clock.frozen(NOW):
        iid = receive(client, deaths=1)["incident"]["id"]
        plan_id = plan(client)
        post(client, "commander", f"/incidents/{iid}/grade")
        post(client, "commander", f"/incidents/{iid}/response", plan_id=plan_id, level="IV")
        # 续报: 3 dead → 较大; the plan's rules (III for 较大) propose, the level stays IV
        post(client, "duty", f"/incidents/{iid}/followups", deaths=3)
        detail = client.get(f"{API}/incidents/{iid}", headers=login(client, "commander")).json()
    assert detail["incident"]["response_level"] == "IV"
    regrade = [t for t in detail["timeline"] if t["action"] == "regrade"][0]
    assert "预案规则建议调整为Ⅲ级响应（现为Ⅳ级响应），由指挥长决定" in regrade["note"]
    assert regrade["data"]["proposed_level"] == "III"
    assert regrade["data"]["previous"] == "ordinary"
    # the rescue task is due 30 minutes after the start; the response ends after 10 minutes
    with clock.frozen(NOW + timedelta(minutes=10)):
        post(client, "commander", f"/incidents/{iid}/response/end", note="险情排除")
    with clock.frozen(NOW + timedelta(hours=2)):
        detail = client.get(f"{API}/incidents/{iid}", headers=login(client, "commander")).json()
    assert [(t["status"], t["overdue"]) for t in detail["tasks"]] == [("assigned", False)]
    end = [t for t in detail["timeline"] if t["action"] == "end_response"][0]
    assert end["note"].startswith("响应终止（Ⅳ级响应）：险情排除")
    assert end["data"] == {"reason": "险情排除", "level": "IV", "open_tasks": 1}


def test_task_clock_stops_when_the_response_ends() -> None:
    task = Task(
        id=1,
        group_key="rescue",
        group_name="抢险救援组",
        title="搜救",
        level="IV",
        status="received",
        deadline=NOW + timedelta(minutes=30),
        progress="",
    )
    later = NOW + timedelta(hours=2)
    assert command.task_dict(task, later)["overdue"] is True  # still running: late
    assert command.task_dict(task, later, NOW + timedelta(minutes=10))["overdue"] is False
    # missed before the end: stays marked
    assert command.task_dict(task, later, NOW + timedelta(minutes=40))["overdue"] is True
    task.status = "done"
    assert command.task_dict(task, later)["overdue"] is False


def test_reporting_clocks_on_a_frozen_clock(rs_city, client, session) -> None:
    occurred = NOW - timedelta(hours=3)
    with clock.frozen(NOW - timedelta(hours=2, minutes=30)):
        # the city's duty room hears of it 30 minutes after the accident (unit → county 1 h)
        inc = receive(client, occurred_at=occurred.isoformat(), deaths=3)["incident"]
    with clock.frozen(NOW):
        detail = client.get(f"{API}/incidents/{inc['id']}", headers=login(client, "duty")).json()
    steps = {s["step"]: s for s in detail["clocks"]["steps"]}
    # relatively serious: up to the province (art. 10)
    assert list(steps) == ["unit→county", "county→city", "city→province"]
    assert steps["unit→county"]["status"] == "on_time"  # the city received it: over the head
    assert steps["city→province"]["status"] == "missing"  # 2 h from the city's receipt passed
    assert steps["city→province"]["deadline"].startswith("2026-11-23T08:30")
    assert detail["clocks"]["overdue"] == 1
    assert detail["incident"]["overdue_reports"] == 1
    with clock.frozen(NOW):
        post(client, "duty", f"/incidents/{inc['id']}/reports", kind="first", level="province")
        detail = client.get(f"{API}/incidents/{inc['id']}", headers=login(client, "duty")).json()
    steps = {s["step"]: s for s in detail["clocks"]["steps"]}
    assert steps["city→province"]["status"] == "late"
    assert detail["clocks"]["overdue"] == 0
    # a casualty change within the 30 days asks for a follow-up report within 24 h
    with clock.frozen(NOW + timedelta(hours=1)):
        post(client, "duty", f"/incidents/{inc['id']}/followups", deaths=4)
    with clock.frozen(NOW + timedelta(hours=26)):
        detail = client.get(f"{API}/incidents/{inc['id']}", headers=login(client, "duty")).json()
    assert [f["status"] for f in detail["clocks"]["followups"]] == ["missing"]


def test_documents_in_chinese(rs_city, client, frozen_clock) -> None:
    inc = receive(client, deaths=1, reporter_name="张先生")["incident"]
    headers = login(client, "duty")
    resp = client.get(f"{API}/incidents/{inc['id']}/documents/first.docx", headers=headers)
    assert resp.status_code == 200
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(resp.content)).paragraphs)
    assert "事故快报" in text and "死亡 1 人" in text and "张先生" in text
    resp = client.get(f"{API}/incidents/{inc['id']}/documents/sitrep.pdf", headers=headers)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    pdf = "".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.content)).pages)
    assert "突发事件情况报告" in pdf and "伤亡情况" in pdf
    bad = client.get(f"{API}/incidents/{inc['id']}/documents/nope.pdf", headers=headers)
    assert bad.status_code == 404


def test_plans_validate_and_step_in_order(rs_city, client, frozen_clock) -> None:
    bad = dict(PLAN, triggers={"levels": [{"level": "V", "when": {}}]})
    resp = client.post(f"{API}/plans", json=bad, headers=login(client, "commander"))
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["field"] == "triggers.levels[0].level"
    orphan = dict(PLAN, tasks=[{"group": "nobody", "levels": ["I"], "title": "无主任务"}])
    resp = client.post(f"{API}/plans", json=orphan, headers=login(client, "commander"))
    assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "tasks.0.group"
    p = post(client, "commander", "/plans", 201, **PLAN)
    assert p["status"] == "draft" and p["drill"] is not None
    post(client, "commander", f"/plans/{p['id']}/file", 409)
    post(client, "duty", f"/plans/{p['id']}/approve", 403)
    assert post(client, "commander", f"/plans/{p['id']}/approve")["status"] == "approved"
    assert post(client, "commander", f"/plans/{p['id']}/file")["status"] == "filed"
    # a district officer sees the city's plan (they carry it out) but cannot approve it
    seen = client.get(f"{API}/plans", headers=login(client, "zhifu")).json()
    assert [x["id"] for x in seen] == [p["id"]]


def test_plan_versions_over_the_api(rs_city, client, frozen_clock, session) -> None:
    p = post(client, "commander", "/plans", 201, **PLAN)
    headers = login(client, "commander")
    # a draft is changed in place
    resp = client.put(f"{API}/plans/{p['id']}", json={**PLAN, "name": "草稿改名"}, headers=headers)
    assert resp.status_code == 200 and (resp.json()["id"], resp.json()["version"]) == (p["id"], 1)
    post(client, "commander", f"/plans/{p['id']}/approve")
    # an incident runs under v1
    iid = receive(client, deaths=1)["incident"]["id"]
    post(client, "commander", f"/incidents/{iid}/grade")
    post(client, "commander", f"/incidents/{iid}/response", plan_id=p["id"], level="IV")
    # editing the approved plan: v2 as a draft; v1 stays approved (still proposed)
    tasks = [{**t, "title": t["title"] + "（修订）"} for t in PLAN["tasks"]]
    resp = client.put(f"{API}/plans/{p['id']}", json={**PLAN, "tasks": tasks}, headers=headers)
    assert resp.status_code == 200
    v2 = resp.json()
    assert (v2["version"], v2["status"], v2["previous_id"]) == (2, "draft", p["id"])
    assert client.get(f"{API}/plans/{p['id']}", headers=headers).json()["status"] == "approved"
    again = client.put(f"{API}/plans/{p['id']}", json=PLAN, headers=headers)
    assert again.status_code == 409 and "已有修订中的新版本" in again.json()["message"]
    post(client, "commander", f"/plans/{v2['id']}/approve")
    assert client.get(f"{API}/plans/{p['id']}", headers=headers).json()["status"] == "retired"
    retired = client.put(f"{API}/plans/{p['id']}", json=PLAN, headers=headers)
    assert retired.status_code == 409 and "已废止" in retired.json()["message"]
    # the running response keeps the version it started under: raising it adds v1's tasks
    post(client, "commander", f"/incidents/{iid}/response/level", level="III")
    titles = sorted(t.title for t in session.scalars(select(Task).where(Task.incident_id == iid)))
    assert titles == ["伤员救治", "搜救被困人员"]
    assert session.scalar(select(Incident.plan_id).where(Incident.id == iid)) == p["id"]
    # a new incident is proposed the version in force
    other = receive(client, deaths=1, lon=121.6, lat=37.4)["incident"]["id"]
    post(client, "commander", f"/incidents/{other}/grade")
    detail = client.get(f"{API}/incidents/{other}", headers=headers).json()
    assert [x["plan_id"] for x in detail["proposals"]] == [v2["id"]]


def test_plan_export_and_import_over_the_api(rs_city, client, frozen_clock, session) -> None:
    p = post(client, "commander", "/plans", 201, **PLAN)
    headers = login(client, "commander")
    for fmt in ("json", "xlsx"):
        out = client.get(f"{API}/plans/{p['id']}/export.{fmt}", headers=headers)
        assert out.status_code == 200 and "attachment" in out.headers["content-disposition"]
        resp = client.post(
            f"{API}/plans/import", files={"file": (f"p.{fmt}", out.content)}, headers=headers
        )
        assert resp.status_code == 201, resp.text
        copy = resp.json()
        assert copy["id"] != p["id"] and copy["status"] == "draft"
        for k in ("name", "tier", "types", "triggers", "groups", "tasks"):
            assert copy[k] == p[k], (fmt, k)
    assert client.get(f"{API}/plans/{p['id']}/export.csv", headers=headers).status_code == 404
    count = session.scalar(select(func.count()).select_from(Plan))
    bad = client.post(
        f"{API}/plans/import",
        files={"file": ("p.json", b'{"name": "x"}')},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["detail"]
    # the duty officer may read plans but not add one
    duty = client.post(
        f"{API}/plans/import",
        files={"file": ("p.json", b"{}")},
        headers=login(client, "duty"),
    )
    assert duty.status_code == 403
    assert session.scalar(select(func.count()).select_from(Plan)) == count


def test_roster_and_handover(rs_city, client, frozen_clock) -> None:
    start = NOW - timedelta(hours=1)
    shift = post(
        client,
        "commander",
        "/roster",
        201,
        division_code="370600",
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=12)).isoformat(),
        officer_username="duty",
        leader="李振华",
    )
    assert shift["on_duty"] is True
    post(
        client,
        "commander",
        "/roster",
        422,
        division_code="370600",
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=2)).isoformat(),
        officer_username="duty",
    )
    post(
        client,
        "zhifu",
        "/roster",
        403,
        division_code="370600",
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=2)).isoformat(),
        officer_username="duty",
    )
    inc = receive(client)["incident"]
    h = post(client, "duty", "/handovers", 201, to_username="commander", notes="注意爆炸现场")
    assert [o["id"] for o in h["open_incidents"]] == [inc["id"]]
    post(client, "duty", "/handovers", 422, to_username="nobody")
