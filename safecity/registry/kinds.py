"""The registry's object kinds described once, so list/detail/import/export/UI are generic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from safecity.registry import schemas
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.registry.rules import (
    DIVISION_LEVELS,
    INDUSTRY_SECTIONS,
    SCALES,
    SUPERVISION_CATEGORIES,
    TARGET_TYPES,
)


@dataclass(frozen=True)
class Kind:
    name: str
    plural: str  # URL segment
    model: type
    schema: type[BaseModel]
    zh: str
    en: str
    key: str  # primary key attribute used in URLs
    natural_key: str | None  # matched on import to update instead of create
    columns: tuple[str, ...]  # list/export columns, in order
    exact_filters: tuple[str, ...] = ()
    search: tuple[str, ...] = ("name",)
    sortable: tuple[str, ...] = ("name",)
    default_sort: str = "name"
    choices: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    def label(self, column: str) -> tuple[str, str]:
        return schemas.LABELS.get(column, _EXTRA_LABELS.get(column, (column, column)))


_EXTRA_LABELS = {
    "id": ("编号", "ID"),
    "level": ("级别", "level"),
    "industry_section": ("行业门类", "industry section"),
    "archived": ("已归档", "archived"),
    "updated_at": ("更新时间", "updated"),
}

DIVISION = Kind(
    name="division",
    plural="divisions",
    model=Division,
    schema=schemas.DivisionIn,
    zh="行政区划",
    en="Division",
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
)

GRID_CELL = Kind(
    name="grid_cell",
    plural="grid-cells",
    model=GridCell,
    schema=schemas.GridCellIn,
    zh="网格",
    en="Grid cell",
    key="id",
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
)

ENTERPRISE = Kind(
    name="enterprise",
    plural="enterprises",
    model=Enterprise,
    schema=schemas.EnterpriseIn,
    zh="企业",
    en="Enterprise",
    key="id",
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
)

PROTECTED_TARGET = Kind(
    name="protected_target",
    plural="protected-targets",
    model=ProtectedTarget,
    schema=schemas.ProtectedTargetIn,
    zh="脆弱性目标",
    en="Protected target",
    key="id",
    natural_key=None,
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
)

KINDS: dict[str, Kind] = {k.plural: k for k in (DIVISION, GRID_CELL, ENTERPRISE, PROTECTED_TARGET)}
BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS.values()}


def input_fields(kind: Kind) -> list[str]:
    return list(kind.schema.model_fields)


def choice_label(kind: Kind, column: str, value: Any, lang: str) -> Any:
    options = kind.choices.get(column)
    if options and value in options:
        zh, en = options[value]
        return zh if lang == "zh" else en
    return value
