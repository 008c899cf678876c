"""The registry's four object kinds, declared once for the generic pages, API, import and export."""

from __future__ import annotations

from typing import Any

from safecity.core import scope
from safecity.core.errors import Forbidden
from safecity.core.kinds import Kind
from safecity.core.scope import REGISTRY_WRITERS, Principal, Shape
from safecity.registry import schemas
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.registry.rules import (
    DIVISION_LEVELS,
    INDUSTRY_SECTIONS,
    SCALES,
    SUPERVISION_CATEGORIES,
    TARGET_TYPES,
    division_level,
    industry_section,
    parent_code,
)

LABELS: dict[str, tuple[str, str]] = {
    **schemas.LABELS,
    "id": ("编号", "ID"),
    "level": ("级别", "level"),
    "industry_section": ("行业门类", "industry section"),
    "archived": ("已归档", "archived"),
    "updated_at": ("更新时间", "updated"),
}


def _derive_division(values: dict[str, Any]) -> dict[str, Any]:
    values["level"] = division_level(values["code"])
    values["parent_code"] = values.get("parent_code") or parent_code(values["code"])
    return values


def _derive_enterprise(values: dict[str, Any]) -> dict[str, Any]:
    values["industry_section"] = industry_section(values["industry_code"]) or "C"
    return values


def _check_enterprise(who: Principal, values: dict[str, Any], obj: Any) -> None:
    if who.role == "enterprise_officer" and obj is None:
        raise Forbidden("企业安全员只能修改本企业信息", "you may only edit your own enterprise")
    liaison = who.liaison_industry
    if liaison and not scope.industry_matches(liaison, values.get("industry_code")):
        raise Forbidden("超出本行业部门的监管范围", "outside your department's industry")


DIVISION = Kind(
    name="division",
    plural="divisions",
    prefix="registry",
    api_prefix="",
    model=Division,
    schema=schemas.DivisionIn,
    zh="行政区划",
    en="Division",
    labels=LABELS,
    key="code",
    natural_key="code",
    columns=(
        "code",
        "name",
        "name_en",
        "level",
        "parent_code",
        "population",
        "area_km2",
        "lon",
        "lat",
    ),
    exact_filters=("level", "parent_code"),
    search=("name", "code"),
    sortable=("code", "name", "population"),
    default_sort="code",
    choices={"level": DIVISION_LEVELS},
    writers=REGISTRY_WRITERS["division"],
    # Reference data: any reader of the division sees its names.
    shape=Shape(division=Division.code, reference=True),
    division_field="code",
    division_must_exist=False,
    derive=_derive_division,
    map_props=("code", "name", "level", "population"),
    example={"code": "370602001", "name": "测试街道", "population": 12000},
)

# Grid cells and protected targets belong to no enterprise, so an enterprise safety officer
# sees none of them (their grid members' and contacts' phones).
GRID_CELL = Kind(
    name="grid_cell",
    plural="grid-cells",
    prefix="registry",
    api_prefix="",
    model=GridCell,
    schema=schemas.GridCellIn,
    zh="网格",
    en="Grid cell",
    labels=LABELS,
    natural_key="code",
    columns=(
        "id",
        "code",
        "name",
        "division_code",
        "population",
        "grid_member",
        "grid_member_phone",
        "lon",
        "lat",
    ),
    search=("name", "code", "grid_member"),
    sortable=("code", "name", "population"),
    default_sort="code",
    writers=REGISTRY_WRITERS["grid_cell"],
    map_props=("id", "code", "name", "division_code", "population", "grid_member"),
    example={
        "code": "GC-TEST-001",
        "name": "测试网格",
        "division_code": "370602",
        "population": 3200,
        "grid_member": "张三",
        "lon": 121.38,
        "lat": 37.52,
    },
)

ENTERPRISE = Kind(
    name="enterprise",
    plural="enterprises",
    prefix="registry",
    api_prefix="",
    model=Enterprise,
    schema=schemas.EnterpriseIn,
    zh="企业",
    en="Enterprise",
    labels=LABELS,
    natural_key="uscc",
    columns=(
        "id",
        "name",
        "uscc",
        "industry_code",
        "industry_section",
        "scale",
        "supervision_category",
        "is_hazchem",
        "division_code",
        "address",
        "lon",
        "lat",
        "responsible_department",
        "safety_officer",
        "safety_officer_phone",
        "employees",
    ),
    exact_filters=(
        "industry_section",
        "industry_code",
        "scale",
        "supervision_category",
        "is_hazchem",
    ),
    search=("name", "uscc", "address"),
    sortable=("name", "uscc", "industry_code", "employees", "updated_at"),
    choices={
        "scale": SCALES,
        "supervision_category": SUPERVISION_CATEGORIES,
        "industry_section": {k: (v[0], v[1]) for k, v in INDUSTRY_SECTIONS.items()},
    },
    writers=REGISTRY_WRITERS["enterprise"],
    shape=Shape(
        division=Enterprise.division_code,
        enterprise=Enterprise.id,
        industry=Enterprise.industry_code,
    ),
    derive=_derive_enterprise,
    check_write=_check_enterprise,
    map_props=(
        "id",
        "name",
        "industry_section",
        "supervision_category",
        "is_hazchem",
        "division_code",
        "scale",
    ),
    detail_template="registry_one_file.html",
    hints={
        "uscc": "18位，末位为校验码；已存在的代码将更新该企业",
        "industry_code": "GB/T 4754 行业代码，如 26 或 2614",
    },
    example={
        "name": "测试化工有限公司",
        "uscc": "91370602MA00007778",
        "industry_code": "2614",
        "division_code": "370602",
        "employees": 120,
        "lon": 121.39,
        "lat": 37.53,
    },
)

PROTECTED_TARGET = Kind(
    name="protected_target",
    plural="protected-targets",
    prefix="registry",
    api_prefix="",
    model=ProtectedTarget,
    schema=schemas.ProtectedTargetIn,
    zh="脆弱性目标",
    en="Protected target",
    labels=LABELS,
    columns=(
        "id",
        "name",
        "target_type",
        "capacity",
        "occupancy",
        "division_code",
        "address",
        "lon",
        "lat",
        "contact",
        "contact_phone",
    ),
    exact_filters=("target_type",),
    search=("name", "address"),
    sortable=("name", "capacity", "target_type"),
    choices={"target_type": TARGET_TYPES},
    writers=REGISTRY_WRITERS["protected_target"],
    map_props=("id", "name", "target_type", "capacity", "division_code"),
    example={
        "name": "测试小学",
        "target_type": "school",
        "capacity": 900,
        "division_code": "370602",
        "lon": 121.4,
        "lat": 37.51,
    },
)

REGISTRY_KINDS: tuple[Kind, ...] = (DIVISION, GRID_CELL, ENTERPRISE, PROTECTED_TARGET)
KINDS: dict[str, Kind] = {k.plural: k for k in REGISTRY_KINDS}
BY_NAME: dict[str, Kind] = {k.name: k for k in REGISTRY_KINDS}


def input_fields(kind: Kind) -> list[str]:
    return kind.input_fields()


def choice_label(kind: Kind, column: str, value: Any, lang: str) -> Any:
    return kind.choice_label(column, value, lang)
