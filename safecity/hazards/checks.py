"""Checklists, inspection plans and tasks: recurring tasks per enterprise (more often for
higher-risk ones), item results passed / failed / not applicable, a failed item opens a hidden
danger in one step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from safecity.core import audit, scope
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal, Shape, division_prefix, is_valid_division_code
from safecity.core.sql import code_within
from safecity.core.validation import SafeInput, translate
from safecity.hazards import rules, service
from safecity.hazards import workflow as wf
from safecity.hazards.models import (
    Checklist,
    ChecklistItem,
    HiddenDanger,
    InspectionPlan,
    InspectionTask,
    TaskResult,
)
from safecity.registry.models import Enterprise

PLANNERS = frozenset(
    {"admin", "inspector", "risk_analyst", "district_officer", "department_liaison"}
)
ASSIGNEES: dict[str, tuple[str, str]] = {
    "enterprise": ("企业自查", "Enterprise self-inspection"),
    "grid_member": ("网格员巡查", "Grid member"),
    "inspector": ("执法检查", "Inspector"),
}
RESULTS: dict[str, tuple[str, str]] = {
    "passed": ("合格", "Passed"),
    "failed": ("不合格", "Failed"),
    "na": ("不适用", "Not applicable"),
}
LABELS = {
    "name": ("名称", "name"),
    "text": ("检查内容", "item"),
    "clause": ("依据条款", "clause"),
    "items": ("检查项", "items"),
    "frequency": ("频次", "frequency"),
    "checklist_id": ("排查清单", "checklist"),
    "division_code": ("行政区划", "division"),
    "assignee_kind": ("执行方", "assignee"),
    "start_date": ("开始日期", "start date"),
    "suggested_grade": ("建议等级", "suggested grade"),
    "category": ("类别", "category"),
}

# Who may say how risky an enterprise is (the risk capability can register a better source).
RiskLevels = Callable[[Session, list[int]], dict[int, str]]
_risk_levels: list[RiskLevels] = []


def register_risk_levels(fn: RiskLevels) -> None:
    _risk_levels[:] = [fn]


def risk_levels(session: Session, enterprises: list[Any]) -> dict[int, str]:
    """red: an open major hidden danger; orange: hazardous chemicals; else the registered source."""
    ids = [e.id for e in enterprises]
    levels = dict(_risk_levels[0](session, ids)) if _risk_levels else {}
    for e in enterprises:
        levels.setdefault(e.id, "orange" if e.is_hazchem else "blue")
    majors = set(
        session.scalars(
            select(HiddenDanger.enterprise_id).where(
                HiddenDanger.grade == wf.MAJOR,
                HiddenDanger.status.in_(sorted(wf.OPEN)),
                HiddenDanger.enterprise_id.in_(ids),
            )
        )
    )
    for i in majors:
        levels[i] = "red"
    return levels


# ---------------------------------------------------------------- input


class ItemIn(SafeInput):
    model_config = ConfigDict(str_strip_whitespace=True)
    text: str = Field(min_length=2, max_length=500)
    clause: str = Field(default="", max_length=200)
    category: str = "other"
    suggested_grade: str = "general"

    @field_validator("category")
    @classmethod
    def _cat(cls, v: str) -> str:
        if v not in wf.CATEGORIES:
            raise ValueError("取值无效|unknown value")
        return v

    @field_validator("suggested_grade")
    @classmethod
    def _grade(cls, v: str) -> str:
        if v not in wf.GRADES:
            raise ValueError("取值应为 general 或 major|must be general or major")
        return v


class ChecklistIn(SafeInput):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=200)
    industry_section: str | None = Field(default=None, max_length=1)
    place_kind: str = Field(default="", max_length=32)
    items: list[ItemIn] = Field(min_length=1, max_length=200)


class PlanIn(SafeInput):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=200)
    checklist_id: int
    division_code: str
    industry_section: str | None = Field(default=None, max_length=1)
    frequency: str
    assignee_kind: str
    assignee_username: str | None = Field(default=None, max_length=64)
    risk_rule: dict[str, int] | None = None
    start_date: date

    @field_validator("frequency")
    @classmethod
    def _freq(cls, v: str) -> str:
        if v not in rules.FREQUENCIES:
            raise ValueError(
                "取值应为 daily/weekly/monthly/quarterly|must be daily, weekly, "
                "monthly or quarterly"
            )
        return v

    @field_validator("assignee_kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in ASSIGNEES:
            raise ValueError(
                "取值应为 enterprise/grid_member/inspector|must be enterprise, "
                "grid_member or inspector"
            )
        return v

    @field_validator("division_code")
    @classmethod
    def _div(cls, v: str) -> str:
        if not is_valid_division_code(v):
            raise ValueError("应为 6/9/12 位行政区划代码|must be a 6/9/12-digit division code")
        return v

    @field_validator("risk_rule")
    @classmethod
    def _rule(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        if v is not None and (
            set(v) - {"red", "orange", "yellow", "blue"} or any(not 0 <= s <= 3 for s in v.values())
        ):
            raise ValueError(
                "风险等级应为 red/orange/yellow/blue，步数 0–3|levels red/orange/"
                "yellow/blue with 0-3 steps"
            )
        return v


def _parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(translate(exc.errors(), LABELS)) from None


def _require_planner(who: Principal) -> None:
    if who.role not in PLANNERS:
        raise Forbidden("当前角色无权制定排查清单或计划", "your role may not plan inspections")


# ---------------------------------------------------------------- checklists and plans


def checklist_visible(who: Principal, c: Checklist) -> bool:
    # A city's checklist serves its districts; a district's serves itself and its streets.
    # (Templates are read from above as well as below, unlike the scope rule of objects.)
    return who.can_read() and (
        who.division_code.startswith(division_prefix(c.division_code))
        or who.covers(c.division_code)
    )


def list_checklists(session: Session, who: Principal) -> list[Checklist]:
    return [
        c
        for c in session.scalars(select(Checklist).order_by(Checklist.id))
        if checklist_visible(who, c)
    ]


def items_of(session: Session, checklist_id: int) -> list[ChecklistItem]:
    return list(
        session.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.checklist_id == checklist_id)
            .order_by(ChecklistItem.seq)
        )
    )


def create_checklist(
    session: Session, who: Principal, data: dict[str, Any], now: datetime
) -> Checklist:
    _require_planner(who)
    v = _parse(ChecklistIn, data)
    c = Checklist(
        name=v.name,
        industry_section=(v.industry_section or None),
        place_kind=v.place_kind,
        division_code=who.division_code,
        created_at=now,
    )
    session.add(c)
    session.flush()
    session.add_all(
        [
            ChecklistItem(checklist_id=c.id, seq=i, **item.model_dump())
            for i, item in enumerate(v.items, 1)
        ]
    )
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="create",
        object_type="hd_checklist",
        object_id=c.id,
        before=None,
        after=v.model_dump(),
        now=now,
    )
    return c


def get_checklist(session: Session, who: Principal, checklist_id: int) -> Checklist:
    c = session.get(Checklist, checklist_id)
    if c is None or not checklist_visible(who, c):
        raise NotFound("排查清单", "checklist")
    return c


# Plans are the division's inspection programme, read by every role working in it.
PLAN_SHAPE = Shape(division=InspectionPlan.division_code, reference=True)


def list_plans(session: Session, who: Principal) -> list[InspectionPlan]:
    return list(
        session.scalars(
            select(InspectionPlan).where(scope.clause(who, PLAN_SHAPE)).order_by(InspectionPlan.id)
        )
    )


def create_plan(
    session: Session, who: Principal, data: dict[str, Any], now: datetime
) -> InspectionPlan:
    _require_planner(who)
    v = _parse(PlanIn, data)
    get_checklist(session, who, v.checklist_id)
    if not who.covers(v.division_code):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    plan = InspectionPlan(**v.model_dump(), active=True, created_at=now)
    plan.industry_section = plan.industry_section or None
    session.add(plan)
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="create",
        object_type="hd_plan",
        object_id=plan.id,
        before=None,
        after=v.model_dump(mode="json"),
        now=now,
    )
    return plan


# ---------------------------------------------------------------- task generation


def generate_tasks(session: Session, now: datetime) -> int:
    """Tasks of the current period of every active plan (idempotent: one per plan, enterprise
    and period). Higher-risk enterprises get a shorter period under the plan's risk rule."""
    today = rules.beijing_day(now)
    made = 0
    for plan in session.scalars(select(InspectionPlan).where(InspectionPlan.active.is_(True))):
        if plan.start_date > today:
            continue
        stmt = select(Enterprise).where(
            code_within(Enterprise.division_code, division_prefix(plan.division_code)),
            Enterprise.archived.is_(False),
        )
        if plan.industry_section:
            stmt = stmt.where(Enterprise.industry_section == plan.industry_section)
        enterprises = list(session.scalars(stmt))
        levels = risk_levels(session, enterprises)
        existing = set(
            session.execute(
                select(InspectionTask.enterprise_id, InspectionTask.period).where(
                    InspectionTask.plan_id == plan.id
                )
            )
        )
        rows = []
        for e in enterprises:
            freq = rules.frequency_for(plan.frequency, levels.get(e.id), plan.risk_rule)
            period = rules.period_of(freq, today)
            if (e.id, period.key) in existing:
                continue
            rows.append(
                InspectionTask(
                    plan_id=plan.id,
                    checklist_id=plan.checklist_id,
                    enterprise_id=e.id,
                    division_code=e.division_code,
                    assignee_kind=plan.assignee_kind,
                    assignee_username=plan.assignee_username,
                    period=period.key,
                    due_date=period.due,
                    status="open",
                )
            )
        session.add_all(rows)
        session.flush()
        made += len(rows)
    if made:
        audit.record(
            session,
            actor="system:plans",
            action="generate",
            object_type="hd_task",
            object_id=rules.beijing_day(now).isoformat(),
            before=None,
            after={"tasks": made},
            now=now,
        )
    return made


# ---------------------------------------------------------------- tasks


# A task is its enterprise's: a liaison sees the tasks of enterprises of their industry.
TASK_SHAPE = Shape(
    division=InspectionTask.division_code,
    enterprise=InspectionTask.enterprise_id,
    industry=Enterprise.industry_code,
    industry_via=Enterprise.id,
)


def task_clause(who: Principal) -> Any:
    """The scope rule, then who the task is for: an enterprise officer sees their
    enterprise's self-inspections, a grid member or inspector the tasks assigned to them."""
    clause = scope.clause(who, TASK_SHAPE)
    if who.role == "enterprise_officer":
        return and_(clause, InspectionTask.assignee_kind == "enterprise")
    if who.role in ("grid_member", "inspector"):
        mine = or_(
            InspectionTask.assignee_username == who.username,
            InspectionTask.assignee_username.is_(None),
        )
        return and_(clause, InspectionTask.assignee_kind == who.role, mine)
    return clause


def list_tasks(
    session: Session, who: Principal, status: str | None = None, limit: int = 200, offset: int = 0
) -> list[InspectionTask]:
    stmt = select(InspectionTask).where(task_clause(who))
    if status:
        stmt = stmt.where(InspectionTask.status == status)
    return list(
        session.scalars(
            stmt.order_by(InspectionTask.due_date, InspectionTask.id).limit(limit).offset(offset)
        )
    )


def count_tasks(session: Session, who: Principal, status: str | None = None) -> int:
    stmt = select(func.count()).select_from(InspectionTask).where(task_clause(who))
    if status:
        stmt = stmt.where(InspectionTask.status == status)
    return int(session.scalar(stmt) or 0)


def get_task(session: Session, who: Principal, task_id: int) -> InspectionTask:
    task = session.scalar(
        select(InspectionTask).where(InspectionTask.id == task_id, task_clause(who))
    )
    if task is None:
        raise NotFound("排查任务", "inspection task")
    return task


def complete_task(
    session: Session, who: Principal, task_id: int, results: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Record each item's result; every failed item becomes a reported hidden danger."""
    task = get_task(session, who, task_id)
    if not isinstance(results, dict):
        raise Invalid(
            [
                FieldError(
                    "results",
                    "results 必须是对象：检查项编号 → 结果",
                    "results must be an object: item id → result",
                )
            ]
        )
    if task.status != "open":
        raise Conflict("该任务已完成", "the task is already done")
    items = items_of(session, task.checklist_id)
    errors, picked = [], {}
    for item in items:
        raw = results.get(str(item.id)) or results.get(item.id) or {}
        value = raw.get("result") if isinstance(raw, dict) else raw
        if not isinstance(value, str) or value not in RESULTS:
            errors.append(
                FieldError(
                    f"item_{item.id}",
                    f"第{item.seq}项：请选择合格/不合格/不适用",
                    f"item {item.seq}: choose passed, failed or n/a",
                )
            )
        picked[item.id] = (value, str(raw.get("note") or "") if isinstance(raw, dict) else "")
    if errors:
        raise Invalid(errors)
    opened = []
    for item in items:
        value, note = picked[item.id]
        hd_id = None
        if value == "failed":
            hd = service.report(
                session,
                who,
                {
                    "title": item.text[:200],
                    "description": note or item.text,
                    "category": item.category,
                    "enterprise_id": task.enterprise_id,
                    "division_code": task.division_code if len(task.division_code) > 6 else None,
                    "suggested_grade": item.suggested_grade,
                },
                [],
                now,
            )
            hd.task_id = task.id
            if item.clause:
                hd.grade_basis = f"{hd.grade_basis}；检查依据：{item.clause}".lstrip("；")
            hd_id = hd.id
            opened.append(hd.id)
        session.add(
            TaskResult(
                task_id=task.id, item_id=item.id, result=value, note=note, hidden_danger_id=hd_id
            )
        )
    task.status, task.completed_at, task.completed_by = "done", now, who.username
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="complete",
        object_type="hd_task",
        object_id=task.id,
        before={"status": "open"},
        after={
            "status": "done",
            "results": {str(k): v[0] for k, v in picked.items()},
            "hidden_dangers": opened,
        },
        now=now,
    )
    return {"task_id": task.id, "status": task.status, "hidden_dangers": opened}


def task_dict(t: InspectionTask) -> dict[str, Any]:
    return {
        "id": t.id,
        "plan_id": t.plan_id,
        "checklist_id": t.checklist_id,
        "enterprise_id": t.enterprise_id,
        "division_code": t.division_code,
        "assignee_kind": t.assignee_kind,
        "assignee_username": t.assignee_username,
        "period": t.period,
        "due_date": t.due_date.isoformat(),
        "status": t.status,
        "completed_by": t.completed_by,
    }
