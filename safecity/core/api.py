"""Platform API: login tokens, the current user, user administration, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import audit, users
from safecity.core.deps import db, login_source, now, principal
from safecity.core.errors import Forbidden
from safecity.core.models import AuditEntry
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
) -> dict[str, Any]:
    address, throttle = login_source(request)
    try:
        user = authenticate(session, data.username, data.password, at, address, throttle)
    except Exception:
        session.commit()  # keep the failed-attempt counter even though we answer with an error
        raise
    value, expires = issue_token(session, user, "api", at)
    return {"access_token": value, "token_type": "bearer", "expires_at": expires.isoformat()}


@router.post("/auth/logout", summary="Revoke the bearer token used for this request")
def logout(
    request: Request,
    session: Session = Depends(db, scope="function"),
    _who: Principal = Depends(principal),
) -> dict[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        revoke_token(session, header[7:].strip())
    return {"status": "ok"}


@router.get("/me", summary="The current user and scope")
def me(who: Principal = Depends(principal)) -> dict[str, Any]:
    zh, en = ROLES[who.role]
    return {
        "username": who.username,
        "display_name": who.display_name,
        "role": who.role,
        "role_zh": zh,
        "role_en": en,
        "division_code": who.division_code,
        "scope_prefix": who.prefix,
        "enterprise_id": who.enterprise_id,
        "industry": who.industry,
    }


@router.get("/users", summary="Users inside the administrator's scope")
def list_users(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> list[dict[str, Any]]:
    return [users.user_dict(u) for u in users.list_users(session, who)]


@router.post("/users", status_code=201, summary="Add a user")
def add_user(
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return users.user_dict(users.add_user(session, who, data, at))


@router.post("/users/{username}/disable", summary="Disable a user and end their sessions")
def disable_user(
    username: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return users.user_dict(users.set_active(session, who, username, False, at))


@router.get("/audit", summary="Newest audit entries (administrators)")
def audit_log(
    limit: int = 100,
    object_type: str | None = None,
    object_id: str | None = None,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> list[dict[str, Any]]:
    if who.role != "admin":
        raise Forbidden("仅系统管理员可查看审计日志", "only administrators read the audit log")
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(max(1, min(limit, 1000)))
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
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
        for e in session.scalars(stmt)
    ]


@router.get("/audit/verify", summary="Check the audit hash chain")
def audit_verify(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> dict[str, Any]:
    if who.role != "admin":
        raise Forbidden("仅系统管理员可校验审计日志", "only administrators verify the audit log")
    result = audit.verify(session)
    return {"ok": result.ok, "checked": result.checked, "problems": result.problems}
