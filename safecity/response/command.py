"""Plans (预案), the response they drive (启动/调整/终止响应), tasks per working group with
receipt (签收), dispatch of forces, and the warning an incident drafts."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.core.clock import BEIJING
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from safecity.core.models import User
from safecity.core.scope import Principal, division_prefix
from safecity.core.sql import code_within
from safecity.response import levels, notify
from safecity.response import service as incidents
from safecity.response import workflow as wf
from safecity.response.errors import ResponseInputError
from safecity.response.models import Dispatch, Incident, Plan, Task
from safecity.response.schemas import DispatchIn, FollowupIn, PlanIn

PLAN_OBJECT = "plan"
LEVEL_ORDER = list(levels.LEVELS)  # I (most severe) … IV


# ---------------------------------------------------------------- plans


def _ancestors(code: str) -> list[str]:
    """The division itself and the levels above it (370602 → 370602, 370600, 370000)."""
    code = code[:6].ljust(6, "0")
    out = [code, code[:4] + "00", code[:2] + "0000"]
    return list(dict.fromkeys(out))


def plan_clause(who: Principal) -> Any:
    """Plans inside the caller's division, and those of the levels above it, which the
    caller carries out (a district runs the city's plans too). The public sees none."""
    if not who.can_read():
        return Plan.id.is_(None)
    where = or_(
        code_within(Plan.division_code, who.prefix),
        Plan.division_code.in_(_ancestors(who.division_code)),
    )
    if who.role == "enterprise_officer":
        return (Plan.enterprise_id == (who.enterprise_id or -1)) & where
    return where


def plan_visible(who: Principal, plan: Plan) -> bool:
    if not who.can_read():
        return False
    if who.role == "enterprise_officer" and plan.enterprise_id != who.enterprise_id:
        return False
    return who.covers(plan.division_code) or plan.division_code in _ancestors(who.division_code)


def get_plan(session: Session, who: Principal, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None or not plan_visible(who, plan):
        raise NotFound("预案", "plan")
    return plan


def list_plans(session: Session, who: Principal) -> list[Plan]:
    return list(
        session.scalars(
            select(Plan)
            .where(plan_clause(who), Plan.status != "retired")
            .order_by(Plan.division_code, Plan.tier, Plan.name)
        )
    )


def plan_dict(plan: Plan, now: datetime | None = None) -> dict[str, Any]:
    drill = review = None
    if now is not None:

        def local(value: datetime | None) -> datetime | None:
            at = incidents.as_utc(value)
            return at.astimezone(BEIJING) if at else None  # due dates are Beijing days

        since = local(plan.effective_at or plan.approved_at or plan.created_at)
        try:
            drill = levels.drill_status(
                plan.tier, since, local(plan.last_drill_at), local(now)
            ).as_dict()
            review = levels.review_status(local(plan.last_review_at) or since, local(now)).as_dict()
        except ResponseInputError:
            drill = review = None
    return {
        "id": plan.id,
        "name": plan.name,
        "tier": plan.tier,
        "tier_zh": levels.PLAN_TIERS[plan.tier][0],
        "owner_kind": plan.owner_kind,
        "owner_name": plan.owner_name,
        "enterprise_id": plan.enterprise_id,
        "division_code": plan.division_code,
        "types": list(plan.types),
        "triggers": plan.triggers,
        "groups": list(plan.groups),
        "tasks": list(plan.tasks),
        "version": plan.version,
        "previous_id": plan.previous_id,
        "status": plan.status,
        "status_zh": wf.PLAN_STATES[plan.status][0],
        "effective_at": incidents.as_utc(plan.effective_at),
        "approved_by": plan.approved_by,
        "approved_at": incidents.as_utc(plan.approved_at),
        "filed_at": incidents.as_utc(plan.filed_at),
        "last_review_at": incidents.as_utc(plan.last_review_at),
        "last_drill_at": incidents.as_utc(plan.last_drill_at),
        "drill": drill,
        "review_due": review,
        "trigger_words": _trigger_words(plan.triggers),
    }


def _trigger_words(triggers: Any) -> list[dict[str, str]]:
    try:
        rules = levels.TriggerRules.from_dict(triggers)
    except ResponseInputError:
        return []
    return [{"level": lv, "zh": zh, "en": en} for lv, zh, en in rules.describe()]


def _audit_plan(
    session: Session, who: Principal, plan: Plan, action: str, before: Any, now: datetime
) -> None:
    after = {
        k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in plan_dict(plan).items()
    }
    audit.record(
        session,
        actor=who.username,
        action=action,
        object_type=PLAN_OBJECT,
        object_id=plan.id,
        before=before,
        after=after,
        now=now,
    )


def _check_plan(session: Session, data: PlanIn) -> None:
    """Trigger rules parse, every task names a group, every member is a user."""
    errors: list[FieldError] = []
    try:
        levels.TriggerRules.from_dict(data.triggers)
    except ResponseInputError as exc:
        errors += [
            FieldError(f"triggers.{e.field}", e.message_zh, e.message_en) for e in exc.errors
        ]
    keys = [g.key for g in data.groups]
    if len(set(keys)) != len(keys):
        errors.append(FieldError("groups", "工作组标识重复", "a group key is used twice"))
    for i, t in enumerate(data.tasks):
        if t.group not in keys:
            errors.append(
                FieldError(
                    f"tasks.{i}.group",
                    f"任务 {i + 1}：工作组 {t.group} 不存在",
                    f"task {i + 1}: no group {t.group}",
                )
            )
    names = {m for g in data.groups for m in g.members}
    if names:
        known = set(session.scalars(select(User.username).where(User.username.in_(names))))
        for m in sorted(names - known):
            errors.append(
                FieldError("groups", f"成员账号 {m} 不存在", f"member account {m} does not exist")
            )
    if errors:
        raise Invalid(errors)


def create_plan(session: Session, who: Principal, data: PlanIn, now: datetime) -> Plan:
    incidents.require(who, "plan_write")
    _check_plan(session, data)
    if not who.covers(data.division_code):
        raise Forbidden("预案所属区划超出您的管辖范围", "the plan's division is outside your scope")
    plan = Plan(
        **data.model_dump(exclude={"groups", "tasks"}),
        groups=[g.model_dump() for g in data.groups],
        tasks=[t.model_dump() for t in data.tasks],
        version=1,
        status="draft",
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    session.flush()
    _audit_plan(session, who, plan, "create", None, now)
    return plan


def successor(session: Session, plan: Plan) -> Plan | None:
    return session.scalar(
        select(Plan).where(Plan.previous_id == plan.id).order_by(Plan.id.desc()).limit(1)
    )


def check_editable(session: Session, plan: Plan) -> None:
    """409 for a retired version and for one whose next version is already a draft."""
    if plan.status == "retired":
        raise Conflict(
            f"v{plan.version} 是已废止的历史版本，不能修改",
            f"v{plan.version} is a retired version: it cannot be edited",
        )
    if plan.status != "draft":
        nxt = successor(session, plan)
        if nxt is not None:
            raise Conflict(
                f"已有修订中的新版本 v{nxt.version}（#{nxt.id}），请修改该草稿",
                f"version {nxt.version} (#{nxt.id}) is already being drafted: edit that draft",
            )


def update_plan(
    session: Session, who: Principal, plan_id: int, data: PlanIn, now: datetime
) -> Plan:
    """Edit a plan. A draft is changed in place. An approved or filed plan is not touched: the
    edit becomes its next version, a draft, and the old version stays in force (and readable)
    until the new one is approved. A retired version, or one whose next version is already
    being drafted, is 409."""
    incidents.require(who, "plan_write")
    plan = get_plan(session, who, plan_id)
    session.refresh(plan, with_for_update=True)
    if not who.covers(plan.division_code) or not who.covers(data.division_code):
        raise Forbidden("只能修改本辖区的预案", "you may edit only your own division's plans")
    check_editable(session, plan)
    _check_plan(session, data)
    fields = data.model_dump(exclude={"groups", "tasks"})
    groups = [g.model_dump() for g in data.groups]
    tasks = [t.model_dump() for t in data.tasks]
    if plan.status == "draft":
        before = _jsonable(plan_dict(plan))
        for k, v in fields.items():
            setattr(plan, k, v)
        plan.groups, plan.tasks, plan.updated_at = groups, tasks, now
        session.flush()
        _audit_plan(session, who, plan, "update", before, now)
        return plan
    fields["last_drill_at"] = fields.get("last_drill_at") or plan.last_drill_at
    fields["last_review_at"] = None  # approving the revision is its review (below)
    fields["effective_at"] = None
    new = Plan(
        **fields,
        groups=groups,
        tasks=tasks,
        version=plan.version + 1,
        previous_id=plan.id,
        status="draft",
        attachment=plan.attachment,
        created_at=now,
        updated_at=now,
    )
    session.add(new)
    session.flush()
    _audit_plan(session, who, new, "new_version", {"previous_id": plan.id}, now)
    return new


def versions(session: Session, plan: Plan) -> list[Plan]:
    """Every version of the plan, oldest first (a chain through ``previous_id``)."""
    chain = [plan]
    seen = {plan.id}
    while chain[0].previous_id is not None and chain[0].previous_id not in seen:
        prev = session.get(Plan, chain[0].previous_id)
        if prev is None:
            break
        chain.insert(0, prev)
        seen.add(prev.id)
    while (nxt := successor(session, chain[-1])) is not None and nxt.id not in seen:
        chain.append(nxt)
        seen.add(nxt.id)
    return chain


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in d.items()}


def plan_step(session: Session, who: Principal, plan_id: int, action: str, now: datetime) -> Plan:
    """approve (批准) then file (备案): out of order is 409."""
    incidents.require(who, "plan_approve")
    plan = get_plan(session, who, plan_id)
    if not who.covers(plan.division_code):
        raise Forbidden("只能审批本辖区的预案", "you may approve only your own division's plans")
    if action not in wf.PLAN_NEXT:
        raise NotFound("操作", "action")
    frm, to = wf.PLAN_NEXT[action]
    if plan.status != frm:
        raise Conflict(
            f"预案当前为「{wf.PLAN_STATES[plan.status][0]}」，须先为「{wf.PLAN_STATES[frm][0]}」",
            f"the plan is {plan.status}: it must be {frm} first",
        )
    before = _jsonable(plan_dict(plan))
    plan.status, plan.updated_at = to, now
    if action == "approve":
        plan.approved_by, plan.approved_at = who.username, now
        plan.effective_at = plan.effective_at or now
        plan.last_review_at = plan.last_review_at or now
    else:
        plan.filed_at = now
    session.flush()
    _audit_plan(session, who, plan, action, before, now)
    old = session.get(Plan, plan.previous_id) if action == "approve" and plan.previous_id else None
    if old is not None and old.status in ("approved", "filed"):
        # the approved revision replaces the version in force; incidents keep pointing at
        # the version they ran under
        old_before = _jsonable(plan_dict(old))
        old.status, old.updated_at = "retired", now
        session.flush()
        _audit_plan(session, who, old, "retire", old_before, now)
    return plan


def record_drill(session: Session, plan: Plan, at: datetime) -> None:
    """A drill incident counts for its plan (演练): the drill clock restarts."""
    last = incidents.as_utc(plan.last_drill_at)
    if last is None or incidents.as_utc(at) > last:  # type: ignore[operator]
        plan.last_drill_at = at


# ---------------------------------------------------------------- proposals


def incident_facts(inc: Incident, alarm_level: str | None = None) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "type": inc.type_key,
        "grade": inc.grade,
        "deaths": inc.deaths,
        "missing": inc.missing,
        "serious_injuries": inc.serious_injuries,
        "trapped": inc.trapped,
        "affected_population": inc.affected_population or None,
        "direct_loss_yuan": incidents.quantities(inc)["direct_loss_yuan"],
    }
    if alarm_level:
        facts["alarm_level"] = alarm_level
    return facts


def _alarm_level(session: Session, inc: Incident) -> str | None:
    if inc.alarm_id is None:
        return None
    try:
        from safecity.monitoring.service import alarm_peak_level  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:
        return None
    return alarm_peak_level(session, inc.alarm_id)


def applicable_plans(session: Session, inc: Incident) -> list[Plan]:
    """Approved or filed plans of the incident's place and the levels above, for its type."""
    codes = _ancestors(inc.division_code)
    rows = session.scalars(
        select(Plan).where(
            Plan.status.in_(("approved", "filed")),
            or_(
                Plan.division_code.in_(codes),
                code_within(Plan.division_code, division_prefix(inc.division_code)),
            ),
        )
    )
    out = []
    for plan in rows:
        if plan.enterprise_id is not None and plan.enterprise_id != inc.enterprise_id:
            continue
        if any(inc.type_key == t or inc.type_key.startswith(t + ".") for t in plan.types):
            out.append(plan)
    return out


def proposals(session: Session, inc: Incident) -> list[dict[str, Any]]:
    """Each applicable plan with the level its rules propose (the commander decides)."""
    facts = incident_facts(inc, _alarm_level(session, inc))
    out = []
    for plan in applicable_plans(session, inc):
        try:
            p = levels.TriggerRules.from_dict(plan.triggers).propose(facts).as_dict()
        except ResponseInputError:
            continue
        p |= {"plan_id": plan.id, "plan_name": plan.name, "tier": plan.tier}
        out.append(p)
    tier_rank = {"onsite": 0, "special": 1, "comprehensive": 2}

    def key(p: dict[str, Any]) -> tuple[int, int, int]:
        lv = LEVEL_ORDER.index(p["level"]) if p["level"] else 9
        return (lv, tier_rank.get(p["tier"], 3), p["plan_id"])

    return sorted(out, key=key)


# ---------------------------------------------------------------- the response


def _tasks_for(plan: Plan, level: str) -> list[dict[str, Any]]:
    return [t for t in plan.tasks if level in t.get("levels", [])]


def _create_tasks(
    session: Session, inc: Incident, plan: Plan, level: str, who: Principal, now: datetime
) -> list[Task]:
    existing = {
        (t.group_key, t.title)
        for t in session.scalars(select(Task).where(Task.incident_id == inc.id))
    }
    groups = {g["key"]: g for g in plan.groups}
    made = []
    for spec in _tasks_for(plan, level):
        if (spec["group"], spec["title"]) in existing:
            continue
        g = groups.get(spec["group"], {"name": spec["group"], "members": []})
        due = spec.get("due_minutes")
        task = Task(
            incident_id=inc.id,
            group_key=spec["group"],
            group_name=g["name"],
            members=list(g.get("members") or []),
            title=spec["title"],
            level=level,
            status="assigned",
            deadline=now + timedelta(minutes=due) if due else None,
            created_at=now,
        )
        session.add(task)
        made.append(task)
    session.flush()
    for task in made:
        notify.tell(
            session,
            task.members,
            f"【事件 #{inc.id}】{levels.LEVELS[level][0]}任务：{task.title}（请签收）",
            f"/response/incidents/{inc.id}#task-{task.id}",
            now,
        )
    return made


def start_response(
    session: Session,
    who: Principal,
    incident_id: int,
    plan_id: int,
    level: str,
    note: str,
    now: datetime,
) -> tuple[Incident, bool]:
    """启动响应: creates the plan's tasks for the level and tells each group. Starting the
    same response again changes nothing (False); another level or plan is 409."""
    incidents.require(who, "start_response")
    inc = incidents.get(session, who, incident_id, for_update=True)
    if inc.status == wf.RESPONDING:
        if inc.plan_id == plan_id and inc.response_level == level:
            return inc, False
        raise Conflict(
            "响应已启动：调整级别请用「调整响应级别」",
            "the response is already running: change its level instead",
        )
    status = incidents._step(inc, "start_response")
    plan = get_plan(session, who, plan_id)
    if plan.status not in ("approved", "filed"):
        raise Conflict("预案尚未批准，不能据此启动响应", "the plan is not approved")
    if plan not in applicable_plans(session, inc):
        raise Invalid(
            [FieldError("plan_id", "预案不适用于该事件", "the plan does not apply to the incident")]
        )
    before = incidents.audit_view(inc)
    inc.status, inc.plan_id, inc.response_level = status, plan.id, level
    inc.response_started_at, inc.updated_at = now, now
    if inc.is_drill:
        record_drill(session, plan, now)
    tasks = _create_tasks(session, inc, plan, level, who, now)
    proposal = next((p for p in proposals(session, inc) if p["plan_id"] == plan.id), None)
    proposed = proposal["level"] if proposal else None
    text = f"启动{levels.LEVELS[level][0]}（{plan.name}）"
    if proposed and proposed != level:
        text += f"；预案规则建议{levels.LEVELS[proposed][0]}，指挥长决定{levels.LEVELS[level][0]}"
    log_note = f"{text}。{note}" if note else text
    incidents.log(
        session,
        inc,
        who,
        "start_response",
        now,
        log_note,
        {"plan_id": plan.id, "level": level, "proposed": proposed, "tasks": len(tasks)},
    )
    incidents.record(session, inc, who, "start_response", before, now)
    return inc, True


def adjust_level(
    session: Session, who: Principal, incident_id: int, level: str, note: str, now: datetime
) -> Incident:
    """Raise or lower the running response; tasks of the new level are added."""
    incidents.require(who, "adjust_level")
    inc = incidents.get(session, who, incident_id, for_update=True)
    incidents._step(inc, "adjust_level")
    if level == inc.response_level:
        raise Conflict(
            f"响应已是{levels.LEVELS[level][0]}",
            f"the response is already {levels.LEVELS[level][1]}",
        )
    before = incidents.audit_view(inc)
    old = inc.response_level or "IV"
    direction = "raise" if LEVEL_ORDER.index(level) < LEVEL_ORDER.index(old) else "lower"
    inc.response_level, inc.updated_at = level, now
    plan = session.get(Plan, inc.plan_id) if inc.plan_id else None
    made = _create_tasks(session, inc, plan, level, who, now) if plan else []
    verb = "提升" if direction == "raise" else "降低"
    text = f"响应级别{verb}：{levels.LEVELS[old][0]} → {levels.LEVELS[level][0]}"
    incidents.log(
        session,
        inc,
        who,
        "adjust_level",
        now,
        f"{text}。{note}" if note else text,
        {"from": old, "to": level, "direction": direction, "tasks": len(made)},
    )
    incidents.record(session, inc, who, "adjust_level", before, now)
    return inc


def running_proposal(session: Session, inc: Incident) -> dict[str, Any] | None:
    """What the running plan's rules propose now (after a 续报 regraded the incident), when
    that differs from the level the commander set; None otherwise. Only a proposal: the
    commander adjusts the level or keeps it."""
    if inc.status != wf.RESPONDING or inc.plan_id is None:
        return None
    p = next((p for p in proposals(session, inc) if p["plan_id"] == inc.plan_id), None)
    if p is None or not p["level"] or p["level"] == inc.response_level:
        return None
    return p


def followup(
    session: Session, who: Principal, incident_id: int, data: FollowupIn, now: datetime
) -> tuple[Incident, dict[str, Any]]:
    """续报 with the running plan's proposal on the timeline when the grade changes."""
    return incidents.followup(session, who, incident_id, data, now, running_proposal)


def end_response(
    session: Session, who: Principal, incident_id: int, note: str, now: datetime
) -> Incident:
    """响应终止 with its reason (required); task deadlines stop counting from here on."""
    incidents.require(who, "end_response")
    inc = incidents.get(session, who, incident_id, for_update=True)
    before = incidents.audit_view(inc)
    inc.status = incidents._step(inc, "end_response")
    note = note.strip()
    if not note:
        raise Invalid(
            [
                FieldError(
                    "note",
                    "终止理由：不能为空（如险情已排除、次生灾害风险已消除）",
                    "reason for ending: required (e.g. the danger is over)",
                )
            ]
        )
    inc.response_ended_at, inc.updated_at = now, now
    open_tasks = session.scalars(
        select(Task).where(Task.incident_id == inc.id, Task.status != "done")
    ).all()
    text = f"响应终止（{levels.LEVELS[inc.response_level or 'IV'][0]}）：{note}"
    if open_tasks:
        text += f"；{len(open_tasks)} 项任务未完成"
    incidents.log(
        session,
        inc,
        who,
        "end_response",
        now,
        text,
        {"reason": note, "level": inc.response_level, "open_tasks": len(open_tasks)},
    )
    incidents.record(session, inc, who, "end_response", before, now)
    return inc


# ---------------------------------------------------------------- tasks


def tasks_of(session: Session, inc: Incident) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.incident_id == inc.id).order_by(Task.id)))


def task_dict(t: Task, now: datetime, stopped_at: datetime | None = None) -> dict[str, Any]:
    """``stopped_at``: when the response ended; a deadline after it is no longer overdue
    (the clock stopped), one missed before it stays marked."""
    deadline = incidents.as_utc(t.deadline)
    if stopped_at is not None:
        now = min(incidents.as_utc(now), incidents.as_utc(stopped_at))  # type: ignore[type-var]
    return {
        "id": t.id,
        "group_key": t.group_key,
        "group_name": t.group_name,
        "title": t.title,
        "level": t.level,
        "status": t.status,
        "status_zh": wf.TASK_STATES[t.status][0],
        "deadline": deadline,
        "received_at": incidents.as_utc(t.received_at),
        "received_by": t.received_by,
        "progress": t.progress,
        "done_at": incidents.as_utc(t.done_at),
        "overdue": bool(deadline and t.status != "done" and incidents.as_utc(now) > deadline),
    }


def _task(session: Session, who: Principal, task_id: int) -> tuple[Task, Incident]:
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise NotFound("任务", "task")
    inc = incidents.get(session, who, task.incident_id)
    if who.username not in (task.members or []):
        raise Forbidden(
            f"只有「{task.group_name}」的成员可以签收和报告此任务",
            f"only members of {task.group_name} may receive or report on this task",
        )
    return task, inc


def receive_task(session: Session, who: Principal, task_id: int, now: datetime) -> Task:
    """签收: a member of the task's group confirms the group has it."""
    task, inc = _task(session, who, task_id)
    if task.status != "assigned":
        raise Conflict("任务已签收", "the task has already been received")
    task.status, task.received_at, task.received_by = "received", now, who.username
    session.flush()
    incidents.log(
        session,
        inc,
        who,
        "task_received",
        now,
        f"{task.group_name}签收：{task.title}",
        {"task": task.id},
    )
    _audit_task(session, who, task, "receive", now)
    return task


def report_task(
    session: Session, who: Principal, task_id: int, note: str, done: bool, now: datetime
) -> Task:
    task, inc = _task(session, who, task_id)
    if task.status == "assigned":
        raise Conflict("请先签收任务", "receive the task first")
    if task.status == "done":
        raise Conflict("任务已完成", "the task is already done")
    if not note.strip() and not done:
        raise Invalid([FieldError("note", "进展说明：不能为空", "progress note: required")])
    task.progress = (task.progress + "\n" if task.progress else "") + note.strip()
    task.status = "done" if done else "in_progress"
    if done:
        task.done_at = now
    session.flush()
    action = "task_done" if done else "task_progress"
    incidents.log(
        session,
        inc,
        who,
        action,
        now,
        f"{task.group_name}：{task.title}" + (f" — {note.strip()}" if note.strip() else ""),
        {"task": task.id},
    )
    _audit_task(session, who, task, action, now)
    return task


def _audit_task(session: Session, who: Principal, task: Task, action: str, now: datetime) -> None:
    audit.record(
        session,
        actor=who.username,
        action=action,
        object_type="incident_task",
        object_id=task.id,
        before=None,
        after={"status": task.status, "incident_id": task.incident_id, "title": task.title},
        now=now,
    )


# ---------------------------------------------------------------- dispatch


def dispatch_dict(d: Dispatch) -> dict[str, Any]:
    return {
        "id": d.id,
        "resource_kind": d.resource_kind,
        "resource_ref": d.resource_ref,
        "resource_name": d.resource_name,
        "quantity": d.quantity,
        "unit": d.unit,
        "status": d.status,
        "status_zh": wf.DISPATCH_STATES[d.status][0],
        "eta_minutes": d.eta_minutes,
        "distance_m": d.distance_m,
        "requested_at": incidents.as_utc(d.requested_at),
        "updated_at": incidents.as_utc(d.updated_at),
        "history": list(d.history or []),
        "tracker_sensor_id": d.tracker_sensor_id,
    }


def _tracker(session: Session, who: Principal, data: DispatchIn) -> int | None:
    """The monitoring sensor that tracks the force: the device named with the dispatch, else
    the tracker the resources register gives its equipment (a team: its vehicles')."""
    devices = [data.tracker_device_id] if data.tracker_device_id else []
    if not devices and data.resource_ref:
        try:
            from safecity.resources.service import trackers_of  # noqa: PLC0415 optional capability (ImportError when it is not installed)
        except ImportError:
            return None
        devices = trackers_of(session, who, data.resource_kind, data.resource_ref)
    if not devices:
        return None
    try:
        from safecity.monitoring.service import sensors_by_device  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:
        return None
    found = sensors_by_device(session, who, devices)
    if data.tracker_device_id and not found:
        raise Invalid(
            [
                FieldError(
                    "tracker_device_id",
                    f"定位终端：未登记的设备 {data.tracker_device_id}",
                    f"tracker: no registered device {data.tracker_device_id}",
                )
            ]
        )
    return next((found[d] for d in devices if d in found), None)


def unit_positions(
    session: Session, who: Principal, inc: Incident, dispatches: list[Dispatch], now: datetime
) -> dict[int, dict[str, Any]]:
    """dispatch id → where its tracker last reported (lon, lat, at, age_s, distance_m to the
    incident), for forces not yet returned whose tracker the caller may see."""
    moving = {
        d.id: d.tracker_sensor_id
        for d in dispatches
        if d.tracker_sensor_id is not None and d.status != "returned"
    }
    if not moving:
        return {}
    try:
        from safecity.monitoring.service import last_positions  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:
        return {}
    seen = last_positions(session, who, list(moving.values()), now)
    out = {}
    for dispatch_id, sid in moving.items():
        if sid not in seen:
            continue
        pos = dict(seen[sid])
        if inc.lon is not None and inc.lat is not None:
            pos["distance_m"] = round(_metres(inc.lon, inc.lat, pos["lon"], pos["lat"]))
        out[dispatch_id] = pos
    return out


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def dispatches_of(session: Session, inc: Incident) -> list[Dispatch]:
    return list(
        session.scalars(
            select(Dispatch).where(Dispatch.incident_id == inc.id).order_by(Dispatch.id)
        )
    )


def request_dispatch(
    session: Session, who: Principal, incident_id: int, data: DispatchIn, now: datetime
) -> Dispatch:
    """Request a force or supplies for the incident (requested); its ETA by road if known."""
    incidents.require(who, "dispatch")
    inc = incidents.get(session, who, incident_id, for_update=True)
    incidents._step(inc, "dispatch")
    d = Dispatch(
        incident_id=inc.id,
        **data.model_dump(exclude={"tracker_device_id"}),
        tracker_sensor_id=_tracker(session, who, data),
        status="requested",
        requested_by=who.username,
        requested_at=now,
        updated_at=now,
        history=[{"status": "requested", "at": now.isoformat(), "actor": who.username}],
    )
    session.add(d)
    session.flush()
    eta = f"，预计 {data.eta_minutes:g} 分钟到达" if data.eta_minutes is not None else ""
    incidents.log(
        session,
        inc,
        who,
        "dispatch",
        now,
        f"调派 {data.resource_name}{eta}",
        {"dispatch": d.id, "kind": data.resource_kind, "eta_minutes": data.eta_minutes},
    )
    _audit_dispatch(session, who, d, "request", now)
    return d


def advance_dispatch(
    session: Session, who: Principal, dispatch_id: int, status: str, now: datetime
) -> Dispatch:
    """requested → dispatched → en route → on scene → returned, one step at a time (409)."""
    incidents.require(who, "dispatch_status")
    d = session.get(Dispatch, dispatch_id, with_for_update=True)
    if d is None:
        raise NotFound("调派", "dispatch")
    inc = incidents.get(session, who, d.incident_id)
    if wf.DISPATCH_NEXT.get(d.status) != status:
        raise Conflict(
            f"力量当前为「{wf.DISPATCH_STATES[d.status][0]}」，不能直接变为"
            f"「{wf.DISPATCH_STATES[status][0]}」",
            f"the dispatch is {d.status}: it cannot become {status} next",
        )
    d.status, d.updated_at = status, now
    d.history = [*d.history, {"status": status, "at": now.isoformat(), "actor": who.username}]
    session.flush()
    incidents.log(
        session,
        inc,
        who,
        "dispatch_status",
        now,
        f"{d.resource_name}：{wf.DISPATCH_STATES[status][0]}",
        {"dispatch": d.id, "status": status},
    )
    _audit_dispatch(session, who, d, status, now)
    return d


def _audit_dispatch(
    session: Session, who: Principal, d: Dispatch, action: str, now: datetime
) -> None:
    audit.record(
        session,
        actor=who.username,
        action=action,
        object_type="incident_dispatch",
        object_id=d.id,
        before=None,
        after={"status": d.status, "incident_id": d.incident_id, "resource": d.resource_name},
        now=now,
    )


# ---------------------------------------------------------------- warning draft

WARNING_EVENT = {
    "natural_disaster.flood_drought": "flood",
    "natural_disaster.meteorological.typhoon": "typhoon",
    "natural_disaster.meteorological": "rainstorm",
    "natural_disaster.earthquake": "earthquake",
    "natural_disaster.geological": "geological",
    "natural_disaster.marine.storm_surge": "storm_surge",
    "natural_disaster.forest_grassland_fire": "forest_fire",
    "accident_disaster.fire": "fire",
    "accident_disaster.transport.road_traffic": "traffic",
    "accident_disaster.production_safety": "hazchem_leak",
    "accident_disaster.public_facility": "pipeline",
    "accident_disaster.environmental": "hazchem_leak",
}
GRADE_LEVEL = {
    "extraordinary": "red",
    "serious": "orange",
    "relatively_serious": "yellow",
    "ordinary": "blue",
}


def warning_event(type_key: str) -> str:
    for key in sorted(WARNING_EVENT, key=len, reverse=True):
        if type_key == key or type_key.startswith(key + "."):
            return WARNING_EVENT[key]
    return "other"


def draft_warning(session: Session, who: Principal, incident_id: int, now: datetime) -> int:
    """A CAP warning draft from the incident (warnings capability): place, level, text."""
    incidents.require(who, "draft_warning")
    inc = incidents.get(session, who, incident_id, for_update=True)
    incidents._step(inc, "draft_warning")
    try:
        from safecity.warnings import service as warnings  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:
        raise Conflict("预警发布模块未安装", "the warnings capability is not installed") from None
    if inc.warning_id is not None:
        return inc.warning_id
    zh, _ = incidents.type_names(inc.type_key)
    area: dict[str, Any] = {"desc": inc.address or f"{inc.division_code} 事发地周边"}
    if inc.lon is not None and inc.lat is not None:
        area["circles"] = [[round(inc.lon, 6), round(inc.lat, 6), 3.0]]
    else:
        area["divisions"] = [inc.division_code[:6]]
    w = warnings.create_warning(
        session,
        who,
        {
            "event_type": warning_event(inc.type_key),
            "level": GRADE_LEVEL.get(inc.grade or "ordinary", "blue"),
            "headline": f"{zh}：{inc.title}"[:300],
            "description": (inc.description or inc.title)[:4000] + f"（事件 #{inc.id}）",
            "areas": [area],
            "division_code": inc.division_code[:6],
            "incident_id": str(inc.id),
        },
        now,
    )
    inc.warning_id, inc.updated_at = w.id, now
    session.flush()
    incidents.log(
        session, inc, who, "draft_warning", now, f"起草预警 #{w.id}（待审批）", {"warning": w.id}
    )
    return w.id


# ---------------------------------------------------------------- hidden dangers (hazards)

# Incident type (GB/T 35561 key prefix) → the hidden-danger category it most likely points at.
HAZARD_CATEGORY = (
    ("accident_disaster.fire", "fire"),
    ("natural_disaster.forest_grassland_fire", "fire"),
    ("accident_disaster.transport", "traffic"),
    ("accident_disaster.public_facility", "equipment"),
    ("accident_disaster.environmental", "hazchem"),
    ("accident_disaster.production_safety", "management"),
)
HAZARD_SOURCE = "emergency_incident"


def hazard_category(type_key: str) -> str:
    for prefix, category in HAZARD_CATEGORY:
        if type_key == prefix or type_key.startswith(prefix + "."):
            return category
    return "other"


def hidden_danger_values(session: Session, who: Principal, incident_id: int) -> dict[str, Any]:
    """The hidden-danger report form prefilled from the incident: title, enterprise, place,
    coordinates, a description that names the incident and links back to it."""
    incidents.require(who, "open_hidden_danger")
    inc = incidents.get(session, who, incident_id)
    incidents._step(inc, "open_hidden_danger")
    zh, _ = incidents.type_names(inc.type_key)
    when = incidents.as_utc(inc.occurred_at)
    local = when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if when else ""
    description = (
        f"由突发事件 #{inc.id}「{inc.title}」（{zh}，{local}）暴露的隐患。"
        + (f"\n事件情况：{inc.description}" if inc.description else "")
        + f"\n事件：/response/incidents/{inc.id}"
    )
    return {
        "title": f"{inc.title}（事件 #{inc.id}）暴露的隐患"[:200],
        "description": description[:4000],
        "category": hazard_category(inc.type_key),
        "enterprise_id": inc.enterprise_id or "",
        "lon": f"{inc.lon:.6f}" if inc.lon is not None else "",
        "lat": f"{inc.lat:.6f}" if inc.lat is not None else "",
        "address": inc.address or "",
    }


def open_hidden_danger(
    session: Session,
    who: Principal,
    incident_id: int,
    data: dict[str, Any],
    photos: list[str],
    now: datetime,
) -> int:
    """Report a hidden danger the incident brought to light (hazards capability: its checks,
    scope, audit and assessors' notice), and put it on the incident's timeline."""
    incidents.require(who, "open_hidden_danger")
    inc = incidents.get(session, who, incident_id, for_update=True)
    incidents._step(inc, "open_hidden_danger")
    try:
        from safecity.hazards import service as hazards  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:
        raise Conflict("隐患排查模块未安装", "the hazards capability is not installed") from None
    values = {k: v for k, v in data.items() if k != "source"} | {"source": HAZARD_SOURCE}
    if not values.get("enterprise_id"):
        # no enterprise chosen: the danger lies in the incident's division unless the point
        # falls in a grid cell that says otherwise (hazards checks that they agree)
        values.setdefault("division_code", inc.division_code)
    hd = hazards.report(session, who, values, photos, now)
    inc.updated_at = now
    incidents.log(
        session,
        inc,
        who,
        "open_hidden_danger",
        now,
        f"上报隐患 #{hd.id}：{hd.title}"[:500],
        {"hidden_danger": hd.id},
    )
    return hd.id
