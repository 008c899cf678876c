"""The five registers of emergency resources as generic kinds (list, map layer, form, import,
export, API and ``safecity import <plural> FILE``): name, lon, lat and division_code suffice."""

from __future__ import annotations

from typing import Any

from safecity.core.kinds import Kind
from safecity.resources import schemas as s
from safecity.resources.models import Equipment, Expert, RescueTeam, Shelter, Warehouse
from safecity.resources.service import WRITERS, area_per_person_m2

PLACE_LABELS: dict[str, tuple[str, str]] = {
    "department": ("主管部门", "department"),
    "phone": ("值班电话", "duty phone"),
}
PLACE_COLUMNS = ("division_code", "address", "department", "contact", "phone", "lon", "lat")


def _shelter_capacity(values: dict[str, Any]) -> dict[str, Any]:
    """Capacity as imported, else effective area ÷ the per-person area (the city's setting,
    1.5 m² by default)."""
    if values.get("capacity") is None:
        values["capacity"] = int((values.get("effective_area_m2") or 0) // area_per_person_m2())
    return values


RESCUE_TEAM = Kind(
    name="rescue_team",
    plural="rescue-teams",
    prefix="resources",
    model=RescueTeam,
    schema=s.RescueTeamIn,
    zh="救援队伍",
    en="Rescue teams",
    # long free text not last: the list lets the last column wrap, which made phone rows tall
    columns=("id", "name", "team_type", "members", "readiness", "equipment", *PLACE_COLUMNS),
    labels=PLACE_LABELS
    | {
        "team_type": ("队伍类型", "team type"),
        "members": ("队员人数", "members"),
        "readiness": ("战备状态", "readiness"),
        "equipment": ("主要装备", "main equipment"),
    },
    choices={"team_type": s.TEAM_TYPES, "readiness": s.READINESS},
    exact_filters=("team_type", "readiness"),
    search=("name", "department"),
    sortable=("name", "members", "updated_at"),
    writers=WRITERS,
    map_props=("id", "name", "team_type", "members", "readiness", "phone"),
    example={
        "name": "芝罘区消防救援大队",
        "team_type": "fire_rescue",
        "members": 60,
        "division_code": "370602",
        "lon": 121.39,
        "lat": 37.53,
    },
)

WAREHOUSE = Kind(
    name="warehouse",
    plural="warehouses",
    prefix="resources",
    model=Warehouse,
    schema=s.WarehouseIn,
    zh="物资储备库",
    en="Warehouses",
    columns=("id", "name", "tier", "floor_area_m2", *PLACE_COLUMNS),
    labels=PLACE_LABELS
    | {"tier": ("层级", "tier"), "floor_area_m2": ("库房面积(m²)", "floor area (m²)")},
    choices={"tier": s.TIERS},
    exact_filters=("tier",),
    search=("name", "department"),
    sortable=("name", "floor_area_m2", "updated_at"),
    writers=WRITERS,
    map_props=("id", "name", "tier", "floor_area_m2"),
    example={
        "name": "芝罘区应急物资储备库",
        "tier": "district",
        "floor_area_m2": 2400,
        "division_code": "370602",
        "lon": 121.38,
        "lat": 37.52,
    },
)

SHELTER = Kind(
    name="shelter",
    plural="shelters",
    prefix="resources",
    model=Shelter,
    schema=s.ShelterIn,
    zh="避难场所",
    en="Shelters",
    columns=(
        "id",
        "name",
        "shelter_class",
        "effective_area_m2",
        "capacity",
        "status",
        "facilities",
        *PLACE_COLUMNS,
    ),
    labels=PLACE_LABELS
    | {
        "shelter_class": ("场所类别", "class"),
        "effective_area_m2": ("有效避难面积(m²)", "effective area (m²)"),
        "status": ("状态", "status"),
        "facilities": ("配套设施", "facilities"),
    },
    choices={"shelter_class": s.SHELTER_CLASSES, "status": s.SHELTER_STATUS},
    exact_filters=("shelter_class", "status"),
    search=("name", "address"),
    sortable=("name", "capacity", "effective_area_m2", "updated_at"),
    writers=WRITERS,
    derive=_shelter_capacity,
    map_props=("id", "name", "shelter_class", "capacity", "status"),
    hints={"capacity": "留空则按有效面积 ÷ 本市设定的人均面积（默认 1.5 m²/人）计算"},
    example={
        "name": "芝罘区世纪广场应急避难场所",
        "shelter_class": "fixed_short",
        "effective_area_m2": 30000,
        "division_code": "370602",
        "lon": 121.40,
        "lat": 37.54,
    },
)

EXPERT = Kind(
    name="expert",
    plural="experts",
    prefix="resources",
    model=Expert,
    schema=s.ExpertIn,
    zh="专家",
    en="Experts",
    columns=("id", "name", "field", "organisation", "title", *PLACE_COLUMNS),
    labels=PLACE_LABELS
    | {
        "field": ("专业领域", "field"),
        "organisation": ("工作单位", "organisation"),
        "title": ("职称", "title"),
        "phone": ("联系电话", "phone"),
    },
    choices={"field": s.EXPERT_FIELDS},
    exact_filters=("field",),
    search=("name", "organisation"),
    sortable=("name", "updated_at"),
    writers=WRITERS,
    map_props=None,
    example={
        "name": "王建国",
        "field": "hazchem",
        "organisation": "烟台市化工设计院",
        "division_code": "370602",
        "lon": 121.39,
        "lat": 37.52,
    },
)

EQUIPMENT = Kind(
    name="equipment",
    plural="equipment",
    prefix="resources",
    model=Equipment,
    schema=s.EquipmentIn,
    zh="装备",
    en="Equipment",
    columns=(
        "id",
        "name",
        "equipment_type",
        "quantity",
        "status",
        "team_id",
        "tracker_id",
        *PLACE_COLUMNS,
    ),
    labels=PLACE_LABELS
    | {
        "equipment_type": ("装备类型", "type"),
        "quantity": ("数量", "quantity"),
        "status": ("状态", "status"),
        "team_id": ("所属队伍", "team"),
        "tracker_id": ("定位终端", "tracker"),
    },
    choices={"equipment_type": s.EQUIPMENT_TYPES, "status": s.EQUIPMENT_STATUS},
    exact_filters=("equipment_type", "status"),
    search=("name", "tracker_id"),
    sortable=("name", "quantity", "updated_at"),
    writers=WRITERS,
    map_props=("id", "name", "equipment_type", "quantity", "status"),
    example={
        "name": "大功率排涝车",
        "equipment_type": "pump",
        "quantity": 2,
        "division_code": "370602",
        "lon": 121.39,
        "lat": 37.52,
    },
)

KINDS = (RESCUE_TEAM, WAREHOUSE, SHELTER, EXPERT, EQUIPMENT)
