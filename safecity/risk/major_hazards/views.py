"""Major hazard pages of their own — the analyst's exposure override (posted from the generic
detail page, kind.py) and the LEC / matrix / GB 18218 calculators. Chinese first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from safecity.core.deps import db, now
from safecity.core.errors import Invalid
from safecity.core.scope import Principal
from safecity.risk.major_hazards import hazmat
from safecity.risk.major_hazards import service as hazard_service
from safecity.risk.major_hazards.kind import CAS, MAJOR_HAZARD, SUBSTANCE_ROWS, detail_context
from safecity.risk.major_hazards.schemas import UNIT_KINDS
from safecity.risk.points import lec, matrix
from safecity.risk.points import service as point_service
from safecity.risk.points.pages import form_text, int_or_text, parse_number, render_page
from safecity.web.guard import form_data, web_user
from safecity.web.i18n import pick
from safecity.web.kinds_views import detail_page
from safecity.web.render import lang_of

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    """The risk pages' renderer with the GB 18218 unit kinds the hazard templates label."""
    return render_page(request, template, status, UNIT_KINDS=UNIT_KINDS, **ctx)


@router.post("/risk/major-hazards/{hazard_id}/exposure")
def hazard_exposure(
    hazard_id: str,
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
    form: FormData | None = Depends(form_data),
) -> Response:
    form = form or FormData()
    raw = form_text(form, "exposed_population")
    data: dict[str, Any] = {
        "reason": form_text(form, "reason"),
        "exposed_population": None
        if form_text(form, "clear")
        else (parse_number(raw) if raw else ""),
    }
    try:
        hazard_service.override_exposure(session, who, hazard_id, data, at)
    except Invalid as exc:
        session.rollback()
        hazard = hazard_service.get_hazard(session, who, hazard_id)
        return detail_page(
            request,
            session,
            who,
            MAJOR_HAZARD,
            hazard,
            422,
            **{
                **detail_context(session, who, hazard),
                "override_errors": [pick((e.zh, e.en), lang_of(request)) for e in exc.errors],
                "posted": dict(form),
            },
        )
    session.commit()
    return RedirectResponse(f"/risk/major-hazards/{hazard_id}", status_code=303)


# --------------------------------------------------------------------------- calculators


@router.get("/risk/calculator")
def calculator(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    qp = request.query_params
    tab = qp.get("tab") or "lec"
    lang = lang_of(request)
    bands = point_service.lec_bands(session, who.division_code)
    table = point_service.risk_matrix(session, who.division_code)
    out: dict[str, Any] = {
        "tab": tab,
        "q": dict(qp),
        "bands": bands,
        "matrix": table,
        "l_table": lec.L_TABLE,
        "e_table": lec.E_TABLE,
        "c_table": lec.C_TABLE,
        "errors": [],
        "result": None,
    }
    try:
        if tab == "lec" and qp.get("L"):
            out["result"] = lec.assess_lec(qp.get("L"), qp.get("E"), qp.get("C"), bands).as_dict()
        elif tab == "matrix" and qp.get("ML"):
            out["result"] = matrix.assess_matrix(
                int_or_text(qp.get("ML", "")), int_or_text(qp.get("MS", "")), table
            ).as_dict()
        elif tab == "hazmat" and qp.get("go"):
            out["result"] = hazmat.identify(_hazmat_payload(qp))
    except (lec.LecInputError, matrix.MatrixInputError) as exc:
        out["errors"] = [pick((e.message_zh, e.message_en), lang) for e in exc.errors]
    except hazmat.HazmatInputError as exc:
        out["errors"] = [pick((e.message_zh, e.message_en), lang) for e in exc.errors]
    out["hz_rows"] = [
        (qp.get(f"n{i}", ""), qp.get(f"q{i}", ""), qp.get(f"c{i}", ""))
        for i in range(SUBSTANCE_ROWS)
    ]
    return _page(request, "risk/calculator.html", 422 if out["errors"] else 200, **out)


def _hazmat_payload(qp: Any) -> dict[str, Any]:
    substances = []
    for i in range(SUBSTANCE_ROWS):
        ident, qty, cat = (
            qp.get(f"n{i}", "").strip(),
            qp.get(f"q{i}", "").strip(),
            qp.get(f"c{i}", "").strip(),
        )
        if not ident and not qty:
            continue
        row: dict[str, Any] = {
            "cas" if CAS.match(ident) else "name": ident or None,
            "quantity_t": parse_number(qty) if qty else None,
        }
        if cat:
            row["category"] = cat
        substances.append(row)
    pop = qp.get("pop", "").strip()
    return {
        "units": [
            {
                "name": qp.get("unit") or "单元",
                "kind": qp.get("kind") or "storage",
                "substances": substances,
            }
        ],
        "exposed_population": parse_number(pop) if pop else None,
    }
