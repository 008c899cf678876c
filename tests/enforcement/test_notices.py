"""Enforcement through the one notification service: inspections assigned to their inspectors,
the rectification order to the enterprise's officer, case deadlines near and past (a job)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from safecity.core import notify
from safecity.core.jobs import Job
from safecity.core.models import AuditEntry, Notification, User
from safecity.enforcement import casework, fieldwork, inspecting, notices, selection
from safecity.plugins import collect
from tests.conftest import NOW, principal


def inbox(session, username: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    uid = session.scalar(select(User.id).where(User.username == username))
    return list(
        session.scalars(
            select(Notification).where(Notification.user_id == uid).order_by(Notification.id)
        )
    )


def test_draw_tells_each_inspector_once(session, enf) -> None:  # type: ignore[no-untyped-def]
    zhifu = principal(session, "zhifu")
    d = selection.create_draw(session, zhifu, {"share": "1", "title": "芝罘区全覆盖"}, NOW)
    assert all(not inbox(session, u) for u in ("insp1", "insp2", "insp3"))  # not at commit
    selection.run_draw(session, zhifu, d.id, NOW)
    session.commit()
    pool = enf["pool"]
    made = inspecting.list_inspections(session, zhifu, draw_id=d.id)[0]
    # Zhifu's three enterprises, two inspectors each, from insp1–insp3 (insp4's certificate
    # expired; the reviewer and the head are not inspectors)
    assert len(made) == 3 and sum(len(i.inspector_ids) for i in made) == 6
    told = 0
    for user in ("insp1", "insp2", "insp3"):
        mine = [i for i in made if pool[user] in i.inspector_ids]
        rows = inbox(session, user)
        assert len(rows) == (1 if mine else 0)
        if not mine:
            continue
        (row,) = rows
        assert row.kind == "enf_inspection"
        if len(mine) == 1:
            assert row.link == f"/enforcement/inspections/{mine[0].id}"
            assert "芝罘区全覆盖" in row.title and "测试企业" in row.title
        else:
            assert row.link == f"/enforcement/inspections?draw_id={d.id}"
            assert f"指派您检查 {len(mine)} 户企业" in row.title
        told += len(mine)
    assert told == 6
    assert inbox(session, "insp4") == [] and inbox(session, "reviewer") == []


def test_scheduled_inspection_and_rectification_order(session, enf) -> None:  # type: ignore[no-untyped-def]
    pool, ent = enf["pool"], enf["enterprises"][0]  # the 'enterprise' officer's own
    session.execute(update(User).where(User.username == "enterprise").values(phone="13800000001"))
    i = inspecting.create_inspection(
        session,
        principal(session, "zhifu"),
        {
            "enterprise_id": ent.id,
            "inspector_ids": [pool["insp2"], pool["insp3"]],
            "scheduled_on": "2026-11-25",
        },
        NOW,
    )
    session.commit()
    for user in ("insp2", "insp3"):
        (row,) = inbox(session, user)
        assert row.link == f"/enforcement/inspections/{i.id}"
        assert row.title == "【执法检查】执法检查指派您检查 测试企业1有限公司（2026-11-25起）"
    assert inbox(session, "enterprise") == []  # the inspection is not announced to the party
    insp2 = principal(session, "insp2")
    fieldwork.add_finding(
        session,
        insp2,
        i.id,
        {"kind": "hidden_danger", "description": "安全出口被杂物堵塞"},
        [],
        NOW,
    )
    session.commit()
    sms = notify.LogChannel("sms", lambda r: r.phone)
    notify.register_channel(sms)
    try:
        fieldwork.finish_inspection(
            session, insp2, i.id, {"party_present": "王经理", "rectify_days": 15}, NOW
        )
        assert sms.sent == []  # nothing leaves before the commit
        session.commit()
    finally:
        notify.unregister_channel(sms)
    rows = [r for r in inbox(session, "enterprise") if r.kind == "enf_rectify"]
    assert len(rows) == 1
    # NOW is 2026-11-23 17:00 Beijing; 15 days → 2026-12-08
    assert "责令限期整改指令书" in rows[0].title and "2026年12月08日" in rows[0].title
    assert rows[0].link == f"/enforcement/inspections/{i.id}#documents"
    assert sms.sent == [("13800000001", rows[0].title)]
    # the district officer hears of the hidden danger from its own loop, not of the order
    assert [r.kind for r in inbox(session, "zhifu") if r.kind.startswith("enf_")] == []


def _filed_case(session, enf, filed_at):  # type: ignore[no-untyped-def]
    c = casework.open_case(
        session,
        principal(session, "insp2"),
        {
            "enterprise_id": enf["enterprises"][1].id,
            "violation": "training",
            "circumstance": "minor",
            "facts": "未培训",
        },
        filed_at,
    )
    casework.take_step(session, principal(session, "head"), c.id, "file", {}, filed_at)
    session.commit()
    return c


def test_case_deadline_job(session, enf) -> None:  # type: ignore[no-untyped-def]
    c = _filed_case(session, enf, NOW - timedelta(days=85))  # due NOW + 5 days
    other = _filed_case(session, enf, NOW - timedelta(days=30))  # due in 60 days: quiet
    out = notices.remind_case_deadlines(session, NOW, warning_days=10)
    session.commit()
    assert out == {"due_soon": 1, "overdue": 0}
    # the handler (insp2), the office head in the pool and Zhifu's district officer
    for user in ("insp2", "head", "zhifu"):
        rows = [r for r in inbox(session, user) if r.kind == "enf_case_due"]
        assert len(rows) == 1, user
        assert rows[0].link == f"/enforcement/cases/{c.id}"
        assert "2026-11-28" in rows[0].title and "还剩 5 天" in rows[0].title
    assert all(r.kind != "enf_case_due" for r in inbox(session, "laishan"))
    assert all(str(other.id) not in r.link for r in inbox(session, "head"))
    # a second run (or a second worker) says nothing new
    assert notices.remind_case_deadlines(session, NOW + timedelta(hours=1), 10) == {
        "due_soon": 0,
        "overdue": 0,
    }
    # past the deadline: once more, as overdue
    late = NOW + timedelta(days=6)
    assert notices.remind_case_deadlines(session, late, 10) == {"due_soon": 0, "overdue": 1}
    session.commit()
    rows = [r for r in inbox(session, "head") if r.kind == "enf_case_overdue"]
    assert len(rows) == 1 and "已过" in rows[0].title
    assert notices.remind_case_deadlines(session, late, 10) == {"due_soon": 0, "overdue": 0}
    # an extension moves the deadline: due soon again when the new one nears
    casework.take_step(
        session,
        principal(session, "head"),
        c.id,
        "extend",
        {"days": 30, "reason": "案情复杂"},
        late,
    )
    session.commit()
    assert notices.remind_case_deadlines(session, late, 10) == {"due_soon": 0, "overdue": 0}
    assert notices.remind_case_deadlines(session, late + timedelta(days=21), 10) == {
        "due_soon": 1,
        "overdue": 0,
    }
    session.commit()
    said = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.object_type == "enf_case",
            AuditEntry.object_id == str(c.id),
            AuditEntry.action.like("remind%"),
        )
    ).all()
    assert said == ["remind_due", "remind_overdue", "remind_due"]


def test_job_is_declared() -> None:
    jobs = {j.name: j for j in collect("safecity_jobs") if isinstance(j, Job)}
    job = jobs["enforcement.case-deadlines"]
    assert job.run is notices.remind_case_deadlines and job.interval == 3600
