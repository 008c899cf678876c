"""FastAPI dependencies: database session, clock, and the authenticated caller."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import datetime

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from safecity.core.clock import utcnow
from safecity.core.db import session_scope
from safecity.core.errors import Forbidden, Unauthorized
from safecity.core.scope import Principal
from safecity.core.security import LoginThrottle, csrf_for, principal_for_token

SESSION_COOKIE = "safecity_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def db() -> Iterator[Session]:
    with session_scope() as session:
        yield session


def now() -> datetime:
    return utcnow()


def login_source(request: Request) -> tuple[str, LoginThrottle]:
    """The caller's address and the app's login throttle (one per app, made on first use)."""
    state = request.app.state
    if getattr(state, "login_throttle", None) is None:
        state.login_throttle = LoginThrottle.from_settings()
    # Behind a proxy uvicorn's --proxy-headers sets the client from X-Forwarded-For; the header
    # itself is never read here, so a client cannot pick its own throttle key.
    return (request.client.host if request.client else "unknown"), state.login_throttle


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def optional_principal(
    request: Request, session: Session = Depends(db, scope="function")
) -> Principal | None:
    token = _bearer(request)
    from_cookie = False
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        from_cookie = token is not None
    if not token:
        return None
    principal = principal_for_token(session, token, utcnow())
    if principal and from_cookie and request.method not in SAFE_METHODS:
        # Cookie-authenticated writes must prove they come from our own pages. Header only:
        # a token in the URL would end up in access logs, proxies and browser history.
        sent = request.headers.get("x-csrf-token") or ""
        if not hmac.compare_digest(sent, csrf_for(token)):
            raise Forbidden("CSRF 校验失败", "CSRF check failed")
    request.state.principal = principal
    return principal


def principal(p: Principal | None = Depends(optional_principal)) -> Principal:
    if p is None:
        raise Unauthorized()
    return p
