"""Risk grading input: risk points (GB/T 13861 factors, GB 6441 accident types), assessments,
major hazard units — validated with bilingual messages."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from shapely.geometry import shape

from safecity.core.scope import is_valid_division_code
from safecity.core.validation import SafeInput

OWNER_KINDS: dict[str, tuple[str, str]] = {
    "enterprise": ("企业", "Enterprise"),
    "facility": ("设施", "Facility"),
    "public_place": ("公共场所", "Public place"),
    "area": ("区域（网格）", "Area (grid cell)"),
}

# GB/T 13861-2022 《生产过程危险和有害因素分类与代码》: the four top-level categories.
FACTOR_CATEGORIES: dict[str, tuple[str, str]] = {
    "people": ("人的因素", "Human factors"),
    "material": ("物的因素", "Material/equipment factors"),
    "environment": ("环境因素", "Environmental factors"),
    "management": ("管理因素", "Management factors"),
}

# GB 6441-1986 《企业职工伤亡事故分类》 clause 2 (事故类别): the 20 types in the standard's order.
ACCIDENT_TYPES: dict[str, tuple[str, str]] = {
    "struck_by_object": ("物体打击", "Struck by object"),
    "vehicle": ("车辆伤害", "Vehicle injury"),
    "machinery": ("机械伤害", "Machinery injury"),
    "lifting": ("起重伤害", "Lifting injury"),
    "electrocution": ("触电", "Electrocution"),
    "drowning": ("淹溺", "Drowning"),
    "burn": ("灼烫", "Burn and scald"),
    "fire": ("火灾", "Fire"),
    "fall_from_height": ("高处坠落", "Fall from height"),
    "collapse": ("坍塌", "Collapse"),
    "roof_fall": ("冒顶片帮", "Roof and side fall"),
    "water_inrush": ("透水", "Water inrush"),
    "blasting": ("放炮", "Blasting"),
    "explosive_explosion": ("火药爆炸", "Explosive explosion"),
    "gas_explosion": ("瓦斯爆炸", "Firedamp explosion"),
    "boiler_explosion": ("锅炉爆炸", "Boiler explosion"),
    "vessel_explosion": ("容器爆炸", "Pressure vessel explosion"),
    "other_explosion": ("其它爆炸", "Other explosion"),
    "poisoning": ("中毒和窒息", "Poisoning and asphyxiation"),
    "other_injury": ("其它伤害", "Other injury"),
}

MEASURE_TYPES: dict[str, tuple[str, str]] = {
    "engineering": ("工程技术", "Engineering"),
    "management": ("管理措施", "Management"),
    "training": ("培训教育", "Training"),
    "ppe": ("个体防护", "Personal protection"),
    "emergency": ("应急处置", "Emergency"),
}

CONTROL_LEVELS: dict[str, tuple[str, str]] = {
    "company": ("公司级", "Company"),
    "workshop": ("车间级", "Workshop"),
    "team": ("班组级", "Team"),
    "post": ("岗位级", "Post"),
}

UNIT_KINDS: dict[str, tuple[str, str]] = {
    "storage": ("储存单元", "Storage unit"),
    "production": ("生产单元", "Production unit"),
}

LABELS: dict[str, tuple[str, str]] = {
    "code": ("风险点编号", "register number"),
    "name": ("名称", "name"),
    "owner_kind": ("所属类型", "owner kind"),
    "enterprise_id": ("企业", "enterprise"),
    "grid_cell_id": ("网格", "grid cell"),
    "protected_target_id": ("公共场所", "public place"),
    "facility_name": ("设施名称", "facility"),
    "division_code": ("行政区划代码", "division code"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "description": ("描述", "description"),
    "hazard_factors": ("危险有害因素", "hazard factors"),
    "accident_types": ("事故类型", "accident types"),
    "control_measures": ("管控措施", "control measures"),
    "review_date": ("复评日期", "review date"),
    "category": ("类别", "category"),
    "type": ("措施类型", "measure type"),
    "level": ("管控层级", "control level"),
    "person": ("责任人", "responsible person"),
    "unit_kind": ("单元类型", "unit kind"),
    "substances": ("危险化学品", "substances"),
    "boundary": ("单元边界", "boundary"),
    "quantity_t": ("数量（吨）", "quantity (t)"),
    "cas": ("CAS号", "CAS number"),
    "method": ("评价方法", "method"),
    "L": ("L", "L"),
    "E": ("E", "E"),
    "C": ("C", "C"),
    "S": ("S", "S"),
    "note": ("备注", "note"),
    "exposed_population": ("暴露人数", "exposed population"),
    "reason": ("修正理由", "reason"),
}


def _choice(value: Any, options: dict[str, tuple[str, str]], what_zh: str, what_en: str) -> str:
    """Accept the key or its Chinese/English label; anything else is reported with the choices."""
    text = str(value).strip() if value is not None else ""
    text = text.replace("其他", "其它")  # both spellings of GB 6441's 其它爆炸/其它伤害 are in use
    for key, (zh, en) in options.items():
        if text in (key, zh, zh.split("（")[0]) or text.lower() == en.lower():
            return key
    listed = "、".join(zh for zh, _en in options.values())
    raise ValueError(f"{what_zh}“{text}”无效，可选：{listed}|unknown {what_en} {text!r}")


class HazardFactor(SafeInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str
    description: str = Field(min_length=1, max_length=500)

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: Any) -> str:
        return _choice(value, FACTOR_CATEGORIES, "类别", "category")


class ControlMeasure(SafeInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: str
    description: str = Field(min_length=1, max_length=500)
    level: str = "post"
    person: str = Field("", max_length=64)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> str:
        return _choice(value, MEASURE_TYPES, "措施类型", "measure type")

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> str:
        return _choice(value, CONTROL_LEVELS, "管控层级", "control level")


class RiskPointIn(SafeInput):
    """A risk point as created or edited; division and industry come from its owner."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str | None = Field(None, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    owner_kind: str = "enterprise"
    enterprise_id: int | None = None
    grid_cell_id: int | None = None
    protected_target_id: int | None = None
    facility_name: str = Field("", max_length=200)
    division_code: str | None = None
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    description: str = Field("", max_length=4000)
    hazard_factors: list[HazardFactor] = Field(default_factory=list, max_length=50)
    accident_types: list[str] = Field(default_factory=list, max_length=20)
    control_measures: list[ControlMeasure] = Field(default_factory=list, max_length=50)
    review_date: date | None = None

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("owner_kind", mode="before")
    @classmethod
    def _owner(cls, value: Any) -> str:
        return _choice(value, OWNER_KINDS, "所属类型", "owner kind")

    @field_validator("accident_types", mode="before")
    @classmethod
    def _accidents(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        keys = [_choice(v, ACCIDENT_TYPES, "事故类型", "accident type") for v in value]
        return list(dict.fromkeys(keys))

    @field_validator("division_code")
    @classmethod
    def _division(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_division_code(value):
            raise ValueError("应为 GB/T 2260 行政区划代码|must be a GB/T 2260 division code")
        return value

    @model_validator(mode="after")
    def _owner_reference(self) -> RiskPointIn:
        need = {
            "enterprise": (
                "enterprise_id",
                "所属类型为企业时须选择企业",
                "an enterprise's risk point needs the enterprise",
            ),
            "area": (
                "grid_cell_id",
                "所属类型为区域时须选择网格",
                "an area risk point needs its grid cell",
            ),
            "public_place": (
                "protected_target_id",
                "所属类型为公共场所时须选择场所",
                "a public place risk point needs the place",
            ),
        }
        if self.owner_kind in need:
            field, zh, en = need[self.owner_kind]
            if getattr(self, field) is None:
                raise ValueError(f"{zh}|{en}")
        if self.owner_kind == "facility" and not self.facility_name:
            raise ValueError("所属类型为设施时须填写设施名称|a facility risk point needs its name")
        if (self.lon is None) != (self.lat is None):
            raise ValueError("经度和纬度须同时填写|longitude and latitude go together")
        return self


class AssessmentIn(BaseModel):
    """LEC (L, E, C from the standard tables) or the 5 × 5 matrix (L likelihood, S severity)."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["lec", "matrix"]
    L: Any = None
    E: Any = None
    C: Any = None
    S: Any = None
    note: str = Field("", max_length=2000)


class SubstanceIn(SafeInput):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    cas: str | None = None
    quantity_t: Any = None


class MajorHazardIn(SafeInput):
    """A storage or production unit of an enterprise with its hazardous chemicals."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    enterprise_id: int
    name: str = Field(min_length=1, max_length=200)
    unit_kind: Literal["storage", "production"]
    substances: list[dict[str, Any]] = Field(min_length=1, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    boundary: dict[str, Any] | None = None

    @field_validator("boundary")
    @classmethod
    def _boundary(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None

        try:
            geom = shape(value)
        except Exception:  # noqa: BLE001  # shapely raises several types on junk input
            raise ValueError("不是有效的 GeoJSON 面|not a valid GeoJSON polygon") from None
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            raise ValueError("应为 GeoJSON Polygon|must be a GeoJSON Polygon")
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise ValueError("坐标应为 WGS-84 经纬度|coordinates must be WGS-84 lon/lat")
        return value

    @model_validator(mode="after")
    def _location(self) -> MajorHazardIn:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("经度和纬度须同时填写|longitude and latitude go together")
        return self


class ExposureOverrideIn(SafeInput):
    """An analyst's exposed population replacing the computed one; the reason is required."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    exposed_population: int | None = Field(None, ge=0, le=10_000_000)
    reason: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _reason(self) -> ExposureOverrideIn:
        if self.exposed_population is not None and len(self.reason) < 2:
            raise ValueError(
                "修正暴露人数须填写理由|a reason is required to override the exposed population"
            )
        return self
