"""Pages of checklists, inspection plans and tasks (task completion opens hidden dangers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from safecity.core.clock import utcnow
from safecity.core.deps import db, now
from safecity.core.errors import Invalid
from safecity.core.scope import Principal
from safecity.hazards import checks, rules
from safecity.hazards.models import Checklist, TaskResult
from safecity.hazards.pages import divisions as _divisions
from safecity.hazards.pages import field_errors as errs
from safecity.hazards.pages import show
from safecity.registry.models import Enterprise
from safecity.registry.rules import INDUSTRY_SECTIONS
from safecity.web.guard import form_data, web_user
from safecity.web.render import lang_of

router = APIRouter(include_in_schema=False)


def _lines_to_items(text: str) -> list[dict[str, Any]]:
    """One item per line: "检查内容 | 依据条款 | 重大" (the last two optional)."""
    items = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if not parts[0]:
            continue
        grade = "major" if len(parts) > 2 and parts[2] in ("重大", "major") else "general"
        items.append(
            {
                "text": parts[0],
                "clause": parts[1] if len(parts) > 1 else "",
                "suggested_grade": grade,
            }
        )
    return items


def _page(
    request: Request,
    session: Session,
    who: Principal,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    lists = checks.list_checklists(session, who)
    counts = {c.id: len(checks.items_of(session, c.id)) for c in lists}
    return show(
        request,
        "hazards/checklists.html",
        status,
        checklists=lists,
        counts=counts,
        plans=checks.list_plans(session, who),
        can_plan=who.role in checks.PLANNERS,
        divisions=_divisions(session, who),
        sections=INDUSTRY_SECTIONS,
        frequencies=rules.FREQUENCIES,
        assignees=checks.ASSIGNEES,
        errors=errors or {},
        values=values or {},
        today=rules.beijing_day(utcnow()).isoformat(),
    )


@router.get("/checklists")
def checklists_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    return _page(request, session, who)


def _errors(exc: Invalid, request: Request) -> dict[str, list[str]]:
    return errs(exc, lang_of(request))


@router.post("/checklists")
def checklist_create(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    data = {k: v for k, v in (form or {}).items() if k != "csrf"}
    try:
        checks.create_checklist(
            session,
            who,
            {
                "name": data.get("name", ""),
                "industry_section": data.get("industry_section") or None,
                "place_kind": data.get("place_kind", ""),
                "items": _lines_to_items(str(data.get("items", ""))),
            },
            at,
        )
    except Invalid as exc:
        session.rollback()
        return _page(request, session, who, 422, _errors(exc, request), data)
    return RedirectResponse("/hazards/checklists", status_code=303)


@router.post("/plans")
def plan_create(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    data = {k: v for k, v in (form or {}).items() if k != "csrf"}
    payload = {
        k: (data.get(k) or None)
        for k in (
            "name",
            "checklist_id",
            "division_code",
            "industry_section",
            "frequency",
            "assignee_kind",
            "assignee_username",
            "start_date",
        )
    }
    payload["risk_rule"] = rules.DEFAULT_RISK_RULE if data.get("risk_based") else {}
    try:
        checks.create_plan(session, who, payload, at)
        checks.generate_tasks(session, at)
    except Invalid as exc:
        session.rollback()
        return _page(request, session, who, 422, _errors(exc, request), data)
    return RedirectResponse("/hazards/tasks", status_code=303)


TASKS_PER_PAGE = 50  # as every other list: a page a duty officer can scan


@router.get("/tasks")
def tasks_page(
    request: Request,
    status: str | None = None,
    page: str = "1",
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    total = checks.count_tasks(session, who, status or None)
    pages = max(1, -(-total // TASKS_PER_PAGE))
    page_no = min(max(int(page), 1), pages) if page.isdigit() else 1
    tasks = checks.list_tasks(
        session, who, status or None, limit=TASKS_PER_PAGE, offset=(page_no - 1) * TASKS_PER_PAGE
    )
    ids = {t.enterprise_id for t in tasks}
    names = (
        {e.id: e.name for e in session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)))}
        if ids
        else {}
    )
    lists = {c.id: c.name for c in session.scalars(select(Checklist))}
    return show(
        request,
        "hazards/tasks.html",
        tasks=tasks,
        names=names,
        lists=lists,
        task_status=status,
        assignees=checks.ASSIGNEES,
        total=total,
        page_no=page_no,
        pages=pages,
    )


def _task_page(
    request: Request,
    session: Session,
    who: Principal,
    task_id: int,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
) -> Response:
    task = checks.get_task(session, who, task_id)
    results = {
        r.item_id: r
        for r in session.scalars(select(TaskResult).where(TaskResult.task_id == task.id))
    }
    return show(
        request,
        "hazards/task.html",
        status,
        task=task,
        enterprise=session.get(Enterprise, task.enterprise_id),
        checklist=session.get(Checklist, task.checklist_id),
        items=checks.items_of(session, task.checklist_id),
        results=results,
        choices=checks.RESULTS,
        errors=errors or {},
    )


@router.get("/tasks/{task_id}")
def task_page(
    task_id: int,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    return _task_page(request, session, who, task_id)


@router.post("/tasks/{task_id}")
def task_complete(
    task_id: int,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    data = dict((form or {}).items())
    results = {
        k[5:]: {"result": v, "note": data.get(f"note_{k[5:]}", "")}
        for k, v in data.items()
        if k.startswith("item_")
    }
    try:
        checks.complete_task(session, who, task_id, results, at)
    except Invalid as exc:
        session.rollback()
        return _task_page(request, session, who, task_id, 422, _errors(exc, request))
    return RedirectResponse(f"/hazards/tasks/{task_id}", status_code=303)
