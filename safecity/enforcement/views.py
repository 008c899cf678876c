"""Enforcement web pages: desk, classes, plans, pool, draws (and their public results),
inspections filled in on a phone, cases with their steps, documents and the case file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from safecity.core.clock import BEIJING
from safecity.core.deps import db, now
from safecity.core.errors import FieldError, Invalid, SafeCityError
from safecity.core.scope import Principal, code_within
from safecity.enforcement import (
    case_search,
    casework,
    common,
    fieldwork,
    inspecting,
    issuing,
    overview,
    planning,
    roster,
    selection,
    supervision,
)
from safecity.enforcement import cases as rules
from safecity.enforcement.models import Case, Draw, Inspection, Plan, PlanRow
from safecity.hazards import checks as hd_checks
from safecity.hazards import uploads
from safecity.registry.models import Division
from safecity.web.guard import current, form_data, web_user
from safecity.web.i18n import pick
from safecity.web.render import lang_of, render

router = APIRouter(include_in_schema=False)
Db = Depends(db, scope="function")
Web = Depends(web_user)
Now = Depends(now)


def labels(lang: str) -> dict[str, Any]:
    def tr(table: dict[str, Any]) -> dict[str, str]:
        return {k: pick((v[0], v[1]), lang) for k, v in table.items()}

    t = common.table()
    return {
        "states": tr(rules.STATES),
        "steps": tr(rules.STEPS),
        "roles": tr(rules.ROLES),
        "inspection": tr(common.INSPECTION_STATES),
        "kinds": tr(common.FINDING_KINDS),
        "results": tr(common.RESULTS),
        "measures": tr(common.MEASURES),
        "circumstances": tr(t.circumstances),
        "violations": {k: pick((v[0], v[1]), lang) for k, v in t.violations.items()},
        "classes": {k: pick((v[0], v[1]), lang) for k, v in common.scheme().classes.items()},
    }


def fmt_dt(value: Any, date_only: bool = False) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return str(value)
    local = common.as_utc(value).astimezone(BEIJING)  # type: ignore[union-attr]
    return local.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M")


def show(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    return render(request, template, status, fmt_dt=fmt_dt, L=labels(lang_of(request)), **context)


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _form(form: FormData | None) -> tuple[dict[str, Any], list[UploadFile]]:
    data: dict[str, Any] = {}
    files: list[UploadFile] = []
    for key, value in form.multi_items() if form else []:
        if isinstance(value, UploadFile):
            if value.filename or value.size:
                files.append(value)
        elif key != "csrf":
            if key in data:
                data[key] = [*(data[key] if isinstance(data[key], list) else [data[key]]), value]
            else:
                data[key] = value
    return data, files


def _errors(exc: Invalid, lang: str) -> list[str]:
    return [pick((e.zh, e.en), lang) for e in exc.errors]


# ---------------------------------------------------------------- desk


@router.get("/enforcement")
def desk(
    request: Request, session: Session = Db, who: Principal = Web, at: datetime = Now
) -> Response:
    year = common.local_date(at).year
    open_cases = case_search.list_cases(
        session, who, case_search.CaseFilters(open_only=True, size=1), at
    )[1]
    overdue = case_search.list_cases(
        session, who, case_search.CaseFilters(overdue=True, size=10), at
    )
    planned = inspecting.list_inspections(session, who, "planned", size=1)[1]
    done = session.scalar(
        select(func.count())
        .select_from(Inspection)
        .where(
            inspecting.inspection_clause(who),
            Inspection.status == "done",
            Inspection.finished_at >= datetime(year, 1, 1, tzinfo=UTC),
        )
    )
    mine_all = inspecting.my_inspections(session, who)
    mine = mine_all[:8]  # the nearest few; a phone is not the place for a list of hundreds
    ents = common.names_of(
        session, {i.enterprise_id for i in mine} | {c.enterprise_id for c in overdue[0]}
    )
    return show(
        request,
        "enforcement/desk.html",
        open_cases=open_cases,
        overdue=overdue,
        planned=planned,
        done=done or 0,
        mine=mine,
        mine_total=len(mine_all),
        ents=ents,
        classes=supervision.class_counts(session, who),
        at=at,
    )


# ---------------------------------------------------------------- classes


@router.get("/enforcement/classes")
def classes_page(
    request: Request, session: Session = Db, who: Principal = Web, page: int = 1
) -> Response:
    key = request.query_params.get("class") or None
    items, total = supervision.list_classes(session, who, key, page, 50)
    return show(
        request,
        "enforcement/classes.html",
        items=items,
        total=total,
        page=page,
        key=key,
        counts=supervision.class_counts(session, who),
        ents=common.names_of(session, {r.enterprise_id for r in items}),
        may_write=who.role in common.PLANNERS,
    )


@router.post("/enforcement/classes/classify")
def classify_page(session: Session = Db, who: Principal = Web, at: datetime = Now) -> Response:
    supervision.classify(session, who, at)
    return back("/enforcement/classes")


@router.post("/enforcement/classes/{enterprise_id}/override")
def override_page(
    enterprise_id: int,
    request: Request,
    session: Session = Db,
    who: Principal = Web,
    form: FormData | None = Depends(form_data),
    at: datetime = Now,
) -> Response:
    data, _ = _form(form)
    supervision.override_class(
        session, who, enterprise_id, data.get("to_class", ""), data.get("reason", ""), at
    )
    return back(f"/enforcement/classes?class={data.get('to_class', '')}")


# ---------------------------------------------------------------- plans and pool


@router.get("/enforcement/plans")
def plans_page(request: Request, session: Session = Db, who: Principal = Web) -> Response:
    plans = planning.list_plans(session, who)
    return show(
        request,
        "enforcement/plans.html",
        plans=[
            (p, planning.plan_rows(session, p), planning.plan_progress(session, p)) for p in plans
        ],
        may_approve=who.role in common.APPROVERS,
    )


@router.post("/enforcement/plans/{plan_id}/approve")
def approve_page(
    plan_id: int, session: Session = Db, who: Principal = Web, at: datetime = Now
) -> Response:
    planning.approve_plan(session, who, plan_id, at)
    return back("/enforcement/plans")


@router.get("/enforcement/inspectors")
def inspectors_page(
    request: Request, session: Session = Db, who: Principal = Web, at: datetime = Now
) -> Response:
    rows = roster.list_inspectors(session, who)
    ids = {
        e for r in rows for e in [*(r.related_enterprise_ids or []), *(r.former_employer_ids or [])]
    }
    return show(
        request,
        "enforcement/inspectors.html",
        rows=rows,
        today=common.local_date(at),
        ents=common.names_of(session, ids),
    )


# ---------------------------------------------------------------- draws


def _draw_context(session: Session, d: Draw) -> dict[str, Any]:
    result = d.result or {}
    ids = {int(t) for t in result.get("assignments", {})}
    pool = {
        i.id: i
        for i in roster.inspector_rows(session, [int(r[0]) for r in d.pools.get("inspectors", [])])
    }
    return {
        "d": d,
        "ents": common.names_of(session, ids),
        "pool": pool,
        "key": set(result.get("key_targets", [])),
        "assignments": sorted(result.get("assignments", {}).items(), key=lambda kv: int(kv[0])),
    }


def _random_rows(session: Session, who: Principal) -> list[Any]:
    """The random-share rows a draw may follow: of approved plans in the caller's scope (the
    only ones create_draw accepts), as plain rows of what the choice shows."""
    return list(
        session.execute(
            select(PlanRow.id, PlanRow.item, PlanRow.random_share)
            .join(Plan, Plan.id == PlanRow.plan_id)
            .where(
                PlanRow.scope_kind == "random",
                Plan.status == "approved",
                code_within(Plan.division_code, who.prefix),
            )
            .order_by(PlanRow.plan_id.desc(), PlanRow.seq)
        )
    )


@router.get("/enforcement/draws")
def draws_page(request: Request, session: Session = Db, who: Principal = Web) -> Response:
    draws = selection.draw_rows(session, who)  # before the plan rows: refuses roles not allowed
    return show(
        request,
        "enforcement/draws.html",
        draws=draws,
        plan_rows=_random_rows(session, who),
        errors=[],
        values={},
        may_write=who.role in common.PLANNERS,
    )


@router.post("/enforcement/draws")
def create_draw_page(
    request: Request,
    session: Session = Db,
    who: Principal = Web,
    form: FormData | None = Depends(form_data),
    at: datetime = Now,
) -> Response:
    data, _ = _form(form)
    try:
        d = selection.create_draw(session, who, data, at)
    except Invalid as exc:
        session.rollback()
        return show(
            request,
            "enforcement/draws.html",
            422,
            draws=selection.draw_rows(session, who),
            plan_rows=_random_rows(session, who),
            errors=_errors(exc, lang_of(request)),
            values=data,
            may_write=True,
        )
    return back(f"/enforcement/draws/{d.id}")


@router.get("/enforcement/draws/{draw_id}")
def draw_page(
    draw_id: int, request: Request, session: Session = Db, who: Principal = Web
) -> Response:
    d = selection.get_draw(session, who, draw_id)
    verified = selection.verify_draw(session, d.id) if d.status == "drawn" else None
    return show(
        request,
        "enforcement/draw.html",
        verified=verified,
        may_write=who.role in common.PLANNERS,
        **_draw_context(session, d),
    )


@router.post("/enforcement/draws/{draw_id}/run")
def run_page(
    draw_id: int, session: Session = Db, who: Principal = Web, at: datetime = Now
) -> Response:
    selection.run_draw(session, who, draw_id, at)
    return back(f"/enforcement/draws/{draw_id}")


@router.post("/enforcement/draws/{draw_id}/publish")
def publish_page(
    draw_id: int, session: Session = Db, who: Principal = Web, at: datetime = Now
) -> Response:
    selection.publish_draw(session, who, draw_id, at)
    return back(f"/enforcement/draws/{draw_id}")


@router.get("/public/enforcement/draws")
def public_draws(request: Request, session: Session = Db) -> Response:
    current(request, session)  # the signed-in user in the top bar, if any
    return show(request, "enforcement/public.html", draws=selection.draw_rows(session, None, True))


@router.get("/public/enforcement/draws/{draw_id}")
def public_draw(draw_id: int, request: Request, session: Session = Db) -> Response:
    current(request, session)
    d = selection.public_draw(session, draw_id)
    return show(
        request,
        "enforcement/public_draw.html",
        verified=selection.verify_draw(session, d.id),
        **_draw_context(session, d),
    )


# ---------------------------------------------------------------- inspections


def _filtered_enterprise(session: Session, who: Principal, ent_id: int | None) -> Any:
    """The enterprise a list is filtered to, for its chip (None when unknown or out of sight)."""
    if not ent_id:
        return None
    try:
        return common.enterprise_for(session, who, ent_id)
    except SafeCityError:
        return None


@router.get("/enforcement/inspections")
def inspections_page(
    request: Request, session: Session = Db, who: Principal = Web, page: int = 1
) -> Response:
    status = request.query_params.get("status") or None
    if status not in common.INSPECTION_STATES:
        status = None
    try:
        draw_id = int(request.query_params.get("draw_id") or 0) or None
        ent_id = int(request.query_params.get("enterprise_id") or 0) or None
    except ValueError:
        draw_id = ent_id = None
    mine = inspecting.my_inspections(session, who)
    only_mine = request.query_params.get("mine") == "1"
    if only_mine:
        start = (max(1, page) - 1) * 50
        items, total = mine[start : start + 50], len(mine)
    else:
        items, total = inspecting.list_inspections(
            session, who, status, enterprise_id=ent_id, draw_id=draw_id, page=page, size=50
        )
    return show(
        request,
        "enforcement/inspections.html",
        enterprise=_filtered_enterprise(session, who, ent_id),
        items=items,
        total=total,
        shown_status=status,
        page=page,
        only_mine=only_mine,
        mine=[] if only_mine else mine[:5],
        mine_total=len(mine),
        ents=common.names_of(session, {i.enterprise_id for i in [*items, *mine[:5]]}),
    )


def _inspection_page(
    request: Request,
    session: Session,
    who: Principal,
    i: Inspection,
    errors: list[str],
    status: int = 200,
) -> Response:
    ent = common.names_of(session, {i.enterprise_id}).get(i.enterprise_id)
    checklists = hd_checks.list_checklists(session, who) if who.role != "enterprise_officer" else []
    items = hd_checks.items_of(session, i.checklist_id) if i.checklist_id else []
    me = roster.inspector_of(session, who)
    editable = i.status != "done" and (
        who.role == "admin" or (me is not None and me.id in i.inspector_ids)
    )
    return show(
        request,
        "enforcement/inspection.html",
        status,
        i=i,
        ent=ent,
        team=roster.inspector_rows(session, i.inspector_ids),
        checklists=checklists,
        items=items,
        results=i.results or {},
        findings=inspecting.findings_of(session, i.id),
        docs=issuing.documents_for(session, inspection_id=i.id),
        editable=editable,
        signed=fieldwork.signature_images(i),
        errors=errors,
    )


@router.get("/enforcement/inspections/{inspection_id}")
def inspection_page(
    inspection_id: int, request: Request, session: Session = Db, who: Principal = Web
) -> Response:
    return _inspection_page(
        request, session, who, inspecting.get_inspection(session, who, inspection_id), []
    )


def _retry(
    request: Request, session: Session, who: Principal, inspection_id: int, exc: Invalid
) -> Response:
    session.rollback()
    i = inspecting.get_inspection(session, who, inspection_id)
    return _inspection_page(request, session, who, i, _errors(exc, lang_of(request)), 422)


@router.post("/enforcement/inspections/{inspection_id}/results")
def results_page(
    inspection_id: int,
    request: Request,
    session: Session = Db,
    who: Principal = Web,
    form: FormData | None = Depends(form_data),
    at: datetime = Now,
) -> Response:
    data, _ = _form(form)
    results = {
        k[5:]: {"result": v, "note": data.get(f"note_{k[5:]}", "")}
        for k, v in data.items()
        if k.startswith("item_") and v
    }
    try:
        fieldwork.save_results(
            session,
            who,
            inspection_id,
            {
                "checklist_id": data.get("checklist_id"),
                "results": results,
                "lon": data.get("lon"),
                "lat": data.get("lat"),
            },
            at,
        )
    except Invalid as exc:
        return _retry(request, session, who, inspection_id, exc)
    return back(f"/enforcement/inspections/{inspection_id}#findings")


@router.post("/enforcement/inspections/{inspection_id}/findings")
async def finding_page(
    inspection_id: int,
    request: Request,
    session: Session = Db,
    who: Principal = Web,
    form: FormData | None = Depends(form_data),
    at: datetime = Now,
) -> Response:
    data, files = _form(form)
    photos = []
    for f in files:
        content = await f.read(uploads.MAX_PHOTO_BYTES + 1)
        if len(content) > uploads.MAX_PHOTO_BYTES:
            exc = Invalid(
                [FieldError("photos", "照片：单张不能超过 8 MB", "photo: larger than 8 MB")]
            )
            return _retry(request, session, who, inspection_id, exc)
        photos.append(content)
    try:
        fieldwork.add_finding(session, who, inspection_id, data, photos, at)
    except Invalid as exc:
        return _retry(request, session, who, inspection_id, exc)
    return back(f"/enforcement/inspections/{inspection_id}#findings")


@router.post("/enforcement/inspections/{inspection_id}/finish")
def finish_page(
    inspection_id: int,
    request: Request,
    session: Session = Db,
    who: Principal = Web,
    form: FormData | None = Depends(form_data),
    at: datetime = Now,
) -> Response:
    data, _ = _form(form)
    # The pads post sig_<inspector id> and sig_party; the page always has them, so a record
    # finished here is always signed by hand (empty pads are refused by the service).
    drawn = {k[4:]: v for k, v in data.items() if k.startswith("sig_")}
    if drawn:
        data["signatures"] = drawn
    try:
        fieldwork.finish_inspection(session, who, inspection_id, data, at)
    except Invalid as exc:
        return _retry(request, session, who, inspection_id, exc)
    return back(f"/enforcement/inspections/{inspection_id}#documents")


# ---------------------------------------------------------------- cases


@router.get("/enforcement/cases")
def cases_page(
    request: Request, session: Session = Db, who: Principal = Web, at: datetime = Now
) -> Response:
    qp = request.query_params
    state = qp.get("state") if qp.get("state") in rules.STATES else None
    try:
        page = max(1, int(qp.get("page", 1)))
        ent = int(qp["enterprise_id"]) if qp.get("enterprise_id") else None
    except ValueError:
        page, ent = 1, None
    f = case_search.CaseFilters(
        state=state,
        enterprise_id=ent,
        overdue=qp.get("overdue") == "1",
        open_only=qp.get("open") == "1",
        page=page,
        size=50,
        division=qp.get("division") or None,
        q=qp.get("q") or None,
    )
    errors: list[str] = []
    status = 200
    try:
        case_search.case_filters_checked(session, who, f)
    except Invalid as exc:  # the page comes back unfiltered by what was wrong, saying why
        errors, status = _errors(exc, lang_of(request)), 422
        f.division, f.q = None, None
    found = case_search.case_list(session, who, f, at)
    items, total = found.items, found.total
    return show(
        request,
        "enforcement/cases.html",
        status,
        enterprise=_filtered_enterprise(session, who, ent),
        items=items,
        total=total,
        f=f,
        query=(qp.get("q") or "")[:200],
        errors=errors,
        divisions=_county_choices(session, who),
        counts=found.counts,
        at=at,
        overdue={c.id for c in items if casework.is_overdue(c, at)},
        ents=common.names_of(session, {c.enterprise_id for c in items}),
        pages=max(1, -(-total // f.size)),
    )


def _county_choices(session: Session, who: Principal) -> list[tuple[str, str]]:
    """Divisions the case list filters by: the caller's own and the counties under it."""
    rows = session.execute(
        select(Division.code, Division.name)
        .where(code_within(Division.code, who.prefix), Division.level.in_(("city", "county")))
        .order_by(Division.code)
    )
    return [(code, name) for code, name in rows]


FORWARD = ("file", "investigate", "submit", "notify", "decide", "serve", "execute", "close")


def _case_page(
    request: Request,
    session: Session,
    who: Principal,
    c: Case,
    at: datetime,
    errors: list[str],
    status: int = 200,
    values: dict[str, Any] | None = None,
) -> Response:
    steps = casework.allowed_steps(session, who, c)
    values = values or {}
    # After a refused step the form comes back as the user left it; otherwise the step that
    # moves the case forward is preselected, never a return or a termination.
    chosen = values.get("step") if values.get("step") in steps else None
    chosen = chosen or next((s for s in FORWARD if s in steps), None)
    try:
        role = casework.case_role(session, who)
    except Exception:  # noqa: BLE001  # a reader without a part in cases
        role = None
    return show(
        request,
        "enforcement/case.html",
        status,
        c=c,
        ent=common.names_of(session, {c.enterprise_id}).get(c.enterprise_id),
        docs=issuing.documents_for(session, case=c),
        history=casework.history_of(session, c),
        steps=steps,
        chosen=chosen,
        values=values,
        final=c.state in rules.FINAL,
        role=role,
        overdue=casework.is_overdue(c, at),
        errors=errors,
        rng=casework.case_range(c),
    )


@router.get("/enforcement/cases/{case_id}")
def case_page(
    case_id: int, request: Request, session: Session = Db, who: Principal = Web, at: datetime = Now
) -> Response:
    return _case_page(request, session, who, casework.get_case(session, who, case_id), at, [])


@router.post("/enforcement/cases/{case_id}/step")
def step_page(
    case_id: int,
    request: Request,
    session: Session = Db,
    who: Principal = Web,
    form: FormData | None = Depends(form_data),
    at: datetime = Now,
) -> Response:
    data, _ = _form(form)
    if isinstance(data.get("measures"), str):
        data["measures"] = [data["measures"]]
    if data.get("days") in ("", None):
        data.pop("days", None)
    try:
        casework.take_step(session, who, case_id, str(data.get("step") or ""), data, at)
    except Invalid as exc:
        session.rollback()
        c = casework.get_case(session, who, case_id)
        errors = _errors(exc, lang_of(request))
        return _case_page(request, session, who, c, at, errors, 422, values=data)
    return back(f"/enforcement/cases/{case_id}")


# ---------------------------------------------------------------- statistics


@router.get("/enforcement/stats")
def stats_page(
    request: Request, session: Session = Db, who: Principal = Web, at: datetime = Now
) -> Response:
    this_year = common.local_date(at).year
    try:
        year = int(request.query_params.get("year") or this_year)
    except ValueError:
        year = this_year
    if not 2000 <= year <= 2100:  # an address typed by hand: show this year, never a 500
        year = this_year
    return show(request, "enforcement/stats.html", data=overview.stats(session, who, year, at))


# ---------------------------------------------------------------- 一企一档


def one_file_section(
    session: Session, who: Principal, ent: Any, at: datetime
) -> list[tuple[str, dict[str, Any]]]:
    """The enforcement section of an enterprise's page, for the staff who read enforcement
    records and the enterprise's own officer; nothing for anyone else (or an archived one)."""
    if who.role not in common.GOVERNMENT and not (
        who.role == "enterprise_officer" and who.enterprise_id == ent.id
    ):
        return []
    try:
        summary = overview.enterprise_summary(session, who, ent.id, at)
    except SafeCityError:
        return []
    return [
        (
            "enforcement/_one_file.html",
            {
                **summary,
                "states": rules.STATES,
                "inspection_states": common.INSPECTION_STATES,
                "fmt_dt": fmt_dt,
            },
        )
    ]
