"""The duty room: roster (排班) of who is on duty when, and handovers (交接班) between shifts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.core.clock import BEIJING
from safecity.core.errors import FieldError, Forbidden, Invalid
from safecity.core.models import User
from safecity.core.scope import Principal, division_prefix
from safecity.core.sql import code_within
from safecity.response import service as incidents
from safecity.response.models import DutyShift, Handover
from safecity.response.schemas import HandoverIn, ShiftIn


def roster(session: Session, who: Principal, start: datetime, end: datetime) -> list[DutyShift]:
    """Shifts inside the caller's division overlapping [start, end)."""
    if not who.can_read():
        return []
    return list(
        session.scalars(
            select(DutyShift)
            .where(
                code_within(DutyShift.division_code, who.prefix),
                DutyShift.starts_at < end,
                DutyShift.ends_at > start,
            )
            .order_by(DutyShift.starts_at, DutyShift.division_code)
        )
    )


def on_duty(session: Session, who: Principal, now: datetime) -> list[DutyShift]:
    return roster(session, who, now, now + timedelta(seconds=1))


def shift_dict(s: DutyShift, now: datetime) -> dict[str, Any]:
    start, end = incidents.as_utc(s.starts_at), incidents.as_utc(s.ends_at)
    return {
        "id": s.id,
        "division_code": s.division_code,
        "day": s.day.isoformat(),
        "shift": s.shift,
        "starts_at": start,
        "ends_at": end,
        "leader": s.leader,
        "officer_username": s.officer_username,
        "officer_name": s.officer_name,
        "phone": s.phone,
        "on_duty": bool(start and end and start <= incidents.as_utc(now) < end),  # type: ignore[operator]
    }


def add_shift(session: Session, who: Principal, data: ShiftIn, now: datetime) -> DutyShift:
    incidents.require(who, "roster")
    if not who.covers(data.division_code):
        raise Forbidden("只能为本辖区排班", "you may keep the roster of your own division only")
    errors: list[FieldError] = []
    if data.starts_at.tzinfo is None or data.ends_at.tzinfo is None:
        errors.append(FieldError("starts_at", "时间须带时区", "times must carry their time zone"))
    elif data.ends_at <= data.starts_at:
        errors.append(
            FieldError("ends_at", "结束时间须晚于开始时间", "the end must follow the start")
        )
    elif data.ends_at - data.starts_at > timedelta(hours=24):
        errors.append(
            FieldError("ends_at", "一个班次不超过24小时", "a shift lasts at most 24 hours")
        )
    officer = session.scalar(select(User).where(User.username == data.officer_username))
    if officer is None:
        errors.append(
            FieldError("officer_username", "值班员账号：不存在", "duty officer: no such account")
        )
    if errors:
        raise Invalid(errors)
    assert officer is not None
    start = incidents.as_utc(data.starts_at)
    clash = session.scalar(
        select(DutyShift.id).where(
            DutyShift.officer_username == data.officer_username,
            DutyShift.starts_at < data.ends_at,
            DutyShift.ends_at > data.starts_at,
        )
    )
    if clash is not None:
        raise Invalid(
            [
                FieldError(
                    "starts_at",
                    "该值班员在此时段已有班次",
                    "the officer already has a shift at that time",
                )
            ]
        )
    shift = DutyShift(
        division_code=data.division_code,
        day=start.astimezone(BEIJING).date(),  # type: ignore[union-attr]
        shift=data.shift,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        leader=data.leader,
        officer_username=officer.username,
        officer_name=officer.display_name or officer.username,
        phone=data.phone or (officer.phone or ""),
        created_at=now,
    )
    session.add(shift)
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="create",
        object_type="duty_shift",
        object_id=shift.id,
        before=None,
        after={k: str(v) for k, v in shift_dict(shift, now).items()},
        now=now,
    )
    return shift


def handovers(session: Session, who: Principal, limit: int = 30) -> list[Handover]:
    if not who.can_read():
        return []
    return list(
        session.scalars(
            select(Handover)
            .where(code_within(Handover.division_code, who.prefix))
            .order_by(Handover.at.desc(), Handover.id.desc())
            .limit(limit)
        )
    )


def handover_dict(h: Handover) -> dict[str, Any]:
    return {
        "id": h.id,
        "division_code": h.division_code,
        "at": incidents.as_utc(h.at),
        "from_username": h.from_username,
        "to_username": h.to_username,
        "notes": h.notes,
        "open_incidents": list(h.open_incidents or []),
    }


def hand_over(session: Session, who: Principal, data: HandoverIn, now: datetime) -> Handover:
    """交接班: the open incidents of the caller's division are written into the log."""
    incidents.require(who, "roster")
    to = session.scalar(select(User).where(User.username == data.to_username))
    if to is None or not to.active:
        raise Invalid(
            [FieldError("to_username", "接班人账号：不存在", "incoming officer: no such account")]
        )
    if to.username == who.username:
        raise Invalid([FieldError("to_username", "不能交给自己", "cannot hand over to yourself")])
    if not to.division_code.startswith(division_prefix(who.division_code)[:4]):
        raise Invalid(
            [
                FieldError(
                    "to_username",
                    "接班人不属于本值班室",
                    "the incoming officer is not of this duty room",
                )
            ]
        )
    open_now = [
        {
            "id": i.id,
            "title": i.title,
            "status": i.status,
            "grade": i.grade,
            "response_level": i.response_level,
        }
        for i in incidents.open_in_division(session, who, who.division_code)
    ]
    h = Handover(
        division_code=who.division_code,
        at=now,
        from_username=who.username,
        to_username=to.username,
        notes=data.notes,
        open_incidents=open_now,
    )
    session.add(h)
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="handover",
        object_type="duty_handover",
        object_id=h.id,
        before=None,
        after={"to": to.username, "open_incidents": [o["id"] for o in open_now]},
        now=now,
    )
    return h
