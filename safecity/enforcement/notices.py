"""What enforcement tells people through the one notification service (safecity.core.notify):
inspections assigned to their inspectors, documents addressed to the enterprise (责令限期整改
指令书, 行政处罚告知书/决定书) to its safety officer, and — as the ``enforcement.case-deadlines``
job — a case's people when the 90-day decision deadline (行政处罚法 art. 60) is near or past.

Inbox rows are written in the caller's transaction; outbound channels go after it commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from safecity.core import audit, notify
from safecity.core.clock import BEIJING
from safecity.core.models import AuditEntry, User
from safecity.core.scope import division_prefix
from safecity.enforcement.models import Case, Document, Draw, Inspection, Inspector
from safecity.registry.models import Enterprise

# Steps before the decision: the deadline runs while a case is in one of these.
BEFORE_DECISION = ("filed", "investigating", "reviewing", "notified", "hearing")
# Documents served on the enterprise: its safety officer is told at once.
TO_ENTERPRISE = {
    "rectification_order": "enf_rectify",
    "penalty_notice": "enf_notice",
    "penalty_decision": "enf_decision",
}


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _local_day(value: datetime) -> str:
    return _as_utc(value).astimezone(BEIJING).strftime("%Y-%m-%d")


def _user_ids(session: Session, usernames: Iterable[str]) -> dict[str, int]:
    names = sorted({n for n in usernames if n})
    if not names:
        return {}
    return dict(
        session.execute(
            select(User.username, User.id).where(User.username.in_(names), User.active.is_(True))
        ).all()
    )


def inspections_assigned(
    session: Session,
    inspections: list[Inspection],
    now: datetime,
    draw: Draw | None = None,
    names: dict[int, str] | None = None,
) -> int:
    """Each inspector with an account hears once: one inspection links to its record, several
    (a draw) to their list filtered to the draw. Returns the inbox rows written."""
    per: dict[int, list[Inspection]] = {}
    for i in inspections:
        for iid in i.inspector_ids or []:
            per.setdefault(int(iid), []).append(i)
    if not per:
        return 0
    accounts = dict(
        session.execute(
            select(Inspector.id, Inspector.username).where(
                Inspector.id.in_(sorted(per)), Inspector.username.is_not(None)
            )
        ).all()
    )
    users = _user_ids(session, accounts.values())
    names = names or {}
    items: list[tuple[int, notify.Message]] = []
    for iid, mine in sorted(per.items()):
        uid = users.get(accounts.get(iid) or "")
        if uid is None:
            continue
        first = mine[0]
        when = first.scheduled_on.isoformat()
        if len(mine) == 1:
            ent = names.get(first.enterprise_id) or f"企业 #{first.enterprise_id}"
            source = f"双随机抽查“{draw.title}”" if draw else "执法检查"
            title = f"【执法检查】{source}指派您检查 {ent}（{when}起）"
            link = f"/enforcement/inspections/{first.id}"
        else:
            title = (
                f"【双随机抽查】{draw.title if draw else '执法检查'}：指派您检查 "
                f"{len(mine)} 户企业（{when}起）"
            )
            link = f"/enforcement/inspections?draw_id={draw.id}" if draw else "/enforcement"
        items.append(
            (
                uid,
                notify.Message(
                    title=title[:200],
                    body="请在检查时用手机打开检查记录，逐项填写检查表并记录发现的问题。",
                    link=link,
                    kind="enf_inspection",
                ),
            )
        )
    return notify.deliver(session, items, now)


def document_to_enterprise(session: Session, doc: Document, ent: Enterprise, now: datetime) -> int:
    """The enterprise's safety officers hear of a document addressed to it."""
    kind = TO_ENTERPRISE.get(doc.kind)
    if kind is None:
        return 0
    people = notify.users(session, {"enterprise_officer"}, ent.division_code, enterprise_id=ent.id)
    if not people:
        return 0
    link = (
        f"/enforcement/inspections/{doc.inspection_id}#documents"
        if doc.case_id is None
        else f"/enforcement/cases/{doc.case_id}"
    )
    deadline = next(
        (
            v
            for k, v in doc.content.get("rows", [])
            if "期限" in k and doc.kind == "rectification_order"
        ),
        "",
    )
    title = f"【{doc.title}】{ent.name}：{doc.number}"
    if deadline:
        title += f"，整改期限 {deadline}"
    return notify.send(
        session,
        [u.id for u in people],
        notify.Message(
            title=title[:200],
            body="请登录平台查看并下载文书，按要求办理。",
            link=link,
            kind=kind,
        ),
        now,
    )


# ---------------------------------------------------------------- the deadline job


def _case_people(session: Session, c: Case) -> list[int]:
    """The case's handler, the office heads in the pool covering its division, and the
    nearest district officers."""
    heads = [
        u
        for d, u in session.execute(
            select(Inspector.division_code, Inspector.username).where(
                Inspector.duty == "office_head",
                Inspector.active.is_(True),
                Inspector.username.is_not(None),
            )
        )
        if c.division_code.startswith(division_prefix(d))
    ]
    ids = list(_user_ids(session, [c.inspector_username, *heads]).values())
    ids += [
        u.id for u in notify.users(session, {"district_officer"}, c.division_code, most_local=True)
    ]
    return list(dict.fromkeys(ids))


def remind_case_deadlines(
    session: Session, now: datetime, warning_days: int | None = None
) -> dict[str, int]:
    """Job: every case before its decision whose deadline is within ``warning_days`` (the
    ``[enforcement] deadline_warning_days`` setting) or past is told about once per deadline
    and kind — the audit log keeps what was said, so a second run (or worker) adds nothing,
    and an extension (a new deadline) earns a new reminder."""
    if warning_days is None:
        from safecity.enforcement.settings import get_enforcement_settings  # noqa: PLC0415

        warning_days = get_enforcement_settings().deadline_warning_days
    now = _as_utc(now)
    horizon = now + timedelta(days=warning_days)
    stmt = (
        select(Case)
        .where(
            and_(
                Case.state.in_(BEFORE_DECISION),
                Case.deadline_at.is_not(None),
                Case.deadline_at <= horizon,
            )
        )
        .order_by(Case.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # a second worker takes other cases
    cases = list(session.scalars(stmt))
    if not cases:
        return {"due_soon": 0, "overdue": 0}
    said: set[tuple[str, str, str]] = set()
    ids = [str(c.id) for c in cases]
    for chunk in (ids[i : i + 900] for i in range(0, len(ids), 900)):
        for obj, action, after in session.execute(
            select(AuditEntry.object_id, AuditEntry.action, AuditEntry.after).where(
                AuditEntry.object_type == "enf_case",
                AuditEntry.action.in_(("remind_due", "remind_overdue")),
                AuditEntry.object_id.in_(chunk),
            )
        ):
            said.add((obj, action, (after or {}).get("deadline_at", "")))
    counts = {"due_soon": 0, "overdue": 0}
    changes: list[audit.Change] = []
    items: list[tuple[int, notify.Message]] = []
    names = dict(
        session.execute(
            select(Enterprise.id, Enterprise.name).where(
                Enterprise.id.in_({c.enterprise_id for c in cases})
            )
        ).all()
    )
    for c in cases:
        due = _as_utc(c.deadline_at)  # type: ignore[arg-type]
        action = "remind_overdue" if due < now else "remind_due"
        key = (str(c.id), action, due.isoformat())
        if key in said:
            continue
        days = (due - now).days
        label = c.number or f"#{c.id}"
        if action == "remind_overdue":
            title = f"【案件超期】{label} {names.get(c.enterprise_id, '')}：作出处罚决定期限 {_local_day(due)} 已过，请尽快决定或依法延长"
        else:
            left = f"还剩 {days} 天" if days >= 1 else "不足 1 天"
            title = f"【案件临期】{label} {names.get(c.enterprise_id, '')}：作出处罚决定期限 {_local_day(due)}（{left}）"
        message = notify.Message(
            title=title[:200],
            body="《行政处罚法》第六十条：自立案之日起九十日内作出行政处罚决定；确需延长的，经负责人批准后记录延长。",
            link=f"/enforcement/cases/{c.id}",
            kind="enf_case_overdue" if action == "remind_overdue" else "enf_case_due",
        )
        items += [(uid, message) for uid in _case_people(session, c)]
        changes.append(
            audit.Change(
                "enf_case", c.id, action, None, {"deadline_at": due.isoformat(), "state": c.state}
            )
        )
        counts["overdue" if action == "remind_overdue" else "due_soon"] += 1
    notify.deliver(session, items, now)
    audit.record_many(session, "system", changes, now)
    session.flush()
    return counts


def jobs() -> list[Any]:
    from safecity.core.jobs import Job  # noqa: PLC0415 only the runner needs it

    return [
        Job(
            "enforcement.case-deadlines",
            3600,
            remind_case_deadlines,
            "行政处罚案件决定期限临期/超期提醒（行政处罚法第六十条）",
        )
    ]
