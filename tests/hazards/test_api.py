"""Hidden dangers over HTTP on SQLite and PostgreSQL: the loop, refusals, scope, audit, uploads."""

from __future__ import annotations

from sqlalchemy import func, select

from safecity.core.models import AuditEntry
from safecity.hazards.models import HiddenDanger, HiddenDangerEvent, Notification
from tests.conftest import login
from tests.hazards.conftest import jpeg


def report(client, who: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    body = {
        "title": "配电箱门损坏",
        "description": "车间配电箱门无法关闭",
        "category": "electrical",
        **extra,
    }
    resp = client.post("/api/v1/hazards", json=body, headers=login(client, who))
    assert resp.status_code == 201, resp.text
    return resp.json()


def act(client, who: str, hd_id: int, action: str, expect: int = 200, **data):  # type: ignore[no-untyped-def]
    resp = client.post(
        f"/api/v1/hazards/{hd_id}/actions/{action}", json=data, headers=login(client, who)
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


def test_general_loop_with_timeline_audit_and_inbox(hz_city, client, session) -> None:
    ent = hz_city["own_enterprise_id"]
    hd = report(client, "grid", enterprise_id=ent)
    assert hd["status"] == "reported" and hd["source"] == "grid_patrol"
    assert hd["division_code"] == "370602" and hd["industry_section"] == "C"
    act(client, "inspector", hd["id"], "confirm", grade="general")
    act(
        client,
        "inspector",
        hd["id"],
        "register",
        responsible_party="测试企业1有限公司",
        deadline="2099-01-31",
    )
    act(
        client,
        "enterprise",
        hd["id"],
        "submit_plan",
        measures="更换门锁",
        responsible_person="张三",
    )
    act(client, "enterprise", hd["id"], "submit_acceptance", note="已更换")
    done = act(client, "inspector", hd["id"], "accept")
    assert done["status"] == "closed" and done["closed_late"] is False
    detail = client.get(f"/api/v1/hazards/{hd['id']}", headers=login(client, "zhifu")).json()
    assert [e["action"] for e in detail["timeline"]] == [
        "report",
        "confirm",
        "register",
        "submit_plan",
        "submit_acceptance",
        "accept",
    ]
    assert detail["timeline"][2]["actor"] == "inspector" and detail["actions"] == []
    # one audit entry per step, nothing else on this object
    audit = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.object_type == "hidden_danger", AuditEntry.object_id == str(hd["id"]))
        .order_by(AuditEntry.seq)
    ).all()
    assert audit == ["report", "confirm", "register", "submit_plan", "submit_acceptance", "accept"]
    # the enterprise officer was warned at registration and told about acceptance
    inbox = client.get("/api/v1/hazards/notifications", headers=login(client, "enterprise")).json()
    kinds = sorted(n["kind"] for n in inbox["items"])
    assert kinds == ["accept", "register"] and inbox["unread"] == 2
    first = inbox["items"][0]["id"]
    resp = client.post(
        "/api/v1/hazards/notifications/read",
        json={"ids": [first]},
        headers=login(client, "enterprise"),
    )
    assert resp.json() == {"marked": 1}
    assert client.get(
        "/api/v1/hazards/notifications/unread-count", headers=login(client, "enterprise")
    ).json() == {"unread": 1}


def test_illegal_transition_is_409_and_changes_nothing(hz_city, client, session) -> None:
    hd = report(client, "zhifu", enterprise_id=hz_city["own_enterprise_id"])
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    resp = act(client, "inspector", hd["id"], "accept", expect=409)
    assert resp["error"] == "conflict" and "不能执行" in resp["message"]
    act(client, "grid", hd["id"], "confirm", expect=403, grade="general")
    bad = act(client, "inspector", hd["id"], "confirm", expect=422, grade="huge")
    assert bad["detail"][0]["field"] == "grade" and bad["detail"][0]["message_en"]
    session.expire_all()
    assert session.get(HiddenDanger, hd["id"]).status == "reported"
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
    assert session.scalar(select(func.count()).select_from(HiddenDangerEvent)) == 1


def test_major_hidden_danger_is_closed_only_by_its_supervisor(hz_city, client) -> None:
    hd = report(client, "inspector", enterprise_id=hz_city["own_enterprise_id"])
    act(client, "inspector", hd["id"], "confirm", grade="major", grade_basis="判定标准第3条")
    act(
        client,
        "inspector",
        hd["id"],
        "register",
        expect=422,
        responsible_party="企业",
        deadline="2099-01-31",
    )
    act(
        client,
        "inspector",
        hd["id"],
        "register",
        responsible_party="企业",
        deadline="2099-01-31",
        supervisor_division_code="370602",
        supervisor_name="芝罘区应急管理局",
    )
    plan = {
        "measures": "停产整改",
        "responsible_person": "李四",
        "funds": 12,
        "interim_measures": "设置警戒区",
    }
    assert act(client, "enterprise", hd["id"], "submit_plan", **plan)["status"] == "plan_submitted"
    act(client, "inspector", hd["id"], "approve_plan", expect=403)
    act(client, "zhifu", hd["id"], "approve_plan")
    files = {"attachments": ("evidence.jpg", jpeg(), "image/jpeg")}
    resp = client.post(
        f"/api/v1/hazards/{hd['id']}/actions/submit_acceptance",
        data={"note": "已整改"},
        files=files,
        headers=login(client, "enterprise"),
    )
    assert resp.status_code == 200, resp.text
    act(client, "inspector", hd["id"], "accept", expect=403)
    assert act(client, "zhifu", hd["id"], "accept")["status"] == "closed"
    lists = client.get(
        "/api/v1/hazards", params={"grade": "major"}, headers=login(client, "zhifu")
    ).json()
    assert lists["total"] == 1


def test_scope_street_and_enterprise(hz_city, client) -> None:
    own = hz_city["own_enterprise_id"]
    other = hz_city["enterprises"][1].id  # another enterprise in 芝罘区
    a = report(client, "zhifu", enterprise_id=own, division_code="370602001")
    b = report(client, "zhifu", enterprise_id=other, division_code="370602002")
    c = report(client, "laishan", enterprise_id=hz_city["enterprises"][3].id)
    assert a["division_code"] == "370602001"

    def ids(who: str) -> set[int]:
        return {
            h["id"]
            for h in client.get("/api/v1/hazards", headers=login(client, who)).json()["items"]
        }

    assert ids("street1") == {a["id"]}
    assert ids("street2") == {b["id"]}
    assert ids("enterprise") == {a["id"]}
    assert ids("zhifu") == {a["id"], b["id"]}
    assert ids("laishan") == {c["id"]}
    assert ids("inspector") == {a["id"], b["id"], c["id"]}
    assert ids("liaison") == set()  # liaison of section G; these are all section C
    headers = login(client, "street1")
    assert client.get(f"/api/v1/hazards/{b['id']}", headers=headers).status_code == 404
    resp = client.post(
        f"/api/v1/hazards/{b['id']}/actions/confirm", json={"grade": "general"}, headers=headers
    )
    assert resp.status_code == 403
    assert (
        client.post(
            f"/api/v1/hazards/{a['id']}/actions/confirm", json={"grade": "general"}, headers=headers
        ).status_code
        == 200
    )
    assert (
        client.get(f"/api/v1/hazards/{c['id']}", headers=login(client, "enterprise")).status_code
        == 404
    )
    # reporting outside one's own area is refused
    resp = client.post(
        "/api/v1/hazards",
        json={"title": "越界", "enterprise_id": other, "division_code": "370602002"},
        headers=headers,
    )
    assert resp.status_code == 403


def test_public_report_with_photo_rate_limit_and_bad_uploads(hz_city, client, session) -> None:
    form = {
        "title": "路边燃气管道漏气",
        "description": "闻到燃气味",
        "lon": "121.365",
        "lat": "37.465",
        "reporter_phone": "13800000000",
    }
    resp = client.post(
        "/api/v1/hazards/public-report",
        data=form,
        files={"photos": ("../../etc/passwd.jpg", jpeg(), "image/jpeg")},
    )
    assert resp.status_code == 201, resp.text
    hd = session.get(HiddenDanger, resp.json()["id"])
    assert hd.source == "public_report" and hd.status == "reported" and hd.grid_cell_id
    assert hd.division_code == "370602"  # found from the grid cell under the point
    name = hd.photos[0]
    assert "passwd" not in name and name.endswith(".jpg") and len(name) == 36
    headers = login(client, "zhifu")
    pic = client.get(f"/api/v1/hazards/{hd.id}/photos/{name}", headers=headers)
    assert pic.status_code == 200 and pic.headers["content-type"] == "image/jpeg"
    thumb = client.get(f"/api/v1/hazards/{hd.id}/photos/{name}?thumb=1", headers=headers)
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    assert (
        client.get(
            f"/api/v1/hazards/{hd.id}/photos/..%2F..%2Fsecret.jpg", headers=headers
        ).status_code
        == 404
    )
    # the district officers were told about the new report (triage queue)
    assert session.scalar(select(func.count()).select_from(Notification)) >= 1
    fake = client.post(
        "/api/v1/hazards/public-report",
        data=form,
        files={"photos": ("x.jpg", b"<?php echo 1; ?>" * 10, "image/jpeg")},
    )
    assert fake.status_code == 422 and fake.json()["detail"][0]["field"] == "photos"
    for _ in range(4):
        assert client.post("/api/v1/hazards/public-report", data=form).status_code == 201
    limited = client.post("/api/v1/hazards/public-report", data=form)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    missing = client.post("/api/v1/hazards", json={"title": ""}, headers=headers)
    assert missing.status_code == 422
