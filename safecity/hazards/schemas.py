"""Input of the hazards API and pages, validated with bilingual field messages."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_validator

from safecity.core.errors import Invalid
from safecity.core.validation import SafeInput, translate
from safecity.hazards.workflow import CATEGORIES, GRADES, SOURCES

LABELS = {
    "title": ("隐患名称", "title"),
    "description": ("隐患描述", "description"),
    "category": ("隐患类别", "category"),
    "source": ("发现方式", "source"),
    "enterprise_id": ("企业", "enterprise"),
    "grid_cell_id": ("网格", "grid cell"),
    "division_code": ("行政区划代码", "division code"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "address": ("地址", "address"),
    "reporter_name": ("上报人", "reporter"),
    "reporter_phone": ("联系电话", "phone"),
    "suggested_grade": ("建议等级", "suggested grade"),
    "risk_point_id": ("风险点", "risk point"),
}


class ReportIn(SafeInput):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    category: str | None = None
    source: str | None = None
    enterprise_id: int | None = None
    grid_cell_id: int | None = None
    risk_point_id: int | None = None
    division_code: str | None = Field(default=None, max_length=12)
    lon: float | None = Field(default=None, ge=73, le=136)
    lat: float | None = Field(default=None, ge=3, le=54)
    address: str = Field(default="", max_length=300)
    reporter_name: str = Field(default="", max_length=64)
    reporter_phone: str = Field(default="", max_length=32)
    suggested_grade: str | None = None

    @field_validator("category")
    @classmethod
    def _category(cls, v: str | None) -> str | None:
        if v and v not in CATEGORIES:
            raise ValueError("取值无效|unknown value")
        return v or None

    @field_validator("source")
    @classmethod
    def _source(cls, v: str | None) -> str | None:
        if v and v not in SOURCES:
            raise ValueError("取值无效|unknown value")
        return v or None

    @field_validator("suggested_grade")
    @classmethod
    def _grade(cls, v: str | None) -> str | None:
        if v and v not in GRADES:
            raise ValueError("取值应为 general 或 major|must be general or major")
        return v or None


def blank_to_none(data: dict[str, Any]) -> dict[str, Any]:
    """Empty form fields mean "not given" for optional numbers and codes; text stays text."""
    fields = ReportIn.model_fields
    return {
        k: (None if v == "" and k in fields and fields[k].default is None else v)
        for k, v in data.items()
    }


def validate_report(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return ReportIn.model_validate(blank_to_none(data)).model_dump()
    except ValidationError as exc:
        raise Invalid(translate(exc.errors(), LABELS)) from None
