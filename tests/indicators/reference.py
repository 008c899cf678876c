"""The straightforward counts the indicators' record sources are held to: every record read
from the owning capability's tables and classified one by one, in Python (tests may read any
table; the product reads them through the owners' functions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.scope import division_prefix
from safecity.hazards.models import HiddenDanger
from safecity.indicators.sources import HD_NAMES, RESOURCE_INPUTS, Key
from safecity.monitoring.models import Alarm
from safecity.resources.models import RescueTeam, Shelter, Warehouse
from safecity.warnings.models import Delivery, Warning
from safecity.warnings.rules import EVENT_TYPES

PUBLIC = ("web", "sms", "broadcast", "siren", "email")


def _within(code: str, division: str) -> bool:
    return code.startswith(division_prefix(division))


def _year(at: datetime) -> int:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(BEIJING).year


def hidden_dangers(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    out: dict[Key, Fraction] = {
        (n, d, y): Fraction(0) for n in HD_NAMES for d in divisions for y in years
    }
    for h in session.scalars(select(HiddenDanger)):
        y = int(h.month[:4])
        if h.status == "rejected" or y not in years:
            continue
        hits = ["hidden_dangers_found"]
        if h.status == "closed":
            hits.append("hidden_dangers_rectified")
        if h.grade == "major":
            hits.append("major_hidden_dangers_found")
            if h.status == "closed" and h.closed_late is not True:
                hits.append("major_hidden_dangers_closed_on_time")
        for d in divisions:
            if _within(h.division_code, d):
                for n in hits:
                    out[n, d, y] += 1
    return out


def alarms(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    out: dict[Key, Fraction] = {
        ("alarms_raised", d, y): Fraction(0) for d in divisions for y in years
    }
    for a in session.scalars(select(Alarm)):
        y = _year(a.raised_at)
        for d in divisions:
            if y in years and _within(a.division_code, d):
                out["alarms_raised", d, y] += 1
    return out


def warnings(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    """Each major weather warning's coverage read on its own (best confirmed public channel,
    at most the people in its area)."""
    met = {k for k, v in EVENT_TYPES.items() if v[2] == "Met"}
    names = ("major_warning_area_people", "major_warning_reached_people")
    out: dict[Key, Fraction] = {
        (n, d, y): Fraction(0) for n in names for d in divisions for y in years
    }
    for w in session.scalars(select(Warning)):
        if (
            w.kind != "local"
            or w.msg_type == "Cancel"
            or w.issued_at is None
            or w.level not in ("red", "orange")
            or w.event_type not in met
        ):
            continue
        y = _year(w.issued_at)
        if y not in years:
            continue
        per_channel: dict[str, int] = {}
        for dl in session.scalars(select(Delivery).where(Delivery.warning_id == w.id)):
            if dl.status == "sent" and dl.channel in PUBLIC:
                per_channel[dl.channel] = per_channel.get(dl.channel, 0) + dl.reached
        area = int((w.targeting or {}).get("population", 0))
        reached = min(max(per_channel.values(), default=0), area)
        for d in divisions:
            if _within(w.division_code, d):
                out["major_warning_area_people", d, y] += area
                out["major_warning_reached_people", d, y] += reached
    return out


def resources(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    """The registers entry by entry for each division: open shelters' area, fire-rescue teams'
    members, warehouses of the division's tier (city or district); archived ones left out."""
    this_year = now.astimezone(BEIJING).year
    if this_year not in years:
        return {}
    out: dict[Key, Fraction] = {
        (n, d, this_year): Fraction(0) for n in RESOURCE_INPUTS for d in divisions
    }
    for d in divisions:
        city = len(d) == 6 and d.endswith("00")
        for s in session.scalars(select(Shelter).where(Shelter.archived.is_(False))):
            if s.status == "open" and _within(s.division_code, d):
                out["shelter_area_m2", d, this_year] += Fraction(
                    str(float(s.effective_area_m2 or 0))
                )
        for t in session.scalars(select(RescueTeam).where(RescueTeam.archived.is_(False))):
            if t.team_type == "fire_rescue" and _within(t.division_code, d):
                out["fire_rescue_staff", d, this_year] += int(t.members or 0)
        for w in session.scalars(select(Warehouse).where(Warehouse.archived.is_(False))):
            if w.tier == ("city" if city else "district") and _within(w.division_code, d):
                out["supply_warehouse_m2", d, this_year] += Fraction(
                    str(float(w.floor_area_m2 or 0))
                )
    return out
