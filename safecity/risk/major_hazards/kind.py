"""Major hazard installations (GB 18218-2018 units) as a kind: the generic list, filters,
detail, form, import, export, API and map layer; a unit's S, R, grade and exposure are
computed on save (``service.prepare``). The exposure override and the calculator stay pages
of their own (views.py), linked from the detail page."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import nulls_last, true
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from safecity.core.kinds import Kind, QueryFilter
from safecity.core.scope import Principal
from safecity.registry.models import Enterprise
from safecity.risk.major_hazards import service
from safecity.risk.major_hazards.schemas import UNIT_KINDS, MajorHazardIn, MajorHazardOut
from safecity.risk.models import MajorHazard
from safecity.risk.points.picks import enterprise_choices, enterprise_names, parse_number
from safecity.risk.points.service import ANALYSTS, WRITERS

GRADES: dict[str, tuple[str, str]] = {
    "1": ("一级", "Grade 1"),
    "2": ("二级", "Grade 2"),
    "3": ("三级", "Grade 3"),
    "4": ("四级", "Grade 4"),
}
SUBSTANCE_ROWS = 8
CAS = re.compile(r"^\s*\d{2,7}\s*[-‐–—]\s*\d{2}\s*[-‐–—]\s*\d\s*$")
_YES, _NO = ("1", "true"), ("", "0", "false")


def _major_only(value: str) -> Any:
    if value in _YES:
        return MajorHazard.is_major.is_(True)
    if value in _NO:
        return true()
    raise ValueError(value)


def _enterprise_names(session: Session, objs: Any) -> dict[Any, dict[str, Any]]:
    names = enterprise_names(session, {h.enterprise_id for h in objs})
    return {h.id: {"enterprise_name": names.get(h.enterprise_id)} for h in objs}


def detail_context(session: Session, who: Principal, hazard: Any) -> dict[str, Any]:
    return {
        "enterprise": session.get(Enterprise, hazard.enterprise_id),
        "can_override": who.role in ANALYSTS,
        "GRADES": {int(k): v for k, v in GRADES.items()},
        "UNIT_KINDS": UNIT_KINDS,
        "unit": hazard.result,
        "override_errors": [],
        "posted": {},
    }


# --------------------------------------------------------------------------- the form


def parse_form(form: FormData) -> dict[str, Any]:
    """The unit form's fields → input: substance rows (name or CAS, tonnes, Table 2 category)
    and the boundary as GeoJSON text."""

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    substances = []
    for i in range(SUBSTANCE_ROWS * 3):
        ident, qty, category = text(f"sub_name_{i}"), text(f"sub_qty_{i}"), text(f"sub_cat_{i}")
        if not ident and not qty:
            continue
        row: dict[str, Any] = {"cas" if CAS.match(ident) else "name": ident or None}
        row["quantity_t"] = parse_number(qty) if qty else None
        if category:
            row["category"] = category
        substances.append(row)
    data: dict[str, Any] = {
        "enterprise_id": text("enterprise_id") or None,
        "name": text("name"),
        "unit_kind": text("unit_kind"),
        "substances": substances,
        "lon": text("lon") or None,
        "lat": text("lat") or None,
        "boundary": None,
    }
    if boundary := text("boundary"):
        try:
            data["boundary"] = json.loads(boundary)
        except ValueError:
            data["boundary"] = boundary  # the schema reports it
    return data


def form_values(hazard: Any, query: Any) -> dict[str, Any]:
    if hazard is None:
        return {"unit_kind": "storage", "enterprise_id": query.get("enterprise_id") or ""}
    return {f: getattr(hazard, f) for f in MajorHazardIn.model_fields}


def _form_context(session: Session, who: Principal) -> dict[str, Any]:
    return {
        "enterprises": enterprise_choices(session, who),
        "own_enterprise": who.enterprise_id,
        "UNIT_KINDS": UNIT_KINDS,
        "substance_rows": SUBSTANCE_ROWS,
    }


MAJOR_HAZARD = Kind(
    name="major_hazard",
    plural="major-hazards",
    prefix="risk",
    model=MajorHazard,
    schema=MajorHazardIn,
    zh="重大危险源",
    en="Major hazard installations",
    columns=(
        "id",
        "name",
        "enterprise_id",
        "unit_kind",
        "substances",
        "division_code",
        "lon",
        "lat",
        "s_value",
        "is_major",
        "r_value",
        "alpha",
        "exposed_population",
        "level",
        "assessed_at",
    ),
    list_columns=(
        "name",
        "enterprise_name",
        "unit_kind",
        "s_value",
        "r_value",
        "alpha",
        "exposed_population",
        "level",
    ),
    labels={
        "name": ("单元名称", "unit name"),
        "enterprise_id": ("企业", "enterprise"),
        "enterprise_name": ("企业", "enterprise"),
        "unit_kind": ("单元类型", "unit kind"),
        "substances": ("危险化学品", "substances"),
        "boundary": ("单元边界", "boundary"),
        "s_value": ("S", "S"),
        "is_major": ("重大危险源", "major"),
        "r_value": ("R", "R"),
        "alpha": ("α", "α"),
        "exposed_population": ("暴露人数", "exposed"),
        "level": ("级别", "grade"),
        "assessed_at": ("辨识时间", "identified"),
        "major": ("仅重大危险源", "major only"),
    },
    exact_filters=("enterprise_id", "level"),
    query_filters={
        "major": QueryFilter(
            ("仅重大危险源", "major only"), _major_only, {"1": ("仅重大危险源", "Major only")}
        )
    },
    search=("name",),
    sortable=("name", "level", "r_value", "s_value", "exposed_population", "division_code"),
    default_order=(nulls_last(MajorHazard.level.asc()), MajorHazard.r_value.desc()),
    choices={"unit_kind": UNIT_KINDS, "level": GRADES},
    writers=WRITERS,
    shape=service.HAZARD_SHAPE,
    prepare=service.prepare,
    extras=_enterprise_names,
    out_schema=MajorHazardOut,
    as_answer=service.hazard_dict,
    map_props=("name", "level", "is_major", "r_value"),
    list_template="risk/major_hazards_intro.html",
    cell_template="risk/major_hazards_cells.html",
    detail_template="risk/major_hazards_panel.html",
    detail_context=detail_context,
    form_template="risk/major_hazards_fields.html",
    form_parse=parse_form,
    form_values=form_values,
    form_context=_form_context,
    hints={
        "enterprise_id": "所属企业的编号；单元的行政区划、缺省位置取自企业",
        "substances": '危险化学品（JSON），如 [{"name": "液氯", "quantity_t": 10}]；'
        "未列名物质填 category（表2类别，如 W2）",
        "boundary": "可选：单元边界 GeoJSON Polygon（WGS-84）",
    },
    example={
        "enterprise_id": 1,
        "name": "示例液氯储罐区",
        "unit_kind": "storage",
        "substances": [{"name": "液氯", "quantity_t": 10}],
    },
    refused_example=(
        {
            "enterprise_id": 1,
            "name": "示例液氯储罐区",
            "unit_kind": "storage",
            "substances": [{"name": "液氯", "quantity_t": -1}],
        },
        "substances[0].quantity_t",
    ),
)
