"""Pydantic models for registry input, with bilingual field labels used in error messages, and
the map layer answer."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator
from shapely.geometry import shape

from safecity.core.schemas import FeatureCollection
from safecity.core.scope import is_valid_division_code
from safecity.core.validation import SafeInput
from safecity.registry.rules import (
    INDUSTRY_SECTIONS,
    SCALES,
    SUPERVISION_CATEGORIES,
    TARGET_TYPES,
    industry_section,
    uscc_problem,
)

LABELS: dict[str, tuple[str, str]] = {
    "code": ("代码", "code"),
    "name": ("名称", "name"),
    "name_en": ("英文名称", "English name"),
    "parent_code": ("上级区划代码", "parent code"),
    "population": ("人口", "population"),
    "area_km2": ("面积(km²)", "area (km²)"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "geometry": ("几何图形", "geometry"),
    "division_code": ("行政区划代码", "division code"),
    "grid_member": ("网格员", "grid member"),
    "grid_member_phone": ("网格员电话", "grid member phone"),
    "uscc": ("统一社会信用代码", "unified social credit code"),
    "industry_code": ("行业代码", "industry code"),
    "scale": ("企业规模", "scale"),
    "supervision_category": ("监管类别", "supervision category"),
    "is_hazchem": ("危化品企业", "hazardous-chemical enterprise"),
    "address": ("地址", "address"),
    "responsible_department": ("负责部门", "responsible department"),
    "safety_officer": ("安全负责人", "safety officer"),
    "safety_officer_phone": ("安全负责人电话", "safety officer phone"),
    "employees": ("从业人数", "employees"),
    "target_type": ("目标类型", "target type"),
    "capacity": ("容纳人数", "capacity"),
    "occupancy": ("常驻人数", "occupancy"),
    "contact": ("联系人", "contact"),
    "contact_phone": ("联系电话", "contact phone"),
    "note": ("备注", "note"),
}

_GEOMETRY_TYPES = {"Polygon", "MultiPolygon", "Point"}


def _check_division_code(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    if value.endswith(".0"):  # spreadsheets turn codes into floats
        value = value[:-2]
    if not is_valid_division_code(value):
        raise ValueError(
            "应为6位、9位或12位数字的行政区划代码(GB/T 2260)|must be a 6, 9 or 12 digit "
            "GB/T 2260 division code"
        )
    return value


def _check_geometry(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None

    if value.get("type") not in _GEOMETRY_TYPES:
        raise ValueError(
            "几何类型应为 Polygon、MultiPolygon 或 Point|geometry must be a Polygon, "
            "MultiPolygon or Point"
        )
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise ValueError(f"几何坐标无效|invalid coordinates ({exc})") from exc
    if not geom.is_valid or geom.is_empty:
        raise ValueError(
            "几何图形无效（自相交或为空）|geometry is invalid (self-intersecting or empty)"
        )
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise ValueError("坐标超出经纬度范围|coordinates out of longitude/latitude range")
    return value


class _Input(SafeInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Located(_Input):
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)

    @model_validator(mode="after")
    def _both_or_neither(self) -> _Located:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("经度和纬度须同时填写|longitude and latitude go together")
        return self


class DivisionIn(_Located):
    code: str
    name: str = Field(min_length=1, max_length=64)
    name_en: str = Field("", max_length=64)
    parent_code: str | None = None
    population: int = Field(0, ge=0)
    area_km2: float | None = Field(None, ge=0)
    geometry: dict[str, Any] | None = None

    _code = field_validator("code", "parent_code", mode="before")(_check_division_code)
    _geom = field_validator("geometry")(_check_geometry)


class GridCellIn(_Located):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    division_code: str
    population: int = Field(0, ge=0)
    grid_member: str | None = Field(None, max_length=64)
    grid_member_phone: str | None = Field(None, max_length=32)
    geometry: dict[str, Any] | None = None

    _code = field_validator("division_code", mode="before")(_check_division_code)
    _geom = field_validator("geometry")(_check_geometry)


class EnterpriseIn(_Located):
    name: str = Field(min_length=2, max_length=200)
    uscc: str
    industry_code: str = Field(min_length=1, max_length=8)
    scale: str = "small"
    supervision_category: str = "other"
    is_hazchem: bool = False
    address: str = Field("", max_length=300)
    division_code: str
    responsible_department: str = Field("", max_length=100)
    safety_officer: str = Field("", max_length=64)
    safety_officer_phone: str = Field("", max_length=32)
    employees: int | None = Field(None, ge=0)

    _code = field_validator("division_code", mode="before")(_check_division_code)

    @field_validator("uscc", mode="before")
    @classmethod
    def _uscc(cls, value: Any) -> str:
        code = str(value or "").strip().upper()
        problem = uscc_problem(code)
        if problem:
            raise ValueError(f"{problem[0]}|{problem[1]}")
        return code

    @field_validator("industry_code", mode="before")
    @classmethod
    def _industry(cls, value: Any) -> str:
        code = str(value or "").strip().upper()
        if code.endswith(".0"):
            code = code[:-2]
        if code.isdigit() and len(code) == 1:
            code = "0" + code
        if industry_section(code) is None:
            raise ValueError("不是有效的国民经济行业代码(GB/T 4754)|not a GB/T 4754 industry code")
        return code

    @field_validator("scale")
    @classmethod
    def _scale(cls, value: str) -> str:
        return _one_of(value, SCALES)

    @field_validator("supervision_category")
    @classmethod
    def _category(cls, value: str) -> str:
        return _one_of(value, SUPERVISION_CATEGORIES)


class ProtectedTargetIn(_Located):
    name: str = Field(min_length=2, max_length=200)
    target_type: str
    capacity: int = Field(0, ge=0)
    occupancy: int | None = Field(None, ge=0)
    address: str = Field("", max_length=300)
    division_code: str
    contact: str = Field("", max_length=64)
    contact_phone: str = Field("", max_length=32)
    note: str = Field("", max_length=2000)

    _code = field_validator("division_code", mode="before")(_check_division_code)

    @field_validator("target_type")
    @classmethod
    def _type(cls, value: str) -> str:
        return _one_of(value, TARGET_TYPES)


def _one_of(value: str, options: dict[str, tuple[str, str]]) -> str:
    """Accept the key or its Chinese/English label (spreadsheets use labels)."""
    for key, (zh, en) in options.items():
        if value in (key, zh, en):
            return key
    keys = "、".join(f"{k}({zh})" for k, (zh, _en) in options.items())
    raise ValueError(f"取值应为：{keys}|must be one of: {', '.join(options)}")


SECTION_LETTERS = tuple(INDUSTRY_SECTIONS)


class MapLayerOut(FeatureCollection):
    """A registry layer of the one map: one feature per object (outline, or point where it has
    no outline) with the few properties the map shows."""

    layer: str = Field(description="divisions, grid-cells, enterprises or protected-targets")
