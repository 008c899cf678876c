"""Second reports of the same event (重复接报): candidates to merge, never merged silently.

Pure domain logic: no I/O, no database, no clock.

Two reports are candidates for the same event when their types are compatible (the same
GB/T 35561 type, or one a refinement of the other: 气象灾害 and 台风), their places lie within
``max_distance_m`` (great-circle distance, haversine on the mean Earth radius) and their times
within ``max_minutes``.  Both limits are inclusive ("以内").  The score, 1.0 for the same place
and minute down to 0.5 at both limits, only orders the candidates; the duty officer decides.
Defaults (500 m, 30 min) are SafeCity's choice — a city sets its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from safecity.response import classes
from safecity.response.errors import FieldError, ResponseInputError, require_aware

__all__ = [
    "DEFAULT_MAX_DISTANCE_M",
    "DEFAULT_MAX_MINUTES",
    "Candidate",
    "Report",
    "find_candidates",
    "haversine_m",
    "match",
]

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
DEFAULT_MAX_DISTANCE_M = 500.0
DEFAULT_MAX_MINUTES = 30.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS 84 points (degrees)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Report:
    id: str
    type_key: str
    lat: float
    lon: float
    at: datetime

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if classes.get(self.type_key) is None:
            errors.append(
                FieldError(
                    "type",
                    f"未知的突发事件类型 {self.type_key!r}",
                    f"unknown incident type {self.type_key!r}",
                )
            )
        for name, v, lim in (("lat", self.lat, 90.0), ("lon", self.lon, 180.0)):
            ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            if not ok or abs(v) > lim:
                errors.append(
                    FieldError(
                        name,
                        f"{name} 必须是 -{lim:g}…{lim:g} 之间的数",
                        f"{name} must be a number in -{lim:g}…{lim:g}",
                    )
                )
        try:
            require_aware("at", self.at)
        except ResponseInputError as exc:
            errors.extend(exc.errors)
        if errors:
            raise ResponseInputError(errors)


@dataclass(frozen=True)
class Candidate:
    new_id: str
    existing_id: str
    distance_m: float
    minutes: float
    same_type: bool
    score: float

    def as_dict(self) -> dict[str, Any]:
        kind_zh = "同一类型" if self.same_type else "类型相容（一为另一的细分）"
        kind_en = "same type" if self.same_type else "compatible types (one refines the other)"
        return {
            "new_id": self.new_id,
            "existing_id": self.existing_id,
            "distance_m": round(self.distance_m, 1),
            "minutes": round(self.minutes, 2),
            "same_type": self.same_type,
            "score": round(self.score, 4),
            "explanation_zh": f"可能为同一事件：{kind_zh}，相距{self.distance_m:.0f}米，"
            f"间隔{self.minutes:.1f}分钟，建议合并（由值班员确认）",
            "explanation_en": f"possibly the same event: {kind_en}, {self.distance_m:.0f} m and "
            f"{self.minutes:.1f} min apart; offered for merging "
            "(the duty officer confirms)",
        }


def _limits(max_distance_m: float, max_minutes: float) -> None:
    bad = [
        FieldError(n, f"{n} 必须是正数", f"{n} must be a positive number")
        for n, v in (("max_distance_m", max_distance_m), ("max_minutes", max_minutes))
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0)
    ]
    if bad:
        raise ResponseInputError(bad)


def match(
    new: Report,
    existing: Report,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    max_minutes: float = DEFAULT_MAX_MINUTES,
) -> Candidate | None:
    """The candidate pair, or None when type, place or time rules it out."""
    _limits(max_distance_m, max_minutes)
    if new.id == existing.id or not classes.compatible(new.type_key, existing.type_key):
        return None
    minutes = abs((new.at - existing.at).total_seconds()) / 60
    if minutes > max_minutes:
        return None
    distance = haversine_m(new.lat, new.lon, existing.lat, existing.lon)
    if distance > max_distance_m:
        return None
    score = 1 - 0.25 * (distance / max_distance_m) - 0.25 * (minutes / max_minutes)
    return Candidate(
        new.id, existing.id, distance, minutes, new.type_key == existing.type_key, score
    )


def find_candidates(
    new: Report,
    existing: Iterable[Report],
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    max_minutes: float = DEFAULT_MAX_MINUTES,
) -> list[Candidate]:
    """Every existing report ``new`` may duplicate, best first."""
    found = (match(new, e, max_distance_m, max_minutes) for e in existing)
    return sorted((c for c in found if c is not None), key=lambda c: (-c.score, c.existing_id))
