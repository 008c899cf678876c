"""Major hazard bodies: unit input (substances, boundary, exposure override) validated with
bilingual messages, the documented identification request, and the answers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from shapely.geometry import shape

from safecity.core.schemas import IsoTime, Out
from safecity.core.validation import SafeInput

UNIT_KINDS: dict[str, tuple[str, str]] = {
    "storage": ("储存单元", "Storage unit"),
    "production": ("生产单元", "Production unit"),
}


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


# --------------------------------------------------------------------------- documented bodies

# A number as the calculation wrote it: an integer stays an integer, a float a float.
Number = int | float


class SubstanceRow(BaseModel):
    """One hazardous chemical of a unit (GB 18218 Table 1 by name or CAS, else Table 2 by
    hazard category)."""

    name: str | None = Field(None, description="物质名称（表1名称或别名）/ substance name")
    cas: str | None = Field(None, description="CAS 号 / CAS number")
    quantity_t: float = Field(description="设计最大量（吨）/ design maximum quantity, tonnes")
    category: str | list[str] | None = Field(
        None, description="表2/表4 危险性类别，如 W2、J1 / hazard category (or several)"
    )
    mixture: Literal["same_category", "new_category"] | None = Field(
        None, description="混合物的处理（4.2.3）/ how a mixture is counted"
    )


# The rows are stored as entered (name or CAS, quantity, optional category and mixture).
SubstanceRows = Annotated[
    list[dict[str, Any]],
    WithJsonSchema(
        {"type": "array", "items": SubstanceRow.model_json_schema(), "minItems": 1},
        mode="validation",
    ),
    WithJsonSchema(
        {"type": "array", "items": SubstanceRow.model_json_schema()}, mode="serialization"
    ),
]


class IdentifyUnitIn(BaseModel):
    name: str = Field(description="单元名称 / unit name")
    kind: Literal["storage", "production"] = Field(description="储存单元 / 生产单元")
    substances: list[SubstanceRow] = Field(min_length=1)


class IdentifyIn(BaseModel):
    """Units to identify and grade: give the exposed population within 500 m of the boundary,
    or α (a Table 5 value, which then overrides the population's band) with its reason."""

    units: list[IdentifyUnitIn] = Field(min_length=1)
    exposed_population: int | None = Field(None, ge=0)
    alpha: float | None = Field(None, description="表5 校正系数 α / Table 5 correction factor")
    alpha_reason: str | None = None


class AlphaBandOut(Out):
    """A Table 5 row: the exposed population band and its α."""

    min: int
    max: int | None
    alpha: float
    label_zh: str
    label_en: str
    source: str


class TermOut(Out):
    """One substance's term qᵢ/Qᵢ (and βᵢ·qᵢ/Qᵢ), with where Q and β came from."""

    index: int
    name: str
    input_name: str | None
    input_cas: str | None
    cas: list[str]
    table1_no: int | None
    source_table: str = Field(description="表1 or 表2")
    category: str | None
    categories: list[str]
    mixture: str | None
    q: float
    Q: float
    q_over_Q: float
    beta: float | None
    beta_q_over_Q: float | None
    Q_source: str
    beta_category: str | None
    beta_source: str | None
    note: str | None


class ExceedingOut(Out):
    """A substance whose quantity alone reaches its critical quantity."""

    name: str
    table1_no: int | None
    category: str | None
    q_total: float
    Q: float
    term_indices: list[int]


class NoteOut(Out):
    substance_index: int
    message_zh: str
    message_en: str


class UnitResultOut(Out):
    """One unit identified (S, major or not) and, when major, graded (R, level 一级…四级)."""

    name: str
    kind: str
    kind_zh: str
    S: float
    is_major: bool
    exceeding: list[ExceedingOut]
    R: float | None
    level: int | None
    level_zh: str | None
    alpha: float | None
    alpha_band: AlphaBandOut | None
    terms: list[TermOut]
    warnings: list[NoteOut]


class IdentifyOut(Out):
    standard: str
    exposed_population: int | None
    alpha: float | None
    alpha_band: AlphaBandOut | None
    alpha_overridden: bool
    alpha_reason: str | None
    units: list[UnitResultOut]


class ExposedCellOut(Out):
    id: int
    name: str
    population: int | None
    share: Number = Field(description="share of the cell's area inside the 500 m zone")
    people: Number


class ExposedTargetOut(Out):
    id: int
    name: str
    people: int
    target_type: str
    distance_m: Number


class ExposureOut(Out):
    """People within 500 m outside the unit's boundary (grid population and protected targets)."""

    total: int
    residents: int
    target_people: int
    radius_m: Number
    rule: str
    rule_en: str
    cells: list[ExposedCellOut]
    targets: list[ExposedTargetOut]


class MajorHazardOut(Out):
    """A unit with its identification (S) and grading (R, level) per GB 18218-2018."""

    id: int
    enterprise_id: int
    name: str
    unit_kind: str
    substances: SubstanceRows
    division_code: str
    lon: float | None
    lat: float | None
    boundary: dict[str, Any] | None = Field(description="GeoJSON Polygon (WGS-84)")
    S: float | None
    is_major: bool | None
    R: float | None
    level: int | None = Field(description="1–4 (一级…四级) when major")
    alpha: float | None
    exposed_population: int | None
    exposed_population_computed: int | None
    exposed_override_reason: str | None
    exposure: ExposureOut | None
    result: dict[str, Any] | None = Field(
        description="the unit's identification as POST /hazmat/identify answers it, with "
        "alpha_band, exposed_population and standard"
    )
    assessed_at: IsoTime | None
    archived: bool
