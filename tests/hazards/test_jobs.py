"""Deadline escalation job: steps by date, catch-up, events, and two runs at once."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from safecity.core import events
from safecity.core.models import AuditEntry, User
from safecity.hazards import jobs, rules
from safecity.hazards.models import Escalation, HiddenDanger, Notification
from tests.factories import NOW
from tests.hazards.helpers import factory_for, registered


def test_pure_due_steps() -> None:
    d = NOW
    assert rules.due_steps(d, 0, d - timedelta(days=4)) == []
    assert rules.due_steps(d, 0, d - timedelta(days=2)) == ["remind"]
    assert rules.due_steps(d, 1, d + timedelta(hours=1)) == ["overdue"]
    # after downtime everything due at once, without a stale reminder
    assert rules.due_steps(d, 0, d + timedelta(days=8)) == ["overdue", "department", "division"]
    assert rules.next_escalation(d, 2, "rectifying") == d + timedelta(days=3)
    assert rules.next_escalation(d, 4, "rectifying") is None
    assert rules.next_escalation(d, 0, "submitted") is None


def test_steps_in_order_with_recipients_and_event(hz_city, session, engine) -> None:
    hd_id = registered(session, hz_city, NOW + timedelta(days=2))
    seen: list[events.HiddenDangerOverdue] = []
    events.subscribe(events.HiddenDangerOverdue, seen.append)
    try:
        factory = factory_for(engine)
        r1 = jobs.run_once(factory, NOW)
        assert r1.steps["remind"] == 1 and r1.events == 0
        assert jobs.run_once(factory, NOW + timedelta(hours=1)).checked == 0  # nothing new due
        r2 = jobs.run_once(factory, NOW + timedelta(days=2, hours=1))
        assert r2.steps["overdue"] == 1 and len(seen) == 1
        assert seen[0].hidden_danger_id == str(hd_id) and seen[0].division_code == "370602"
        r3 = jobs.run_once(factory, NOW + timedelta(days=10))
        assert r3.steps["department"] == 1 and r3.steps["division"] == 1
    finally:
        events._handlers[events.HiddenDangerOverdue].remove(seen.append)
    session.expire_all()
    hd = session.get(HiddenDanger, hd_id)
    assert hd.escalation_level == 4 and hd.next_escalation_at is None
    by_user = dict(
        session.execute(
            select(User.username, func.count())
            .join(Notification, Notification.user_id == User.id)
            .where(Notification.kind.like("escalation_%"))
            .group_by(User.username)
        ).all()
    )
    # responsible enterprise: remind + overdue; department: liaison of section C is absent in
    # seed_city (liaison is G) so the city inspectors hear; division: zhifu (most local officer)
    assert by_user["enterprise"] == 2
    assert by_user["inspector"] == 1 and by_user["zfinspector"] == 1
    assert by_user["zhifu"] == 1 and "laishan" not in by_user
    runs = session.scalars(
        select(AuditEntry.after)
        .where(AuditEntry.object_id == str(hd_id), AuditEntry.action == "escalate")
        .order_by(AuditEntry.seq)
    ).all()
    assert [r["steps"] for r in runs] == [["remind"], ["overdue"], ["department", "division"]]
    assert runs[2]["notified"]["division"] == ["zhifu"]


def test_catch_up_and_supervisor_gets_major(hz_city, session, engine) -> None:
    hd_id = registered(session, hz_city, NOW - timedelta(days=20), grade="major")
    report = jobs.run_once(factory_for(engine), NOW)
    assert report.steps == {"remind": 0, "overdue": 1, "department": 1, "division": 1}
    notified = session.scalars(
        select(Escalation.notified).where(Escalation.hidden_danger_id == hd_id)
    ).all()
    assert len(notified) == 3
    entry = session.scalars(select(AuditEntry.after).where(AuditEntry.action == "escalate")).one()
    assert entry["steps"] == ["overdue", "department", "division"]
    # the supervising authority (芝罘区) hears at the department step
    assert sorted(entry["notified"]["department"]) == ["zfinspector", "zhifu"]


def test_two_runs_at_once_escalate_once(hz_city, session, engine) -> None:
    ids = [registered(session, hz_city, NOW - timedelta(days=d)) for d in range(1, 13)]
    factory = factory_for(engine)
    barrier = threading.Barrier(2)
    reports: list[jobs.Report] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(jobs.run_once(factory, NOW, batch=3))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    total = {s: sum(r.steps[s] for r in reports) for s, _ in rules.STEPS}
    # deadlines 1..12 days ago: overdue for all 12, department for days >= 3 (10), division >= 7 (6)
    assert total == {"remind": 0, "overdue": 12, "department": 10, "division": 6}
    rows = session.execute(select(Escalation.hidden_danger_id, Escalation.step)).all()
    assert len(rows) == len(set(rows)) == 28
    audited = session.scalars(select(AuditEntry.after).where(AuditEntry.action == "escalate")).all()
    assert sum(len(a["steps"]) for a in audited) == 28  # each step audited once
    assert {r[0] for r in rows} == set(ids)
