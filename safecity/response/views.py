"""Emergency-command web pages: incident list, reception form (phone-friendly), the command view
of one incident with its actions, plans and the duty roster."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from safecity.core.clock import BEIJING
from safecity.core.deps import db, now
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal
from safecity.registry import service as registry
from safecity.registry.kinds import ENTERPRISE
from safecity.registry.models import Division, Enterprise
from safecity.response import (
    classes,
    command,
    duty,
    forces,
    grading,
    levels,
    plan_form,
    plan_io,
)
from safecity.response import service as svc
from safecity.response import workflow as wf
from safecity.response.api import plan_download
from safecity.response.schemas import (
    PLAN_LABELS,
    CloseIn,
    DispatchIn,
    FollowupIn,
    HandoverIn,
    IncidentIn,
    PlanIn,
    ReportUpIn,
    ShiftIn,
    validate,
)
from safecity.response.surroundings import POINT_KINDS, RADII
from safecity.response.surroundings import around as surroundings_of
from safecity.response.texts import TEXTS
from safecity.web.guard import form_data, web_user
from safecity.web.i18n import pick
from safecity.web.registry_views import scope_divisions
from safecity.web.render import lang_of, render

router = APIRouter(prefix="/response", include_in_schema=False)
GRADE_COLOUR = {
    "extraordinary": "red",
    "serious": "orange",
    "relatively_serious": "yellow",
    "ordinary": "blue",
}


def labels(lang: str) -> dict[str, Any]:
    def tr(table: dict[str, tuple[str, str]]) -> dict[str, str]:
        return {k: pick(v, lang) for k, v in table.items()}

    return {
        **tr(TEXTS),
        "states": tr(wf.STATES),
        "sources": tr(wf.SOURCES),
        "actions": tr(wf.ACTIONS),
        "task_states": tr(wf.TASK_STATES),
        "dispatch_states": tr(wf.DISPATCH_STATES),
        "plan_states": tr(wf.PLAN_STATES),
        "report_kinds": tr(wf.REPORT_KINDS),
        "grades": {g.key: (g.en if lang == "en" else g.zh) for g in grading.GRADES},
        "levels": {k: (en if lang == "en" else zh) for k, (zh, en) in levels.LEVELS.items()},
        "tiers": {k: (v[1] if lang == "en" else v[0]) for k, v in levels.PLAN_TIERS.items()},
        "types": {t.key: (t.en if lang == "en" else t.zh) for t in classes.all_types()},
        "classes": {t.key: (t.en if lang == "en" else t.zh) for t in classes.CLASSES},
        "report_levels": {k: (en if lang == "en" else zh) for k, zh, en in _levels()},
    }


def _levels() -> list[tuple[str, str, str]]:
    from safecity.response.clocks import LEVELS  # noqa: PLC0415 small table, read once per page

    return [lv for lv in LEVELS if lv[0] != "unit"]


def fmt_dt(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "—"
    local = svc.as_utc(value).astimezone(BEIJING)  # type: ignore[union-attr]
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def iso_dt(value: str | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return fmt_dt(value)


def show(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    lang = lang_of(request)
    return render(
        request,
        template,
        status,
        L=labels(lang),
        fmt_dt=fmt_dt,
        iso_dt=iso_dt,
        en=lang == "en",
        colour=GRADE_COLOUR,
        **context,
    )


def field_errors(exc: Invalid, lang: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in exc.errors:
        out.setdefault(e.field.split(".")[0] or "_", []).append(pick((e.zh, e.en), lang))
    return out


def form_dict(form: FormData | None) -> dict[str, Any]:
    return {k: v for k, v in (form.multi_items() if form else []) if k != "csrf"}


def _local_time(raw: str, field: str) -> datetime | str:
    """A datetime-local value is Beijing time; ISO with an offset is taken as it is."""
    raw = (raw or "").strip()
    if not raw:
        return raw
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid([FieldError(field, "时间格式不正确", "not a valid time")]) from None
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def _blank_none(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: (None if k in names and v == "" else v) for k, v in data.items()}


# ---------------------------------------------------------------- list


@router.get("")
@router.get("/incidents")
def list_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    qp = request.query_params
    status = qp.get("status") or None
    if status and status not in wf.STATES:
        status = None
    grade = qp.get("grade") if qp.get("grade") in GRADE_COLOUR else None
    cls = qp.get("class") if classes.get(qp.get("class") or "") else None
    division = qp.get("division") if (qp.get("division") or "").isdigit() else None
    try:
        page_no = max(1, int(qp.get("page", 1)))
    except ValueError:
        page_no = 1
    f = svc.Filters(
        q=qp.get("q") or None,
        status=status,
        grade=grade,
        class_key=cls,
        division=division,
        open_only=qp.get("open") == "1",
        page=page_no,
        size=30,
    )
    page = svc.list_incidents(session, who, f)
    divisions = scope_divisions(session, who)
    return show(
        request,
        "response/list.html",
        page=page,
        f=f,
        pages=max(1, math.ceil(page.total / page.size)),
        overdue=svc.overdue_counts(session, page.items, at),
        counts=svc.counts_by_status(session, who),
        divisions=divisions,
        names={d.code: d.name for d in divisions},
        can_receive=wf.may(who.role, "receive"),
    )


# ---------------------------------------------------------------- reception


def _form_context(session: Session, who: Principal) -> dict[str, Any]:
    stmt = select(Enterprise).where(
        registry.scope_clause(ENTERPRISE, who), Enterprise.archived.is_(False)
    )
    return {
        "enterprises": list(session.scalars(stmt.order_by(Enterprise.name).limit(300))),
        "divisions": scope_divisions(session, who),
        "all_types": list(classes.all_types()),
    }


def _new_page(
    request: Request,
    session: Session,
    who: Principal,
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    return show(
        request,
        "response/new.html",
        status,
        values=values,
        errors=errors or {},
        **_form_context(session, who),
    )


@router.get("/incidents/new")
def new_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    svc.require(who, "receive")
    local = svc.as_utc(at).astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")  # type: ignore[union-attr]
    values = {"occurred_at": local, "source": "phone", "division_code": who.division_code}
    return _new_page(request, session, who, values)


@router.post("/incidents/new")
def new_submit(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    raw = form_dict(form)
    data = _blank_none(raw, "lon", "lat", "enterprise_id", "division_code")
    for flag in ("production_safety", "is_drill"):
        data[flag] = raw.get(flag) in ("1", "on", "true")
    for k in (
        "deaths",
        "missing",
        "serious_injuries",
        "trapped",
        "affected_population",
        "relocated",
    ):
        data[k] = data.get(k) or 0
    data["direct_loss_yuan"] = (data.get("direct_loss_wan") or "0").strip() or "0"
    data.pop("direct_loss_wan", None)
    try:
        data["direct_loss_yuan"] = str(float(data["direct_loss_yuan"]) * 10000)
        data["occurred_at"] = _local_time(raw.get("occurred_at", ""), "occurred_at")
        model = validate(IncidentIn, data)
        inc, _dups = svc.receive(session, who, model, at)
    except (Invalid, ValueError) as exc:
        session.rollback()
        if isinstance(exc, ValueError):
            exc = Invalid(
                [FieldError("direct_loss_yuan", "直接经济损失：应为数字", "loss: number")]
            )
        return _new_page(request, session, who, raw, field_errors(exc, lang_of(request)), 422)
    return RedirectResponse(f"/response/incidents/{inc.id}", status_code=303)


@router.post("/alarms/{alarm_id}/incident")
def from_alarm(
    alarm_id: int,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    from safecity.response.alarms import incident_from_alarm  # noqa: PLC0415 monitoring is optional

    inc, _, _ = incident_from_alarm(session, who, alarm_id, at)
    return RedirectResponse(f"/response/incidents/{inc.id}", status_code=303)


# ---------------------------------------------------------------- the command view


def _radius(request: Request) -> int:
    try:
        radius = int(request.query_params.get("r", 1000))
    except ValueError:
        radius = 1000
    return radius if radius in RADII else 1000


def age_text(seconds: int | None, lang: str) -> str:
    """ "3 分钟前" / "3 min ago": how old a reading or position is."""
    if seconds is None:
        return "—"
    for size, zh, en in ((86400, "天", "d"), (3600, "小时", "h"), (60, "分钟", "min")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {en} ago" if lang == "en" else f"{n} {zh}前"
    return f"{seconds} s ago" if lang == "en" else f"{seconds} 秒前"


def _command_view(
    request: Request,
    session: Session,
    who: Principal,
    inc: Any,
    at: datetime,
    errors: dict[str, list[str]] | None = None,
    failed: str = "",
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    radius = _radius(request)
    around = surroundings_of(session, who, inc.lon, inc.lat, radius, at)
    found, why = (
        forces.nearest_forces(session, who, inc.lon, inc.lat)
        if inc.status in (wf.GRADED, wf.RESPONDING)
        else ([], None)
    )
    tasks = command.tasks_of(session, inc)
    sent = command.dispatches_of(session, inc)
    where = command.unit_positions(session, who, inc, sent, at)
    division = session.get(Division, inc.division_code) or session.get(
        Division, inc.division_code[:6]
    )
    ent = session.get(Enterprise, inc.enterprise_id) if inc.enterprise_id else None
    started, ended = svc.as_utc(inc.response_started_at), svc.as_utc(inc.response_ended_at)
    response_clock = (
        {
            "running": ended is None,
            "ended_at": ended,
            "minutes": int(((ended or svc.as_utc(at)) - started).total_seconds() // 60),  # type: ignore[operator]
        }
        if started
        else None
    )
    return show(
        request,
        "response/detail.html",
        status,
        inc=inc,
        d=svc.to_dict(inc),
        division=division,
        enterprise=ent,
        history=svc.grade_history(session, inc),
        timeline=svc.timeline(session, inc),
        clocks=svc.clocks_for(session, inc, at),
        ups=svc.reports(session, inc),
        tasks=[
            command.task_dict(t, at, inc.response_ended_at) | {"members": t.members} for t in tasks
        ],
        running=command.running_proposal(session, inc),
        response_clock=response_clock,
        dispatches=[command.dispatch_dict(x) | {"position": where.get(x.id)} for x in sent],
        units=[
            {
                "id": x.id,
                "name": x.resource_name,
                "lon": where[x.id]["lon"],
                "lat": where[x.id]["lat"],
                "age": age_text(where[x.id]["age_s"], lang_of(request)),
            }
            for x in sent
            if x.id in where
        ],
        proposals=command.proposals(session, inc) if inc.status in wf.OPEN else [],
        duplicates=svc.find_duplicates(session, who, inc),
        forces=[f.as_dict() for f in found],
        forces_why=pick(why, lang_of(request)) if why else "",
        near=around.items,
        near_points=around.of(*POINT_KINDS),
        near_counts=around.counts,
        people=around.people,
        age_text=age_text,
        radius=radius,
        radii=RADII,
        may={a: wf.may(who.role, a) for a in wf.ROLE_OF_ACTION},
        next_dispatch=wf.DISPATCH_NEXT,
        errors=errors or {},
        failed=failed,
        values=values or {},
        me=who.username,
    )


@router.get("/incidents/{incident_id}")
def detail_page(
    incident_id: int,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    return _command_view(request, session, who, svc.get(session, who, incident_id), at)


@router.get("/incidents/{incident_id}/surroundings")
def surroundings(
    incident_id: int,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    """Every layer around the incident as JSON (radius ``r`` in metres, 100–5,000)."""
    inc = svc.get(session, who, incident_id)
    try:
        radius = int(request.query_params.get("r", 1000))
    except ValueError:
        radius = 1000
    radius = min(max(radius, 100), 5000)
    around = surroundings_of(session, who, inc.lon, inc.lat, radius, at)
    return JSONResponse({"radius_m": radius, **around.as_dict()})


def _hazard_origin(inc: Any, lang: str) -> dict[str, str]:
    return {
        "href": f"/response/incidents/{inc.id}",
        "label": f"#{inc.id} {inc.title}",
        "note": pick(TEXTS["rs_hd_origin"], lang),
    }


@router.get("/incidents/{incident_id}/hidden-danger")
def hidden_danger_form(
    incident_id: int,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    """The hazards capability's report form, prefilled from the incident, posting back here."""
    from safecity.hazards.views import report_form_page  # noqa: PLC0415 optional capability (ImportError when it is not installed)

    values = command.hidden_danger_values(session, who, incident_id)
    inc = svc.get(session, who, incident_id)
    return report_form_page(
        request,
        session,
        who,
        action=f"/response/incidents/{incident_id}/hidden-danger",
        origin=_hazard_origin(inc, lang_of(request)),
        values=values,
    )


@router.post("/incidents/{incident_id}/hidden-danger")
async def hidden_danger_submit(
    incident_id: int,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    """Report it (hazards service) and log it on the incident's timeline, or show the form
    again with what to correct (422) — nothing is saved then."""
    from safecity.hazards.views import (  # noqa: PLC0415 optional capability (ImportError when it is not installed)
        report_errors,
        report_form_data,
        report_form_page,
    )

    data: dict[str, Any] = {}
    try:
        data, photos = await report_form_data(form)
        command.open_hidden_danger(session, who, incident_id, data, photos, at)
    except Invalid as exc:
        session.rollback()
        inc = svc.get(session, who, incident_id)
        return report_form_page(
            request,
            session,
            who,
            action=f"/response/incidents/{incident_id}/hidden-danger",
            origin=_hazard_origin(inc, lang_of(request)),
            values=data,
            status=422,
            errors=report_errors(exc, request),
        )
    return RedirectResponse(f"/response/incidents/{incident_id}#timeline-card", status_code=303)


def _counts(data: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: (data.get(k) or 0)
        for k in (
            "deaths",
            "missing",
            "serious_injuries",
            "trapped",
            "affected_population",
            "relocated",
        )
    }
    wan = (data.get("direct_loss_wan") or "0").strip() or "0"
    try:
        out["direct_loss_yuan"] = str(float(wan) * 10000)
    except ValueError:
        raise Invalid(
            [
                FieldError(
                    "direct_loss_yuan", "直接经济损失：应为数字", "direct loss: must be a number"
                )
            ]
        ) from None
    return out


@router.post("/incidents/{incident_id}/actions/{action}")
def act(
    incident_id: int,
    action: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    """Every button of the command view posts here; a refused step re-shows the page."""
    data = form_dict(form)
    note = str(data.get("note") or "").strip()
    anchor = ""
    try:
        if action == "grade":
            svc.confirm_grade(session, who, incident_id, note, at)
        elif action == "followup":
            command.followup(
                session, who, incident_id, validate(FollowupIn, {**_counts(data), "note": note}), at
            )
        elif action == "report_up":
            r = validate(
                ReportUpIn, {"kind": data.get("kind"), "level": data.get("level"), "note": note}
            )
            svc.report_up(session, who, incident_id, r.kind, r.level, None, r.note, at)
            anchor = "#clocks"
        elif action == "merge":
            svc.merge(session, who, incident_id, int(data.get("into_id") or 0), note, at)
        elif action == "start_response":
            level = str(data.get("level") or "")
            if level not in levels.LEVELS:
                raise Invalid([FieldError("level", "请选择响应级别", "choose a response level")])
            command.start_response(
                session, who, incident_id, int(data.get("plan_id") or 0), level, note, at
            )
        elif action == "adjust_level":
            level = str(data.get("level") or "")
            if level not in levels.LEVELS:
                raise Invalid([FieldError("level", "请选择响应级别", "choose a response level")])
            command.adjust_level(session, who, incident_id, level, note, at)
        elif action == "end_response":
            command.end_response(session, who, incident_id, note, at)
        elif action == "close":
            c = validate(
                CloseIn, {"summary": data.get("summary", ""), "review": data.get("review", "")}
            )
            svc.close(session, who, incident_id, c.summary, c.review, at)
        elif action == "dispatch":
            payload = _blank_none(
                {
                    k: data.get(k, "")
                    for k in (
                        "resource_kind",
                        "resource_ref",
                        "resource_name",
                        "eta_minutes",
                        "distance_m",
                        "tracker_device_id",
                    )
                },
                "eta_minutes",
                "distance_m",
            )
            command.request_dispatch(session, who, incident_id, validate(DispatchIn, payload), at)
            anchor = "#dispatches"
        elif action == "dispatch_status":
            command.advance_dispatch(
                session, who, int(data.get("dispatch_id") or 0), str(data.get("status")), at
            )
            anchor = "#dispatches"
        elif action == "task_receive":
            command.receive_task(session, who, int(data.get("task_id") or 0), at)
            anchor = "#tasks"
        elif action == "task_progress":
            command.report_task(
                session, who, int(data.get("task_id") or 0), note, data.get("done") == "1", at
            )
            anchor = "#tasks"
        elif action == "draft_warning":
            # the draft is saved (and on the timeline) at once; its form opens prefilled so
            # the officer reviews place, event and level before submitting it for approval
            wid = command.draft_warning(session, who, incident_id, at)
            return RedirectResponse(f"/warnings/{wid}/edit", status_code=303)
        elif action == "note":
            svc.add_note(session, who, incident_id, note, at)
        else:
            raise NotFound("操作", "action")
    except (Invalid, Conflict, Forbidden) as exc:
        session.rollback()
        inc = svc.get(session, who, incident_id)
        if isinstance(exc, Invalid):
            errors = field_errors(exc, lang_of(request))
            code = 422
        else:
            errors = {"_": [pick((exc.zh, exc.en), lang_of(request))]}
            code = exc.status
        return _command_view(request, session, who, inc, at, errors, action, data, code)
    return RedirectResponse(f"/response/incidents/{incident_id}{anchor}", status_code=303)


# ---------------------------------------------------------------- plans


@router.get("/plans")
def plans_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    return _plans_page(request, session, who, at)


def _division_names(session: Session, codes: set[str]) -> dict[str, str]:
    rows = session.execute(select(Division.code, Division.name).where(Division.code.in_(codes)))
    return {code: name for code, name in rows}


def _one_row_per_plan(listed: list[Any]) -> tuple[list[Any], dict[int, Any]]:
    """A plan being revised is one row: its version in force, with the draft of its next version
    (previous_id → it) beside it, not a second row; the versions are on the plan's page."""
    ids = {p.id for p in listed}
    drafts = {p.previous_id: p for p in listed if p.status == "draft" and p.previous_id in ids}
    revising = {d.id for d in drafts.values()}
    return [p for p in listed if p.id not in revising], drafts


def _plans_page(
    request: Request,
    session: Session,
    who: Principal,
    at: datetime,
    errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    plans, drafts = _one_row_per_plan(command.list_plans(session, who))
    rows = [command.plan_dict(p, at) for p in plans]
    return show(
        request,
        "response/plans.html",
        status,
        plans=rows,
        drafts={k: {"id": d.id, "version": d.version} for k, d in drafts.items()},
        names=_division_names(session, {p["division_code"] for p in rows}),
        can_write=wf.may(who.role, "plan_write"),
        errors=errors or [],
    )


@router.post("/plans/import")
def plan_import(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    """A plan file (JSON or XLSX as exported here) added as a new draft; all or nothing."""
    svc.require(who, "plan_write")
    upload = form.get("file") if form else None
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid([FieldError("file", "文件：请选择预案文件", "file: choose a plan file")])
        content = upload.file.read(plan_io.MAX_BYTES + 1)
        data = validate(PlanIn, plan_io.read(upload.filename, content), PLAN_LABELS)
        plan = command.create_plan(session, who, data, at)
    except Invalid as exc:
        session.rollback()
        lang = lang_of(request)
        return _plans_page(
            request, session, who, at, [pick((e.zh, e.en), lang) for e in exc.errors], 422
        )
    return RedirectResponse(f"/response/plans/{plan.id}", status_code=303)


@router.get("/plans/{plan_id}/export.{fmt}")
def plan_export(
    plan_id: int,
    fmt: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    return plan_download(session, who, plan_id, fmt)


def _plan_form_page(
    request: Request,
    session: Session,
    who: Principal,
    values: dict[str, Any],
    plan: dict[str, Any] | None = None,
    errors: dict[str, list[FieldError]] | None = None,
    status: int = 200,
) -> Response:
    lang = lang_of(request)
    placed = {k: [pick((e.zh, e.en), lang) for e in v] for k, v in (errors or {}).items()}
    return show(
        request,
        "response/plan_form.html",
        status,
        plan=plan,
        values=values,
        errors=placed,
        all_types=list(classes.all_types()),
        divisions=scope_divisions(session, who),
        fields={k: (en if lang == "en" else zh) for k, (zh, en, _) in levels.FIELDS.items()},
        ops={k: (zh if lang != "en" else en) for k, (zh, en) in levels.OPS.items()},
        slots=range(plan_form.CONDITION_SLOTS),
    )


def _plan_submit(
    request: Request,
    session: Session,
    who: Principal,
    form: FormData | None,
    at: datetime,
    plan: dict[str, Any] | None,
) -> Response:
    values = plan_form.form_values(form.multi_items() if form else [])
    parsed = plan_form.parse(values)
    try:
        if parsed.errors:
            raise Invalid(parsed.errors)
        data = validate(PlanIn, parsed.data, PLAN_LABELS)
        saved = (
            command.update_plan(session, who, plan["id"], data, at)
            if plan
            else command.create_plan(session, who, data, at)
        )
    except Invalid as exc:
        session.rollback()
        placed = plan_form.place(exc.errors, parsed)
        return _plan_form_page(request, session, who, values, plan, placed, 422)
    except Conflict as exc:
        session.rollback()
        errors = {"_": [FieldError("_", exc.zh, exc.en)]}
        return _plan_form_page(request, session, who, values, plan, errors, 409)
    return RedirectResponse(f"/response/plans/{saved.id}", status_code=303)


@router.get("/plans/new")
def plan_new_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    svc.require(who, "plan_write")
    defaults = {"tier": "special", "owner_kind": "department", "division_code": who.division_code}
    return _plan_form_page(request, session, who, plan_form.values_of(None, defaults))


@router.post("/plans/new")
def plan_new_submit(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    svc.require(who, "plan_write")
    return _plan_submit(request, session, who, form, at, None)


@router.get("/plans/{plan_id}/edit")
def plan_edit_page(
    plan_id: int,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    svc.require(who, "plan_write")
    plan = command.get_plan(session, who, plan_id)
    command.check_editable(session, plan)
    d = command.plan_dict(plan)
    return _plan_form_page(request, session, who, plan_form.values_of(d, {}), d)


@router.post("/plans/{plan_id}/edit")
def plan_edit_submit(
    plan_id: int,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    svc.require(who, "plan_write")
    d = command.plan_dict(command.get_plan(session, who, plan_id))
    return _plan_submit(request, session, who, form, at, d)


@router.get("/plans/{plan_id}")
def plan_page(
    plan_id: int,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    row = command.get_plan(session, who, plan_id)
    plan = command.plan_dict(row, at)
    chain = command.versions(session, row)
    current = next((v for v in reversed(chain) if v.status in ("approved", "filed")), None)
    return show(
        request,
        "response/plan.html",
        plan=plan,
        versions=[
            {
                "id": v.id,
                "version": v.version,
                "status": v.status,
                "updated_at": v.updated_at,
                "approved_by": v.approved_by,
            }
            for v in chain
        ],
        current_id=current.id if current else None,
        names=_division_names(session, {plan["division_code"]}),
        can_approve=wf.may(who.role, "plan_approve") and who.covers(plan["division_code"]),
        can_edit=wf.may(who.role, "plan_write")
        and who.covers(plan["division_code"])
        and plan["status"] != "retired"
        and (plan["status"] == "draft" or chain[-1].id == row.id),
    )


@router.post("/plans/{plan_id}/{action}")
def plan_action(
    plan_id: int,
    action: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    command.plan_step(session, who, plan_id, action, at)
    return RedirectResponse(f"/response/plans/{plan_id}", status_code=303)


# ---------------------------------------------------------------- roster


def _roster_page(
    request: Request,
    session: Session,
    who: Principal,
    at: datetime,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    start = svc.as_utc(at).astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)  # type: ignore[union-attr]
    shifts = [
        duty.shift_dict(s, at) for s in duty.roster(session, who, start, start + timedelta(days=7))
    ]
    days: dict[str, list[dict[str, Any]]] = {}
    for s in shifts:
        days.setdefault(s["day"], []).append(s)
    handovers = [duty.handover_dict(h) for h in duty.handovers(session, who)]
    return show(
        request,
        "response/roster.html",
        status,
        days=days,
        on_duty=[s for s in shifts if s["on_duty"]],
        handovers=handovers,
        names=_division_names(
            session, {s["division_code"] for s in shifts} | {h["division_code"] for h in handovers}
        ),
        divisions=scope_divisions(session, who),
        can_edit=wf.may(who.role, "roster"),
        errors=errors or {},
        values=values or {},
    )


@router.get("/roster")
def roster_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    return _roster_page(request, session, who, at)


@router.post("/roster/{what}")
def roster_submit(
    what: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    data = form_dict(form)
    try:
        if what == "shift":
            data["starts_at"] = _local_time(data.get("starts_at", ""), "starts_at")
            data["ends_at"] = _local_time(data.get("ends_at", ""), "ends_at")
            duty.add_shift(session, who, validate(ShiftIn, data), at)
        elif what == "handover":
            duty.hand_over(session, who, validate(HandoverIn, data), at)
        else:
            raise NotFound("操作", "action")
    except Invalid as exc:
        session.rollback()
        return _roster_page(
            request, session, who, at, field_errors(exc, lang_of(request)), form_dict(form), 422
        )
    return RedirectResponse("/response/roster", status_code=303)
