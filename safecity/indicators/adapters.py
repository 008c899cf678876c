"""Record sources served by emergency command and emergency resources, through their own
functions: the yearly accident groups (``safecity.response.figures.accident_groups``) and the
accident records behind a figure (``safecity.response.records.accident_records``); the registers'
amounts (``safecity.resources.figures``).

Each adapter replaces the placeholder of ``sources`` when the function it calls can be
imported; otherwise the placeholder stays and the inputs say the source is not connected.

Input definitions over accident records (documented choices, a city may record official
figures as statistics instead, which then win):

* production-safety deaths: records with ``production_safety``;
* deaths in industry, mining and trade: production-safety records that are neither road
  traffic nor fire (the statistical split of 工矿商贸 leaves those two out);
* natural-disaster deaths and direct loss: records of class ``natural_disaster``
  (loss in 10,000 yuan);
* forest fires: records with ``forest_fire``; put out within 24 hours when the response ended
  less than 24 h after the fire began;
* forest area burnt is not in an accident record: it stays a statistic to record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.scope import division_prefix
from safecity.indicators import sources
from safecity.indicators.sources import Key, Record, Source, register, sum_by_prefix

# --------------------------------------------------------------------------- accidents


@cache
def _accident_fn() -> Any:
    try:
        from safecity.response.records import accident_records  # noqa: PLC0415 optional capability
    except ImportError:
        return None
    return accident_records


@cache
def _groups_fn() -> Any:
    try:
        from safecity.response.figures import accident_groups  # noqa: PLC0415 optional capability
    except ImportError:
        return None
    return accident_groups


def _amounts(r: Any) -> dict[str, Fraction]:
    """What one accident record adds to each input (the drill-down's per-record amounts)."""
    deaths = Fraction(int(r.deaths or 0))
    out: dict[str, Fraction] = {}
    if r.production_safety:
        out["production_safety_deaths"] = deaths
        if not r.road_traffic and not r.fire:
            out["industry_mining_trade_deaths"] = deaths
    if r.road_traffic:
        out["road_traffic_deaths"] = deaths
    if r.fire:
        out["fire_deaths"] = deaths
    if r.class_key == "natural_disaster":
        out["natural_disaster_deaths"] = deaths
        out["natural_disaster_loss_10k_yuan"] = Fraction(str(r.direct_loss_yuan or 0)) / 10000
    if r.forest_fire:
        out["forest_fires"] = Fraction(1)
        ended = r.ended_at
        if ended is not None and ended - r.occurred_at <= timedelta(hours=24):
            out["forest_fires_out_24h"] = Fraction(1)
    return out


ACCIDENT_INPUTS = tuple(i for i in sources.ACCIDENT_INPUTS if i != "forest_fire_damaged_ha")


def _accident_values(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    """Every accident input for every division and year from emergency command's yearly
    groups (incidents of a division code and year that classify alike), each group counted as
    ``_amounts`` counts a record of its kind."""
    from safecity.response.figures import classify  # noqa: PLC0415 optional capability

    rows: dict[str, list[tuple[str, int, Any]]] = {n: [] for n in ACCIDENT_INPUTS}
    ps_d, imt_d = rows["production_safety_deaths"], rows["industry_mining_trade_deaths"]
    road_d, fire_d = rows["road_traffic_deaths"], rows["fire_deaths"]
    nat_d, nat_loss = rows["natural_disaster_deaths"], rows["natural_disaster_loss_10k_yuan"]
    forest, forest_out = rows["forest_fires"], rows["forest_fires_out_24h"]
    width = max((len(division_prefix(d)) for d in divisions), default=12)
    groups = _groups_fn()(session, years, code_digits=width)  # no finer than asked for
    for code, y, type_key, class_key, ps, n, dead, cents, out_24h in groups:
        road, fire, forest_fire = classify(type_key)
        if ps:
            ps_d.append((code, y, dead))
            if not road and not fire:
                imt_d.append((code, y, dead))
        if road:
            road_d.append((code, y, dead))
        if fire:
            fire_d.append((code, y, dead))
        if class_key == "natural_disaster":
            nat_d.append((code, y, dead))
            nat_loss.append((code, y, cents))  # whole cents until summed
        if forest_fire:
            forest.append((code, y, n))
            forest_out.append((code, y, out_24h))
    out = sources._spread(rows, divisions, years)
    for d in divisions:
        for y in years:
            out["natural_disaster_loss_10k_yuan", d, y] /= 100 * 10000  # cents → 10,000 yuan
    return out


def accident_values_by_record(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    """The straightforward count: every accident record read and classified one by one
    (``accident_records``). Not used by the product (too slow at city scale); the tests and the
    bench hold the grouped path to it."""
    fn = _accident_fn()
    rows: dict[str, list[tuple[str, int, Any]]] = {n: [] for n in ACCIDENT_INPUTS}
    for y in years:
        for r in fn(session, y, None):
            for name, amount in _amounts(r).items():
                rows[name].append((r.division_code, y, amount))
    return sources._spread(rows, divisions, years)


def _accident_records(
    session: Session, input_name: str, division: str, year: int, now: datetime
) -> list[Record]:
    fn = _accident_fn()
    out = []
    for r in fn(session, year, division):
        amount = _amounts(r).get(input_name)
        if amount is None:
            continue
        out.append(
            Record(
                "incident",
                str(r.incident_id),
                r.title,
                r.occurred_at,
                r.division_code,
                float(amount),
                f"死亡 {r.deaths} · 重伤 {r.serious_injuries} · {r.status}",
                f"/response/incidents/{r.incident_id}",
            )
        )
    return out[: sources.DRILL_LIMIT]


# --------------------------------------------------------------------------- resources


@cache
def _resources_figures() -> Any:
    try:
        from safecity.resources import figures  # noqa: PLC0415 optional capability
    except ImportError:
        return None
    return figures


def _is_city(code: str) -> bool:
    return len(code) == 6 and code.endswith("00")


def _tier(division: str) -> str:
    """A city counts its city-tier warehouses, a district its district tier."""
    return "city" if _is_city(division) else "district"


def _resource_values(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    """This year's shelter area, fire-rescue staff and warehouse area from the registers'
    amounts (``resources.figures.amounts``), summed by prefix."""
    figures = _resources_figures()
    this_year = now.astimezone(BEIJING).year
    if this_year not in years:
        return {}
    by: dict[str, list[tuple[str, int, Fraction]]] = {}
    for a in figures.amounts(session):
        key = f"{a.figure}:{a.tier}" if a.figure == figures.WAREHOUSE_AREA else a.figure
        by.setdefault(key, []).append((a.division_code, this_year, Fraction(str(a.amount))))
    out: dict[Key, Fraction] = {}
    for name, figure in (
        ("shelter_area_m2", figures.SHELTER_AREA),
        ("fire_rescue_staff", figures.FIRE_RESCUE_STAFF),
    ):
        summed = sum_by_prefix(by.get(figure, []), divisions)
        for d in divisions:
            out[name, d, this_year] = summed.get((d, this_year), Fraction(0))
    for d in divisions:
        found = by.get(f"{figures.WAREHOUSE_AREA}:{_tier(d)}", [])
        summed = sum_by_prefix(found, [d])
        out["supply_warehouse_m2", d, this_year] = summed.get((d, this_year), Fraction(0))
    return out


_FIGURE_OF = {
    "shelter_area_m2": "shelter_area_m2",
    "fire_rescue_staff": "fire_rescue_staff",
    "supply_warehouse_m2": "warehouse_m2",
}


def _resource_records(
    session: Session, input_name: str, division: str, year: int, now: datetime
) -> list[Record]:
    figures = _resources_figures()
    figure = _FIGURE_OF[input_name]
    tier = _tier(division) if figure == figures.WAREHOUSE_AREA else None
    return [
        Record(
            e.kind.rstrip("s"),
            str(e.id),
            e.name,
            None,
            e.division_code,
            e.amount,
            "",
            f"/resources/{e.kind}/{e.id}",
        )
        for e in figures.entries(session, figure, division, tier, sources.DRILL_LIMIT)
    ]


def connect() -> None:
    """Register the adapters whose capability is there (idempotent)."""
    if _accident_fn() is not None and _groups_fn() is not None:
        register(
            Source(
                "response",
                "应急指挥（事故记录）",
                "emergency command (accident records)",
                ACCIDENT_INPUTS,
                _accident_values,
                _accident_records,
            )
        )
        register(
            Source(
                "forestry",
                "林业统计（森林火灾受害面积）",
                "forestry statistics (area burnt)",
                ("forest_fire_damaged_ha",),
                sources._none_values,
                sources._no_records,
                lambda: False,
                why_unavailable=(
                    "事故记录不含森林受害面积，须按年录入统计值",
                    "accident records carry no burnt area: record it as a yearly statistic",
                ),
            )
        )
    if _resources_figures() is not None:
        register(
            Source(
                "resources",
                "应急保障（避难场所、消防救援队伍、物资储备库）",
                "emergency resources (shelters, fire-rescue teams, warehouses)",
                sources.RESOURCE_INPUTS,
                _resource_values,
                _resource_records,
                stock=True,
            )
        )
