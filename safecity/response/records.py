"""Accident records for the plan indicators: one per incident, with its latest (or final)
counts, read without a caller's scope (the indicators capability scopes its own figures)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.scope import division_prefix
from safecity.core.sql import code_within
from safecity.response import classes
from safecity.response import workflow as wf
from safecity.response.models import Incident

FOREST_FIRE = "natural_disaster.forest_grassland_fire"


@dataclass(frozen=True)
class AccidentRecord:
    incident_id: int
    title: str
    occurred_at: datetime
    division_code: str
    type_key: str
    class_key: str
    production_safety: bool
    road_traffic: bool
    fire: bool
    forest_fire: bool
    industry_code: str | None
    enterprise_id: int | None
    deaths: int
    missing: int
    serious_injuries: int
    trapped: int
    affected_population: int
    relocated: int
    direct_loss_yuan: Decimal
    grade: str | None
    status: str
    final: bool
    ended_at: datetime | None
    closed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, datetime):
                out[k] = v.isoformat()
            elif isinstance(v, Decimal):
                out[k] = str(v)
        return out


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def accident_records(
    session: Session,
    year: int,
    division_code: str | None = None,
    *,
    final_only: bool = False,
) -> list[AccidentRecord]:
    """Incidents that occurred in ``year`` (Beijing time) inside ``division_code`` (prefix);
    drills and merged duplicates are left out, so nothing is counted twice."""
    start = datetime(year, 1, 1, tzinfo=BEIJING).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=BEIJING).astimezone(UTC)
    where = [
        Incident.occurred_at >= start,
        Incident.occurred_at < end,
        Incident.is_drill.is_(False),
        Incident.status != wf.MERGED,
    ]
    if division_code:
        where.append(code_within(Incident.division_code, division_prefix(division_code)))
    if final_only:
        where.append(Incident.status == wf.CLOSED)
    rows = session.scalars(
        select(Incident).where(*where).order_by(Incident.occurred_at, Incident.id)
    )
    out = []
    for i in rows:
        fire_or_road = classes.is_road_traffic_or_fire(i.type_key)
        road = i.type_key.startswith("accident_disaster.transport.road_traffic")
        out.append(
            AccidentRecord(
                incident_id=i.id,
                title=i.title,
                occurred_at=_utc(i.occurred_at),  # type: ignore[arg-type]
                division_code=i.division_code,
                type_key=i.type_key,
                class_key=i.class_key,
                production_safety=i.production_safety,
                road_traffic=road,
                fire=fire_or_road and not road,
                forest_fire=i.type_key.startswith(FOREST_FIRE),
                industry_code=i.industry_code,
                enterprise_id=i.enterprise_id,
                deaths=i.deaths,
                missing=i.missing,
                serious_injuries=i.serious_injuries,
                trapped=i.trapped,
                affected_population=i.affected_population,
                relocated=i.relocated,
                direct_loss_yuan=Decimal(i.direct_loss_yuan or 0).quantize(Decimal("0.01")),
                grade=i.grade,
                status=i.status,
                final=i.status == wf.CLOSED,
                ended_at=_utc(i.response_ended_at),
                closed_at=_utc(i.closed_at),
            )
        )
    return out
