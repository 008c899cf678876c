"""hazards_near: the major hazard units another capability may show near a point (monitoring's
alarm context) — inside the box, not archived, and only those the caller's scope lets them see."""

from __future__ import annotations

from sqlalchemy.orm import Session

from safecity.core.scope import Principal
from safecity.risk.major_hazards.service import hazards_near
from safecity.risk.models import MajorHazard
from tests.conftest import NOW

LON, LAT = 121.40, 37.50


def _unit(session: Session, name: str, lon: float, lat: float, division: str, ent: int, **kw):
    unit = MajorHazard(
        enterprise_id=ent,
        name=name,
        unit_kind="storage",
        substances=[],
        division_code=division,
        lon=lon,
        lat=lat,
        s_value=2.0,
        is_major=True,
        r_value=60.0,
        level=2,
        alpha=1.0,
        exposed_population=0,
        exposed_population_computed=0,
        result={},
        assessed_at=NOW,
        archived=kw.get("archived", False),
    )
    session.add(unit)
    return unit


def test_units_near_a_point_inside_the_callers_scope(session: Session) -> None:
    # Box half-sides at 37.5°N for 500 m: 500 / 111,320 = 0.00449° of latitude and
    # 0.00449 / cos 37.5° = 0.00566° of longitude.
    _unit(session, "A", LON + 0.001, LAT + 0.001, "370602", 1)  # ≈ 140 m away
    _unit(session, "B", LON - 0.005, LAT - 0.004, "370613", 2)  # inside the box
    _unit(session, "far", LON + 0.006, LAT, "370602", 1)  # 0.006° > 0.00566°: outside
    _unit(session, "gone", LON, LAT, "370602", 1, archived=True)
    _unit(session, "other city", LON, LAT, "370202", 3)
    session.flush()

    def names(who: Principal) -> list[str]:
        return sorted(u.name for u in hazards_near(session, who, LON, LAT, 500.0))

    city = Principal(1, "admin", "admin", "370600")
    assert names(city) == ["A", "B"]
    assert names(Principal(2, "zhifu", "district_officer", "370602")) == ["A"]
    assert names(Principal(3, "ent", "enterprise_officer", "370613", enterprise_id=2)) == ["B"]
    assert names(Principal(4, "qd", "admin", "370200")) == ["other city"]
