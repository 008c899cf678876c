"""Which forces can reach an incident, and how soon: the one place dispatch asks.

The emergency-resources capability answers by road (nearest teams by travel time); when it is
not installed, or no road network has been imported, the list is empty with the reason, and the
commander types the force by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from safecity.core.errors import SafeCityError
from safecity.core.scope import Principal


@dataclass(frozen=True)
class Force:
    kind: str  # team | supply
    ref: str
    name: str
    eta_minutes: float | None
    distance_m: float | None
    by_road: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "name": self.name,
            "eta_minutes": self.eta_minutes,
            "distance_m": self.distance_m,
            "by_road": self.by_road,
            "detail": self.detail,
        }


def nearest_forces(
    session: Session, who: Principal, lon: float | None, lat: float | None, n: int = 8
) -> tuple[list[Force], tuple[str, str] | None]:
    """Teams nearest the point by road, best first, and why the list is empty (zh, en)."""
    if lon is None or lat is None:
        return [], ("事件没有位置，无法计算路程", "the incident has no location")
    try:
        from safecity.resources import service as resources  # noqa: PLC0415 optional capability (ImportError when it is not installed)

        answer = resources.nearest_teams(session, who, lon, lat, n=n)
    except (ImportError, AttributeError):
        return [], ("应急资源模块未安装", "the emergency-resources capability is not installed")
    except SafeCityError as exc:  # no road network yet, or the point is off the roads
        return [], (exc.zh, exc.en)
    out = []
    for r in answer.get("results", []):
        seconds = r.get("eta_s", r.get("travel_time_s"))
        detail = " · ".join(
            str(x) for x in (r.get("team_type"), r.get("members"), r.get("phone")) if x
        )
        out.append(
            Force(
                "team",
                str(r.get("id")),
                str(r.get("name")),
                round(seconds / 60, 1) if seconds is not None else None,
                r.get("distance_m"),
                True,
                detail,
            )
        )
    return out, None if out else ("范围内没有可调派的队伍", "no team within reach")
