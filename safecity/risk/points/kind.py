"""Risk points as a kind: the generic list, filters, detail, form, import, export, API and map
layer; a point's division, industry and default location come from its owner on save
(``service.resolve_owner``), and its spreadsheet layout is the register's own (io.py). The
assessments with their approval and the city's grading settings stay pages of their own
(views.py), shown on and linked from the detail page."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from safecity.core import clock, scope
from safecity.core.kinds import Exchange, Kind, QueryFilter, Saving
from safecity.core.scope import Principal
from safecity.registry.kinds import ENTERPRISE
from safecity.registry.models import Enterprise, GridCell, ProtectedTarget
from safecity.registry.rules import INDUSTRY_SECTIONS
from safecity.risk.models import RiskPoint
from safecity.risk.points import enterprise, io, lec
from safecity.risk.points import service as point_service
from safecity.risk.points.picks import (
    GRADES,
    LEVELS,
    STATUS,
    enterprise_choices,
    enterprise_names,
    registry_choices,
)
from safecity.risk.points.schemas import (
    ACCIDENT_TYPES,
    CONTROL_LEVELS,
    FACTOR_CATEGORIES,
    LABELS,
    MEASURE_TYPES,
    OWNER_KINDS,
    RiskPointDetailOut,
    RiskPointIn,
    RiskPointOut,
    RiskPointPage,
)

FACTOR_ROWS, MEASURE_ROWS = 4, 5
_YES, _NO = ("1", "true", "yes"), ("", "0", "false", "no")


def today() -> date:
    return clock.utcnow().astimezone(clock.BEIJING).date()


def _level(value: str) -> Any:
    if value == "none":
        return RiskPoint.level.is_(None)
    if value not in LEVELS:
        raise ValueError(value)
    return RiskPoint.level == value


def _overdue(value: str) -> Any:
    if value in _NO:
        return RiskPoint.id.is_not(None)
    if value not in _YES:
        raise ValueError(value)
    return RiskPoint.review_date.is_not(None) & (RiskPoint.review_date < today())


def _industry(value: str) -> Any:
    return scope.industry_clause(RiskPoint.industry_code, value)


def _prepare(values: dict[str, Any], saving: Saving) -> dict[str, Any]:
    return point_service.resolve_owner(saving.session, values)


def _owners(session: Session, points: Any) -> dict[Any, dict[str, Any]]:
    names = enterprise_names(session, {p.enterprise_id for p in points if p.enterprise_id})
    return {p.id: {"owner": names.get(p.enterprise_id)} for p in points}


def _summary(session: Session, who: Principal, params: Any) -> dict[str, Any]:
    ent = params.filters.get("enterprise_id")
    if not ent:
        return {}
    return {"enterprise_level": enterprise.enterprise_level(session, who, int(ent))}


def _detail_answer(session: Session, who: Principal, point: Any) -> dict[str, Any]:
    return {
        **point_service.point_dict(point),
        "assessments": [
            point_service.assessment_dict(a)
            for a in point_service.list_assessments(session, who, point.id)
        ],
    }


def page_context(session: Session, who: Principal) -> dict[str, Any]:
    return {
        "LEVELS": LEVELS,
        "GRADES": GRADES,
        "STATUS": STATUS,
        "OWNER_KINDS": OWNER_KINDS,
        "FACTOR_CATEGORIES": FACTOR_CATEGORIES,
        "ACCIDENT_TYPES": ACCIDENT_TYPES,
        "MEASURE_TYPES": MEASURE_TYPES,
        "CONTROL_LEVELS": CONTROL_LEVELS,
        "today": today(),
    }


def detail_context(session: Session, who: Principal, point: Any) -> dict[str, Any]:
    """The panel's assessments, the owner enterprise and its level, the LEC/matrix tables."""
    ent = session.get(Enterprise, point.enterprise_id) if point.enterprise_id else None
    ent_level = None
    if ent is not None and scope.sees(
        who,
        ENTERPRISE.scope_shape,
        ent.division_code,
        enterprise_id=ent.id,
        industry_code=ent.industry_code,
    ):
        ent_level = enterprise.enterprise_level(session, who, ent.id)
    return {
        "history": point_service.list_assessments(session, who, point.id),
        "enterprise": ent,
        "ent_level": ent_level,
        "can_approve": who.role in point_service.ANALYSTS,
        "l_table": lec.L_TABLE,
        "e_table": lec.E_TABLE,
        "c_table": lec.C_TABLE,
        "bands": point_service.lec_bands(session, point.division_code),
        "matrix": point_service.risk_matrix(session, point.division_code),
        "assess_errors": [],
        "posted": {},
    }


# --------------------------------------------------------------------------- the form


def parse_form(form: FormData) -> dict[str, Any]:
    """Posted fields → input; blank optional values are left out (None)."""

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    data: dict[str, Any] = {}
    for name in ("code", "name", "owner_kind", "division_code", "review_date"):
        data[name] = text(name) or None
    for name in ("enterprise_id", "grid_cell_id", "protected_target_id", "lon", "lat"):
        data[name] = text(name) or None
    data["facility_name"] = text("facility_name")
    data["description"] = text("description")
    if not data["name"]:
        del data["name"]  # so the schema answers "为必填项"
    data["accident_types"] = [str(v) for v in form.getlist("accident_types")]
    data["hazard_factors"] = [
        {"category": text(f"hf_category_{i}"), "description": text(f"hf_desc_{i}")}
        for i in range(FACTOR_ROWS * 3)
        if text(f"hf_desc_{i}")
    ]
    data["control_measures"] = [
        {
            "type": text(f"cm_type_{i}"),
            "description": text(f"cm_desc_{i}"),
            "level": text(f"cm_level_{i}") or "post",
            "person": text(f"cm_person_{i}"),
        }
        for i in range(MEASURE_ROWS * 3)
        if text(f"cm_desc_{i}")
    ]
    return data


def form_values(point: Any, query: Any) -> dict[str, Any]:
    if point is None:
        values: dict[str, Any] = {
            "owner_kind": "enterprise",
            "accident_types": [],
            "hazard_factors": [],
            "control_measures": [],
        }
        if query.get("enterprise_id"):
            values["enterprise_id"] = query.get("enterprise_id")
        return values
    data = {f: getattr(point, f) for f in RiskPointIn.model_fields}
    data["review_date"] = point.review_date.isoformat() if point.review_date else ""
    return data


def _form_context(session: Session, who: Principal) -> dict[str, Any]:
    return {
        "enterprises": enterprise_choices(session, who),
        "own_enterprise": who.enterprise_id,
        "grid_cells": registry_choices(session, who, GridCell),
        "places": registry_choices(session, who, ProtectedTarget),
        "factor_rows": FACTOR_ROWS,
        "measure_rows": MEASURE_ROWS,
    }


RISK_POINT = Kind(
    name="risk_point",
    plural="points",
    prefix="risk",
    model=RiskPoint,
    schema=RiskPointIn,
    zh="风险点",
    en="Risk points",
    columns=(
        "id",
        "code",
        "name",
        "owner_kind",
        "enterprise_id",
        "grid_cell_id",
        "protected_target_id",
        "facility_name",
        "division_code",
        "industry_code",
        "lon",
        "lat",
        "description",
        "hazard_factors",
        "accident_types",
        "control_measures",
        "review_date",
        "level",
        "level_assessment_id",
    ),
    list_columns=("code", "name", "owner", "division_code", "level", "review_date"),
    labels={
        **io.ROW_LABELS,  # the spreadsheet's columns, named in import reports
        **LABELS,
        "owner": ("所属", "owner"),
        "industry_code": ("行业代码", "industry"),
        "industry": ("行业", "industry"),
        "level": ("风险等级", "level"),
        "level_assessment_id": ("定级评价", "grading assessment"),
        "overdue": ("复评逾期", "review overdue"),
    },
    exact_filters=("enterprise_id", "owner_kind"),
    query_filters={
        "industry": QueryFilter(
            ("行业", "industry"), _industry, {k: v for k, v in INDUSTRY_SECTIONS.items()}
        ),
        "level": QueryFilter(
            ("风险等级", "level"), _level, {**LEVELS, "none": ("未评定", "Not graded")}
        ),
        "overdue": QueryFilter(
            ("复评逾期", "review overdue"), _overdue, {"1": ("复评逾期", "Review overdue")}
        ),
    },
    search=("name", "code", "facility_name"),
    sortable=point_service.SORTABLE,
    default_sort="name",
    sort_expressions={"level": case(point_service.LEVEL_ORDER, value=RiskPoint.level, else_=5)},
    choices={"owner_kind": OWNER_KINDS},
    writers=point_service.WRITERS,
    shape=point_service.POINT_SHAPE,
    division_must_exist=False,
    prepare=_prepare,
    extras=_owners,
    out_schema=RiskPointOut,
    as_answer=point_service.point_dict,
    detail_answer=_detail_answer,
    detail_schema=RiskPointDetailOut,
    list_summary=_summary,
    page_schema=RiskPointPage,
    exchange=Exchange(import_file=io.import_points, export=io.export, template=io.template),
    map_props=("name", "code", "level", "owner_kind"),
    list_template="risk/points_intro.html",
    cell_template="risk/points_cells.html",
    page_context=page_context,
    detail_template="risk/points_panel.html",
    detail_context=detail_context,
    form_template="risk/points_fields.html",
    form_parse=parse_form,
    form_values=form_values,
    form_context=_form_context,
    example={
        "name": "示例液氯汽化间",
        "owner_kind": "enterprise",
        "enterprise_id": 1,
        "code": "FX-EX1",
        "accident_types": ["poisoning"],
    },
    import_example={  # a row of the register's spreadsheet (io.py's layout)
        "name": "示例泵房",
        "owner_kind": "facility",
        "facility_name": "示例泵房",
        "division_code": "370602",
    },
)
