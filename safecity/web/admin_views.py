"""Administration pages: users (list, add, disable/enable) and the audit log with chain check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from safecity.core import audit, users
from safecity.core.deps import db, now
from safecity.core.errors import Forbidden, Invalid
from safecity.core.models import AuditEntry
from safecity.core.scope import ROLES, Principal
from safecity.hazards.workflow import ACTIONS as HD_STEPS
from safecity.registry.kinds import BY_NAME
from safecity.web import forms
from safecity.web.guard import form_data, web_user
from safecity.web.i18n import ACTIONS, OBJECTS, pick
from safecity.web.registry_views import scope_divisions
from safecity.web.render import lang_of, render

router = APIRouter(prefix="/admin", include_in_schema=False)
USER_FIELDS = (
    "username",
    "password",
    "display_name",
    "role",
    "division_code",
    "enterprise_id",
    "industry",
    "phone",
)
AUDIT_LIMIT = 100


def _require_admin(who: Principal) -> None:
    if who.role != "admin":
        raise Forbidden("仅系统管理员可访问", "administrators only")


@router.get("/users")
def users_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    _require_admin(who)
    return _users_page(request, session, who, {}, None)


def _users_page(
    request: Request, session: Session, who: Principal, raw: dict[str, str], exc: Invalid | None
) -> Response:
    by_field, general = (
        forms.field_messages(exc, users.USER_LABELS, lang_of(request)) if exc else ({}, [])
    )
    divisions = scope_divisions(session, who)
    return render(
        request,
        "admin_users.html",
        422 if exc else 200,
        users=users.list_users(session, who),
        roles=ROLES,
        values=raw,
        errors=by_field,
        general=general,
        divisions=divisions,
        names={d.code: d.name for d in divisions},
    )


@router.post("/users")
def add_user(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    _require_admin(who)
    raw = {f: str((form or FormData()).get(f) or "").strip() for f in USER_FIELDS}
    # Optional fields left empty are absent rather than "" so the schema's defaults apply.
    data: dict[str, Any] = {k: v for k, v in raw.items() if v or k in ("username", "password")}
    try:
        users.add_user(session, who, data, at)
    except Invalid as exc:
        session.rollback()
        return _users_page(request, session, who, {**raw, "password": ""}, exc)
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{username}/{action}")
def set_active(
    username: str,
    action: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    _require_admin(who)
    if action not in ("disable", "enable"):
        raise Forbidden()
    if action == "disable" and username == who.username:
        raise Forbidden("不能停用当前登录的账号", "you cannot disable your own account")
    users.set_active(session, who, username, action == "enable", at)
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/audit")
def audit_page(
    request: Request,
    verify: bool = False,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    _require_admin(who)
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(AUDIT_LIMIT)
    entries = list(session.scalars(stmt))
    lang = lang_of(request)
    return render(
        request,
        "admin_audit.html",
        entries=entries,
        limit=AUDIT_LIMIT,
        result=audit.verify(session) if verify else None,
        action_label=lambda a: _action_label(a, lang),
        changes=changes,
        object_label=lambda o: pick(_OBJECTS.get(o, (o, o)), lang),
    )


_OBJECTS = OBJECTS | {k.name: (k.zh, k.en) for k in BY_NAME.values()}


def _action_label(action: str, lang: str) -> str:
    # The hidden-danger workflow names its own steps; everything else is in i18n.ACTIONS.
    step = HD_STEPS.get(action)
    pair = (step.zh, step.en) if step else ACTIONS.get(action, (action, action))
    return pick(pair, lang)


def changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[tuple[str, Any, Any]]:
    """The fields an entry changed (geometry summarised: it is long and unreadable inline)."""
    before, after = before or {}, after or {}
    out = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            if key == "geometry":
                old, new = _geom_summary(old), _geom_summary(new)
            out.append((key, old, new))
    return out


def _geom_summary(value: Any) -> Any:
    return value.get("type", "geometry") if isinstance(value, dict) else value
