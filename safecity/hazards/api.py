"""Hazards REST API: hidden dangers and their closed loop, photos, inbox, statistics, checklists."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from safecity.core.apidoc import json_body
from safecity.core.deps import db, now, optional_principal, principal
from safecity.core.errors import Forbidden, NotFound, invalid
from safecity.core.scope import Principal
from safecity.hazards import checks_api, notify, service, tracking, uploads
from safecity.hazards import stats as hd_stats
from safecity.hazards import workflow as wf
from safecity.hazards.models import HiddenDanger
from safecity.hazards.schemas import (
    HiddenDangerOut,
    InboxOut,
    MarkedOut,
    MarkReadIn,
    PublicReportOut,
    ReportIn,
    StatsOut,
    StepIn,
    TrackOut,
    UnreadOut,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/hazards", tags=["hazards"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_IMAGES = (
    f"JPEG, PNG or WebP, at most {uploads.MAX_PHOTOS} files of "
    f"{uploads.MAX_PHOTO_BYTES // 1048576} MB each"
)
PHOTOS = {"photos": "照片 / photos: " + _IMAGES}
ATTACHMENTS = {"attachments": "整改材料照片 / attachments: " + _IMAGES}


# ---------------------------------------------------------------- input helpers


async def read_input(request: Request, field: str = "photos") -> tuple[dict[str, Any], list[bytes]]:
    """JSON body, or a multipart form whose image files are read with a size cap."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise invalid("body", "请求体：不是有效的 JSON", "body: not valid JSON") from None
        if not isinstance(body, dict):
            raise invalid("body", "请求体：应为对象", "body: must be an object")
        return body, []
    form = await request.form(max_files=uploads.MAX_PHOTOS + 1)
    data: dict[str, Any] = {}
    files: list[bytes] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if not value.filename and not value.size:
                continue  # an empty file input
            content = await value.read(uploads.MAX_PHOTO_BYTES + 1)
            if len(content) > uploads.MAX_PHOTO_BYTES:
                raise invalid(
                    field,
                    f"照片：单张不能超过 {uploads.MAX_PHOTO_BYTES // 1048576} MB",
                    f"photo: larger than {uploads.MAX_PHOTO_BYTES // 1048576} MB",
                )
            if content:
                files.append(content)
        elif key != "csrf":
            data[key] = value
    return data, files


def client_ip(request: Request) -> str | None:
    # Behind a proxy, uvicorn's --proxy-headers sets request.client from X-Forwarded-For;
    # the header itself is never read here, so a client cannot pick its own rate-limit key.
    return request.client.host if request.client else None


# ---------------------------------------------------------------- inbox (before /{id})


@router.get("/notifications", summary="The caller's inbox (站内消息)")
def notifications(
    unread: bool = False,
    limit: int = 50,
    offset: int = 0,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> InboxOut:
    items = notify.inbox(session, who, unread, limit, offset)
    return {
        "unread": notify.unread_count(session, who),
        "items": [notify.as_dict(n) for n in items],
    }


@router.get("/notifications/unread-count", summary="Number of unread inbox messages")
def unread_count(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> UnreadOut:
    return {"unread": notify.unread_count(session, who)}


@router.post(
    "/notifications/read",
    summary="Mark inbox messages read (ids, or all)",
    openapi_extra=json_body(MarkReadIn, required=False),
)
async def mark_read(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> MarkedOut:
    data, _ = await read_input(request)
    ids = data.get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, int) for i in ids)):
        raise invalid("ids", "消息编号：应为整数列表", "ids: must be a list of integers")
    return {"marked": notify.mark_read(session, who, ids, at)}


# ---------------------------------------------------------------- statistics


@router.get("/stats", summary="Hidden-danger statistics inside the caller's scope")
def stats(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> StatsOut:
    return hd_stats.dashboard(session, who, hd_stats.params_from(request.query_params), at)


@router.get("/stats/export", summary="Statistics as XLSX")
def stats_export(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> Response:
    data = hd_stats.dashboard(session, who, hd_stats.params_from(request.query_params), at)
    return Response(
        hd_stats.to_xlsx(data),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="hidden-dangers-stats.xlsx"'},
    )


# ---------------------------------------------------------------- checklists, plans, tasks

router.include_router(checks_api.router)  # before /{hd_id}, which would swallow /tasks


# ---------------------------------------------------------------- hidden dangers


@router.post(
    "",
    status_code=201,
    summary="Report a hidden danger (JSON or multipart with photos)",
    openapi_extra=json_body(ReportIn, files=PHOTOS),
)
async def create(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> HiddenDangerOut:
    data, files = await read_input(request)
    photos = uploads.save_all(files)
    hd = service.report(session, who, data, photos, at, client_ip(request))
    return service.to_dict(hd, at)


@router.post(
    "/public-report",
    status_code=201,
    summary="Report without an account (群众举报): goes to the triage queue; rate-limited",
    openapi_extra=json_body(ReportIn, files=PHOTOS),
)
async def public_report(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal | None = Depends(optional_principal),
    at: datetime = Depends(now),
) -> PublicReportOut:
    # Before the body is read: an address over its budget costs us no parsing of its uploads.
    service.check_rate(session, client_ip(request), at)
    data, files = await read_input(request)
    photos = uploads.save_all(files)
    anonymous = who if who is not None and who.role == "public" else None
    hd = service.report(session, anonymous, data, photos, at, client_ip(request))
    token = tracking.issue(hd)
    return {
        "id": hd.id,
        "status": hd.status,
        "message": "已收到，感谢您的举报",
        "message_en": "received, thank you",
        "tracking_token": token,
        "tracking_url": tracking.link(token),
    }


@router.get(
    "/track/{token}",
    summary="An anonymous report's public progress by its tracking "
    "token (no login; wrong token 404; rate-limited)",
)
def track(
    token: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    at: datetime = Depends(now),
) -> TrackOut:
    hd = tracking.find(session, token, client_ip(request), at)
    return tracking.progress(session, hd, request.query_params.get("lang", "zh"))


@router.post(
    "/{hd_id}/actions/{action}",
    summary="Take a step of the closed loop: confirm, reject, register, submit_plan, "
    "approve_plan, reject_plan, submit_acceptance, accept, return",
    openapi_extra=json_body(StepIn, required=False, files=ATTACHMENTS),
)
async def act(
    hd_id: int,
    action: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> HiddenDangerOut:
    data, files = await read_input(request, "attachments")
    if action not in wf.ACTIONS:
        raise NotFound("操作", "action")
    hd = session.get(HiddenDanger, hd_id)
    if hd is None:
        raise NotFound("隐患", "hidden danger")
    if not service.visible(who, hd):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    for content in files:
        uploads.check_image(content, "attachments")
    wf.decide(
        service.facts(hd),
        action,
        service.actor(who),
        {**data, "attachments": ["pending"] * len(files)},
        at,
    )  # refuse before storing
    names = uploads.save_all(files, "attachments")
    hd = service.transition(session, who, hd_id, action, data, names, at)
    return service.to_dict(hd, at)


@router.get(
    "/{hd_id}/photos/{name}",
    summary="A photo (or ?thumb=1 its thumbnail)",
    response_class=FileResponse,
    responses={
        200: {
            "description": "the image (a thumbnail is always JPEG)",
            "content": {
                m: {"schema": {"type": "string", "format": "binary"}}
                for m in sorted(set(uploads.MEDIA.values()))
            },
        }
    },
)
def photo(
    hd_id: int,
    name: str,
    thumb: bool = False,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> Response:
    hd = service.get(session, who, hd_id)
    names = set(hd.photos or [])
    for e in service.timeline(session, hd):
        names.update(e.attachments or [])
    path = uploads.path_of(name, thumb) if name in names else None
    if path is None or not path.is_file():
        raise NotFound("照片", "photo")
    media = "image/jpeg" if thumb else uploads.MEDIA[name.rsplit(".", 1)[1]]
    return FileResponse(
        path,
        media_type=media,
        headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
