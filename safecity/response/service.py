"""Incident use cases: reception (接报), grading and regrading, merging, upward reports with
their clocks, the response (start, adjust, end), closing; scoped, audited, logged per incident.

Plans, tasks and dispatch live in ``command``; the duty roster in ``duty``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defer

from safecity.core import audit, events, scope
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal, Shape, division_prefix
from safecity.core.sql import code_within
from safecity.registry.models import Division, Enterprise, GridCell
from safecity.response import classes, clocks, duplicates, grading, levels, notify
from safecity.response import workflow as wf
from safecity.response.errors import ResponseInputError
from safecity.response.models import (
    GradeChange,
    GradingTableRow,
    Incident,
    TimelineEntry,
    UpwardReport,
)
from safecity.response.schemas import FollowupIn, IncidentIn

OBJECT_TYPE = "incident"
MAX_PAGE_SIZE = 200
CASUALTIES = ("deaths", "missing", "serious_injuries")
COUNTS = (
    "deaths",
    "missing",
    "serious_injuries",
    "trapped",
    "affected_population",
    "relocated",
)
DUPLICATE_LOOKBACK = timedelta(hours=2)

SHAPE = Shape(
    division=Incident.division_code,
    enterprise=Incident.enterprise_id,
    industry=Incident.industry_code,
)
# The same rule over ``division_code || ''``: no index can serve that term, so for a city-wide
# reader (whose division holds nearly every row) the planner walks the list's order index and
# stops after one page instead of sorting the whole city (SQLite: 350 ms → 5 ms at 100,000).
_SCAN_SHAPE = Shape(
    division=Incident.division_code.concat(""),
    enterprise=Incident.enterprise_id,
    industry=Incident.industry_code,
)


# ---------------------------------------------------------------- small helpers


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC; PostgreSQL aware: one shape for comparisons."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def invalid_from(exc: ResponseInputError, prefix: str = "") -> Invalid:
    return Invalid([FieldError(prefix + e.field, e.message_zh, e.message_en) for e in exc.errors])


def require(who: Principal, action: str) -> None:
    if not wf.may(who.role, action):
        raise Forbidden(
            f"当前角色无权执行：{wf.ACTIONS.get(action, (action,))[0]}",
            f"your role may not {action.replace('_', ' ')}",
        )


def scope_clause(who: Principal) -> Any:
    return scope.clause(who, SHAPE)


def visible(who: Principal, inc: Incident) -> bool:
    return scope.sees(
        who,
        SHAPE,
        inc.division_code,
        enterprise_id=inc.enterprise_id,
        industry_code=inc.industry_code,
    )


def get(session: Session, who: Principal, incident_id: int, for_update: bool = False) -> Incident:
    """The incident, or 404 when it does not exist or lies outside the caller's scope."""
    inc = session.get(Incident, incident_id, with_for_update=for_update or None)
    if inc is None or not visible(who, inc):
        raise NotFound("事件", "incident")
    return inc


def type_names(type_key: str) -> tuple[str, str]:
    t = classes.get(type_key)
    return (t.zh, t.en) if t else (type_key, type_key)


def grade_of(inc: Incident) -> grading.Grade | None:
    return grading.parse_grade(inc.grade) if inc.grade else None


def counts_of(inc: Incident) -> dict[str, Any]:
    out: dict[str, Any] = {k: int(getattr(inc, k) or 0) for k in COUNTS}
    out["direct_loss_yuan"] = str(Decimal(inc.direct_loss_yuan or 0).normalize())
    if inc.quantities:
        out["quantities"] = dict(inc.quantities)
    return out


def to_dict(inc: Incident, light: bool = False) -> dict[str, Any]:
    """The incident as the API answers; ``light`` leaves out the grade explanation (lists)."""
    zh, en = type_names(inc.type_key)
    g = grade_of(inc)
    return {
        "id": inc.id,
        "title": inc.title,
        "description": inc.description,
        "type_key": inc.type_key,
        "type_zh": zh,
        "type_en": en,
        "class_key": inc.class_key,
        "production_safety": inc.production_safety,
        "is_drill": inc.is_drill,
        "source": inc.source,
        "source_ref": inc.source_ref,
        "alarm_id": inc.alarm_id,
        "sensor_id": inc.sensor_id,
        "status": inc.status,
        "status_zh": wf.STATES[inc.status][0],
        "merged_into_id": inc.merged_into_id,
        "occurred_at": as_utc(inc.occurred_at),
        "received_at": as_utc(inc.received_at),
        "received_by": inc.received_by,
        "reporter_name": inc.reporter_name,
        "reporter_phone": inc.reporter_phone,
        "reporter_org": inc.reporter_org,
        "division_code": inc.division_code,
        "lon": inc.lon,
        "lat": inc.lat,
        "address": inc.address,
        "enterprise_id": inc.enterprise_id,
        **{k: int(getattr(inc, k) or 0) for k in COUNTS},
        "direct_loss_yuan": str(Decimal(inc.direct_loss_yuan or 0).quantize(Decimal("0.01"))),
        "grade": g.as_dict() if g else None,
        "grade_explanation": None if light else inc.grade_explanation,
        "plan_id": inc.plan_id,
        "response_level": inc.response_level,
        "response_started_at": as_utc(inc.response_started_at),
        "response_ended_at": as_utc(inc.response_ended_at),
        "closed_at": as_utc(inc.closed_at),
        "summary": inc.summary,
        "review": inc.review,
    }


def audit_view(inc: Incident) -> dict[str, Any]:
    out = to_dict(inc)
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in out.items()}


def log(
    session: Session,
    inc: Incident,
    who: Principal | None,
    action: str,
    now: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """One line of the incident's timeline."""
    session.add(
        TimelineEntry(
            incident_id=inc.id,
            at=now,
            action=action,
            actor=who.username if who else "system",
            actor_role=who.role if who else "system",
            note=note,
            data=data,
        )
    )


def record(
    session: Session,
    inc: Incident,
    who: Principal,
    action: str,
    before: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Audit log entry and the generic change event of every write."""
    audit.record(
        session,
        actor=who.username,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=inc.id,
        before=before,
        after=audit_view(inc),
        now=now,
    )
    events.publish_after_commit(
        session, events.ObjectChanged(now, OBJECT_TYPE, str(inc.id), action, inc.division_code)
    )


# ---------------------------------------------------------------- list


@dataclass
class Filters:
    q: str | None = None
    status: str | None = None
    grade: str | None = None
    class_key: str | None = None
    division: str | None = None
    open_only: bool = False
    drills: bool | None = None
    since: datetime | None = None
    page: int = 1
    size: int = 50


@dataclass
class Page:
    items: list[Incident]
    total: int
    page: int
    size: int


def list_incidents(session: Session, who: Principal, f: Filters, count: bool = True) -> Page:
    """Most severe first (grade), then the newest; merged duplicates are left out unless asked."""
    size, page = max(1, min(f.size, MAX_PAGE_SIZE)), max(1, f.page)
    wide = len(who.prefix) <= 4 and not f.division and not f.status
    where: list[Any] = [scope.clause(who, _SCAN_SHAPE) if wide else scope_clause(who)]
    if f.status:
        where.append(Incident.status == f.status)
    else:
        where.append(Incident.status != wf.MERGED)
    if f.grade:
        where.append(Incident.grade == f.grade)
    if f.class_key:
        where.append(Incident.class_key == f.class_key)
    if f.division:
        where.append(code_within(Incident.division_code, division_prefix(f.division)))
    if f.open_only:
        where.append(Incident.status.in_(sorted(wf.OPEN)))
    if f.drills is not None:
        where.append(Incident.is_drill.is_(f.drills))
    if f.since is not None:
        where.append(Incident.received_at >= f.since)
    if f.q:
        needle = f"%{f.q.strip()}%"
        where.append(
            or_(
                Incident.title.ilike(needle),
                Incident.address.ilike(needle),
                Incident.description.ilike(needle),
            )
        )
    # The count reads the covering (division, status) index, except for the few open ones
    counted = where if wide and f.open_only else [scope_clause(who), *where[1:]]
    total = (
        session.scalar(select(func.count()).select_from(Incident).where(*counted)) or 0
        if count
        else -1
    )
    items = session.scalars(
        select(Incident)
        .options(defer(Incident.grade_explanation))  # lists never show it; to_dict(light)
        .where(*where)
        .order_by(Incident.grade_rank.desc(), Incident.received_at.desc(), Incident.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    return Page(list(items), total, page, size)


def counts_by_status(session: Session, who: Principal) -> dict[str, int]:
    rows = session.execute(
        select(Incident.status, func.count()).where(scope_clause(who)).group_by(Incident.status)
    )
    return {s: n for s, n in rows}


# ---------------------------------------------------------------- grading


def grading_table(session: Session) -> grading.GradingTable:
    """The city's table for incidents other than production-safety accidents (an example
    until the city writes its own)."""
    row = session.get(GradingTableRow, 1)
    return grading.GradingTable.from_dict(row.data if row else grading.EXAMPLE_CITY_TABLE)


def set_grading_table(
    session: Session, who: Principal, data: dict[str, Any], now: datetime
) -> grading.GradingTable:
    require(who, "grading_table")
    try:
        table = grading.GradingTable.from_dict(data)
    except ResponseInputError as exc:
        raise invalid_from(exc) from None
    row = session.get(GradingTableRow, 1)
    before = row.data if row else None
    if row is None:
        row = GradingTableRow(id=1, data=data, updated_by=who.username, updated_at=now)
        session.add(row)
    else:
        row.data, row.updated_by, row.updated_at = data, who.username, now
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="update",
        object_type="grading_table",
        object_id=1,
        before=before,
        after=data,
        now=now,
    )
    return table


def quantities(inc: Incident) -> dict[str, Any]:
    """The named quantities a grading rule may ask for, from the incident's counts."""
    q: dict[str, Any] = {k: int(getattr(inc, k) or 0) for k in COUNTS}
    q["direct_loss_yuan"] = Decimal(inc.direct_loss_yuan or 0)
    q["deaths_and_missing"] = q["deaths"] + q["missing"]
    q["evacuated"] = q["relocated"]
    q.update(inc.quantities or {})
    return q


def compute_grade(session: Session, inc: Incident) -> grading.GradeResult:
    try:
        if inc.production_safety:
            q = quantities(inc)
            return grading.grade_accident(q["deaths"], q["serious_injuries"], q["direct_loss_yuan"])
        return grading.grade_incident(
            inc.type_key, quantities(inc), production_safety=False, table=grading_table(session)
        )
    except ResponseInputError as exc:
        raise invalid_from(exc) from None


def _apply_grade(
    session: Session,
    inc: Incident,
    result: grading.GradeResult,
    who: Principal,
    reason: str,
    now: datetime,
    explanation: dict[str, Any] | None = None,
) -> None:
    previous = inc.grade
    inc.grade = result.grade.key
    inc.grade_rank = result.grade.rank
    inc.grade_explanation = result.as_dict()
    expl = explanation or result.as_dict()
    session.add(
        GradeChange(
            incident_id=inc.id,
            at=now,
            actor=who.username,
            reason=reason,
            previous=previous,
            grade=result.grade.key,
            counts=counts_of(inc),
            explanation={"zh": expl["explanation_zh"], "en": expl["explanation_en"]},
        )
    )
    if previous != inc.grade:
        events.publish_after_commit(
            session,
            events.IncidentGraded(now, inc.id, inc.grade, previous, inc.division_code),
        )


def grade_history(session: Session, inc: Incident) -> list[GradeChange]:
    return list(
        session.scalars(
            select(GradeChange)
            .where(GradeChange.incident_id == inc.id)
            .order_by(GradeChange.at, GradeChange.id)
        )
    )


# ---------------------------------------------------------------- reception


def _division(session: Session, who: Principal, data: IncidentIn) -> tuple[str, dict[str, Any]]:
    """Where the incident is: the code given, else the enterprise's, else the grid cell under
    the point; the place must lie inside the receiver's division (403 otherwise)."""
    extra: dict[str, Any] = {"enterprise_id": None, "industry_code": None}
    base: str | None = None
    if data.enterprise_id is not None:
        ent = session.get(Enterprise, data.enterprise_id)
        if ent is None or ent.archived:
            raise Invalid(
                [FieldError("enterprise_id", "涉事企业：不存在", "enterprise: not found")]
            )
        extra.update(enterprise_id=ent.id, industry_code=ent.industry_code)
        if data.lon is None or data.lat is None:
            extra.update(lon=ent.lon, lat=ent.lat)
        extra["address"] = data.address or ent.address
        base = ent.division_code
    code = (data.division_code or "").strip()
    if code:
        if session.get(Division, code) is None and not (
            len(code) > 6 and session.get(Division, code[:6]) is not None
        ):
            raise Invalid(
                [FieldError("division_code", "行政区划代码：不存在", "division code: not found")]
            )
        if base and not code.startswith(base[:6]) and not base.startswith(division_prefix(code)):
            raise Invalid(
                [
                    FieldError(
                        "division_code",
                        "行政区划代码：与涉事企业所在地不符",
                        "division code: not where the enterprise is",
                    )
                ]
            )
        base = base if base and base.startswith(division_prefix(code)) else code
    if base is None and data.lon is not None and data.lat is not None:
        cell = _cell_at(session, data.lon, data.lat)
        base = cell.division_code if cell else None
    if base is None:
        raise Invalid(
            [
                FieldError(
                    "division_code",
                    "事发地点：请填写行政区划、选择涉事企业或在地图上标出位置",
                    "place: give a division, an enterprise or a point on the map",
                )
            ]
        )
    if not who.covers(base):
        raise Forbidden("事发地点超出您的管辖范围", "the place is outside your jurisdiction")
    return base, extra


def _cell_at(session: Session, lon: float, lat: float) -> GridCell | None:
    from shapely.geometry import Point, shape  # noqa: PLC0415 shapely only when a point is placed

    point = Point(lon, lat)
    near = session.scalars(
        select(GridCell).where(
            GridCell.archived.is_(False),
            GridCell.lon.between(lon - 0.05, lon + 0.05),
            GridCell.lat.between(lat - 0.05, lat + 0.05),
        )
    )
    for cell in near:
        if cell.geometry and shape(cell.geometry).covers(point):
            return cell
    return None


def _check_counts(session: Session, division_code: str, counts: dict[str, Any]) -> None:
    """People harmed cannot outnumber the people of the place (the division's population)."""
    people = sum(int(counts.get(k) or 0) for k in ("deaths", "missing", "serious_injuries"))
    if not people:
        return
    population = None
    for code in (division_code, division_code[:6]):
        div = session.get(Division, code)
        if div is not None and div.population:
            population = div.population
            break
    if population is not None and people > population:
        raise Invalid(
            [
                FieldError(
                    "deaths",
                    f"死亡、失踪和重伤人数合计 {people} 超过事发地人口 {population}",
                    f"deaths, missing and serious injuries ({people}) exceed the population "
                    f"of the place ({population})",
                )
            ]
        )


def _check_time(name: str, value: datetime, now: datetime, label: tuple[str, str]) -> datetime:
    value = as_utc(value)  # type: ignore[assignment]
    if value > as_utc(now):  # type: ignore[operator]
        raise Invalid(
            [
                FieldError(
                    name, f"{label[0]}：不能晚于当前时间", f"{label[1]}: cannot be in the future"
                )
            ]
        )
    return value


def received_level(who: Principal) -> str:
    """The level of government whose duty room took the call (city codes end in 00)."""
    code = who.division_code
    if code.endswith("0000"):
        return "province"
    return "city" if code.endswith("00") and len(code) == 6 else "county"


def receive(
    session: Session, who: Principal, data: IncidentIn, now: datetime
) -> tuple[Incident, list[dict[str, Any]]]:
    """A new incident (接报), graded at once as a proposal; possible duplicates returned."""
    require(who, "receive")
    occurred = _check_time("occurred_at", data.occurred_at, now, ("发生时间", "occurred_at"))
    if data.production_safety and not classes.is_production_safety_candidate(data.type_key):
        t = classes.get(data.type_key)
        raise Invalid(
            [
                FieldError(
                    "production_safety",
                    f"{t.zh if t else data.type_key}不适用《生产安全事故报告和调查处理条例》",
                    f"Decree 493 does not apply to {t.en if t else data.type_key}",
                )
            ]
        )
    division_code, extra = _division(session, who, data)
    counts = data.model_dump(include=set(COUNTS) | {"direct_loss_yuan", "quantities"})
    _check_counts(session, division_code, counts)
    inc = Incident(
        title=data.title,
        description=data.description,
        type_key=data.type_key,
        class_key=classes.class_of(data.type_key).key,
        production_safety=data.production_safety,
        is_drill=data.is_drill,
        source=data.source,
        source_ref=data.source_ref,
        alarm_id=data.alarm_id,
        status=wf.RECEIVED,
        occurred_at=occurred,
        received_at=now,
        received_by=who.username,
        received_level=received_level(who),
        reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone,
        reporter_org=data.reporter_org,
        division_code=division_code,
        lon=extra.get("lon", data.lon),
        lat=extra.get("lat", data.lat),
        address=extra.get("address", data.address),
        enterprise_id=extra["enterprise_id"],
        industry_code=extra["industry_code"],
        **{k: counts[k] for k in COUNTS},
        direct_loss_yuan=counts["direct_loss_yuan"],
        quantities=counts.get("quantities"),
        grade_rank=0,
        created_at=now,
        updated_at=now,
    )
    session.add(inc)
    session.flush()
    result = compute_grade(session, inc)
    _apply_grade(session, inc, result, who, "reception", now)
    zh, en = result.explanation()
    log(
        session,
        inc,
        who,
        "receive",
        now,
        f"{wf.SOURCES[inc.source][0]}：{inc.title}；初判 {zh}",
        {"source": inc.source, "source_ref": inc.source_ref, "grade": inc.grade},
    )
    record(session, inc, who, "receive", None, now)
    notify.tell_roles(
        session,
        {"commander", "duty_officer", "district_officer"},
        inc.division_code,
        f"【突发事件 #{inc.id}】{inc.title}：已接报（初判{result.grade.zh}）",
        f"/response/incidents/{inc.id}",
        now,
        "incident_reported",
        except_username=who.username,
    )
    events.publish_after_commit(
        session,
        events.IncidentReported(
            now, inc.id, inc.type_key, inc.division_code, inc.lon, inc.lat, inc.alarm_id
        ),
    )
    return inc, find_duplicates(session, who, inc)


def find_duplicates(session: Session, who: Principal, inc: Incident) -> list[dict[str, Any]]:
    """Open incidents this one may repeat (same or refined type, nearby, minutes apart)."""
    if inc.lon is None or inc.lat is None or inc.status not in (wf.RECEIVED, wf.GRADED):
        return []
    at = as_utc(inc.occurred_at)
    assert at is not None
    rows = session.scalars(
        select(Incident).where(
            scope_clause(who),
            Incident.id != inc.id,
            Incident.status.in_(sorted(wf.OPEN)),
            Incident.lon.is_not(None),
            Incident.occurred_at.between(at - DUPLICATE_LOOKBACK, at + DUPLICATE_LOOKBACK),
            Incident.lon.between(inc.lon - 0.02, inc.lon + 0.02),
            Incident.lat.between(inc.lat - 0.02, inc.lat + 0.02),
        )
    )

    def report(i: Incident) -> duplicates.Report:
        return duplicates.Report(str(i.id), i.type_key, i.lat, i.lon, as_utc(i.occurred_at))  # type: ignore[arg-type]

    found = duplicates.find_candidates(report(inc), [report(r) for r in rows])
    out = []
    for c in found:
        d = c.as_dict()
        d["existing_id"] = int(d["existing_id"])
        out.append(d)
    return out


def merge(
    session: Session, who: Principal, incident_id: int, into_id: int, note: str, now: datetime
) -> Incident:
    """A duplicate (重复接报) folded into the incident it repeats: kept, never counted twice."""
    require(who, "merge")
    dup = get(session, who, incident_id, for_update=True)
    if into_id == dup.id:
        raise Invalid([FieldError("into_id", "不能与自身合并", "cannot merge into itself")])
    target = get(session, who, into_id, for_update=True)
    if target.status not in wf.OPEN:
        raise Conflict(
            f"目标事件为「{wf.STATES[target.status][0]}」，不能并入",
            f"the target incident is {wf.STATES[target.status][1]}",
        )
    before = audit_view(dup)
    try:
        dup.status = wf.step(dup.status, "merge")
    except wf.Illegal as exc:
        raise Conflict(exc.zh, exc.en) from None
    dup.merged_into_id = target.id
    dup.updated_at = target.updated_at = now
    session.flush()
    log(session, dup, who, "merge", now, note or f"并入事件 #{target.id}", {"into": target.id})
    log(
        session,
        target,
        who,
        "merged_in",
        now,
        note or f"重复接报 #{dup.id}（{dup.reporter_name or dup.source}）已并入",
        {"from": dup.id, "reporter": dup.reporter_name, "phone": dup.reporter_phone},
    )
    record(session, dup, who, "merge", before, now)
    return dup


def _step(inc: Incident, action: str) -> str:
    try:
        return wf.step(inc.status, action)
    except wf.Illegal as exc:
        raise Conflict(exc.zh, exc.en) from None


def confirm_grade(
    session: Session, who: Principal, incident_id: int, note: str, now: datetime
) -> Incident:
    """The commander determines the grade (定级) from the counts as they stand."""
    require(who, "grade")
    inc = get(session, who, incident_id, for_update=True)
    before = audit_view(inc)
    status = _step(inc, "grade")
    result = compute_grade(session, inc)
    _apply_grade(session, inc, result, who, "confirm", now)
    inc.status, inc.grade_confirmed_by, inc.updated_at = status, who.username, now
    session.flush()
    log(session, inc, who, "grade", now, note or result.explanation()[0], {"grade": inc.grade})
    record(session, inc, who, "grade", before, now)
    return inc


def followup(
    session: Session,
    who: Principal,
    incident_id: int,
    data: FollowupIn,
    now: datetime,
    propose: Callable[[Session, Incident], dict[str, Any] | None] | None = None,
) -> tuple[Incident, dict[str, Any]]:
    """A follow-up report (续报): new counts, regraded with history when they change.
    ``propose`` (``command.running_proposal``) says what the running plan's rules propose
    after a regrade; it is written on the timeline with the grade change."""
    require(who, "followup")
    inc = get(session, who, incident_id, for_update=True)
    _step(inc, "followup")
    counts = data.model_dump(include=set(COUNTS) | {"direct_loss_yuan", "quantities"})
    _check_counts(session, inc.division_code, counts)
    before = audit_view(inc)
    old = counts_of(inc)
    casualty_changed = any(int(getattr(inc, k) or 0) != counts[k] for k in CASUALTIES)
    for k in COUNTS:
        setattr(inc, k, counts[k])
    inc.direct_loss_yuan = counts["direct_loss_yuan"]
    if counts.get("quantities") is not None:
        inc.quantities = counts["quantities"]
    inc.updated_at = now
    previous = inc.grade or "ordinary"
    result = compute_grade(session, inc)
    regrade = grading.Regrade(grading.parse_grade(previous), result)
    out = regrade.as_dict()
    changed_counts = counts_of(inc) != old
    if changed_counts or regrade.changed:
        _apply_grade(session, inc, result, who, "followup", now, out)
    session.flush()
    log(
        session,
        inc,
        who,
        "followup",
        now,
        data.note or out["explanation_zh"],
        {
            "before": old,
            "after": counts_of(inc),
            "casualty_changed": casualty_changed,
            "regrade": {"changed": regrade.changed, "direction": regrade.direction},
        },
    )
    if regrade.changed:
        text, extra = out["explanation_zh"], {"grade": inc.grade, "previous": previous}
        proposed = propose(session, inc) if propose else None
        if proposed is not None:
            text += (
                f"；预案规则建议调整为{levels.LEVELS[proposed['level']][0]}"
                f"（现为{levels.LEVELS[inc.response_level or 'IV'][0]}），由指挥长决定"
            )
            extra["proposed_level"] = proposed["level"]
        log(session, inc, who, "regrade", now, text, extra)
        notify.tell_roles(
            session,
            {"commander", "district_officer"},
            inc.division_code,
            f"【突发事件 #{inc.id}】续报后{out['explanation_zh'][:120]}",
            f"/response/incidents/{inc.id}",
            now,
            "incident_regraded",
            except_username=who.username,
        )
    record(session, inc, who, "followup", before, now)
    return inc, out


# ---------------------------------------------------------------- upward reports and clocks


def report_up(
    session: Session,
    who: Principal,
    incident_id: int,
    kind: str,
    level: str,
    at: datetime | None,
    note: str,
    now: datetime,
) -> UpwardReport:
    """Record a report sent up (首报/续报/终报) and when the level received it."""
    require(who, "report_up")
    inc = get(session, who, incident_id, for_update=True)
    _step(inc, "report_up")
    when = _check_time("at", at or now, now, ("报告时间", "report time"))
    if when < as_utc(inc.occurred_at):  # type: ignore[operator]
        raise Invalid(
            [FieldError("at", "报告时间：不能早于事发时间", "report time: before the incident")]
        )
    kinds = set(
        session.scalars(select(UpwardReport.kind).where(UpwardReport.incident_id == inc.id))
    )
    if kind != "first" and "first" not in kinds:
        raise Conflict("尚未首报，不能续报或终报", "no first report yet: send the first report")
    if kind == "final" and inc.status not in (wf.ENDED, wf.CLOSED):
        raise Conflict("响应终止后才能终报", "the final report comes after the response ends")
    rep = UpwardReport(
        incident_id=inc.id,
        kind=kind,
        level=level,
        at=when,
        actor=who.username,
        counts=counts_of(inc),
        note=note,
    )
    session.add(rep)
    inc.updated_at = now
    session.flush()
    kzh = wf.REPORT_KINDS[kind][0]
    lzh = dict((k, z) for k, z, _ in clocks.LEVELS)[level]
    log(session, inc, who, "report_up", now, f"{kzh}：报{lzh}", {"kind": kind, "level": level})
    record(session, inc, who, "report_up", None, now)
    return rep


def reports(session: Session, inc: Incident) -> list[UpwardReport]:
    return list(
        session.scalars(
            select(UpwardReport)
            .where(UpwardReport.incident_id == inc.id)
            .order_by(UpwardReport.at, UpwardReport.id)
        )
    )


def casualty_changes(session: Session, inc: Incident) -> list[datetime]:
    rows = session.scalars(
        select(TimelineEntry).where(
            TimelineEntry.incident_id == inc.id, TimelineEntry.action == "followup"
        )
    )
    return [as_utc(r.at) for r in rows if (r.data or {}).get("casualty_changed")]  # type: ignore[misc]


def reporting_clocks(
    inc: Incident, ups: list[UpwardReport], changes: list[datetime], now: datetime
) -> dict[str, Any]:
    """Decree 493's clocks at ``now``: each upward step and each follow-up due (on read)."""
    if not inc.production_safety or inc.is_drill or inc.status == wf.MERGED:
        return {
            "applicable": False,
            "note_zh": "非生产安全事故（或演练、已合并），不适用第493号令报告时限",
            "note_en": "not a production-safety accident (or a drill, or merged): "
            "Decree 493's clocks do not apply",
            "steps": [],
            "followups": [],
            "overdue": 0,
            "due_soon": [],
        }
    now = as_utc(now)  # type: ignore[assignment]
    received: dict[str, datetime] = {}
    if inc.received_level != "unit":
        received[inc.received_level] = as_utc(inc.received_at)  # type: ignore[assignment]
    for r in ups:
        at = as_utc(r.at)
        if r.level not in received or at < received[r.level]:  # type: ignore[operator]
            received[r.level] = at  # type: ignore[assignment]
    occurred = as_utc(inc.occurred_at)
    steps = clocks.reporting_clocks(inc.grade or "ordinary", occurred, received, now)
    followups = clocks.followup_clocks(
        occurred,  # type: ignore[arg-type]
        classes.is_road_traffic_or_fire(inc.type_key),
        changes,
        [as_utc(r.at) for r in ups if r.kind in ("followup", "final")],  # type: ignore[misc]
        now,
    )
    step_dicts = [s.as_dict() for s in steps]
    follow_dicts = [f.as_dict() for f in followups]
    overdue = sum(1 for s in step_dicts + follow_dicts if s["status"] == "missing")
    return {
        "applicable": True,
        "note_zh": "《生产安全事故报告和调查处理条例》第九、十一、十三条；单位负责人获知时间按事发时间计",
        "note_en": "Decree 493 arts. 9, 11, 13; the unit head is taken to know at the time "
        "of the accident",
        "steps": step_dicts,
        "followups": follow_dicts,
        "overdue": overdue,
        "due_soon": [s["step"] for s in step_dicts if s["status"] == "due"],
    }


def clocks_for(session: Session, inc: Incident, now: datetime) -> dict[str, Any]:
    return reporting_clocks(inc, reports(session, inc), casualty_changes(session, inc), now)


def overdue_counts(session: Session, items: list[Incident], now: datetime) -> dict[int, int]:
    """Missing reports per incident of a list page (two queries for the whole page)."""
    ids = [i.id for i in items if i.production_safety and not i.is_drill]
    if not ids:
        return {}
    ups: dict[int, list[UpwardReport]] = {}
    for r in session.scalars(select(UpwardReport).where(UpwardReport.incident_id.in_(ids))):
        ups.setdefault(r.incident_id, []).append(r)
    changes: dict[int, list[datetime]] = {}
    for t in session.scalars(
        select(TimelineEntry).where(
            TimelineEntry.incident_id.in_(ids), TimelineEntry.action == "followup"
        )
    ):
        if (t.data or {}).get("casualty_changed"):
            changes.setdefault(t.incident_id, []).append(as_utc(t.at))  # type: ignore[arg-type]
    return {
        i.id: reporting_clocks(i, ups.get(i.id, []), changes.get(i.id, []), now)["overdue"]
        for i in items
        if i.id in ids
    }


# ---------------------------------------------------------------- timeline


def timeline(session: Session, inc: Incident) -> list[TimelineEntry]:
    return list(
        session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == inc.id)
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
    )


def add_note(
    session: Session, who: Principal, incident_id: int, note: str, now: datetime
) -> TimelineEntry:
    require(who, "followup")
    inc = get(session, who, incident_id)
    if not note.strip():
        raise Invalid([FieldError("note", "说明：不能为空", "note: required")])
    log(session, inc, who, "note", now, note.strip())
    session.flush()
    return session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == inc.id)
        .order_by(TimelineEntry.id.desc())
        .limit(1)
    ).one()


# ---------------------------------------------------------------- closing


def close(
    session: Session, who: Principal, incident_id: int, summary: str, review: str, now: datetime
) -> Incident:
    """Closing (结案) with a summary and after-action review; the counts become final."""
    require(who, "close")
    inc = get(session, who, incident_id, for_update=True)
    before = audit_view(inc)
    inc.status = _step(inc, "close")
    inc.summary, inc.review, inc.closed_at, inc.updated_at = summary, review, now, now
    session.flush()
    log(session, inc, who, "close", now, summary, {"counts": counts_of(inc)})
    record(session, inc, who, "close", before, now)
    events.publish_after_commit(
        session,
        events.IncidentClosed(
            now,
            inc.id,
            inc.division_code,
            inc.production_safety,
            inc.deaths,
            inc.serious_injuries,
            str(inc.direct_loss_yuan),
        ),
    )
    return inc


def open_in_division(session: Session, who: Principal, division_code: str) -> list[Incident]:
    return list(
        session.scalars(
            select(Incident)
            .where(
                scope_clause(who),
                code_within(Incident.division_code, division_prefix(division_code)),
                Incident.status.in_(sorted(wf.OPEN)),
            )
            .order_by(Incident.grade_rank.desc(), Incident.received_at.desc())
            .limit(200)
        )
    )


def by_alarm(session: Session, who: Principal, alarm_id: int) -> Incident | None:
    return session.scalar(
        select(Incident)
        .where(scope_clause(who), Incident.alarm_id == alarm_id, Incident.status != wf.MERGED)
        .order_by(Incident.id)
        .limit(1)
    )


# ---------------------------------------------------------------- the reminder job


def remind_overdue_reports(session: Session, now: datetime) -> dict[str, int]:
    """Job: tell the duty room of every open accident whose report step is past its deadline,
    once per step (the timeline keeps what was said, so a second run, or a second worker,
    adds nothing)."""
    rows = list(
        session.scalars(
            select(Incident).where(
                Incident.production_safety.is_(True),
                Incident.is_drill.is_(False),
                Incident.status.in_(sorted(wf.OPEN)),
            )
        )
    )
    told = 0
    for inc in rows:
        c = clocks_for(session, inc, now)
        missing = [s["step"] for s in c["steps"] if s["status"] == "missing"]
        missing += [
            f"followup@{f['change_at']}" for f in c["followups"] if f["status"] == "missing"
        ]
        if not missing:
            continue
        said = {
            step
            for t in session.scalars(
                select(TimelineEntry).where(
                    TimelineEntry.incident_id == inc.id, TimelineEntry.action == "overdue"
                )
            )
            for step in (t.data or {}).get("steps", [])
        }
        new = [m for m in missing if m not in said]
        if not new:
            continue
        log(session, inc, None, "overdue", now, "报告逾期：" + "、".join(new), {"steps": new})
        notify.tell_roles(
            session,
            {"duty_officer", "commander"},
            inc.division_code,
            f"【突发事件 #{inc.id}】{inc.title}：报告已逾期（{'、'.join(new)}），请立即上报",
            f"/response/incidents/{inc.id}#clocks",
            now,
            "incident_overdue",
        )
        told += 1
    session.flush()
    return {"incidents": len(rows), "reminded": told}
