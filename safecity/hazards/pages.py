"""What every hazards page shares: labels in the page language, Beijing-time formatting, the
render call, the divisions a user may filter by, form errors. Its own module so the list/detail
pages (views) and the statistics and inspection pages import it without importing each other."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from safecity.core.errors import Invalid
from safecity.core.scope import Principal
from safecity.hazards import rules
from safecity.hazards import workflow as wf
from safecity.registry.models import Division
from safecity.web.i18n import pick
from safecity.web.registry_views import scope_divisions
from safecity.web.render import lang_of, render


def labels(lang: str) -> dict[str, Any]:
    """Code → label tables for the templates in the page language."""

    def tr(table: dict[str, tuple[str, str]]) -> dict[str, str]:
        return {k: pick(v, lang) for k, v in table.items()}

    return {
        "states": tr(wf.STATES),
        "grades": tr(wf.GRADES),
        "sources": tr(wf.SOURCES),
        "categories": tr(wf.CATEGORIES),
        "steps": tr(rules.STEP_LABELS),
        "actions": {k: (a.en if lang == "en" else a.zh) for k, a in wf.ACTIONS.items()},
    }


def fmt_dt(value: datetime | None, date_only: bool = False) -> str:
    """A stored time in Beijing time (the date alone for deadlines)."""
    if value is None:
        return "—"
    local = wf.as_utc(value).astimezone(rules.BEIJING)
    return local.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M")


def show(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    return render(request, template, status, fmt_dt=fmt_dt, L=labels(lang_of(request)), **context)


def divisions(session: Session, who: Principal) -> list[Division]:
    """The divisions this user may filter by (their scope)."""
    return scope_divisions(session, who)


def field_errors(exc: Invalid, lang: str) -> dict[str, list[str]]:
    """Field → messages in the page language, for re-showing a form."""
    out: dict[str, list[str]] = {}
    for e in exc.errors:
        out.setdefault(e.field or "_", []).append(pick((e.zh, e.en), lang))
    return out
