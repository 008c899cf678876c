"""Statistics dashboard page (counts, rates, charts as server-rendered SVG, XLSX export)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from safecity.core.deps import db, now
from safecity.core.scope import Principal
from safecity.hazards import stats
from safecity.hazards.pages import divisions as _divisions
from safecity.hazards.pages import show
from safecity.web.guard import web_user

router = APIRouter(include_in_schema=False)


@router.get("/stats")
def stats_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    p = stats.params_from(request.query_params)
    data = stats.dashboard(session, who, p, at)
    charts = {
        "division": stats.bar_chart(
            [(r["label"], r["total"], r["overdue"]) for r in data["by_division"][:12]]
        ),
        "industry": stats.bar_chart(
            [(r["label"], r["total"], r["overdue"]) for r in data["by_industry"][:12]]
        ),
        "month": stats.month_chart(data["by_month"][-12:]),
    }
    query = request.url.query
    return show(
        request,
        "hazards/stats.html",
        data=data,
        p=p,
        charts={k: Markup(v) for k, v in charts.items()},
        divisions=_divisions(session, who),
        export_url="/api/v1/hazards/stats/export" + (f"?{query}" if query else ""),
    )
