"""What surrounds an incident on the command map (指挥一张图), gathered from the capabilities that
own each layer through their public functions, always within the viewer's scope: protected
targets, major hazards, enterprises and grid-cell population (monitoring.context.nearby),
sensors with their latest value and open alarms (monitoring.context.monitoring_near), and CAP
warnings in force whose area covers the incident (warnings.service.covering). A capability
that is not installed simply contributes no layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from safecity.core.scope import Principal

RADII = (500, 1000, 3000)
POINT_KINDS = ("protected_target", "major_hazard", "enterprise", "grid_cell", "sensor", "alarm")


@dataclass
class Surroundings:
    items: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def people(self) -> int:
        """Residents of the grid cells plus the people in protected targets."""
        return sum(
            int(i["detail"].get("people") or 0)
            for i in self.items
            if i["kind"] in ("grid_cell", "protected_target")
        )

    def of(self, *kinds: str) -> list[dict[str, Any]]:
        return [i for i in self.items if i["kind"] in kinds]

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "counts": self.counts, "people": self.people}


def around(
    session: Session,
    who: Principal,
    lon: float | None,
    lat: float | None,
    radius_m: float,
    now: datetime,
) -> Surroundings:
    """Every layer around (lon, lat) within radius_m; empty when the incident has no place."""
    out = Surroundings()
    if lon is None or lat is None:
        return out
    try:
        from safecity.monitoring.context import (  # noqa: PLC0415 optional capability (ImportError when it is not installed)
            monitoring_near,
            nearby,
        )
    except ImportError:
        pass
    else:
        out.items += nearby(session, who, SimpleNamespace(lon=lon, lat=lat), radius_m)  # type: ignore[arg-type]
        live, counts = monitoring_near(session, who, lon, lat, radius_m, now)
        out.items += live
        out.counts |= counts
    try:
        from safecity.warnings.service import covering  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:
        pass
    else:
        warnings = covering(session, who, lon, lat, now)
        out.items += warnings
        out.counts["warning"] = len(warnings)
    for kind in POINT_KINDS:
        out.counts.setdefault(kind, sum(1 for i in out.items if i["kind"] == kind))
    # What needs the commander first: warnings over the scene, then open alarms, then the rest.
    first = {"warning": 0, "alarm": 1}
    out.items.sort(key=lambda i: first.get(i["kind"], 2))
    return out
