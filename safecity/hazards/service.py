"""Hidden-danger use cases: scoped list/detail, reporting, transitions with timeline, audit,
notifications and events."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import Point, shape
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, object_session

from safecity.core import audit, events, scope
from safecity.core.config import get_settings
from safecity.core.errors import FieldError, Forbidden, Invalid, NotFound, TooManyRequests
from safecity.core.models import User
from safecity.core.scope import Principal, Shape, division_prefix, is_valid_division_code
from safecity.hazards import final_counts, notify, rules, schemas
from safecity.hazards import workflow as wf
from safecity.hazards.models import Checklist, HiddenDanger, HiddenDangerEvent
from safecity.registry.models import Enterprise, GridCell

PUBLIC_REPORTS_PER_HOUR = 5
OBJECT_TYPE = "hidden_danger"


# ---------------------------------------------------------------- scope


SHAPE = Shape(
    division=HiddenDanger.division_code,
    enterprise=HiddenDanger.enterprise_id,
    industry=HiddenDanger.industry_code,
)


def scope_clause(who: Principal) -> Any:
    """WHERE clause of the hidden dangers the caller may see: the one scope rule, and a
    member of the public sees their own reports."""
    if who.role == "public":
        return HiddenDanger.reporter_user_id == who.user_id
    return scope.clause(who, SHAPE)


def visible(who: Principal, hd: HiddenDanger) -> bool:
    if who.role == "public":
        return hd.reporter_user_id == who.user_id
    return scope.sees(
        who, SHAPE, hd.division_code, enterprise_id=hd.enterprise_id, industry_code=hd.industry_code
    )


# ---------------------------------------------------------------- reading


def get(session: Session, who: Principal, hd_id: int, for_update: bool = False) -> HiddenDanger:
    hd = session.get(HiddenDanger, hd_id, with_for_update=for_update or None)
    if hd is None or not visible(who, hd):
        raise NotFound("隐患", "hidden danger")
    return hd


def timeline(session: Session, hd: HiddenDanger) -> list[HiddenDangerEvent]:
    return list(
        session.scalars(
            select(HiddenDangerEvent)
            .where(HiddenDangerEvent.hidden_danger_id == hd.id)
            .order_by(HiddenDangerEvent.at, HiddenDangerEvent.id)
        )
    )


def facts(hd: HiddenDanger) -> wf.Facts:
    return wf.Facts(
        hd.status,
        hd.grade,
        hd.enterprise_id,
        hd.supervisor_division_code,
        hd.deadline,
        hd.submitted_at,
        rectified_by(hd),
    )


def rectified_by(hd: HiddenDanger) -> str | None:
    """Who last submitted the rectification for acceptance — None when the city has
    separation of duties off (SAFECITY_SEPARATION_OF_DUTIES=false) or nobody has yet."""
    session = object_session(hd)
    if not get_settings().separation_of_duties or session is None or hd.id is None:
        return None
    return session.scalar(
        select(HiddenDangerEvent.actor)
        .where(
            HiddenDangerEvent.hidden_danger_id == hd.id,
            HiddenDangerEvent.action == "submit_acceptance",
        )
        .order_by(HiddenDangerEvent.at.desc(), HiddenDangerEvent.id.desc())
        .limit(1)
    )


def actor(who: Principal) -> wf.Actor:
    return wf.Actor(who.role, who.division_code, who.enterprise_id, who.username)


def to_dict(hd: HiddenDanger, now: datetime | None = None) -> dict[str, Any]:
    out = {
        c.name: getattr(hd, c.name)
        for c in HiddenDanger.__table__.columns
        if c.name not in ("reporter_ip", "tracking_hash")
    }
    for k, v in list(out.items()):
        if isinstance(v, datetime):
            out[k] = wf.as_utc(v).isoformat()
    out["status_label"] = wf.STATES[hd.status][0]
    # Overdue: the responsible party still owes work after the deadline (not once handed in).
    out["overdue"] = bool(
        now
        and hd.status in wf.ON_THE_CLOCK
        and hd.deadline is not None
        and wf.as_utc(hd.deadline) < wf.as_utc(now)
    )
    return out


def event_dict(e: HiddenDangerEvent) -> dict[str, Any]:
    return {
        "action": e.action,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "actor": e.actor,
        "actor_role": e.actor_role,
        "at": wf.as_utc(e.at).isoformat(),
        "note": e.note,
        "attachments": e.attachments or [],
        "data": e.data,
    }


# ---------------------------------------------------------------- reporting


def ip_key(ip: str | None) -> str | None:
    # Only a digest of the address is kept: enough to rate-limit, not to identify the reporter.
    return hashlib.sha256(f"safecity-hd:{ip}".encode()).hexdigest() if ip else None


def check_rate(session: Session, ip: str | None, now: datetime) -> None:
    key = ip_key(ip)
    if key is None:
        return
    since = now - timedelta(hours=1)
    stmt = (
        select(HiddenDanger.reported_at)
        .where(HiddenDanger.reporter_ip == key, HiddenDanger.reported_at >= since)
        .order_by(HiddenDanger.reported_at)
    )
    recent = list(session.scalars(stmt))
    if len(recent) >= PUBLIC_REPORTS_PER_HOUR:
        wait = wf.as_utc(recent[0]) + timedelta(hours=1) - wf.as_utc(now)
        raise TooManyRequests(max(1, int(wait.total_seconds())))


def report(
    session: Session,
    who: Principal | None,
    data: dict[str, Any],
    photos: list[str],
    now: datetime,
    client_ip: str | None = None,
) -> HiddenDanger:
    """A new hidden danger in state `reported` (public reports land in the triage queue)."""
    anonymous = who is None or who.role == "public"
    if anonymous:
        check_rate(session, client_ip, now)
    values = schemas.validate_report(data)
    place = _place(session, who, values)
    source = values.get("source") or rules.default_source(who.role if who else "public")
    if anonymous:
        source = "public_report"
    hd = HiddenDanger(
        title=values["title"],
        description=values["description"],
        category=values["category"] or "other",
        grade=None,
        source=source,
        status=wf.REPORTED,
        photos=photos,
        reporter_user_id=who.user_id if who else None,
        reporter_name=values.get("reporter_name")
        or (who.display_name or who.username if who else ""),
        reporter_phone=values.get("reporter_phone") or "",
        reporter_ip=ip_key(client_ip) if anonymous else None,
        reported_at=now,
        month=rules.month_of(now),
        updated_at=now,
        escalation_level=0,
        **place,
    )
    if values.get("suggested_grade") in wf.GRADES:
        hd.grade_basis = f"上报人建议：{wf.GRADES[values['suggested_grade']][0]}"
    session.add(hd)
    session.flush()
    _record(
        session,
        hd,
        who,
        "report",
        None,
        wf.REPORTED,
        values.get("description", ""),
        photos,
        None,
        now,
    )
    _notify_assessors(session, hd, now)
    return hd


def _place(session: Session, who: Principal | None, v: dict[str, Any]) -> dict[str, Any]:
    """Where the danger is: enterprise, else grid cell, else the grid cell under the point."""
    out: dict[str, Any] = {
        "lon": v.get("lon"),
        "lat": v.get("lat"),
        "address": v.get("address") or "",
        "enterprise_id": None,
        "grid_cell_id": None,
        "industry_section": None,
        "industry_code": None,
        "risk_point_id": v.get("risk_point_id"),
    }
    base: str | None = None
    if v.get("enterprise_id"):
        ent = session.get(Enterprise, v["enterprise_id"])
        if ent is None or ent.archived:
            raise Invalid([FieldError("enterprise_id", "企业：不存在", "enterprise: not found")])
        if who is not None and who.role == "enterprise_officer" and ent.id != who.enterprise_id:
            raise Forbidden(
                "企业安全员只能上报本企业隐患", "you may only report for your enterprise"
            )
        industry = who.liaison_industry if who is not None else None
        if industry and not scope.industry_matches(industry, ent.industry_code):
            # the danger would land outside the liaison's own scope (the list would not show it)
            raise Forbidden(
                "行业部门联络员只能上报本行业企业的隐患",
                "a department liaison may only report for enterprises of their industry",
            )
        out.update(
            enterprise_id=ent.id,
            industry_section=ent.industry_section,
            industry_code=ent.industry_code,
            address=out["address"] or ent.address,
        )
        if out["lon"] is None or out["lat"] is None:
            out["lon"], out["lat"] = ent.lon, ent.lat
        base = ent.division_code
    cell = None
    if v.get("grid_cell_id"):
        cell = session.get(GridCell, v["grid_cell_id"])
        if cell is None:
            raise Invalid([FieldError("grid_cell_id", "网格：不存在", "grid cell: not found")])
    elif out["lon"] is not None and out["lat"] is not None:
        cell = locate_cell(session, float(out["lon"]), float(out["lat"]))
    if cell is not None:
        out["grid_cell_id"] = cell.id
        base = base or cell.division_code
    code = str(v.get("division_code") or "").strip()
    if code:
        if not is_valid_division_code(code) or (base and not code.startswith(base[:6])):
            raise Invalid(
                [
                    FieldError(
                        "division_code",
                        "行政区划代码：无效或与位置不符",
                        "division code: invalid or not where the danger is",
                    )
                ]
            )
        base = code
    if not base:
        raise Invalid(
            [
                FieldError(
                    "lon",
                    "位置：请选择企业、网格或在地图上标出位置",
                    "location: choose an enterprise, a grid cell or a map point",
                )
            ]
        )
    out["division_code"] = base
    if who is not None and who.role != "public" and not who.covers(base):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    return out


def locate_cell(session: Session, lon: float, lat: float) -> GridCell | None:
    """The grid cell whose polygon holds the point (candidates by centre distance first)."""
    near = session.scalars(
        select(GridCell).where(
            GridCell.archived.is_(False),
            GridCell.lon.between(lon - 0.05, lon + 0.05),
            GridCell.lat.between(lat - 0.05, lat + 0.05),
        )
    )
    point = Point(lon, lat)
    for cell in near:
        if cell.geometry and shape(cell.geometry).covers(point):
            return cell
    return None


# ---------------------------------------------------------------- transitions


def transition(
    session: Session,
    who: Principal,
    hd_id: int,
    action: str,
    data: dict[str, Any],
    attachments: list[str],
    now: datetime,
) -> HiddenDanger:
    """Take one step of the closed loop; a refused step changes nothing."""
    hd = session.get(HiddenDanger, hd_id, with_for_update=True)
    if hd is None:
        raise NotFound("隐患", "hidden danger")
    if not visible(who, hd):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    if data.get("responsible_username"):
        _check_username(session, str(data["responsible_username"]))
    outcome = wf.decide(facts(hd), action, actor(who), {**data, "attachments": attachments}, now)
    before = to_dict(hd)
    from_status = hd.status
    for name, value in outcome.changes.items():
        setattr(hd, name, value)
    hd.status = outcome.to_status
    hd.updated_at = now
    if "deadline" in outcome.changes:
        hd.escalation_level = 0  # a new deadline starts the reminders again
    # None unless the responsible party owes work against the deadline in the new state.
    hd.next_escalation_at = rules.next_escalation(hd.deadline, hd.escalation_level, hd.status)
    if hd.status == wf.CLOSED:
        hd.days_to_close = round(
            (wf.as_utc(now) - wf.as_utc(hd.reported_at)).total_seconds() / 86400, 2
        )
        events.publish_after_commit(session, events.HiddenDangerClosed(now, str(hd.id)))
    session.flush()
    if hd.status in wf.FINAL:
        final_counts.count_final(session, hd)
    note = str(data.get("note") or "")
    _record(
        session,
        hd,
        who,
        action,
        from_status,
        hd.status,
        note,
        attachments,
        {k: _plain(v) for k, v in outcome.changes.items()},
        now,
        before,
    )
    _notify_transition(session, hd, action, now)
    return hd


def _check_username(session: Session, username: str) -> None:
    if session.scalar(select(User.id).where(User.username == username)) is None:
        raise Invalid(
            [
                FieldError(
                    "responsible_username", "责任人账号：不存在", "responsible user: no such user"
                )
            ]
        )


def _plain(value: Any) -> Any:
    return wf.as_utc(value).isoformat() if isinstance(value, datetime) else value


def _record(
    session: Session,
    hd: HiddenDanger,
    who: Principal | None,
    action: str,
    from_status: str | None,
    to_status: str,
    note: str,
    attachments: list[str],
    data: dict[str, Any] | None,
    now: datetime,
    before: dict[str, Any] | None = None,
) -> None:
    name = who.username if who else "anonymous"
    session.add(
        HiddenDangerEvent(
            hidden_danger_id=hd.id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor=name,
            actor_role=who.role if who else "public",
            at=now,
            note=note,
            attachments=attachments or None,
            data=data,
        )
    )
    audit.record(
        session,
        actor=name,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=hd.id,
        before=before,
        after=to_dict(hd),
        now=now,
    )
    events.publish(events.ObjectChanged(now, OBJECT_TYPE, str(hd.id), action, hd.division_code))


# ---------------------------------------------------------------- who hears about it


def users_where(session: Session, *clauses: Any) -> list[User]:
    return list(session.scalars(select(User).where(User.active.is_(True), *clauses)))


def government_users(
    session: Session, hd: HiddenDanger, roles: frozenset[str] | set[str]
) -> list[User]:
    """Users of these roles whose scope covers the hidden danger."""
    return [
        u
        for u in users_where(session, User.role.in_(sorted(roles)))
        if visible(principal_of(u), hd)
    ]


def principal_of(u: User) -> Principal:
    return Principal(
        u.id, u.username, u.role, u.division_code, u.enterprise_id, u.industry, u.display_name
    )


def responsible_users(session: Session, hd: HiddenDanger) -> list[User]:
    if hd.responsible_username:
        return users_where(session, User.username == hd.responsible_username)
    if hd.enterprise_id is not None:
        return users_where(
            session, User.role == "enterprise_officer", User.enterprise_id == hd.enterprise_id
        )
    return [
        u
        for u in users_where(session, User.role == "grid_member")
        if hd.division_code.startswith(division_prefix(u.division_code))
    ]


def supervisor_users(session: Session, hd: HiddenDanger) -> list[User]:
    return users_where(
        session,
        User.role.in_(sorted(wf.SUPERVISORS - {"admin"})),
        User.division_code == (hd.supervisor_division_code or "-"),
    )


def _message(hd: HiddenDanger, kind: str, zh: str) -> tuple[str, str]:
    return kind, f"【隐患 #{hd.id}】{hd.title}：{zh}"


def _send(
    session: Session,
    users: list[User],
    hd: HiddenDanger,
    kind: str,
    title: str,
    now: datetime,
    body: str = "",
) -> None:
    seen: set[int] = set()
    msgs = []
    for u in users:
        if u.id not in seen:
            seen.add(u.id)
            msgs.append(notify.Message(u.id, kind, title, body, f"/hazards/{hd.id}"))
    notify.deliver(session, msgs, now)


def _notify_assessors(session: Session, hd: HiddenDanger, now: datetime) -> None:
    users = government_users(session, hd, {"district_officer", "inspector"})
    # The city's own district officers do not assess; its counties' and streets' do.
    city = get_settings().city_code
    users = [u for u in users if u.division_code != city or u.role == "inspector"]
    _send(session, users, hd, "reported", _message(hd, "reported", "新上报，待评估认定")[1], now)


_TRANSITION_TEXT = {
    "register": "已登记，请按期整改",
    "submit_plan": "整改方案已提交",
    "approve_plan": "整改方案已批准，请开始整改",
    "reject_plan": "整改方案被退回",
    "submit_acceptance": "整改完成，申请验收",
    "accept": "已验收销号",
    "return": "验收未通过，退回整改",
}


def _notify_transition(session: Session, hd: HiddenDanger, action: str, now: datetime) -> None:
    text = _TRANSITION_TEXT.get(action)
    if text is None:
        return
    title = _message(hd, action, text)[1]
    if action in ("register", "approve_plan", "reject_plan", "accept", "return"):
        users = responsible_users(session, hd)
    elif action == "submit_plan" and hd.grade == wf.MAJOR:
        users = supervisor_users(session, hd)
    elif action == "submit_acceptance":
        users = (
            supervisor_users(session, hd)
            if hd.grade == wf.MAJOR
            else government_users(session, hd, {"district_officer", "inspector"})
        )
    else:
        return
    _send(session, users, hd, action, title, now)


def available_actions(hd: HiddenDanger, who: Principal) -> list[str]:
    return wf.available(facts(hd), actor(who)) if visible(who, hd) else []


def barred_by_duties(hd: HiddenDanger, who: Principal) -> tuple[str, str] | None:
    """Why separation of duties withholds a step from this user (shown on the page)."""
    return wf.barred(facts(hd), actor(who)) if visible(who, hd) else None


def open_counts(session: Session, who: Principal, now: datetime) -> dict[str, int]:
    """The open hidden dangers the caller may see: all, major, overdue (deadline passed) and
    overdue major (the figures of the city's vital signs), in one query."""
    major = HiddenDanger.grade == "major"
    overdue = and_(HiddenDanger.deadline.is_not(None), HiddenDanger.deadline < now)

    def count(*when: Any) -> Any:
        return func.coalesce(func.sum(case((and_(*when), 1), else_=0)), 0)

    row = session.execute(
        select(
            func.count(HiddenDanger.id), count(major), count(overdue), count(major, overdue)
        ).where(scope_clause(who), HiddenDanger.status.in_(wf.OPEN))
    ).one()
    return dict(zip(("open", "open_major", "overdue", "overdue_major"), map(int, row), strict=True))


def counts_by_status(session: Session, who: Principal) -> dict[str, int]:
    rows = session.execute(
        select(HiddenDanger.status, func.count())
        .where(scope_clause(who))
        .group_by(HiddenDanger.status)
    )
    return {s: n for s, n in rows}


# ---------------------------------------------------------------- for other capabilities


def enterprise_counts(
    session: Session, enterprise_ids: list[int], now: datetime
) -> dict[int, tuple[int, int]]:
    """Per enterprise: (open major hidden dangers, hidden dangers on the clock past their
    deadline), for another capability's rules (enforcement's supervision classes); an
    enterprise with neither is left out. Not scoped: the caller has scoped the enterprises."""
    open_major = and_(HiddenDanger.grade == wf.MAJOR, HiddenDanger.status.in_(sorted(wf.OPEN)))
    overdue = and_(HiddenDanger.status.in_(sorted(wf.ON_THE_CLOCK)), HiddenDanger.deadline < now)
    out: dict[int, tuple[int, int]] = {}
    for start in range(0, len(enterprise_ids), 900):
        chunk = enterprise_ids[start : start + 900]
        rows = session.execute(
            select(
                HiddenDanger.enterprise_id,
                func.sum(case((open_major, 1), else_=0)),
                func.sum(case((overdue, 1), else_=0)),
            )
            .where(HiddenDanger.enterprise_id.in_(chunk), or_(open_major, overdue))
            .group_by(HiddenDanger.enterprise_id)
        )
        out.update({ent: (int(major), int(late)) for ent, major, late in rows})
    return out


def checklist_name(session: Session, checklist_id: int) -> str | None:
    """A checklist's name (an inspection record names the checklist it followed)."""
    return session.scalar(select(Checklist.name).where(Checklist.id == checklist_id))
