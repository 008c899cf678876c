"""Warnings REST API: drafting and the approval workflow, CAP import/export, the Atom feed,
targeting and coverage. Thin: HTTP in, service call, HTTP out. The list, one warning, the
export and the map layer are the generic kind's (safecity.warnings.kinds), mounted after
these routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.apidoc import json_body
from safecity.core.clock import utcnow
from safecity.core.config import get_settings, public_base_url
from safecity.core.db import _factory
from safecity.core.deps import db, now, optional_principal, principal
from safecity.core.errors import NotFound, invalid
from safecity.core.scope import Principal
from safecity.registry.models import Division
from safecity.warnings import alarms, cap, dispatch, service
from safecity.warnings.models import Warning
from safecity.warnings.schemas import (
    CancelIn,
    CapImportOut,
    CoverageMonths,
    CoverageOut,
    FeatureCollection,
    RequeuedOut,
    TargetingOut,
    WarningDraft,
    WarningOut,
    WarningPatch,
)

router = APIRouter(prefix="/api/v1/warnings", tags=["warnings"])
CAP_MEDIA = "application/cap+xml"
ATOM_MEDIA = "application/atom+xml"
PUBLIC_STATUSES = ("issued", "updated", "cancelled", "expired", "external")


def _xml_doc(media: str, what: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for an XML answer: its real media type, not FastAPI's default JSON."""
    return {200: {"description": what, "content": {media: {"schema": {"type": "string"}}}}}


_XML_BODY = {"type": "string", "description": "CAP 1.0-1.2 alert or Atom/RSS feed, ≤ 2 MB"}
CAP_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            CAP_MEDIA: {"schema": _XML_BODY},
            "application/xml": {"schema": _XML_BODY},
            "text/xml": {"schema": _XML_BODY},
            ATOM_MEDIA: {"schema": _XML_BODY},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}

# The alarm → warning subscription lives as long as the app that imported this router.
alarms.register()


def dispatch_soon(tasks: BackgroundTasks) -> None:
    """Send the new deliveries after the response, in their own sessions."""

    tasks.add_task(dispatch.expire_and_dispatch, _factory(), utcnow)


@router.post(
    "", status_code=201, summary="Draft a warning (起草预警)", openapi_extra=json_body(WarningDraft)
)
def create(
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> WarningOut:
    return service.to_dict(service.create_warning(session, who, data, at))


@router.get(
    "/feed.atom",
    summary="Atom feed of the warnings in force (CAP 1.2 entries)",
    response_class=Response,
    responses=_xml_doc(ATOM_MEDIA, "Atom 1.0 feed, each entry embedding a CAP 1.2 alert"),
)
def feed(
    request: Request,
    division: str | None = None,
    session: Session = Depends(db, scope="function"),
    at: datetime = Depends(now),
) -> Response:
    rows = service.current_public(session, division, at)
    base = public_base_url(str(request.base_url))
    entries = [
        (alert_of(w), f"{base}/api/v1/warnings/{w.id}/cap.xml")
        for w in rows
        if w.cap_xml and w.kind == "local"
    ]
    city = get_settings().city_code
    self_url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = cap.atom_feed(
        f"urn:safecity:{city}:warnings", "SafeCity 预警信息 Warnings", self_url, at, entries
    )
    return Response(body, media_type=ATOM_MEDIA)


def alert_of(w: Warning) -> cap.Alert:
    return cap.read_alert(cap.safe_root(w.cap_xml.encode("utf-8")))


@router.get("/public", summary="Warnings in force for a division, as GeoJSON (no login)")
def public(
    division: str | None = None,
    session: Session = Depends(db, scope="function"),
    at: datetime = Depends(now),
) -> FeatureCollection:
    return service.public_geojson(session, division, at)


@router.get("/divisions", summary="City and county outlines for the public warning map")
def division_outlines(session: Session = Depends(db, scope="function")) -> FeatureCollection:

    rows = session.execute(
        select(Division.code, Division.name, Division.geometry).where(
            Division.archived.is_(False), Division.level == "county", Division.geometry.is_not(None)
        )
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": g, "properties": {"code": c, "name": n}}
            for c, n, g in rows
        ],
    }


@router.post(
    "/cap",
    status_code=201,
    summary="Import CAP 1.0-1.2 alerts or an Atom/RSS feed",
    openapi_extra=CAP_IMPORT_BODY,
)
async def import_cap(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> CapImportOut:
    data = await _read_upload(request)
    return service.import_cap(session, who, data, at).as_dict()


async def _read_upload(request: Request) -> bytes:
    # SAFECITY_MAX_UPLOAD_MB bounds every import; CAP's own 2 MB cap applies below it.
    limit = min(cap.MAX_BYTES, get_settings().max_upload_mb * 1024 * 1024)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise invalid("file", "文件：请选择 CAP 文件", "file: choose a CAP file")
        data = await upload.read(limit + 1)
    else:
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                break
    if len(data) > limit:
        raise invalid(
            "file", f"文件：超过 {limit // 1024} KB 上限", f"file: larger than {limit // 1024} kB"
        )
    return data


@router.get("/coverage", summary="Public coverage of warnings per month (预警信息公众覆盖率)")
def coverage(
    months: int = Query(12, ge=1, le=60),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> CoverageMonths:
    return {"months": service.monthly_coverage(session, who, at, months)}


@router.patch("/{warning_id}", summary="Edit a draft", openapi_extra=json_body(WarningPatch))
def edit(
    warning_id: str,
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> WarningOut:
    return service.to_dict(service.edit_warning(session, who, warning_id, data, at))


@router.get(
    "/{warning_id}/cap.xml",
    summary="The CAP 1.2 alert of an issued warning",
    response_class=Response,
    responses=_xml_doc(CAP_MEDIA, "CAP 1.2 alert, valid against the OASIS schema"),
)
def cap_xml(
    warning_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal | None = Depends(optional_principal),
) -> Response:
    try:
        w = session.get(Warning, int(warning_id))
    except ValueError:
        w = None
    if w is None or not w.cap_xml:
        raise NotFound("CAP 警报", "CAP alert")
    if w.status not in PUBLIC_STATUSES and (who is None or not service._visible(who, w)):
        raise NotFound("CAP 警报", "CAP alert")
    return Response(w.cap_xml.encode("utf-8"), media_type=CAP_MEDIA)


@router.get("/{warning_id}/targeting", summary="Who the warning's areas cover")
def targeting_(
    warning_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> TargetingOut:
    return service.preview_targeting(session, who, warning_id)


@router.get("/{warning_id}/deliveries", summary="Delivery status per channel and coverage")
def deliveries(
    warning_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> CoverageOut:
    return service.coverage_of(session, service.get_warning(session, who, warning_id))


@router.post("/{warning_id}/submit", summary="Submit a draft for approval")
def submit(
    warning_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> WarningOut:
    return service.to_dict(service.submit(session, who, warning_id, at))


@router.post("/{warning_id}/approve", summary="Approve a submitted warning")
def approve(
    warning_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> WarningOut:
    return service.to_dict(service.approve(session, who, warning_id, at))


@router.post("/{warning_id}/reject", summary="Send a submitted warning back to draft")
def reject(
    warning_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> WarningOut:
    return service.to_dict(service.approve(session, who, warning_id, at, reject=True))


@router.post("/{warning_id}/issue", summary="Issue an approved warning (idempotent)")
def issue(
    warning_id: str,
    tasks: BackgroundTasks,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> WarningOut:
    w, fresh = service.issue(session, who, warning_id, at)
    session.commit()
    if fresh:
        dispatch_soon(tasks)
    return {**service.to_dict(w), "already_issued": not fresh}


@router.post(
    "/{warning_id}/update",
    status_code=201,
    summary="Start an update (new draft, msgType Update, referencing this warning)",
    openapi_extra=json_body(WarningPatch, required=False),
)
def update(
    warning_id: str,
    data: dict[str, Any] | None = Body(None),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> WarningOut:
    return service.to_dict(service.start_update(session, who, warning_id, at, data))


@router.post(
    "/{warning_id}/cancel",
    summary="Lift an issued warning (msgType Cancel)",
    openapi_extra=json_body(CancelIn, required=False),
)
def cancel(
    warning_id: str,
    tasks: BackgroundTasks,
    data: dict[str, Any] | None = Body(None),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> WarningOut:
    note = str((data or {}).get("note") or "")[:2000]
    msg = service.cancel(session, who, warning_id, at, note)
    session.commit()
    dispatch_soon(tasks)
    return service.to_dict(msg)


@router.post("/{warning_id}/deliveries/retry", summary="Queue the failed deliveries again")
def retry(
    warning_id: str,
    tasks: BackgroundTasks,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> RequeuedOut:
    count = service.retry_failed(session, who, warning_id, at)
    session.commit()
    if count:
        dispatch_soon(tasks)
    return {"requeued": count}
