"""The deadline and escalation job: reminders, overdue notices, escalation to the supervising
department and then the division's officer, HiddenDangerOverdue events.

Safe to run twice at once: batches are claimed with SELECT … FOR UPDATE SKIP LOCKED on
PostgreSQL, and every step is a row unique on (hidden danger, step, deadline) inserted with
ON CONFLICT DO NOTHING, so only the run that inserted a step notifies and audits it. It catches
up after downtime because it works from "what is due by now", not from "what happened since the
last run".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from safecity.core import audit, events
from safecity.core.config import get_settings
from safecity.core.jobs import Job, transactions
from safecity.core.models import User
from safecity.core.scope import division_prefix, industry_matches
from safecity.hazards import checks, notify, rules
from safecity.hazards import workflow as wf
from safecity.hazards.models import Escalation, HiddenDanger

log = logging.getLogger(__name__)
SessionFactory = Callable[[], AbstractContextManager[Session]]
BATCH = 1000
COLUMNS = (
    HiddenDanger.id,
    HiddenDanger.title,
    HiddenDanger.grade,
    HiddenDanger.status,
    HiddenDanger.deadline,
    HiddenDanger.escalation_level,
    HiddenDanger.division_code,
    HiddenDanger.enterprise_id,
    HiddenDanger.grid_cell_id,
    HiddenDanger.industry_section,
    HiddenDanger.industry_code,
    HiddenDanger.supervisor_division_code,
    HiddenDanger.responsible_username,
    HiddenDanger.lon,
    HiddenDanger.lat,
)


@dataclass
class Report:
    checked: int = 0
    steps: dict[str, int] = field(default_factory=lambda: {s: 0 for s, _ in rules.STEPS})
    notifications: int = 0
    events: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "steps": self.steps,
            "notifications": self.notifications,
            "events": self.events,
            "batches": self.batches,
        }


class Directory:
    """Active users, loaded once per run, answering "who hears about this step"."""

    def __init__(self, users: list[User]) -> None:
        self.users = users
        self.by_name = {u.username: u for u in users}

    def _covering(self, code: str, roles: set[str]) -> list[User]:
        return [
            u
            for u in self.users
            if u.role in roles and code.startswith(division_prefix(u.division_code))
        ]

    def responsible(self, hd: Any) -> list[User]:
        if hd.responsible_username and hd.responsible_username in self.by_name:
            return [self.by_name[hd.responsible_username]]
        if hd.enterprise_id is not None:
            return [
                u
                for u in self.users
                if u.role == "enterprise_officer" and u.enterprise_id == hd.enterprise_id
            ]
        return self._covering(hd.division_code, {"grid_member"})

    def department(self, hd: Any) -> list[User]:
        if hd.supervisor_division_code:
            out = [
                u
                for u in self.users
                if u.division_code == hd.supervisor_division_code
                and u.role in wf.SUPERVISORS - {"admin"}
            ]
            if out:
                return out
        out = []
        for u in self._covering(hd.division_code, {"department_liaison"}):
            if not u.industry or industry_matches(u.industry, hd.industry_code):
                out.append(u)
        return out or self._covering(hd.division_code, {"inspector"})

    def division(self, hd: Any) -> list[User]:
        officers = self._covering(hd.division_code, {"district_officer"})
        if not officers:
            return []
        # The most local officer answers for the division (a street before its district).
        longest = max(len(division_prefix(u.division_code)) for u in officers)
        return [u for u in officers if len(division_prefix(u.division_code)) == longest]

    def for_step(self, step: str, hd: Any) -> list[User]:
        if step in ("remind", "overdue"):
            return self.responsible(hd)
        if step == "department":
            return self.department(hd)
        return self.division(hd)


STEP_TEXT = {
    "remind": "整改期限将至，请抓紧整改",
    "overdue": "已超过整改期限",
    "department": "逾期未整改，已升级至监管部门督办",
    "division": "逾期未整改，已升级至属地政府督办",
}


def run_once(factory: SessionFactory, now: datetime, batch: int = BATCH) -> Report:
    """Do every escalation step due by `now`, batch by batch, each batch its own transaction."""
    report = Report()
    with factory() as session:
        directory = Directory(list(session.scalars(select(User).where(User.active.is_(True)))))
    for _ in range(100_000):
        done = _with_retry(factory, lambda s: _batch(s, directory, now, batch, report))
        if not done:
            break
    return report


def _with_retry(factory: SessionFactory, work: Callable[[Session], int], tries: int = 5) -> int:
    for attempt in range(tries):
        try:
            with factory() as session:
                return work(session)
        except OperationalError:
            # SQLite: another run committed first ("database is locked"); redo from fresh reads.
            if attempt == tries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    return 0


def _claim(session: Session, now: datetime, batch: int) -> list[Any]:
    stmt = (
        select(*COLUMNS)
        .where(
            HiddenDanger.status.in_(sorted(wf.ON_THE_CLOCK)), HiddenDanger.next_escalation_at <= now
        )
        .order_by(HiddenDanger.next_escalation_at, HiddenDanger.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=HiddenDanger)
    return list(session.execute(stmt))


def _insert_steps(session: Session, rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
    """Insert step rows, skipping ones another run already inserted; returns the new ones."""
    if not rows:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        # Four array parameters instead of thousands of scalars: one short statement per batch.
        result = session.execute(
            text(
                "INSERT INTO hd_escalations (hidden_danger_id, step, deadline, done_at, notified) "
                "SELECT * FROM unnest(CAST(:ids AS integer[]), CAST(:steps AS varchar[]), "
                "CAST(:deadlines AS timestamptz[]), CAST(:done AS timestamptz[]), "
                "CAST(:notified AS text[])) "
                "ON CONFLICT (hidden_danger_id, step, deadline) DO NOTHING "
                "RETURNING hidden_danger_id, step"
            ),
            {
                "ids": [r["hidden_danger_id"] for r in rows],
                "steps": [r["step"] for r in rows],
                "deadlines": [r["deadline"] for r in rows],
                "done": [r["done_at"] for r in rows],
                "notified": [r["notified"] for r in rows],
            },
        )
        return {(r[0], r[1]) for r in result}

    stmt = (
        insert(Escalation)
        .on_conflict_do_nothing(index_elements=["hidden_danger_id", "step", "deadline"])
        .returning(Escalation.hidden_danger_id, Escalation.step)
    )
    inserted: set[tuple[int, str]] = set()
    for i in range(0, len(rows), 200):
        inserted.update((r[0], r[1]) for r in session.execute(stmt.values(rows[i : i + 200])))
    return inserted


def _update_levels(session: Session, updates: list[dict[str, Any]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE hd_hidden_dangers AS h SET escalation_level = v.level, "
                "next_escalation_at = v.nxt FROM unnest(CAST(:ids AS integer[]), "
                "CAST(:levels AS integer[]), CAST(:nxt AS timestamptz[])) AS v(id, level, nxt) "
                "WHERE h.id = v.id"
            ),
            {
                "ids": [u["id"] for u in updates],
                "levels": [u["escalation_level"] for u in updates],
                "nxt": [u["next_escalation_at"] for u in updates],
            },
        )
    else:
        session.execute(update(HiddenDanger), updates)


def _batch(
    session: Session, directory: Directory, now: datetime, batch: int, report: Report
) -> int:
    hds = _claim(session, now, batch)
    if not hds:
        return 0
    steps_rows, updates, plan = [], [], []
    for hd in hds:
        due = rules.due_steps(hd.deadline, hd.escalation_level, now)
        level = max([hd.escalation_level] + [rules.LEVEL_OF[s] for s in due])
        updates.append(
            {
                "id": hd.id,
                "escalation_level": level,
                "next_escalation_at": rules.next_escalation(hd.deadline, level, hd.status),
            }
        )
        for step in due:
            steps_rows.append(
                {
                    "hidden_danger_id": hd.id,
                    "step": step,
                    "deadline": hd.deadline,
                    "done_at": now,
                    "notified": "",
                }
            )
        plan.append((hd, due))
    inserted = _insert_steps(session, steps_rows)
    _update_levels(session, updates)
    messages, changes, pending = [], [], []
    for hd, due in plan:
        done = [s for s in due if (hd.id, s) in inserted]  # the other run did the rest
        if not done:
            continue
        notified: dict[str, list[str]] = {}
        for step in done:
            report.steps[step] += 1
            users = directory.for_step(step, hd)
            notified[step] = [u.username for u in users]
            title = f"【隐患 #{hd.id}】{hd.title}：{STEP_TEXT[step]}"
            messages += [
                notify.Message(u.id, f"escalation_{step}", title, "", f"/hazards/{hd.id}")
                for u in users
            ]
            if step == "overdue":
                pending.append(
                    events.HiddenDangerOverdue(
                        now,
                        str(hd.id),
                        hd.grade or "general",
                        hd.division_code,
                        hd.lon,
                        hd.lat,
                        hd.grid_cell_id,
                        hd.enterprise_id,
                    )
                )
        # One audit entry per hidden danger and run, naming every step done and who was told.
        changes.append(
            audit.Change(
                "hidden_danger",
                hd.id,
                "escalate",
                None,
                {
                    "steps": done,
                    "deadline": wf.as_utc(hd.deadline).isoformat(),
                    "notified": notified,
                },
            )
        )
    report.notifications += notify.deliver(session, messages, now)
    audit.record_many(session, "system:escalation", changes, now)
    report.checked += len(hds)
    report.batches += 1
    report.events += len(pending)
    if pending:
        for e in pending:
            events.publish_after_commit(session, e)
    return len(hds)


# ---------------------------------------------------------------- the jobs this capability declares


def escalation(session: Session, now: datetime) -> dict[str, Any]:
    """The job runner's form of ``run_once``: each batch one transaction on the job's session."""
    return run_once(transactions(session), now).as_dict()


def inspection_tasks(session: Session, now: datetime) -> Any:
    """Inspection tasks of the current period for every active plan (idempotent)."""
    return checks.generate_tasks(session, now)


def declared() -> list[Job]:
    interval = get_settings().escalation_interval_seconds
    return [
        Job("hazards.inspection_tasks", 3600, inspection_tasks, "检查任务生成 inspection tasks"),
        Job("hazards.escalation", interval, escalation, "隐患期限与升级 deadlines, escalation"),
    ]
