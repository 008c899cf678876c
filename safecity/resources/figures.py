"""Present figures of the emergency-resource registers for other capabilities (the plan
indicators): per entry, the amount it adds (open shelters' effective area, fire-rescue teams'
members, warehouses' floor area by tier), and the entries behind one division's figure.

Archived entries are left out, as the registers' own lists do. Read without a caller's scope:
the caller scopes its own figures. Narrow rows (code, amount), never the register objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from safecity.core.scope import code_within, division_prefix
from safecity.resources.models import RescueTeam, Shelter, Warehouse

SHELTER_AREA = "shelter_area_m2"
FIRE_RESCUE_STAFF = "fire_rescue_staff"
WAREHOUSE_AREA = "warehouse_m2"
KINDS = {SHELTER_AREA: "shelters", FIRE_RESCUE_STAFF: "rescue-teams", WAREHOUSE_AREA: "warehouses"}


@dataclass(frozen=True)
class Amount:
    figure: str  # SHELTER_AREA | FIRE_RESCUE_STAFF | WAREHOUSE_AREA
    division_code: str
    amount: float
    tier: str = ""  # warehouses: city | district | town | village


def _select(figure: str) -> Any:
    if figure == SHELTER_AREA:
        s = Shelter
        return select(s.id, s.name, s.division_code, s.effective_area_m2, s.archived).where(
            s.status == "open"
        )
    if figure == FIRE_RESCUE_STAFF:
        t = RescueTeam
        return select(t.id, t.name, t.division_code, t.members, t.archived).where(
            t.team_type == "fire_rescue"
        )
    w = Warehouse
    return select(w.id, w.name, w.division_code, w.floor_area_m2, w.archived, w.tier)


def amounts(session: Session) -> list[Amount]:
    """Every unarchived entry's amount, the three registers in one query."""
    parts = []
    for figure in (SHELTER_AREA, FIRE_RESCUE_STAFF, WAREHOUSE_AREA):
        stmt = _select(figure)
        cols = stmt.selected_columns
        tier = cols.tier if figure == WAREHOUSE_AREA else literal("")
        parts.append(
            stmt.with_only_columns(
                literal(figure).label("figure"), cols.division_code, cols[3].label("amount"), tier
            ).where(cols.archived.is_(False))
        )
    return [
        Amount(figure, code, float(amount or 0), tier or "")
        for figure, code, amount, tier in session.execute(union_all(*parts))
    ]


@dataclass(frozen=True)
class Entry:
    kind: str  # the register's URL name: shelters | rescue-teams | warehouses
    id: int
    name: str
    division_code: str
    amount: float
    tier: str = ""


def entries(
    session: Session, figure: str, division_code: str, tier: str | None = None, limit: int = 200
) -> list[Entry]:
    """The unarchived entries behind ``figure`` inside ``division_code`` (prefix)."""
    stmt = _select(figure)
    cols = stmt.selected_columns
    stmt = stmt.where(
        cols.archived.is_(False), code_within(cols.division_code, division_prefix(division_code))
    )
    if tier is not None and figure == WAREHOUSE_AREA:
        stmt = stmt.where(cols.tier == tier)
    stmt = stmt.order_by(cols.division_code, cols.name, cols.id).limit(limit)
    return [
        Entry(
            KINDS[figure],
            row.id,
            row.name,
            row.division_code,
            float(row[3] or 0),
            row.tier if figure == WAREHOUSE_AREA else "",
        )
        for row in session.execute(stmt)
    ]
