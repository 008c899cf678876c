"""REST API of checklists, inspection plans and tasks (mounted under /api/v1/hazards)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends
from sqlalchemy.orm import Session

from safecity.core.apidoc import json_body
from safecity.core.deps import db, now, principal
from safecity.core.scope import Principal
from safecity.hazards import checks
from safecity.hazards.models import Checklist
from safecity.hazards.schemas import (
    ChecklistOut,
    PlanCreated,
    PlanOut,
    TaskCompleted,
    TaskDetail,
    TaskOut,
    TaskResultsIn,
)

router = APIRouter()


def checklist_dict(session: Session, c: Any) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "industry_section": c.industry_section,
        "place_kind": c.place_kind,
        "division_code": c.division_code,
        "items": [
            {
                "id": i.id,
                "seq": i.seq,
                "text": i.text,
                "clause": i.clause,
                "category": i.category,
                "suggested_grade": i.suggested_grade,
            }
            for i in checks.items_of(session, c.id)
        ],
    }


@router.get("/checklists", summary="Checklist templates visible to the caller")
def list_checklists(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> list[ChecklistOut]:
    return [checklist_dict(session, c) for c in checks.list_checklists(session, who)]


@router.post(
    "/checklists",
    status_code=201,
    summary="Create a checklist with its items",
    openapi_extra=json_body(checks.ChecklistIn),
)
def create_checklist(
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> ChecklistOut:
    return checklist_dict(session, checks.create_checklist(session, who, data, at))


@router.get("/plans", summary="Inspection plans inside the caller's scope")
def list_plans(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> list[PlanOut]:
    return [
        {
            "id": p.id,
            "name": p.name,
            "checklist_id": p.checklist_id,
            "division_code": p.division_code,
            "industry_section": p.industry_section,
            "frequency": p.frequency,
            "assignee_kind": p.assignee_kind,
            "assignee_username": p.assignee_username,
            "risk_rule": p.risk_rule,
            "start_date": p.start_date.isoformat(),
            "active": p.active,
        }
        for p in checks.list_plans(session, who)
    ]


@router.post(
    "/plans",
    status_code=201,
    summary="Create a recurring inspection plan",
    openapi_extra=json_body(checks.PlanIn),
)
def create_plan(
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> PlanCreated:
    plan = checks.create_plan(session, who, data, at)
    made = checks.generate_tasks(session, at)
    return {"id": plan.id, "tasks_generated": made}


@router.get("/tasks", summary="Inspection tasks assigned to or visible to the caller")
def list_tasks(
    status: str | None = None,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> list[TaskOut]:
    return [checks.task_dict(t) for t in checks.list_tasks(session, who, status)]


@router.get("/tasks/{task_id}", summary="One task with its checklist items")
def get_task(
    task_id: int,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> TaskDetail:
    task = checks.get_task(session, who, task_id)
    # The task being visible is enough: its checklist may come from a wider division.
    return {
        **checks.task_dict(task),
        "items": checklist_dict(session, _checklist(session, task.checklist_id))["items"],
    }


def _checklist(session: Session, checklist_id: int) -> Any:
    return session.get(Checklist, checklist_id)


@router.post(
    "/tasks/{task_id}/complete",
    summary="Record results {item_id: {result: passed|failed|na, note}}; failed items "
    "open hidden dangers",
    openapi_extra=json_body(TaskResultsIn),
)
def complete_task(
    task_id: int,
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> TaskCompleted:
    return checks.complete_task(session, who, task_id, data.get("results") or {}, at)
