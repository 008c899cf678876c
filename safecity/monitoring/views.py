"""Monitoring web pages: the alarm console and alarm detail (the sensor pages are the sensor
kind's generic ones, with the time-series panel of monitoring/sensor_panel.html)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import case, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from safecity.core.deps import db, now
from safecity.core.errors import Forbidden, Invalid
from safecity.core.scope import Principal
from safecity.hazards.workflow import GRADES, REPORTERS
from safecity.monitoring import alarms as alarm_service
from safecity.monitoring import context, links
from safecity.monitoring.alarms import STATUSES
from safecity.monitoring.catalog import TYPES
from safecity.monitoring.models import Alarm
from safecity.monitoring.rules import LEVEL_ZH, RULE_EN, RULE_ZH
from safecity.plugins import hook
from safecity.web.guard import form_data, web_user
from safecity.web.render import lang_of, render

router = APIRouter(include_in_schema=False)


@router.get("/monitoring/alarms")
def alarm_console(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    if not who.can_read():  # the public account: the live console is staff-only
        raise Forbidden("当前角色无权查看报警台", "your role may not view the alarm console")
    # Red first, then the latest: a storm of yellow alarms must not push the red ones away.
    rank = case(
        {lv: i for i, lv in enumerate(("red", "orange", "yellow", "blue"))},
        value=Alarm.level,
        else_=9,
    )
    rows = list(
        session.scalars(
            select(Alarm)
            .where(alarm_service.scope_clause(who), Alarm.open_key.is_not(None))
            .order_by(rank, Alarm.updated_at.desc())
            .limit(500)
        )
    )
    return render(
        request,
        "monitoring/alarms.html",
        alarms=rows,
        statuses=STATUSES,
        rule_zh=RULE_ZH,
        rule_en=RULE_EN,
        level_zh=LEVEL_ZH,
        types={k: (t.zh, t.en) for k, t in TYPES.items()},
        alarm_kinds={a.id: alarm_service.to_dict(a)["sensor_type"] for a in rows},
        can_handle=who.role in alarm_service.HANDLERS,
        can_open_hd=_can_open_hd(who),
        can_draft=_can_draft(who),
    )


def _can_draft(who: Principal) -> bool:
    """Whether the warnings capability (when installed) lets ``who`` draft a warning."""
    return bool(hook().safecity_may(who=who, step="warning.draft"))


def _can_open_hd(who: Principal) -> bool:
    return who.role in alarm_service.HANDLERS and who.role in REPORTERS


def _alarm_page(
    request: Request,
    session: Session,
    who: Principal,
    alarm: Alarm,
    status: int = 200,
    errors: list[str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    around = context.nearby(session, who, alarm)
    return render(
        request,
        "monitoring/alarm_detail.html",
        status,
        alarm=alarm,
        history=alarm_service.history(session, alarm),
        statuses=STATUSES,
        rule_zh=RULE_ZH,
        rule_en=RULE_EN,
        level_zh=LEVEL_ZH,
        grades=GRADES,
        can_open_hd=_can_open_hd(who) and alarm.status in alarm_service.LINKABLE,
        can_draft=_can_draft(who),
        division=context.division_name(session, alarm.division_code),
        nearby=around,
        people=context.people_within(around),
        radius_m=context.RADIUS_M,
        kind_names=context.KIND_NAMES,
        errors=errors or [],
        values=values or {},
    )


@router.get("/monitoring/alarms/{alarm_id}")
def alarm_detail(
    request: Request,
    alarm_id: int,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    return _alarm_page(request, session, who, alarm_service.get_alarm(session, who, alarm_id))


@router.post("/monitoring/alarms/{alarm_id}/hidden-danger")
def alarm_open_hidden_danger(
    request: Request,
    alarm_id: int,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    values = {k: str(v) for k, v in (form or {}).items() if k in ("title", "grade")}
    try:
        _alarm, hd = links.open_hidden_danger(
            session, who, alarm_id, {k: v for k, v in values.items() if v.strip()}, at
        )
    except Invalid as exc:
        session.rollback()
        alarm = alarm_service.get_alarm(session, who, alarm_id)
        en = lang_of(request) == "en"
        return _alarm_page(
            request, session, who, alarm, 422, [e.en if en else e.zh for e in exc.errors], values
        )
    session.commit()
    return RedirectResponse(f"/hazards/{hd.id}", status_code=303)
