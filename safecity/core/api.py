"""Platform API: login tokens, the current user, user administration, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from safecity.core import audit, users
from safecity.core.apidoc import json_body
from safecity.core.deps import db, login_source, now, principal
from safecity.core.errors import Forbidden
from safecity.core.schemas import AuditEntryOut, AuditVerifyOut, MeOut, StatusOut, TokenOut, UserOut
from safecity.core.scope import ROLES, Principal
from safecity.core.security import authenticate, issue_token, revoke_token

router = APIRouter(prefix="/api/v1", tags=["platform"])


class LoginIn(BaseModel):
    username: str
    password: str


@router.post("/auth/token", summary="Exchange username and password for a bearer token")
def token(
    data: LoginIn,
    request: Request,
    session: Session = Depends(db, scope="function"),
    at: datetime = Depends(now),
) -> TokenOut:
    address, throttle = login_source(request)
    try:
        user = authenticate(session, data.username, data.password, at, address, throttle)
    except Exception:
        session.commit()  # keep the failed-attempt counter even though we answer with an error
        raise
    value, expires = issue_token(session, user, "api", at)
    return TokenOut(access_token=value, token_type="bearer", expires_at=expires.isoformat())


@router.post("/auth/logout", summary="Revoke the bearer token used for this request")
def logout(
    request: Request,
    session: Session = Depends(db, scope="function"),
    _who: Principal = Depends(principal),
) -> StatusOut:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        revoke_token(session, header[7:].strip())
    return StatusOut(status="ok")


@router.get("/me", summary="The current user and scope")
def me(who: Principal = Depends(principal)) -> MeOut:
    zh, en = ROLES[who.role]
    return MeOut(
        username=who.username,
        display_name=who.display_name,
        role=who.role,
        role_zh=zh,
        role_en=en,
        division_code=who.division_code,
        scope_prefix=who.prefix,
        enterprise_id=who.enterprise_id,
        industry=who.industry,
    )


@router.get("/users", summary="Users inside the administrator's scope")
def list_users(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> list[UserOut]:
    return [users.user_dict(u) for u in users.list_users(session, who)]


@router.post("/users", status_code=201, summary="Add a user", openapi_extra=json_body(users.UserIn))
def add_user(
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> UserOut:
    return users.user_dict(users.add_user(session, who, data, at))


@router.post("/users/{username}/disable", summary="Disable a user and end their sessions")
def disable_user(
    username: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> UserOut:
    return users.user_dict(users.set_active(session, who, username, False, at))


@router.get("/audit", summary="Newest audit entries (administrators), filtered and paged")
def audit_log(
    limit: int = Query(100, ge=1, le=1000),
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = Query(None, description="ISO 8601, inclusive"),
    until: datetime | None = Query(None, description="ISO 8601, exclusive"),
    people_only: bool = Query(False, description="leave out the system's own entries"),
    before_seq: int | None = Query(
        None, ge=1, le=2**62, description="the next page: older than this"
    ),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> list[AuditEntryOut]:
    if who.role != "admin":
        raise Forbidden("仅系统管理员可查看审计日志", "only administrators read the audit log")
    flt = audit.AuditFilter(
        actor=actor or "",
        object_type=object_type or "",
        object_id=object_id or "",
        action=action or "",
        since=since,
        until=until,
        people_only=people_only,
        before_seq=before_seq,
    )
    return [
        {
            "seq": e.seq,
            "ts": e.ts.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "before": e.before,
            "after": e.after,
            "hash": e.hash,
        }
        for e in audit.search(session, flt, limit)
    ]


@router.get("/audit/verify", summary="Check the audit hash chain")
def audit_verify(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> AuditVerifyOut:
    if who.role != "admin":
        raise Forbidden("仅系统管理员可校验审计日志", "only administrators verify the audit log")
    result = audit.verify(session)
    return AuditVerifyOut(ok=result.ok, checked=result.checked, problems=result.problems)
