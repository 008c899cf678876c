"""The white paper use case: parse the request, gather, compose and render as PDF or DOCX."""

# Pipeline: gather() reads everything the caller may see as it stood at the end of the year,
# compose() turns the numbers into a neutral list of blocks (headings, paragraphs, tables, the
# map), and render_pdf()/render_docx() lay the same blocks out. Fonts are subset to the characters
# the document uses, so the PDF embeds a few hundred glyphs instead of a 17 MB CJK font.

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from safecity.core.errors import FieldError, Invalid
from safecity.core.fonts import load_fonts
from safecity.core.scope import Principal
from safecity.registry.models import Division
from safecity.risk.whitepaper.compose import compose
from safecity.risk.whitepaper.data import FORMATS, parse_division, parse_format, parse_year
from safecity.risk.whitepaper.gather import gather
from safecity.risk.whitepaper.mapimage import render_map
from safecity.risk.whitepaper.render import render_docx, render_pdf

# =========================================================================== entry point


def filename_for(division: Division, year: int, fmt: str) -> str:
    return f"{division.name}城市安全风险白皮书-{year}.{fmt}"


def build(
    session: Session,
    principal: Principal,
    year: int | str,
    division_code: str,
    fmt: str,
    now: datetime,
) -> tuple[bytes, str, str]:
    """The white paper for ``year`` and ``division_code`` as (content, media type, file name).

    Scoped to ``principal``: a caller whose scope is narrower than the division gets a paper
    of their own division. Raises Invalid (bad year/format/division), Forbidden, NotFound,
    FontUnavailable.
    """
    errors: list[FieldError] = []
    parsed_year = parsed_fmt = code = None
    for parse in ("year", "format", "division"):
        try:
            if parse == "year":
                parsed_year = parse_year(year, now)
            elif parse == "format":
                parsed_fmt = parse_format(fmt)
            else:
                code = parse_division(division_code)
        except Invalid as exc:
            errors += exc.errors
    if errors:
        raise Invalid(errors)
    assert parsed_year is not None and parsed_fmt is not None and code is not None
    data = gather(session, principal, parsed_year, code, now)
    doc = compose(data)
    fonts = load_fonts(doc.text())
    png = render_map(doc.map_spec, fonts)
    content = render_pdf(doc, fonts, png) if parsed_fmt == "pdf" else render_docx(doc, fonts, png)
    return content, FORMATS[parsed_fmt], filename_for(data.division, parsed_year, parsed_fmt)
