"""Administration pages: users (list, add, disable/enable) and the audit log with chain check."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from safecity.core import audit, users
from safecity.core.clock import BEIJING
from safecity.core.deps import db, now
from safecity.core.errors import FieldError, Forbidden, Invalid
from safecity.core.scope import ROLES, Principal
from safecity.plugins import collect, merged
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
    actor: str = "",
    object_type: str = "",
    object_id: str = "",
    day_from: str = "",
    day_to: str = "",
    people_only: bool = False,
    before_seq: int | None = Query(None, ge=1, le=2**62),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    _require_admin(who)
    flt = audit.AuditFilter(
        actor=actor.strip(),
        object_type=object_type,
        object_id=object_id.strip(),
        since=_day_start(day_from, "day_from"),
        until=_day_start(day_to, "day_to", next_day=True),
        people_only=people_only,
        before_seq=before_seq,
    )
    entries = audit.search(session, flt, AUDIT_LIMIT)
    lang = lang_of(request)
    objects, steps = audit_labels()
    query = {k: v for k, v in request.query_params.items() if k not in ("before_seq", "verify")}
    older = (
        "/admin/audit?" + urlencode(query | {"before_seq": entries[-1].seq})
        if len(entries) == AUDIT_LIMIT
        else None
    )
    return render(
        request,
        "admin_audit.html",
        entries=entries,
        limit=AUDIT_LIMIT,
        flt=flt,
        day_from=day_from,
        day_to=day_to,
        older=older,
        object_types=[(o, pick(objects.get(o, (o, o)), lang)) for o in audit.object_types(session)],
        result=audit.verify(session) if verify else None,
        action_label=lambda a, o="": _action_label(a, lang, o, steps),
        changes=changes,
        object_label=lambda o: pick(objects.get(o, (o, o)), lang),
    )


def _day_start(day: str, field: str, next_day: bool = False) -> datetime | None:
    """Midnight (Beijing) starting `day` (YYYY-MM-DD), or the next one for an exclusive end."""
    if not day:
        return None
    try:
        start = datetime.combine(date.fromisoformat(day), time(), tzinfo=BEIJING)
    except ValueError:
        raise Invalid(
            [FieldError(field, "日期格式应为 YYYY-MM-DD", "a date as YYYY-MM-DD")]
        ) from None
    return start + timedelta(days=1) if next_day else start


def audit_labels() -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """(object names, step names) of the audit log: the shell's generic ones, every kind's own
    name, and what each plug-in says of its objects and steps (safecity_audit_objects /
    safecity_audit_steps): no capability is named here. Read per page, so a plug-in
    registered while the app runs is named too."""
    kinds = {k.name: (k.zh, k.en) for k in collect("safecity_kinds")}
    return OBJECTS | merged("safecity_audit_objects") | kinds, merged("safecity_audit_steps")


def _action_label(
    action: str,
    lang: str,
    object_type: str = "",
    steps: dict[str, tuple[str, str]] | None = None,
) -> str:
    """An object's own name for the step first (a transfer's "return" is not a case's), then
    the shell's name of the action, else the action itself."""
    steps = audit_labels()[1] if steps is None else steps
    pair = steps.get(f"{object_type}.{action}") or ACTIONS.get(action, (action, action))
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
