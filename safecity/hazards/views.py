"""Hazards web pages: list, detail with timeline and action forms, report (also for the public
without an account), inbox; statistics and inspection pages live in their own modules."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from safecity.core.clock import utcnow
from safecity.core.config import get_settings, public_base_url
from safecity.core.deps import db, now
from safecity.core.errors import FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal
from safecity.core.security import csrf_for
from safecity.hazards import checks_views, notify, service, stats_views, tracking, uploads
from safecity.hazards import workflow as wf
from safecity.hazards.api import client_ip
from safecity.hazards.models import HiddenDanger
from safecity.hazards.pages import field_errors as _errors
from safecity.hazards.pages import show
from safecity.plugins import hook
from safecity.registry import service as registry
from safecity.registry.kinds import ENTERPRISE
from safecity.registry.models import Division, Enterprise, GridCell
from safecity.web.guard import check_csrf, current, form_data, web_user
from safecity.web.i18n import pick
from safecity.web.render import lang_of

router = APIRouter(prefix="/hazards", include_in_schema=False)
REPORT_COOKIE = "safecity_report"


def _form_dict(form: FormData | None) -> tuple[dict[str, Any], list[UploadFile]]:
    data: dict[str, Any] = {}
    files: list[UploadFile] = []
    for key, value in form.multi_items() if form else []:
        if isinstance(value, UploadFile):
            if value.filename or value.size:
                files.append(value)
        elif key != "csrf":
            data[key] = value
    return data, files


async def _read_files(files: list[UploadFile], field: str) -> list[bytes]:
    out = []
    for f in files:
        content = await f.read(uploads.MAX_PHOTO_BYTES + 1)
        if len(content) > uploads.MAX_PHOTO_BYTES:
            raise Invalid([_too_big(field)])
        if content:
            out.append(content)
    return out


def _too_big(field: str) -> Any:
    mb = uploads.MAX_PHOTO_BYTES // 1048576
    return FieldError(field, f"照片：单张不能超过 {mb} MB", f"photo: larger than {mb} MB")


# ---------------------------------------------------------------- list


@router.get("/list")
def old_list(request: Request) -> Response:
    """The ledger's old address (bookmarks, notifications): the ledger is the kind's list now."""
    query = request.url.query
    return RedirectResponse("/hazards" + (f"?{query}" if query else ""), status_code=307)


# ---------------------------------------------------------------- report (also anonymous)


def _report_context(
    request: Request, session: Session, who: Principal | None, chosen: Any = None
) -> dict[str, Any]:
    """Staff choose the enterprise by searching /api/v1/enterprises (scoped, every enterprise
    they may see); only the one already chosen (a prefill, a refused post) is read here."""
    pick = who is not None and who.role not in ("public",)
    enterprise = None
    if pick and chosen and str(chosen).isdigit() and int(chosen) < 2**31:
        visible = (registry.scope_clause(ENTERPRISE, who), Enterprise.archived.is_(False))
        enterprise = session.execute(
            select(Enterprise.id, Enterprise.name).where(Enterprise.id == int(chosen), *visible)
        ).first()
    return {"enterprise_pick": pick, "enterprise": enterprise, "who": who}


def _report_csrf(request: Request, who: Principal | None) -> tuple[str, str | None]:
    """The CSRF token for the report form and, for visitors without a session, a new nonce."""
    web = getattr(request.state, "web", None)
    if who is not None and web is not None:
        return web.csrf, None
    nonce = request.cookies.get(REPORT_COOKIE) or secrets.token_urlsafe(24)
    return csrf_for(nonce), nonce


def _report_page(
    request: Request,
    session: Session,
    who: Principal | None,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    action: str = "/hazards/report",
    origin: dict[str, str] | None = None,
) -> Response:
    csrf, nonce = _report_csrf(request, who)
    resp = show(
        request,
        "hazards/report.html",
        status,
        csrf=csrf,
        values=values or {},
        errors=errors or {},
        form_action=action,
        origin=origin,
        **_report_context(request, session, who, (values or {}).get("enterprise_id")),
    )
    if nonce:
        resp.set_cookie(
            REPORT_COOKIE,
            nonce,
            httponly=True,
            samesite="lax",
            path="/hazards",
            secure=get_settings().cookie_secure,
        )
    return resp


def report_form_page(
    request: Request,
    session: Session,
    who: Principal,
    *,
    action: str,
    origin: dict[str, str],
    values: dict[str, Any],
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
) -> Response:
    """This report form, prefilled and posting to ``action``: another capability opening a
    hidden danger from one of its own objects (an incident) shows it with a link back to
    ``origin`` (``href``, ``label``) and reports through service.report."""
    return _report_page(request, session, who, status, values, errors, action, origin)


async def report_form_data(form: FormData | None) -> tuple[dict[str, Any], list[str]]:
    """The report form's fields and its photos, stored (422 when a photo is too large)."""
    data, files = _form_dict(form)
    return data, uploads.save_all(await _read_files(files, "photos"))


def report_errors(exc: Invalid, request: Request) -> dict[str, list[str]]:
    return _errors(exc, lang_of(request))


@router.get("/report")
def report_form(request: Request, session: Session = Depends(db, scope="function")) -> Response:
    return _report_page(request, session, current(request, session))


@router.post("/report")
async def report_submit(
    request: Request, session: Session = Depends(db, scope="function"), at: datetime = Depends(now)
) -> Response:
    who = current(request, session)
    anonymous = who is None or who.role == "public"
    if anonymous:  # before the form is parsed: an address over its budget costs us no parsing
        service.check_rate(session, client_ip(request), at)
    form = await form_data(request)
    token = request.cookies.get("safecity_session") if who else request.cookies.get(REPORT_COOKIE)
    check_csrf(request, form, token or secrets.token_hex(8))
    data, files = _form_dict(form)
    lang = lang_of(request)
    try:
        contents = await _read_files(files, "photos")
        photos = uploads.save_all(contents)
        hd = service.report(session, who, data, photos, at, client_ip(request))
    except Invalid as exc:
        session.rollback()
        return _report_page(request, session, who, 422, data, _errors(exc, lang))
    if anonymous:
        track = public_base_url(str(request.base_url)) + tracking.link(tracking.issue(hd))
        session.commit()
        return show(request, "hazards/report_done.html", hd_id=hd.id, track=track)
    return RedirectResponse(f"/hazards/{hd.id}", status_code=303)


@router.get("/track/{token}")
def track_page(
    token: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    at: datetime = Depends(now),
) -> Response:
    """An anonymous report's public progress; a wrong token is 404, lookups are rate-limited."""
    hd = tracking.find(session, token, client_ip(request), at)
    return show(request, "hazards/track.html", p=tracking.progress(session, hd, lang_of(request)))


# ---------------------------------------------------------------- inbox


@router.get("/inbox")
def inbox_page(
    request: Request,
    unread: bool = False,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    items = notify.inbox(session, who, unread, limit=200)
    return show(
        request,
        "hazards/inbox.html",
        items=items,
        unread=notify.unread_count(session, who),
        unread_only=unread,
    )


@router.post("/inbox/read")
def inbox_read(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    raw = str(form.get("id") or "") if form else ""
    ids = [int(raw)] if raw.isdigit() else None
    notify.mark_read(session, who, ids, at)
    target = str(form.get("next") or "") if form else ""
    return RedirectResponse(
        target if target.startswith("/hazards/") else "/hazards/inbox", status_code=303
    )


# ---------------------------------------------------------------- statistics and inspections

router.include_router(stats_views.router)  # before /{hd_id}, which would swallow /stats
router.include_router(checks_views.router)


# ---------------------------------------------------------------- detail and actions


def _detail(
    request: Request,
    session: Session,
    who: Principal,
    hd: HiddenDanger,
    at: datetime,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    failed_action: str | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    enterprise = session.get(Enterprise, hd.enterprise_id) if hd.enterprise_id else None
    cell = session.get(GridCell, hd.grid_cell_id) if hd.grid_cell_id else None
    division = session.get(Division, hd.division_code[:6])
    events = service.timeline(session, hd)
    geometry = {"type": "Point", "coordinates": [hd.lon, hd.lat]} if hd.lon and hd.lat else None
    return show(
        request,
        "hazards/detail.html",
        status,
        hd=hd,
        enterprise=enterprise,
        cell=cell,
        division=division,
        events=events,
        actions=service.available_actions(hd, who),
        geometry=geometry,
        now=at,
        duty_note=_duty_note(request, hd, who),
        overdue=hd.status in wf.ON_THE_CLOCK
        and hd.deadline is not None
        and wf.as_utc(hd.deadline) < wf.as_utc(at),
        errors=errors or {},
        failed_action=failed_action,
        values=values or {},
        is_major=hd.grade == wf.MAJOR,
        origin_alarm=_origin_alarm(session, hd),
    )


def _duty_note(request: Request, hd: HiddenDanger, who: Principal) -> str:
    barred = service.barred_by_duties(hd, who)
    return pick(barred, lang_of(request)) if barred else ""


def _origin_alarm(session: Session, hd: HiddenDanger) -> int | None:
    """The monitoring alarm this hidden danger came from (monitoring says, when installed)."""
    if hd.source != "monitoring_alarm":
        return None
    origin = hook().safecity_origin(session=session, object_type="hidden_danger", object_id=hd.id)
    return origin[1] if origin and origin[0] == "alarm" else None


def detail_view(request: Request, session: Session, who: Principal, hd: HiddenDanger) -> Response:
    """The detail page of the hidden-danger kind (found in scope by the generic route)."""
    return _detail(request, session, who, hd, utcnow())


@router.post("/{hd_id}/actions/{action}")
async def action_submit(
    hd_id: int,
    action: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    if action not in wf.ACTIONS:
        raise NotFound("操作", "action")
    hd = session.get(HiddenDanger, hd_id)
    if hd is None:
        raise NotFound("隐患", "hidden danger")
    if not service.visible(who, hd):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    data, files = _form_dict(form)
    try:
        contents = await _read_files(files, "attachments")
        for content in contents:
            uploads.check_image(content, "attachments")
        wf.decide(
            service.facts(hd),
            action,
            service.actor(who),
            {**data, "attachments": ["pending"] * len(contents)},
            at,
        )
        names = uploads.save_all(contents, "attachments")
        service.transition(session, who, hd_id, action, data, names, at)
    except Invalid as exc:
        session.rollback()
        hd = service.get(session, who, hd_id)
        return _detail(
            request, session, who, hd, at, 422, _errors(exc, lang_of(request)), action, data
        )
    return RedirectResponse(f"/hazards/{hd_id}", status_code=303)
