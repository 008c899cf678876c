"""Bodies of the four lists API (四张清单): the index with totals and one list with its rows."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from safecity.core.schemas import Out


class ListIndexEntry(Out):
    name: str = Field(
        description="major-risks, major-hidden-dangers, major-hazards or vulnerable-targets"
    )
    title: str
    title_en: str
    total: int
    note: str | None


class ListIndexOut(Out):
    lists: list[ListIndexEntry]


class ListColumn(Out):
    key: str = Field(description="the row field this column shows")
    label: str
    label_en: str


class LevelCount(Out):
    key: str
    label_zh: str
    label_en: str
    count: int


class DistrictCount(Out):
    code: str
    name: str
    count: int
    by_level: dict[str, int]


class ListSummary(Out):
    total: int
    by_level: list[LevelCount]
    by_district: list[DistrictCount]


class FourListOut(Out):
    """One list filtered, its summary over every matching row and one page of rows (keyed by
    the columns' keys, plus ids and coordinates)."""

    name: str
    title: str
    title_en: str
    columns: list[ListColumn]
    rows: list[dict[str, Any]]
    summary: ListSummary
    note: str | None
    note_en: str | None
    total: int
    page: int
    size: int
