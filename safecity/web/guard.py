"""Who is signed in to the web pages, CSRF checks on form posts, and safe redirect targets."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from safecity.core.clock import utcnow
from safecity.core.deps import SAFE_METHODS, SESSION_COOKIE, db
from safecity.core.errors import Forbidden, Unauthorized
from safecity.core.scope import Principal
from safecity.core.security import csrf_for, principal_for_token
from safecity.registry.models import Division
from safecity.web.access import allowed
from safecity.web.render import WebUser


async def form_data(request: Request) -> FormData | None:
    """The posted form, parsed once here so sync handlers (run in a thread) can use it."""
    if request.method in SAFE_METHODS:
        return None
    return await request.form()


def csrf_ok(sent: object, token: str) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(sent, csrf_for(token))


def check_csrf(request: Request, form: FormData | None, token: str) -> None:
    if form is None:
        return
    sent = form.get("csrf") or request.headers.get("x-csrf-token")
    if not csrf_ok(sent, token):
        raise Forbidden(
            "页面已过期或来源不明（CSRF 校验失败），请刷新页面后重试",
            "CSRF check failed; reload the page and try again",
        )


def current(request: Request, session: Session) -> Principal | None:
    """The principal behind the session cookie, or None (no cookie, expired, disabled)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    who = principal_for_token(session, token, utcnow())
    if who is not None:
        division = session.get(Division, who.division_code)
        request.state.principal = who
        request.state.web = WebUser(who, division.name if division else "", csrf_for(token))
    return who


def web_user(
    request: Request,
    session: Session = Depends(db, scope="function"),
    form: FormData | None = Depends(form_data),
) -> Principal:
    """Page dependency: a signed-in user; posts must carry the CSRF token of their session."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized()
    check_csrf(request, form, token)
    who = current(request, session)
    if who is None:
        raise Unauthorized()
    if not allowed(who, request.url.path):  # the same check that hides the menu entry
        raise Forbidden("当前角色无权使用此页面", "your role may not use this page")
    return who


def safe_next(value: str | None, default: str = "/map") -> str:
    """Only same-site paths: an open redirect would let a phishing link borrow our login page."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ch in value for ch in "\\\r\n\t") or urlsplit(value).netloc:
        return default
    return value
