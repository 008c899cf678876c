"""What the risk pages of their own (assessments, settings, calculators) share: the renderer
with the option tables and form field parsing."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from safecity.risk.points.picks import GRADES, LEVELS, STATUS, parse_number
from safecity.risk.points.schemas import (
    ACCIDENT_TYPES,
    CONTROL_LEVELS,
    FACTOR_CATEGORIES,
    MEASURE_TYPES,
    OWNER_KINDS,
)
from safecity.web.i18n import pick
from safecity.web.render import lang_of, render

__all__ = ["parse_number", "render_page"]  # parse_number lives in picks (no web layer)


def render_page(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    lang = lang_of(request)
    return render(
        request,
        template,
        status,
        tt=lambda zh, en: en if lang == "en" else zh,
        lab=lambda options, key: pick(options.get(key, (key, key)), lang) if key else "—",
        LEVELS=LEVELS,
        GRADES=GRADES,
        STATUS=STATUS,
        OWNER_KINDS=OWNER_KINDS,
        FACTOR_CATEGORIES=FACTOR_CATEGORIES,
        ACCIDENT_TYPES=ACCIDENT_TYPES,
        MEASURE_TYPES=MEASURE_TYPES,
        CONTROL_LEVELS=CONTROL_LEVELS,
        **ctx,
    )


def form_text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def int_or_text(value: str) -> Any:
    return int(value) if value.isdigit() else (value or None)
