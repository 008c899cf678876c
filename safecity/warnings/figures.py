"""Yearly figures of warning publication for other capabilities (the plan indicators): for the
warnings of given levels and event category issued in given Beijing years, the people in each
warning's area and the people its best confirmed public channel reached.

The reach rule is that of ``service.coverage_of`` (the best public channel, never the sum of
channels, at most the area's people; logged-only deliveries are not confirmed reach), applied to
deliveries grouped in SQL: two queries for any number of warnings. Read without a caller's
scope: the caller scopes its own figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.scope import division_prefix
from safecity.warnings.models import Delivery, Warning
from safecity.warnings.rules import EVENT_TYPES
from safecity.warnings.service import PUBLIC_CHANNELS


def year_start(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=BEIJING).astimezone(UTC)


def event_types(category: str) -> tuple[str, ...]:
    """The event types of a CAP category ("Met": weather)."""
    return tuple(k for k, v in EVENT_TYPES.items() if v[2] == category)


@dataclass(frozen=True)
class Reach:
    warning_id: int
    headline: str
    level: str
    division_code: str
    issued_at: datetime
    year: int  # Beijing year of issue
    population: int  # people in the warning's area
    reached: int  # people reached by its best confirmed public channel (≤ population)


def reach(
    session: Session,
    years: Sequence[int],
    levels: Sequence[str],
    category: str,
    division_code: str | None = None,
) -> list[Reach]:
    """Local warnings (cancellations left out) of ``levels`` and CAP ``category`` issued in
    ``years`` (inside ``division_code``, a prefix, when given), with their reach."""
    if not years:
        return []
    w = Warning
    where = [
        w.kind == "local",
        w.msg_type != "Cancel",
        w.issued_at.is_not(None),
        w.issued_at >= year_start(min(years)),
        w.issued_at < year_start(max(years) + 1),
        w.level.in_(list(levels)),
        w.event_type.in_(event_types(category)),
    ]
    found = session.execute(
        select(w.id, w.headline, w.level, w.division_code, w.issued_at, w.targeting).where(*where)
    ).all()
    if division_code:
        p = division_prefix(division_code)
        found = [r for r in found if r.division_code.startswith(p)]
    ids = select(w.id).where(*where).scalar_subquery()
    best: dict[int, int] = {}
    for wid, _channel, n in session.execute(
        select(Delivery.warning_id, Delivery.channel, func.sum(Delivery.reached))
        .where(
            Delivery.warning_id.in_(ids),
            Delivery.status == "sent",
            Delivery.channel.in_(PUBLIC_CHANNELS),
        )
        .group_by(Delivery.warning_id, Delivery.channel)
    ):
        best[wid] = max(best.get(wid, 0), int(n or 0))
    wanted = set(years)
    out = []
    for wid, headline, level, code, issued_at, targeting in found:
        issued = issued_at if issued_at.tzinfo else issued_at.replace(tzinfo=UTC)
        year = issued.astimezone(BEIJING).year
        if year not in wanted:
            continue
        population = int((targeting or {}).get("population", 0))
        out.append(
            Reach(
                wid,
                headline,
                level,
                code,
                issued,
                year,
                population,
                min(best.get(wid, 0), population),
            )  # fmt: skip
        )
    return out
