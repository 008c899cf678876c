"""Web pages of the shell: login/logout, language switch, the one map, error pages."""

from __future__ import annotations

import secrets
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from safecity.core.config import get_settings
from safecity.core.deps import SESSION_COOKIE, db, login_source, now
from safecity.core.errors import Invalid, NotFound, SafeCityError, TooManyRequests, Unauthorized
from safecity.core.scope import Principal
from safecity.core.security import authenticate, csrf_for, issue_token, revoke_token, to_principal
from safecity.plugins import collect
from safecity.registry.kinds import KINDS
from safecity.registry.rules import DIVISION_LEVELS, SCALES, SUPERVISION_CATEGORIES, TARGET_TYPES
from safecity.web import admin_views
from safecity.web.access import allowed, start_page
from safecity.web.guard import check_csrf, current, form_data, safe_next, web_user
from safecity.web.i18n import LANGS, pick
from safecity.web.render import LANG_COOKIE, lang_of, render

router = APIRouter(include_in_schema=False)
# A random value tied to the login form so a foreign site cannot log a victim into its account.
LOGIN_COOKIE = "safecity_login"


@router.get("/")
def home(request: Request, session: Session = Depends(db, scope="function")) -> Response:
    who = current(request, session)
    target = start_page(who) if who else "/login"
    return RedirectResponse(target, status_code=303)


def landing(who: Principal, target: str) -> str:
    """Where a login ends: the page asked for, unless it is the bare default or a page this
    role may not open — then the role's own start page."""
    return target if target not in ("/", "/map") and allowed(who, target) else start_page(who)


@router.get("/login")
def login_form(
    request: Request, next: str = "/", session: Session = Depends(db, scope="function")
) -> Response:
    who = current(request, session)
    if who:
        return RedirectResponse(landing(who, safe_next(next)), status_code=303)
    return _login_page(request, safe_next(next), "", 200)


def _login_page(
    request: Request, target: str, error: str, status: int, username: str = ""
) -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    resp = render(
        request,
        "login.html",
        status,
        next=target,
        error=error,
        username=username,
        csrf=csrf_for(nonce),
    )
    resp.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="lax",
        path="/login",
        secure=get_settings().cookie_secure,
    )
    return resp


@router.post("/login")
def login(
    request: Request,
    session: Session = Depends(db, scope="function"),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    assert form is not None
    check_csrf(request, form, request.cookies.get(LOGIN_COOKIE) or secrets.token_hex(8))
    username, target = str(form.get("username") or "").strip(), safe_next(str(form.get("next")))
    address, throttle = login_source(request)
    try:
        user = authenticate(
            session, username, str(form.get("password") or ""), at, address, throttle
        )
    except (Unauthorized, TooManyRequests) as exc:
        session.commit()  # the failed-attempt counter must survive the error answer
        message = pick((exc.zh, exc.en), lang_of(request))
        resp = _login_page(request, target, message, exc.status, username)
        if isinstance(exc, TooManyRequests):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        # A new login gets a new session and CSRF token; the one this browser held ends here.
        revoke_token(session, previous)
    token, _expires = issue_token(session, user, "session", at)
    session.commit()  # before the redirect, so the next page finds the session
    settings = get_settings()
    resp = RedirectResponse(landing(to_principal(user), target), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(
    request: Request,
    session: Session = Depends(db, scope="function"),
    form: FormData | None = Depends(form_data),
) -> Response:
    """Works with an expired session too, so the user is never bounced through the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        check_csrf(request, form, token)
        revoke_token(session, token)
        session.commit()
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/lang/{code}")
def set_language(code: str, next: str = "/") -> Response:
    if code not in LANGS:
        raise NotFound("语言", "language")
    resp = RedirectResponse(safe_next(next, "/"), status_code=303)
    resp.set_cookie(
        LANG_COOKIE,
        code,
        max_age=365 * 24 * 3600,
        samesite="lax",
        path="/",
        secure=get_settings().cookie_secure,
    )
    return resp


@router.get("/map")
def map_page(request: Request, who: Principal = Depends(web_user)) -> Response:
    lang = lang_of(request)
    return render(request, "map.html", config=_map_config(lang, who))


def _overlays(lang: str, who: Principal) -> list[dict[str, object]]:
    """Capabilities' layers on the one map: (name, GeoJSON URL, Chinese, English). Each is
    optional in the browser: a layer that fails to load is left out, never blocks the map.

    A kind's layer (every sensor, risk point, shelter… in scope: thousands at city scale) is
    listed only for a role that may read the kind and fetched when switched on (``lazy``); the
    capabilities' own layers (open alarms, warnings in force, district colours) are small and
    load with the map, so their counts show at once."""
    kinds = {f"{k.api_url}/layer": k for k in collect("safecity_kinds")}
    out: list[dict[str, object]] = []
    for name, url, zh, en in collect("safecity_map_layers"):
        kind = kinds.get(url)
        if kind is not None and not kind.may_read(who):
            continue
        out.append({"name": name, "url": url, "label": pick((zh, en), lang), "lazy": bool(kind)})
    return out


def _map_config(lang: str, who: Principal) -> dict[str, object]:
    """Labels the map script needs, in the page language (the script holds no text itself)."""

    def labels(options: dict[str, tuple[str, str]]) -> dict[str, str]:
        return {k: pick(v, lang) for k, v in options.items()}

    fields = (
        "code",
        "name",
        "population",
        "division_code",
        "grid_member",
        "uscc",
        "industry_section",
        "supervision_category",
        "scale",
        "is_hazchem",
        "target_type",
        "capacity",
        "level",
    )
    ent = KINDS["enterprises"]
    return {
        "layers": {p: pick((k.zh, k.en), lang) for p, k in KINDS.items()},
        "fields": {f: pick(ent.label(f), lang) for f in fields},
        "choices": {
            "level": labels(DIVISION_LEVELS),
            "target_type": labels(TARGET_TYPES),
            "supervision_category": labels(SUPERVISION_CATEGORIES),
            "scale": labels(SCALES),
            "industry_section": labels(ent.choices["industry_section"]),
        },
        "overlays": _overlays(lang, who),
        "text": {
            k: pick(v, lang)
            for k, v in {
                "details": ("查看详情", "Details"),
                "yes": ("是", "Yes"),
                "no": ("否", "No"),
                "alarm": ("报警", "Alarm"),
                "failed": ("图层加载失败", "Failed to load layer"),
                "hazchem": ("危化品企业", "Hazardous-chemical enterprise"),
                "o_level": ("等级", "Level"),
                "o_event": ("事件类型", "Event"),
                "o_division": ("区划代码", "Division code"),
                "o_instruction": ("防御指引", "Instruction"),
                "level_red": ("红色", "Red"),
                "level_orange": ("橙色", "Orange"),
                "level_yellow": ("黄色", "Yellow"),
                "level_blue": ("蓝色", "Blue"),
            }.items()
        },
    }


router.include_router(admin_views.router)

_ERROR_KEYS = {400, 401, 403, 404, 409, 422, 429}


def error_page(request: Request, exc: SafeCityError) -> Response:
    """A friendly page for an error raised while serving a page, with the error's HTTP status."""
    lang = lang_of(request)
    message = pick((exc.zh, exc.en), lang)
    details = [pick((e.zh, e.en), lang) for e in exc.errors] if isinstance(exc, Invalid) else []
    title_key = f"error_{exc.status}" if exc.status in _ERROR_KEYS else "error_title"
    resp = render(
        request,
        "error.html",
        exc.status,
        status_code=exc.status,
        title_key=title_key,
        message=message,
        details=details,
    )
    if isinstance(exc, TooManyRequests):
        resp.headers["Retry-After"] = str(exc.retry_after)
    return resp
