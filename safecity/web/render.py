"""Jinja2 rendering for the web pages: language choice, translations, value formatting, query URLs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from safecity.core.clock import BEIJING
from safecity.core.config import get_settings
from safecity.core.scope import ROLES, Principal
from safecity.registry.kinds import KINDS, Kind, choice_label
from safecity.registry.rules import INDUSTRY_DIVISIONS
from safecity.web.access import menu
from safecity.web.i18n import LANGS, pick, translator

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "lang"
# China has no daylight saving time, so a fixed offset is exact and needs no tz database.

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def local_time(value: datetime | None, seconds: bool = True) -> str:
    """A stored time as people in the bureau read it: Beijing time, 24-hour clock."""
    if value is None:
        return "—"
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


_env.globals["local_time"] = local_time


@dataclass(frozen=True)
class WebUser:
    """The signed-in user as the layout shows them."""

    principal: Principal
    scope_name: str
    csrf: str


def lang_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE) or get_settings().default_lang
    return lang if lang in LANGS else "zh"


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    web: WebUser | None = getattr(request.state, "web", None)
    base = {
        "request": request,
        "lang": lang,
        "t": translator(lang),
        "web": web,
        "csrf": context.pop("csrf", web.csrf if web else ""),
        "kinds": KINDS,
        "here": here(request),
        "role_label": lambda role: pick(ROLES.get(role, (role, role)), lang),
        "label": lambda kind, col: pick(kind.label(col), lang),
        "kind_name": lambda kind: kind.en if lang == "en" else kind.zh,
        "fmt": lambda kind, col, value, names=None: fmt(kind, col, value, lang, names),
        "url_with": lambda **kw: url_with(request, **kw),
        "nav": menu(web.principal) if web else {},
    }
    html = _env.get_template(template).render(**base, **context)
    return HTMLResponse(html, status_code=status)


def here(request: Request) -> str:
    """The current path with its query, used as the `next` target of language links."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def url_with(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters replaced (None or "" drops them)."""
    params = {k: v for k, v in request.query_params.multi_items()}
    params.update({k: v for k, v in changes.items()})
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return request.url.path + ("?" + urlencode(kept) if kept else "")


def fmt(kind: Kind, col: str, value: Any, lang: str, names: dict[str, str] | None = None) -> str:
    """A stored value as a person reads it: labels for codes, 是/否 for booleans, local time."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return pick(("是", "Yes") if value else ("否", "No"), lang)
    if isinstance(value, tuple) and len(value) == 2:  # a computed (Chinese, English) text
        return pick(value, lang)
    if col in kind.choices:
        return str(choice_label(kind, col, value, lang))
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    if col in ("division_code", "parent_code") and names and value in names:
        return f"{value} {names[value]}"
    if col == "industry_code" and str(value)[:2] in INDUSTRY_DIVISIONS and lang == "zh":
        return f"{value} {INDUSTRY_DIVISIONS[str(value)[:2]]}"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if col in ("lon", "lat") else f"{value:g}"
    return str(value)
