"""Risk point pages of their own: a point's assessments and their approval (posted from the
generic detail page, kind.py) and the city's grading settings. Chinese first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from safecity.core.deps import db, now
from safecity.core.errors import Invalid, NotFound
from safecity.core.scope import Principal
from safecity.risk.points import lec
from safecity.risk.points import service as point_service
from safecity.risk.points.kind import RISK_POINT, detail_context
from safecity.risk.points.pages import (
    form_text,
    int_or_text,
    parse_number,
    render_page,
)
from safecity.web.guard import form_data, web_user
from safecity.web.i18n import pick
from safecity.web.kinds_views import detail_page
from safecity.web.render import lang_of

router = APIRouter(include_in_schema=False)
FACTOR_ROWS, MEASURE_ROWS = 4, 5


# --------------------------------------------------------------------------- assessments


@router.post("/risk/points/{point_id}/assess")
def point_assess(
    point_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    form = form or FormData()
    method = form_text(form, "method")
    data: dict[str, Any] = {"method": method, "note": form_text(form, "note")}
    if method == "lec":
        data |= {k: form_text(form, k) or None for k in ("L", "E", "C")}
    else:
        data |= {
            "L": int_or_text(form_text(form, "ML")),
            "S": int_or_text(form_text(form, "MS")),
        }
    try:
        point_service.assess(session, who, point_id, data, at)
    except Invalid as exc:
        session.rollback()
        point = point_service.get_point(session, who, point_id)
        return detail_page(
            request,
            session,
            who,
            RISK_POINT,
            point,
            422,
            **{
                **detail_context(session, who, point),
                "assess_errors": [pick((e.zh, e.en), lang_of(request)) for e in exc.errors],
                "posted": dict(form),
            },
        )
    session.commit()
    return RedirectResponse(f"/risk/points/{point_id}#assessments", status_code=303)


@router.post("/risk/assessments/{assessment_id}/{action}")
def assessment_decide(
    assessment_id: str,
    action: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    if action not in ("approve", "reject"):
        raise NotFound("操作", "action")
    note = form_text(form or FormData(), "note")
    row = point_service.decide(session, who, assessment_id, action == "approve", at, note)
    session.commit()
    return RedirectResponse(f"/risk/points/{row.risk_point_id}#assessments", status_code=303)


# --------------------------------------------------------------------------- settings


@router.get("/risk/settings")
def settings_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    return _settings_page(request, session, who)


def _settings_page(
    request: Request,
    session: Session,
    who: Principal,
    exc: Invalid | None = None,
    posted: dict[str, str] | None = None,
) -> Response:
    view = point_service.settings_view(session, who)
    errors = [pick((e.zh, e.en), lang_of(request)) for e in exc.errors] if exc else []
    return render_page(
        request,
        "risk/points_settings.html",
        422 if exc else 200,
        view=view,
        errors=errors,
        posted=posted or {},
        can_change=who.role in point_service.ANALYSTS and len(who.prefix) <= 4,
        classic=lec.CLASSIC_BANDS,
    )


@router.post("/risk/settings")
def settings_save(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    form = form or FormData()
    key = form_text(form, "key")
    posted = {k: str(v) for k, v in form.items() if k != "csrf"}
    value: Any
    if form_text(form, "reset"):
        value = None
    elif key == point_service.LEC_KEY:
        value = {
            "thresholds": [parse_number(form_text(form, f"t{i}")) for i in (1, 2, 3)],
            "closed": form_text(form, "closed") or "right",
            "name": form_text(form, "name") or "custom",
            "source": form_text(form, "source") or "城市自定义LEC分级",
        }
    else:
        value = {
            "thresholds": {
                k: parse_number(form_text(form, k)) for k in ("red_min", "orange_min", "yellow_min")
            },
            "name": form_text(form, "name") or "custom",
            "source": form_text(form, "source"),
        }
    try:
        point_service.set_setting(session, who, key, value, at)
    except Invalid as exc:
        session.rollback()
        return _settings_page(request, session, who, exc, posted)
    session.commit()
    return RedirectResponse("/risk/settings", status_code=303)
