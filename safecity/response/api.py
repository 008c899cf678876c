"""Emergency-command REST API under /api/v1/response: incidents, grading, reports, response,
tasks, dispatch, plans, duty roster, documents."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from safecity.core.deps import db, now, principal
from safecity.core.errors import Forbidden, invalid
from safecity.core.scope import Principal
from safecity.response import command, documents, duty, forces, plan_io, records, surroundings
from safecity.response import service as svc
from safecity.response import workflow as wf
from safecity.response.schemas import (
    PLAN_LABELS,
    AccidentRecordOut,
    CloseIn,
    DispatchIn,
    DispatchOut,
    DispatchStatusIn,
    FollowupIn,
    ForceOut,
    GradeIn,
    GradingTableIn,
    GradingTableOut,
    HandoverIn,
    HandoverOut,
    HiddenDangerIn,
    HiddenDangerOut,
    IncidentDetailOut,
    IncidentIn,
    IncidentOut,
    IncidentPage,
    LevelIn,
    MergeIn,
    NoteIn,
    PlanIn,
    PlanOut,
    ReceiveOut,
    RegradeOut,
    ReportUpIn,
    ShiftIn,
    ShiftOut,
    StartResponseIn,
    SurroundingsOut,
    TaskOut,
    TaskProgressIn,
    TimelineOut,
    WarningDraftOut,
    validate,
)

router = APIRouter(prefix="/api/v1/response", tags=["response"])
DB = Depends(db, scope="function")


def incident_out(inc: Any, overdue: int = 0, light: bool = False) -> IncidentOut:
    return IncidentOut(**svc.to_dict(inc, light), overdue_reports=overdue)


def _dispatches(session: Session, who: Principal, inc: Any, at: datetime) -> list[dict[str, Any]]:
    found = command.dispatches_of(session, inc)
    where = command.unit_positions(session, who, inc, found, at)
    return [command.dispatch_dict(d) | {"position": where.get(d.id)} for d in found]


def detail(session: Session, who: Principal, inc: Any, at: datetime) -> IncidentDetailOut:
    clocks = svc.clocks_for(session, inc, at)
    return IncidentDetailOut(
        incident=incident_out(inc, clocks["overdue"]),
        grade_history=[
            {
                "at": svc.as_utc(g.at),
                "actor": g.actor,
                "reason": g.reason,
                "previous": g.previous,
                "grade": g.grade,
                "counts": g.counts,
                "explanation_zh": g.explanation.get("zh", ""),
                "explanation_en": g.explanation.get("en", ""),
            }
            for g in svc.grade_history(session, inc)
        ],
        timeline=[timeline_out(t) for t in svc.timeline(session, inc)],
        clocks=clocks,
        tasks=[
            command.task_dict(t, at, inc.response_ended_at) for t in command.tasks_of(session, inc)
        ],
        dispatches=_dispatches(session, who, inc, at),
        proposals=command.proposals(session, inc) if inc.status in wf.OPEN else [],
        duplicates=svc.find_duplicates(session, who, inc),
    )


def timeline_out(t: Any) -> TimelineOut:
    return TimelineOut(
        at=svc.as_utc(t.at),
        action=t.action,
        action_zh=wf.ACTIONS.get(t.action, (t.action,))[0],
        actor=t.actor,
        actor_role=t.actor_role,
        note=t.note,
        data=t.data,
    )


# ---------------------------------------------------------------- incidents


@router.get("/incidents", summary="Incidents in scope: most severe first, then newest")
def list_incidents(
    q: str | None = None,
    status: str | None = None,
    grade: str | None = None,
    class_key: str | None = None,
    division: str | None = Query(default=None, pattern=r"^\d{2,12}$"),
    open: bool = False,
    drills: bool | None = None,
    page: int = Query(default=1, ge=1),
    size: int = Query(default=50, ge=1, le=svc.MAX_PAGE_SIZE),
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> IncidentPage:
    if status and status not in wf.STATES:
        raise invalid("status", "状态：取值无效", "status: unknown value")
    f = svc.Filters(q, status, grade, class_key, division, open, drills, None, page, size)
    p = svc.list_incidents(session, who, f)
    overdue = svc.overdue_counts(session, p.items, at)
    return IncidentPage(
        items=[incident_out(i, overdue.get(i.id, 0), light=True) for i in p.items],
        total=p.total,
        page=p.page,
        size=p.size,
    )


@router.post("/incidents", status_code=201, summary="Receive an incident (接报)")
def receive(
    data: IncidentIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> ReceiveOut:
    inc, dups = svc.receive(session, who, data, at)
    return ReceiveOut(incident=incident_out(inc), duplicates=dups)


@router.post(
    "/incidents/from-alarm/{alarm_id}",
    status_code=201,
    summary="Open an incident from a monitoring alarm (its place, sensor and level)",
)
def from_alarm(
    alarm_id: int,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> ReceiveOut:
    from safecity.response.alarms import incident_from_alarm  # noqa: PLC0415 monitoring is optional

    inc, dups, _ = incident_from_alarm(session, who, alarm_id, at)
    return ReceiveOut(incident=incident_out(inc), duplicates=dups)


@router.get("/incidents/{incident_id}", summary="Command view of one incident")
def get_incident(
    incident_id: int,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> IncidentDetailOut:
    return detail(session, who, svc.get(session, who, incident_id), at)


@router.post("/incidents/{incident_id}/grade", summary="Determine the grade (定级)")
def grade(
    incident_id: int,
    data: GradeIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> IncidentOut:
    return incident_out(svc.confirm_grade(session, who, incident_id, data.note, at))


@router.post("/incidents/{incident_id}/followups", summary="Follow-up report (续报): regrade")
def followup(
    incident_id: int,
    data: FollowupIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> RegradeOut:
    inc, out = command.followup(session, who, incident_id, data, at)
    return RegradeOut(
        incident=incident_out(inc),
        changed=out["changed"],
        direction=out["direction"],
        explanation_zh=out["explanation_zh"],
        explanation_en=out["explanation_en"],
    )


@router.post("/incidents/{incident_id}/reports", summary="Record a report sent upward")
def report_up(
    incident_id: int,
    data: ReportUpIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> IncidentDetailOut:
    svc.report_up(session, who, incident_id, data.kind, data.level, data.at, data.note, at)
    return detail(session, who, svc.get(session, who, incident_id), at)


@router.post("/incidents/{incident_id}/merge", summary="Merge a duplicate into its incident")
def merge(
    incident_id: int,
    data: MergeIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> IncidentOut:
    return incident_out(svc.merge(session, who, incident_id, data.into_id, data.note, at))


@router.post("/incidents/{incident_id}/notes", summary="Add a note to the timeline")
def note(
    incident_id: int,
    data: NoteIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> TimelineOut:
    return timeline_out(svc.add_note(session, who, incident_id, data.note, at))


@router.post("/incidents/{incident_id}/response", summary="Start the response (启动响应)")
def start_response(
    incident_id: int,
    data: StartResponseIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> IncidentDetailOut:
    inc, _ = command.start_response(
        session, who, incident_id, data.plan_id, data.level, data.note, at
    )
    return detail(session, who, inc, at)


@router.post("/incidents/{incident_id}/response/level", summary="Raise or lower the response")
def adjust_level(
    incident_id: int,
    data: LevelIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> IncidentOut:
    return incident_out(command.adjust_level(session, who, incident_id, data.level, data.note, at))


@router.post("/incidents/{incident_id}/response/end", summary="End the response (响应终止)")
def end_response(
    incident_id: int,
    data: NoteIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> IncidentOut:
    return incident_out(command.end_response(session, who, incident_id, data.note, at))


@router.post("/incidents/{incident_id}/close", summary="Close with summary and review")
def close(
    incident_id: int,
    data: CloseIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> IncidentOut:
    return incident_out(svc.close(session, who, incident_id, data.summary, data.review, at))


@router.post("/incidents/{incident_id}/dispatches", status_code=201, summary="Dispatch a force")
def dispatch(
    incident_id: int,
    data: DispatchIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> DispatchOut:
    return DispatchOut(
        **command.dispatch_dict(command.request_dispatch(session, who, incident_id, data, at))
    )


@router.post("/dispatches/{dispatch_id}/status", summary="Next step of a dispatch")
def dispatch_status(
    dispatch_id: int,
    data: DispatchStatusIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> DispatchOut:
    return DispatchOut(
        **command.dispatch_dict(
            command.advance_dispatch(session, who, dispatch_id, data.status, at)
        )
    )


@router.get("/incidents/{incident_id}/forces", summary="Nearest forces by road")
def nearest_forces(
    incident_id: int,
    session: Session = DB,
    who: Principal = Depends(principal),
) -> list[ForceOut]:
    inc = svc.get(session, who, incident_id)
    found, _why = forces.nearest_forces(session, who, inc.lon, inc.lat)
    return [ForceOut(**f.as_dict()) for f in found]


@router.post(
    "/incidents/{incident_id}/hidden-dangers",
    status_code=201,
    summary="Report a hidden danger the incident brought to light (hazards capability)",
)
def open_hidden_danger(
    incident_id: int,
    data: HiddenDangerIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> HiddenDangerOut:
    values = command.hidden_danger_values(session, who, incident_id)
    values |= data.model_dump(exclude_none=True)
    return HiddenDangerOut(
        hidden_danger_id=command.open_hidden_danger(session, who, incident_id, values, [], at)
    )


@router.get(
    "/incidents/{incident_id}/surroundings",
    summary="What lies around the incident (指挥一张图): every layer within r metres",
)
def incident_surroundings(
    incident_id: int,
    r: int = Query(1000, ge=100, le=5000, description="radius in metres"),
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> SurroundingsOut:
    inc = svc.get(session, who, incident_id)
    found = surroundings.around(session, who, inc.lon, inc.lat, r, at)
    return SurroundingsOut(radius_m=r, **found.as_dict())


@router.post("/incidents/{incident_id}/warning", summary="Draft a CAP warning from the incident")
def draft_warning(
    incident_id: int,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> WarningDraftOut:
    return WarningDraftOut(warning_id=command.draft_warning(session, who, incident_id, at))


@router.get(
    "/incidents/{incident_id}/documents/{kind}.{fmt}",
    summary="事故快报 / 续报 / 情况报告 as DOCX or PDF",
    response_class=Response,
)
def document(
    incident_id: int,
    kind: str,
    fmt: str,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> Response:
    inc = svc.get(session, who, incident_id)
    body, media, name = documents.build(session, inc, kind, fmt, at)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


class FeatureCollection(BaseModel):
    type: str = "FeatureCollection"
    features: list[dict[str, Any]]


GRADE_COLOUR = {
    "extraordinary": "red",
    "serious": "orange",
    "relatively_serious": "yellow",
    "ordinary": "blue",
}


@router.get("/map/incidents", summary="Open incidents as GeoJSON for the one map")
def map_incidents(session: Session = DB, who: Principal = Depends(principal)) -> FeatureCollection:
    page = svc.list_incidents(
        session, who, svc.Filters(open_only=True, size=svc.MAX_PAGE_SIZE), count=False
    )
    feats = []
    for i in page.items:
        if i.lon is None or i.lat is None:
            continue
        zh, en = svc.type_names(i.type_key)
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [i.lon, i.lat]},
                "properties": {
                    "id": i.id,
                    "title": i.title,
                    "level": GRADE_COLOUR.get(i.grade or "", "blue"),
                    "event": zh,
                    "event_en": en,
                    "division_code": i.division_code,
                    "url": f"/response/incidents/{i.id}",
                },
            }
        )
    return FeatureCollection(features=feats)


# ---------------------------------------------------------------- tasks


@router.post("/tasks/{task_id}/receive", summary="Receive a task for the group (签收)")
def receive_task(
    task_id: int,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> TaskOut:
    return TaskOut(**command.task_dict(command.receive_task(session, who, task_id, at), at))


@router.post("/tasks/{task_id}/progress", summary="Report progress or completion of a task")
def task_progress(
    task_id: int,
    data: TaskProgressIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> TaskOut:
    task = command.report_task(session, who, task_id, data.note, data.done, at)
    return TaskOut(**command.task_dict(task, at))


# ---------------------------------------------------------------- plans


@router.get("/plans", summary="Plans in scope (and those of the levels above)")
def plans(
    session: Session = DB, who: Principal = Depends(principal), at: datetime = Depends(now)
) -> list[PlanOut]:
    return [PlanOut(**command.plan_dict(p, at)) for p in command.list_plans(session, who)]


@router.post("/plans", status_code=201, summary="Add a plan (draft)")
def create_plan(
    data: PlanIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> PlanOut:
    return PlanOut(**command.plan_dict(command.create_plan(session, who, data, at), at))


@router.get("/plans/{plan_id}", summary="One plan with its drill and review status")
def get_plan(
    plan_id: int,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> PlanOut:
    return PlanOut(**command.plan_dict(command.get_plan(session, who, plan_id), at))


@router.get(
    "/plans/{plan_id}/export.{fmt}",
    summary="A plan as JSON or one XLSX sheet (importable again)",
    response_class=Response,
)
def export_plan(
    plan_id: int,
    fmt: str,
    session: Session = DB,
    who: Principal = Depends(principal),
) -> Response:
    return plan_download(session, who, plan_id, fmt)


def plan_download(session: Session, who: Principal, plan_id: int, fmt: str) -> Response:
    """A plan in scope as a JSON or XLSX attachment: this API's export and the plan page's."""
    plan = command.plan_dict(command.get_plan(session, who, plan_id))
    body, media, name = plan_io.export(plan, fmt)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.post(
    "/plans/import",
    status_code=201,
    summary="Import a plan file (JSON or XLSX, field `file`) as a new draft",
)
async def import_plan(
    request: Request,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> PlanOut:
    svc.require(who, "plan_write")
    form = await request.form(max_files=1)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise invalid("file", "文件：请选择预案文件", "file: choose a plan file")
    content = await upload.read(plan_io.MAX_BYTES + 1)
    data = validate(PlanIn, plan_io.read(upload.filename, content), PLAN_LABELS)
    return PlanOut(**command.plan_dict(command.create_plan(session, who, data, at), at))


@router.put("/plans/{plan_id}", summary="Edit a plan: a draft in place, an approved one as v+1")
def update_plan(
    plan_id: int,
    data: PlanIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> PlanOut:
    return PlanOut(**command.plan_dict(command.update_plan(session, who, plan_id, data, at), at))


@router.post("/plans/{plan_id}/{action}", summary="approve (批准) or file (备案) a plan")
def plan_step(
    plan_id: int,
    action: str,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> PlanOut:
    return PlanOut(**command.plan_dict(command.plan_step(session, who, plan_id, action, at), at))


# ---------------------------------------------------------------- duty


@router.get("/roster", summary="Duty roster (排班) of the coming days")
def roster(
    days: int = Query(default=7, ge=1, le=62),
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> list[ShiftOut]:
    start = at - timedelta(days=1)
    return [
        ShiftOut(**duty.shift_dict(s, at))
        for s in duty.roster(session, who, start, at + timedelta(days=days))
    ]


@router.post("/roster", status_code=201, summary="Add a shift")
def add_shift(
    data: ShiftIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> ShiftOut:
    return ShiftOut(**duty.shift_dict(duty.add_shift(session, who, data, at), at))


@router.get("/handovers", summary="Handover log (交接班)")
def handovers(session: Session = DB, who: Principal = Depends(principal)) -> list[HandoverOut]:
    return [HandoverOut(**duty.handover_dict(h)) for h in duty.handovers(session, who)]


@router.post("/handovers", status_code=201, summary="Hand the duty over")
def hand_over(
    data: HandoverIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> HandoverOut:
    return HandoverOut(**duty.handover_dict(duty.hand_over(session, who, data, at)))


# ---------------------------------------------------------------- grading table, records


@router.get("/grading-table", summary="The city's grading table (other incident types)")
def get_grading_table(
    session: Session = DB, who: Principal = Depends(principal)
) -> GradingTableOut:
    if not who.can_read():
        raise Forbidden()
    table = svc.grading_table(session)
    return GradingTableOut(
        name=table.name,
        source=table.source,
        rules={k: r.as_dict() for k, r in table.rules.items()},
    )


@router.put("/grading-table", summary="Replace the city's grading table")
def put_grading_table(
    data: GradingTableIn,
    session: Session = DB,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> GradingTableOut:
    table = svc.set_grading_table(session, who, data.model_dump(), at)
    return GradingTableOut(
        name=table.name,
        source=table.source,
        rules={k: r.as_dict() for k, r in table.rules.items()},
    )


@router.get("/accident-records", summary="Accident records of a year (for plan indicators)")
def accident_records(
    year: int = Query(ge=2000, le=2100),
    division: str | None = Query(default=None, pattern=r"^\d{6,12}$"),
    final_only: bool = False,
    session: Session = DB,
    who: Principal = Depends(principal),
) -> list[AccidentRecordOut]:
    if who.role not in ("admin", "commander", "risk_analyst", "district_officer", "duty_officer"):
        raise Forbidden()
    code = division or who.division_code
    if not who.covers(code):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    rows = records.accident_records(session, year, code, final_only=final_only)
    return [AccidentRecordOut(**r.as_dict()) for r in rows]
