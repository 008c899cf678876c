"""Enforcement REST API under /api/v1/enforcement: classes, plans, pool, draws, inspections, cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from safecity.core.deps import db, now, principal
from safecity.core.errors import NotFound
from safecity.core.scope import Principal
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
    signatures,
    supervision,
)
from safecity.enforcement import cases as rules
from safecity.enforcement import schemas as s
from safecity.enforcement.models import Case, Draw, Inspection
from safecity.hazards import uploads
from safecity.hazards.api import read_input

router = APIRouter(prefix="/api/v1/enforcement", tags=["enforcement"])
public_router = APIRouter(prefix="/api/v1/public/enforcement", tags=["enforcement"])
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Db = Depends(db, scope="function")
Who = Depends(principal)
Now = Depends(now)


def draw_out(d: Draw) -> s.DrawOut:
    out = s.DrawOut.model_validate(d)
    if d.status == "drawn" and d.result:
        out.seed = d.seed_hex
        out.key_targets = d.result["key_targets"]
        out.random_targets = d.result["random_targets"]
        out.assignments = d.result["assignments"]
    return out


def doc_out(doc: Any) -> s.DocumentOut:
    out = s.DocumentOut.model_validate(doc)
    out.docx_url = f"/api/v1/enforcement/documents/{doc.id}.docx"
    return out


def inspection_out(session: Session, i: Inspection) -> s.InspectionOut:
    out = s.InspectionOut.model_validate(i)
    out.findings = [s.FindingOut.model_validate(f) for f in inspecting.findings_of(session, i.id)]
    out.documents = [doc_out(d) for d in issuing.documents_for(session, inspection_id=i.id)]
    return out


def case_out(session: Session, who: Principal, c: Case, at: datetime) -> s.CaseOut:
    out = s.CaseOut.model_validate(c)
    out.state_label = rules.STATES[c.state][0]
    out.overdue = casework.is_overdue(c, at)
    out.allowed_steps = casework.allowed_steps(session, who, c)
    out.history = casework.history_of(session, c)
    out.documents = [doc_out(d) for d in issuing.documents_for(session, case=c)]
    return out


# ---------------------------------------------------------------- classes


@router.post("/classes/classify", summary="(Re)compute supervision classes in a division")
def classify(
    data: s.ClassifyIn, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.ClassifyOut:
    return s.ClassifyOut(counts=supervision.classify(session, who, at, data.division_code))


@router.get("/classes", summary="Supervision classes inside the caller's scope")
def classes(
    class_key: str | None = None,
    page: int = Query(1, ge=1),
    size: int = Query(50, ge=1, le=common.MAX_PAGE_SIZE),
    session: Session = Db,
    who: Principal = Who,
) -> s.ClassPage:
    items, total = supervision.list_classes(session, who, class_key, page, size)
    return s.ClassPage(
        items=[s.ClassOut.model_validate(r) for r in items],
        total=total,
        counts=supervision.class_counts(session, who),
    )


@router.post("/classes/{enterprise_id}/override", summary="Override a class with a reason")
def override(
    enterprise_id: int,
    data: s.OverrideIn,
    session: Session = Db,
    who: Principal = Who,
    at: datetime = Now,
) -> s.ClassOut:
    row = supervision.override_class(session, who, enterprise_id, data.to_class, data.reason, at)
    return s.ClassOut.model_validate(row)


# ---------------------------------------------------------------- plans


def plan_out(session: Session, plan: Any) -> s.PlanOut:
    out = s.PlanOut.model_validate(plan)
    out.rows = [s.PlanRowOut.model_validate(r) for r in planning.plan_rows(session, plan)]
    out.progress = [s.ProgressOut(**p) for p in planning.plan_progress(session, plan)]
    return out


@router.get("/plans", summary="Yearly inspection plans in the caller's divisions")
def plans(session: Session = Db, who: Principal = Who) -> list[s.PlanOut]:
    return [plan_out(session, p) for p in planning.list_plans(session, who)]


@router.post("/plans", status_code=201, summary="Draft a yearly inspection plan")
def create_plan(
    data: s.PlanIn, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.PlanOut:
    return plan_out(session, planning.create_plan(session, who, data.model_dump(), at))


@router.get("/plans/{plan_id}", summary="A plan with its rows and progress")
def plan(plan_id: int, session: Session = Db, who: Principal = Who) -> s.PlanOut:
    return plan_out(session, planning.get_plan(session, who, plan_id))


@router.post("/plans/{plan_id}/approve", summary="Approve a draft plan (office head)")
def approve(
    plan_id: int, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.PlanOut:
    return plan_out(session, planning.approve_plan(session, who, plan_id, at))


# ---------------------------------------------------------------- inspector pool


@router.get("/inspectors", summary="The inspector pool (certificates, conflicts)")
def inspectors(session: Session = Db, who: Principal = Who) -> list[s.InspectorOut]:
    return [s.InspectorOut.model_validate(i) for i in roster.list_inspectors(session, who)]


@router.post("/inspectors", status_code=201, summary="Add an inspector to the pool")
def add_inspector(
    data: s.InspectorIn, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.InspectorOut:
    return s.InspectorOut.model_validate(roster.save_inspector(session, who, data.model_dump(), at))


@router.put("/inspectors/{inspector_id}", summary="Update an inspector")
def update_inspector(
    inspector_id: int,
    data: s.InspectorIn,
    session: Session = Db,
    who: Principal = Who,
    at: datetime = Now,
) -> s.InspectorOut:
    row = roster.save_inspector(session, who, data.model_dump(), at, inspector_id)
    return s.InspectorOut.model_validate(row)


# ---------------------------------------------------------------- draws


@router.get("/draws", summary="Draws in the caller's divisions")
def draws(session: Session = Db, who: Principal = Who) -> list[s.DrawOut]:
    return [draw_out(d) for d in selection.list_draws(session, who)]


@router.post("/draws", status_code=201, summary="Fix the pools and commit to a seed (step 1)")
def create_draw(
    data: s.DrawIn, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.DrawOut:
    return draw_out(selection.create_draw(session, who, data.model_dump(), at))


@router.get("/draws/{draw_id}", summary="One draw (the seed once it has run)")
def draw(draw_id: int, session: Session = Db, who: Principal = Who) -> s.DrawOut:
    return draw_out(selection.get_draw(session, who, draw_id))


@router.post("/draws/{draw_id}/run", summary="Run a committed draw (step 2, once)")
def run(draw_id: int, session: Session = Db, who: Principal = Who, at: datetime = Now) -> s.DrawOut:
    return draw_out(selection.run_draw(session, who, draw_id, at))


@router.post("/draws/{draw_id}/publish", summary="Publish a draw's result (一公开)")
def publish(
    draw_id: int, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.DrawOut:
    return draw_out(selection.publish_draw(session, who, draw_id, at))


def _verify(session: Session, draw_id: int) -> s.VerifyOut:
    ok, checks = selection.verify_draw(session, draw_id)
    return s.VerifyOut(draw_id=draw_id, ok=ok, checks=[s.CheckOut(**c.__dict__) for c in checks])


@router.get("/draws/{draw_id}/verify", summary="Re-run the draw and compare")
def verify(draw_id: int, session: Session = Db, who: Principal = Who) -> s.VerifyOut:
    selection.get_draw(session, who, draw_id)
    return _verify(session, draw_id)


def public_out(session: Session, d: Draw) -> s.PublicDrawOut:
    result = d.result or {}
    ents = common.names_of(session, {int(t) for t in result.get("assignments", {})})
    pool = {str(r[0]): r for r in d.pools.get("inspectors", [])}
    names = {i.id: i.name for i in roster.inspector_rows(session, [int(k) for k in pool])}
    key = set(result.get("key_targets", []))
    return s.PublicDrawOut(
        id=d.id,
        title=d.title,
        division_code=d.division_code,
        draw_date=d.draw_date,
        share=d.share,
        per_target=d.per_target,
        commitment=d.commitment,
        fingerprint=d.fingerprint,
        seed=d.seed_hex,
        n_targets=d.n_targets,
        n_selected=d.n_selected,
        assignments=[
            s.PublicAssignment(
                enterprise=ents[int(t)].name if int(t) in ents else t,
                division_code=ents[int(t)].division_code if int(t) in ents else "",
                key_unit=t in key,
                inspectors=[names.get(int(i), i) for i in ids],
            )
            for t, ids in sorted(result.get("assignments", {}).items(), key=lambda kv: int(kv[0]))
        ],
    )


@public_router.get("/draws", summary="Published draw results (no login)")
def public_draws(session: Session = Db) -> list[s.PublicDrawOut]:
    return [public_out(session, d) for d in selection.list_draws(session, None, True)]


@public_router.get("/draws/{draw_id}", summary="One published draw result (no login)")
def public_draw(draw_id: int, session: Session = Db) -> s.PublicDrawOut:
    return public_out(session, selection.public_draw(session, draw_id))


@public_router.get("/draws/{draw_id}/verify", summary="Anyone re-runs a published draw")
def public_verify(draw_id: int, session: Session = Db) -> s.VerifyOut:
    selection.public_draw(session, draw_id)
    return _verify(session, draw_id)


@public_router.get("/draws/{draw_id}/pools.json", summary="The pools as drawn, to re-run it")
def public_pools(draw_id: int, session: Session = Db) -> s.DrawPoolsOut:
    d = selection.public_draw(session, draw_id)
    return {"draw": s.DrawOut.model_validate(d).model_dump(mode="json"), "pools": d.pools}


# ---------------------------------------------------------------- inspections


@router.get("/inspections", summary="Inspections inside the caller's scope")
def inspections(
    status: str | None = None,
    enterprise_id: int | None = None,
    draw_id: int | None = None,
    page: int = Query(1, ge=1),
    size: int = Query(50, ge=1, le=common.MAX_PAGE_SIZE),
    session: Session = Db,
    who: Principal = Who,
) -> s.InspectionPage:
    items, total = inspecting.list_inspections(
        session, who, status, enterprise_id, draw_id, page, size
    )
    return s.InspectionPage(items=[inspection_out(session, i) for i in items], total=total)


@router.post("/inspections", status_code=201, summary="Schedule an inspection outside a draw")
def create_inspection(
    data: s.InspectionIn, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.InspectionOut:
    i = inspecting.create_inspection(session, who, data.model_dump(), at)
    return inspection_out(session, i)


@router.get("/inspections/{inspection_id}", summary="One inspection with findings and documents")
def inspection(inspection_id: int, session: Session = Db, who: Principal = Who) -> s.InspectionOut:
    return inspection_out(session, inspecting.get_inspection(session, who, inspection_id))


@router.post("/inspections/{inspection_id}/results", summary="Record checklist answers")
def results(
    inspection_id: int,
    data: s.ResultsIn,
    session: Session = Db,
    who: Principal = Who,
    at: datetime = Now,
) -> s.InspectionOut:
    i = fieldwork.save_results(session, who, inspection_id, data.model_dump(), at)
    return inspection_out(session, i)


@router.post(
    "/inspections/{inspection_id}/findings",
    status_code=201,
    summary="Add a finding (JSON, or multipart with photos): opens a hidden danger or a case",
)
async def finding(
    inspection_id: int,
    request: Request,
    session: Session = Db,
    who: Principal = Who,
    at: datetime = Now,
) -> s.FindingOut:
    data, photos = await read_input(request)
    f = fieldwork.add_finding(session, who, inspection_id, data, photos, at)
    return s.FindingOut.model_validate(f)


@router.post("/inspections/{inspection_id}/finish", summary="Sign and close the record")
def finish(
    inspection_id: int,
    data: s.FinishIn,
    session: Session = Db,
    who: Principal = Who,
    at: datetime = Now,
) -> s.InspectionOut:
    i = fieldwork.finish_inspection(session, who, inspection_id, data.model_dump(), at)
    return inspection_out(session, i)


@router.get(
    "/inspections/{inspection_id}/signatures/{name}",
    summary="A hand-drawn signature of the record (PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def signature(
    inspection_id: int, name: str, session: Session = Db, who: Principal = Who
) -> Response:
    i = inspecting.get_inspection(session, who, inspection_id)
    data = signatures.read(name) if name in fieldwork.signature_pngs(i) else None
    if data is None:
        raise NotFound("签名", "signature")
    return Response(
        data, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
    )


@router.get(
    "/photos/{name}",
    summary="A finding's photo",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def photo(name: str, thumb: bool = False, session: Session = Db, who: Principal = Who) -> Response:
    f = inspecting.finding_with_photo(session, who, name)
    path = uploads.path_of(name, thumb)
    if f is None or path is None or not path.is_file():
        raise NotFound("照片", "photo")
    media = "image/jpeg" if thumb else uploads.MEDIA[name.rsplit(".", 1)[1]]
    return Response(path.read_bytes(), media_type=media)


# ---------------------------------------------------------------- cases


@router.get("/cases", summary="Penalty cases inside the caller's scope")
def cases(
    state: str | None = None,
    enterprise_id: int | None = None,
    violation: str | None = None,
    overdue: bool = False,
    open: bool = False,
    division: str | None = Query(None, description="division code: it and the divisions under it"),
    q: str | None = Query(None, description="text in the case number or title"),
    page: int = Query(1, ge=1),
    size: int = Query(50, ge=1, le=common.MAX_PAGE_SIZE),
    session: Session = Db,
    who: Principal = Who,
    at: datetime = Now,
) -> s.CasePage:
    f = case_search.CaseFilters(
        state=state,
        enterprise_id=enterprise_id,
        violation=violation,
        overdue=overdue,
        open_only=open,
        page=page,
        size=size,
        division=division,
        q=q,
    )
    items, total = case_search.list_cases(
        session, who, case_search.case_filters_checked(session, who, f), at
    )
    rows = []
    for c in items:
        out = s.CaseOut.model_validate(c)
        out.state_label, out.overdue = rules.STATES[c.state][0], casework.is_overdue(c, at)
        rows.append(out)
    return s.CasePage(items=rows, total=total, page=page, size=size)


@router.post("/cases", status_code=201, summary="Register a case clue (线索)")
def open_case(
    data: s.CaseIn, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.CaseOut:
    return case_out(session, who, casework.open_case(session, who, data.model_dump(), at), at)


@router.get("/cases/{case_id}", summary="One case with its history and documents")
def case(
    case_id: int, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.CaseOut:
    return case_out(session, who, casework.get_case(session, who, case_id), at)


@router.post("/cases/{case_id}/steps", summary="Take one step of the case (409 when out of order)")
def step(
    case_id: int, data: s.StepIn, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.CaseOut:
    c = casework.take_step(session, who, case_id, data.step, data.model_dump(exclude_none=True), at)
    return case_out(session, who, c, at)


@router.get(
    "/cases/{case_id}/file.pdf",
    summary="The electronic case file (电子案卷) as one PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def case_file(case_id: int, session: Session = Db, who: Principal = Who) -> Response:
    pdf = casework.case_file(session, who, case_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="case-{case_id}.pdf"'},
    )


@router.get(
    "/documents/{doc_id}.docx",
    summary="A generated document as DOCX",
    response_class=Response,
    responses={200: {"content": {DOCX: {}}}},
)
def document(doc_id: int, session: Session = Db, who: Principal = Who) -> Response:
    doc = casework.get_document(session, who, doc_id)
    return Response(
        issuing.docx_of(session, doc),
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="{doc.kind}-{doc.id}.docx"'},
    )


# ---------------------------------------------------------------- statistics


# a statistics year outside this range is a 422 (datetime cannot hold year -243 or 41442)
Year = Query(None, ge=2000, le=2100)


@router.get("/stats", summary="Enforcement statistics per division, violation and inspector")
def stats(
    year: int | None = Year, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> s.StatsOut:
    return s.StatsOut(**overview.stats(session, who, year or common.local_date(at).year, at))


@router.get(
    "/stats.xlsx",
    summary="Statistics as XLSX",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def stats_xlsx(
    year: int | None = Year, session: Session = Db, who: Principal = Who, at: datetime = Now
) -> Response:
    data = overview.stats(session, who, year or common.local_date(at).year, at)
    return Response(
        overview.stats_xlsx(data),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="enforcement-stats.xlsx"'},
    )
