"""FastAPI dependencies: database session, clock, and the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from safecity.core.clock import utcnow
from safecity.core.db import session_scope
from safecity.core.errors import Forbidden, Unauthorized
from safecity.core.scope import Principal
from safecity.core.security import csrf_for, principal_for_token

SESSION_COOKIE = "safecity_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def db() -> Iterator[Session]:
    with session_scope() as session:
        yield session


def now() -> datetime:
    return utcnow()


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def optional_principal(request: Request, session: Session = Depends(db)) -> Principal | None:
    token = _bearer(request)
    from_cookie = False
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        from_cookie = token is not None
    if not token:
        return None
    principal = principal_for_token(session, token, utcnow())
    if principal and from_cookie and request.method not in SAFE_METHODS:
        # Cookie-authenticated writes must prove they come from our own pages.
        sent = request.headers.get("x-csrf-token") or request.query_params.get("csrf")
        if sent != csrf_for(token):
            raise Forbidden("CSRF 校验失败", "CSRF check failed")
    request.state.principal = principal
    return principal


def principal(p: Principal | None = Depends(optional_principal)) -> Principal:
    if p is None:
        raise Unauthorized()
    return p
