"""Request and response models of the resources capability, and the choice lists they check."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safecity.core.scope import is_valid_division_code
from safecity.core.validation import SafeInput

TEAM_TYPES: dict[str, tuple[str, str]] = {
    "fire_rescue": ("综合性消防救援", "Comprehensive fire rescue"),
    "hazchem": ("危化品救援", "Hazardous chemicals"),
    "mine": ("矿山救援", "Mine rescue"),
    "water": ("水上救援", "Water rescue"),
    "power": ("电力抢修", "Power repair"),
    "medical": ("医疗救护", "Medical"),
    "forest_fire": ("森林消防", "Forest fire"),
    "aviation": ("航空救援", "Aviation rescue"),
    "engineering": ("工程抢险", "Engineering"),
    "social": ("社会救援力量", "Social forces"),
}
READINESS: dict[str, tuple[str, str]] = {
    "ready": ("待命", "Ready"),
    "deployed": ("出动中", "Deployed"),
    "unavailable": ("不可用", "Unavailable"),
}
TIERS: dict[str, tuple[str, str]] = {
    "city": ("市级", "City"),
    "district": ("县区级", "District"),
    "town": ("乡镇级", "Town"),
    "village": ("村级储备点", "Village storage room"),
}
SHELTER_CLASSES: dict[str, tuple[str, str]] = {
    "emergency": ("紧急避难场所", "Emergency"),
    "fixed_short": ("短期固定避难场所", "Fixed, short-term"),
    "fixed_medium": ("中期固定避难场所", "Fixed, medium-term"),
    "fixed_long": ("长期固定避难场所", "Fixed, long-term"),
    "central": ("中心避难场所", "Central"),
}
SHELTER_STATUS: dict[str, tuple[str, str]] = {
    "open": ("开放", "Open"),
    "closed": ("关闭", "Closed"),
    "full": ("已满", "Full"),
}
EXPERT_FIELDS: dict[str, tuple[str, str]] = {
    "comprehensive": ("综合", "Comprehensive"),
    "hazchem": ("危险化学品", "Hazardous chemicals"),
    "mine": ("矿山", "Mines"),
    "fire": ("消防", "Fire"),
    "geology": ("地质灾害", "Geological hazards"),
    "flood": ("防汛抗旱", "Flood and drought"),
    "earthquake": ("地震", "Earthquake"),
    "medical": ("医疗卫生", "Medical"),
    "structure": ("建筑结构", "Structures"),
    "marine": ("海洋", "Marine"),
}
EQUIPMENT_TYPES: dict[str, tuple[str, str]] = {
    "vehicle": ("救援车辆", "Rescue vehicle"),
    "pump": ("排涝泵", "Drainage pump"),
    "generator": ("发电机组", "Generator"),
    "boat": ("冲锋舟", "Assault boat"),
    "drone": ("无人机", "Drone"),
    "helicopter": ("直升机", "Helicopter"),
    "excavator": ("挖掘机", "Excavator"),
    "comms": ("应急通信", "Emergency comms"),
    "other": ("其他", "Other"),
}
EQUIPMENT_STATUS: dict[str, tuple[str, str]] = {
    "available": ("可用", "Available"),
    "in_use": ("使用中", "In use"),
    "maintenance": ("维修", "Maintenance"),
}
DEFAULT_AREA_PER_PERSON_M2 = 1.5  # GB 21734-2008: living area per sheltered person > 1.5 m²
# Relocation kit (紧急转移安置): people one unit of a basic living item serves, by GB/T 38565
# code — a 12 m² single tent shelters four, one folding bed, one quilt and one padded coat per
# person. The plans' figure is "supplies to relocate 60,000 people"; a city sets its own kit.
DEFAULT_RELOCATION_KIT: dict[str, float] = {
    "1010101": 4.0,
    "1010201": 1.0,
    "1020101": 1.0,
    "1020201": 1.0,
}


def _choice(options: dict[str, tuple[str, str]], field: str):  # type: ignore[no-untyped-def]
    def check(cls: Any, value: str) -> str:
        # the key, or its Chinese or English label (spreadsheets carry labels)
        for key, labels in options.items():
            if value == key or value in labels:
                return key
        if value not in options:
            raise ValueError(f"取值应为：{'、'.join(options)}|must be one of: {', '.join(options)}")
        return value

    return field_validator(field)(classmethod(check))


class PlacedIn(SafeInput):
    """The columns every register shares; name, lon, lat and division_code are enough."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    division_code: str
    address: str = Field("", max_length=300)
    department: str = Field("", max_length=100)
    contact: str = Field("", max_length=64)
    phone: str = Field("", max_length=32)
    note: str = Field("", max_length=2000)

    @field_validator("division_code")
    @classmethod
    def _division(cls, value: str) -> str:
        if not is_valid_division_code(value):
            raise ValueError("应为 GB/T 2260 行政区划代码|must be a GB/T 2260 division code")
        return value


class RescueTeamIn(PlacedIn):
    team_type: str = "fire_rescue"
    members: int = Field(0, ge=0, le=100_000)
    equipment: str = Field("", max_length=2000)
    readiness: str = "ready"
    _t = _choice(TEAM_TYPES, "team_type")
    _r = _choice(READINESS, "readiness")


class WarehouseIn(PlacedIn):
    tier: str = "district"
    floor_area_m2: float = Field(0.0, ge=0, le=1e7)
    _t = _choice(TIERS, "tier")


class ShelterIn(PlacedIn):
    shelter_class: str = "emergency"
    effective_area_m2: float = Field(0.0, ge=0, le=1e8)
    capacity: int | None = Field(None, ge=0, le=10_000_000)
    facilities: str = Field("", max_length=2000)
    status: str = "open"
    _c = _choice(SHELTER_CLASSES, "shelter_class")
    _s = _choice(SHELTER_STATUS, "status")


class ExpertIn(PlacedIn):
    field: str = "comprehensive"
    organisation: str = Field("", max_length=200)
    title: str = Field("", max_length=64)
    _f = _choice(EXPERT_FIELDS, "field")


class EquipmentIn(PlacedIn):
    equipment_type: str = "vehicle"
    quantity: int = Field(1, ge=0, le=1_000_000)
    team_id: int | None = None
    tracker_id: str = Field("", max_length=64)
    status: str = "available"
    _t = _choice(EQUIPMENT_TYPES, "equipment_type")
    _s = _choice(EQUIPMENT_STATUS, "status")


# ---------------------------------------------------------------- stock


class ItemIn(SafeInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=7, max_length=7)
    name: str = Field(min_length=1, max_length=100)
    name_en: str = Field("", max_length=100)
    unit: str = Field("件", min_length=1, max_length=16)
    shelf_life_days: int | None = Field(None, ge=1, le=36500)


class MovementIn(SafeInput):
    """One stock change in a warehouse. ``issue`` without a batch takes the batches that expire
    first (FEFO); ``transfer`` names the receiving warehouse and writes the pair."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["receive", "issue", "transfer", "adjust", "scrap"]
    item_id: int
    quantity: int = Field(ge=-10_000_000, le=10_000_000)
    batch: str = Field("", max_length=64)
    expiry: date | None = None
    to_warehouse_id: int | None = None
    note: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _transfer_target(self) -> MovementIn:
        if self.kind == "transfer" and self.to_warehouse_id is None:
            raise ValueError("调拨须指定接收仓库|a transfer needs to_warehouse_id")
        return self


class MinimumIn(SafeInput):
    model_config = ConfigDict(extra="forbid")

    item_id: int
    minimum: int = Field(ge=0, le=10_000_000)


class RequestIn(SafeInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    item_id: int
    quantity: int = Field(gt=0, le=10_000_000)
    source_warehouse_id: int
    destination_warehouse_id: int
    requesting_department: str = Field("", max_length=100)
    reason: str = Field("", max_length=2000)
    incident_ref: str = Field("", max_length=64)


class ActionIn(SafeInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["approve", "reject", "cancel", "commit", "dispatch", "receive", "return"]
    quantity: int | None = Field(None, ge=0, le=10_000_000)  # "return": how many come back
    note: str = Field("", max_length=2000)


# ---------------------------------------------------------------- answers


class StockLine(BaseModel):
    item_id: int
    code: str
    name: str
    unit: str
    batch: str
    expiry: date | None
    quantity: int


class StockOut(BaseModel):
    warehouse_id: int
    lines: list[StockLine]
    totals: dict[str, int]


class MovementOut(BaseModel):
    id: int
    warehouse_id: int
    item_id: int
    batch: str
    expiry: date | None
    kind: str
    quantity: int
    request_id: int | None
    counterpart_warehouse_id: int | None
    note: str
    actor: str
    at: datetime


class AlertOut(BaseModel):
    kind: str
    warehouse_id: int
    warehouse: str
    item_id: int
    item: str
    unit: str
    batch: str | None
    quantity: int
    minimum: int | None
    expiry: date | None
    days_left: int | None


class RequestOut(BaseModel):
    id: int
    item_id: int
    quantity: int
    source_warehouse_id: int
    destination_warehouse_id: int
    requesting_department: str
    reason: str
    incident_ref: str
    status: str
    returned_quantity: int
    history: list[dict[str, Any]]
    actions: list[str]
    created_by: str
    created_at: datetime
    updated_at: datetime


class RouteLine(BaseModel):
    type: Literal["LineString"] = "LineString"
    coordinates: list[list[float]]


class ReachedOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str
    id: int
    name: str
    travel_time_s: float
    distance_m: float
    straight_m: float
    snap_m: float
    lon: float
    lat: float
    route: RouteLine
    # per kind (the rest of the register's columns ride along as extra fields)
    field: str | None = None
    organisation: str | None = None
    equipment_type: str | None = None
    tracker_id: str | None = None


class NotReachedOut(BaseModel):
    kind: str
    id: int
    name: str
    status: str
    message: str
    message_en: str


class PointOut(BaseModel):
    lon: float
    lat: float
    snap_m: float


class NearestOut(BaseModel):
    kind: str
    direction: str
    direction_text: str
    direction_text_en: str
    point: PointOut
    results: list[ReachedOut]
    not_reached: list[NotReachedOut]
    filters: dict[str, str] = Field(default_factory=dict)


class SheltersForOut(NearestOut):
    people: int
    covered_people: int
    short_people: int


class EvacuationIn(SafeInput):
    model_config = ConfigDict(extra="forbid")

    center: tuple[float, float] | None = None
    radius_m: float | None = Field(None, gt=0, le=50_000)
    polygon: dict[str, Any] | None = None
    division_code: str | None = None
    k: int = Field(5, ge=1, le=50)
    max_time_s: float = Field(1800, gt=0, le=6 * 3600)

    @model_validator(mode="after")
    def _one_area(self) -> EvacuationIn:
        given = [self.center is not None, self.polygon is not None, bool(self.division_code)]
        if sum(given) != 1:
            raise ValueError(
                "须且只能给出一种范围：center+radius_m、polygon 或 division_code|"
                "give exactly one area: center+radius_m, polygon or division_code"
            )
        if self.center is not None and self.radius_m is None:
            raise ValueError("以点为中心时须给出 radius_m|center needs radius_m")
        return self


class FlowOut(BaseModel):
    cell_id: int
    cell_name: str
    shelter_id: int
    shelter_name: str
    people: int
    time_s: int
    from_: list[float] = Field(alias="from")
    to: list[float]

    model_config = ConfigDict(populate_by_name=True)


class ShelterFillOut(BaseModel):
    id: int
    name: str
    capacity: int
    people: int
    lon: float
    lat: float


class UnassignedOut(BaseModel):
    cell_id: int
    cell_name: str
    people: int
    reason: str


class EvacuationOut(BaseModel):
    direction: str
    area: dict[str, Any]
    cells: int
    people: int
    assigned_people: int
    unassigned_people: int
    total_person_time_s: int
    mean_time_s: float
    flows: list[FlowOut]
    shelters: list[ShelterFillOut]
    unassigned: list[UnassignedOut]


class IsochroneOut(BaseModel):
    type: Literal["Feature"] = "Feature"
    properties: dict[str, Any]
    geometry: dict[str, Any]


class TargetOut(BaseModel):
    value: Any
    source: str = Field(
        description="default | plan (the city's own plan) | file (safecity.toml [resources]) "
        "| env (SAFECITY_RESOURCES_*) | query (this request)"
    )
    where: str = Field("", description="the variable, file entry, city or query parameter")


class CoverageTargetOut(TargetOut):
    name: str = Field(description="fire_rescue_minutes | aviation_km | forest_fire_km")


class CoverageOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    target: CoverageTargetOut | None = None
    limit_s: float
    population: float
    covered_population: float
    covered_share: float
    by_division: dict[str, dict[str, Any]]
    uncovered: list[dict[str, Any]]


class ItemOut(BaseModel):
    id: int
    code: str
    name: str
    name_en: str
    unit: str


class MinimumOut(BaseModel):
    warehouse_id: int
    item_id: int
    minimum: int


class RoadNetworkOut(BaseModel):
    active: bool
    id: int | None = None
    name: str | None = None
    source: str | None = None
    nodes: int | None = None
    edges: int | None = None
    bbox: list[float] | None = Field(None, description="[west, south, east, north] in degrees")
    report: dict[str, Any] | None = None
    imported_at: str | None = None
    imported_by: str | None = None


class TownShortOut(BaseModel):
    code: str
    name: str
    area_m2: float
    short_m2: float


class RelocationSupplyOut(BaseModel):
    code: str
    name: str
    unit: str
    people_per_unit: float
    quantity: int
    people_served: int
    short_people: int
    short_quantity: int


class GapRow(BaseModel):
    division_code: str
    name: str
    population: int
    shelter_area_m2: float
    shelter_area_per_resident_m2: float | None
    shelter_area_target_m2: float
    shelter_area_short_m2: float
    shelter_capacity: int
    district_warehouse_m2: float
    district_warehouse_short_m2: float
    towns: int = Field(description="towns (乡镇) registered in the division")
    town_warehouses: int
    town_warehouse_m2: float
    town_warehouse_short_m2: float = Field(description="Σ (200 m² − a town's town-tier floor)")
    towns_short: list[TownShortOut]
    town_basis: str = Field(description="per_town, or per_store when no towns are registered")
    fire_staff: int
    fire_staff_target: int
    fire_staff_short: int


class GapsOut(BaseModel):
    area_per_resident_m2: float
    tier_minimum_m2: dict[str, float]
    targets: dict[str, TargetOut] = Field(
        description="what each figure was judged against and where that target came from"
    )
    divisions: list[GapRow]
    city_warehouse_m2: float
    city_warehouse_short_m2: float
    town_warehouse_short_m2: float
    towns_short: int
    shelter_capacity_total: int
    relocation_people_target: int
    relocation_supplies: list[RelocationSupplyOut]
