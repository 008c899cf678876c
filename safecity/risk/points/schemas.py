"""Risk point input: GB/T 13861 hazard factors, GB 6441 accident types, control measures and
assessments, validated with bilingual messages; LABELS names every field of risk grading input.
The documented bodies of the points API (requests the services validate, and the answers) are
at the end."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from safecity.core.schemas import IsoTime, Out
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


def choice(value: Any, options: dict[str, tuple[str, str]], what_zh: str, what_en: str) -> str:
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
        return choice(value, FACTOR_CATEGORIES, "类别", "category")


class ControlMeasure(SafeInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: str
    description: str = Field(min_length=1, max_length=500)
    level: str = "post"
    person: str = Field("", max_length=64)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> str:
        return choice(value, MEASURE_TYPES, "措施类型", "measure type")

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> str:
        return choice(value, CONTROL_LEVELS, "管控层级", "control level")


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
        return choice(value, OWNER_KINDS, "所属类型", "owner kind")

    @field_validator("accident_types", mode="before")
    @classmethod
    def _accidents(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        keys = [choice(v, ACCIDENT_TYPES, "事故类型", "accident type") for v in value]
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


# A factor as sent: a number or a numeric string ("0.5"); lec/matrix check it against their
# tables, so the model documents the type without converting it.
Factor = Annotated[Any, WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}]})]


class AssessmentIn(BaseModel):
    """LEC (L, E, C from the standard tables) or the 5 × 5 matrix (L likelihood, S severity)."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["lec", "matrix"]
    L: Factor = Field(None, description="LEC：事故可能性 / matrix：可能性 1–5 (likelihood)")
    E: Factor = Field(None, description="LEC：暴露频繁程度 / exposure (LEC only)")
    C: Factor = Field(None, description="LEC：后果 / consequence (LEC only)")
    S: Factor = Field(None, description="矩阵：严重性 1–5 / severity (matrix only)")
    note: str = Field("", max_length=2000)


# --------------------------------------------------------------------------- documented bodies
# Requests below are documented with ``openapi_extra=json_body(...)``: the service checks the
# caller's scope and role before it validates (404/403 before 422), with the models above.


class DecisionIn(BaseModel):
    """An optional note kept with the assessment (appended to its earlier note)."""

    note: str | None = Field(None, description="审核意见 / reviewer's note")


class LecBandsIn(BaseModel):
    """``PUT /settings/lec_bands``: three increasing D thresholds of the four bands."""

    thresholds: list[float] = Field(min_length=3, max_length=3, description="[t1, t2, t3]")
    closed: Literal["right", "left"] = Field(
        "right", description="right: t < D ≤ t' (the classic bands); left: t ≤ D < t'"
    )
    name: str | None = None
    source: str | None = None


class MatrixThresholdsIn(BaseModel):
    """The smallest R = L × S of each level (a missing one keeps the default 20 / 15 / 9)."""

    red_min: int = Field(20, ge=1, le=25)
    orange_min: int = Field(15, ge=1, le=25)
    yellow_min: int = Field(9, ge=1, le=25)


class RiskMatrixIn(BaseModel):
    """``PUT /settings/risk_matrix``: minimum R = L × S of each level, or a monotone 5 × 5
    table of level keys (row = likelihood 1–5, column = severity 1–5)."""

    thresholds: MatrixThresholdsIn | None = None
    levels: list[list[str]] | None = Field(
        None,
        min_length=5,
        max_length=5,
        description="5 rows of 5 level keys (red, orange, yellow, blue) or their Chinese names",
    )
    name: str | None = None
    source: str | None = None


class GradingSettingIn(RootModel[LecBandsIn | RiskMatrixIn]):
    """A city's grading setting: ``LecBandsIn`` for ``lec_bands``, ``RiskMatrixIn`` for
    ``risk_matrix``."""


Number = int | float  # as computed: an integer stays an integer


class HazardFactorOut(Out):
    category: str = Field(description="GB/T 13861 top category: people, material, …")
    description: str


class ControlMeasureOut(Out):
    type: str
    description: str
    level: str | None = None
    person: str | None = None


class RiskPointOut(Out):
    """A risk point; its level is its latest approved assessment's (null until one is)."""

    id: int
    code: str | None
    name: str
    owner_kind: str
    enterprise_id: int | None
    grid_cell_id: int | None
    protected_target_id: int | None
    facility_name: str | None
    division_code: str
    industry_code: str | None
    lon: float | None
    lat: float | None
    description: str | None
    hazard_factors: list[HazardFactorOut]
    accident_types: list[str] = Field(description="GB 6441 accident type keys")
    control_measures: list[ControlMeasureOut]
    review_date: str | None = Field(description="ISO date")
    level: str | None = Field(description="red / orange / yellow / blue")
    level_assessment_id: int | None
    archived: bool
    created_at: IsoTime | None
    updated_at: IsoTime | None


class AssessmentOut(Out):
    """An LEC or matrix assessment: draft until approved or rejected; ``result`` explains the
    calculation term by term (as ``lec`` / ``matrix`` give it)."""

    id: int
    risk_point_id: int
    method: str = Field(description="lec or matrix")
    inputs: dict[str, Number]
    result: dict[str, Any]
    score: float = Field(description="D for LEC, R for the matrix")
    level: str
    status: str = Field(description="draft, approved or rejected")
    assessed_by: str
    assessed_at: IsoTime | None
    approved_by: str | None
    approved_at: IsoTime | None
    note: str | None


class RiskPointDetailOut(RiskPointOut):
    assessments: list[AssessmentOut] = Field(description="newest first")


class EnterpriseLevelOut(Out):
    """An enterprise's inherent risk level and what it comes from."""

    enterprise_id: int
    name: str
    level: str | None = Field(description="the most severe level found; null when not graded")
    risk_points_by_level: dict[str, int]
    major_hazards_by_grade: dict[str, int] = Field(description="grade 1–4 → units")
    rule: str
    rule_en: str


class RiskPointPage(Out):
    total: int
    page: int
    size: int
    items: list[RiskPointOut]
    enterprise_level: EnterpriseLevelOut | None = Field(
        None, description="only when the list is filtered by enterprise_id"
    )


class LevelOut(Out):
    key: str
    zh: str
    en: str
    order: int


class BandOut(LevelOut):
    rule: str = Field(description="e.g. 160<D≤320")


class LecBandsOut(Out):
    name: str
    thresholds: list[float]
    closed: str
    source: str
    bands: list[BandOut]


class LecSettingOut(LecBandsOut):
    is_default: bool
    default: LecBandsOut
    updated_by: str | None


class RiskMatrixOut(Out):
    name: str
    source: str
    levels: list[list[str]] = Field(description="5 × 5 level keys, row = likelihood 1–5")


class MatrixSettingOut(RiskMatrixOut):
    is_default: bool
    default: RiskMatrixOut
    updated_by: str | None


class GradingSettingsOut(Out):
    """The caller's city's LEC bands and risk matrix, each with whether it is the default."""

    city: str = Field(description="the city's division code (settings are kept per city)")
    lec_bands: LecSettingOut
    risk_matrix: MatrixSettingOut
