"""Demo data of the indicators capability: the Yantai set imported and statistical inputs for
the demo city's divisions, 2020 to the current year — invented at Yantai's orders of magnitude
and marked as demo (``demo`` column, source text "演示数据").

Yearly statistics (GDP, population, vehicles, workers, forest area) for every year; the
accident, disaster and resource figures of the years before the current one as statistics too
(a city records the official bulletins of the years before its platform ran), so the current
year's come live from the platform's own records. Deterministic (seeded).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.scope import Principal
from safecity.indicators import service
from safecity.indicators.models import IndicatorSetRow
from safecity.indicators.service import StatIn
from safecity.registry.models import Division

SOURCE = "演示数据：按烟台市统计公报量级虚构 (demo figures at Yantai's scale)"
FIRST_YEAR = 2020


class _Demo(Principal):
    @property
    def prefix(self) -> str:
        return ""


DEMO = _Demo(0, "demo", "admin", "000000")


RESOURCE_STOCK = ("shelter_area_m2", "fire_rescue_staff", "supply_warehouse_m2")


def _series(
    rng: random.Random,
    d: Division,
    years: list[int],
    this_year: int,
    live: dict[tuple[str, str], float] | None = None,
) -> list[StatIn]:
    pop0 = d.population or 500_000
    area = d.area_km2 or 1000.0
    out: list[StatIn] = []
    for i, y in enumerate(years):
        pop = round(pop0 * (1 + 0.003 * (i - len(years) + 1)))
        gdp = round(pop * 0.00128 * (1.052**i), 1)  # 亿元: ~12.8万元 per resident in 2020
        vehicles = round(pop * 0.31 / 10_000 * (1.04**i), 2)  # 万辆
        workers = round(pop * 0.19)
        rows: dict[str, Any] = {
            "gdp_100m_yuan": gdp,
            "resident_population": pop,
            "vehicles_10k": vehicles,
            "industry_mining_trade_workers": workers,
            "forest_area_ha": round(area * 100 * 0.32),
        }
        if y < this_year:
            improve = 0.93**i
            rows |= {
                "production_safety_deaths": round(gdp * 0.0075 * improve * rng.uniform(0.8, 1.2)),
                "industry_mining_trade_deaths": round(
                    workers / 100_000 * 1.1 * improve * rng.uniform(0.75, 1.25)
                ),
                "road_traffic_deaths": round(vehicles * 1.05 * improve * rng.uniform(0.85, 1.15)),
                "fire_deaths": round(pop / 100_000 * 0.16 * rng.uniform(0.3, 1.6)),
                "natural_disaster_deaths": round(pop / 1_000_000 * 0.4 * rng.uniform(0, 2)),
                "natural_disaster_loss_10k_yuan": round(
                    gdp * 10_000 * 0.004 * rng.uniform(0.3, 1.8), 1
                ),
                "forest_fire_damaged_ha": round(area * 0.32 * 100 * 0.0003 * rng.uniform(0, 2), 1),
                "forest_fires": (fires := rng.randint(1, 5)),
                "forest_fires_out_24h": fires if rng.random() < 0.8 else fires - 1,
                "shelter_area_m2": round(pop * (1.6 + 0.12 * i) * rng.uniform(0.9, 1.1)),
                "fire_rescue_staff": round(pop * 0.00036 * (1 + 0.02 * i)),
                "supply_warehouse_m2": round(
                    (5200 if d.level == "city" else 1800 + 120 * i) * rng.uniform(0.9, 1.15)
                ),
                "major_warning_area_people": (area_people := round(pop * rng.uniform(0.3, 1.0))),
                "major_warning_reached_people": round(area_people * rng.uniform(0.96, 1.0)),
            }
            for name in RESOURCE_STOCK:
                now_value = (live or {}).get((name, d.code))
                if now_value:
                    # the years before lead up to what the resources register holds today, so
                    # the trajectory has no jump where the statistics end and records begin
                    rows[name] = round(
                        now_value * (1 - 0.04 * (this_year - y)) * rng.uniform(0.98, 1.02)
                    )
        for name, value in rows.items():
            out.append(StatIn(d.code, y, name, value, SOURCE))
    return out


def _live_resources(
    session: Session, codes: list[str], this_year: int, now: datetime
) -> dict[tuple[str, str], float]:
    """This year's shelter area, fire-rescue staff and warehouse floor from the resources
    registers (empty when that capability is not installed or holds nothing yet)."""
    from safecity.indicators import sources  # noqa: PLC0415 kept beside its one use

    found = sources.SOURCES.get("resources")
    if found is None or not found.available():
        return {}
    values = found.values(session, codes, [this_year], now)
    return {(name, code): float(v) for (name, code, _), v in values.items() if v}


def load(
    session: Session, now: datetime, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, Any]:
    """Import the Yantai set and the demo statistics; a second call does nothing."""
    if session.scalar(select(IndicatorSetRow.id).where(IndicatorSetRow.city == "yantai")):
        return {}
    text = resources.files("safecity.indicators").joinpath("data/yantai.toml").read_text("utf-8")
    imported = service.import_set(session, DEMO, text, now)
    codes = list(imported.set.divisions)
    divisions = list(session.scalars(select(Division).where(Division.code.in_(codes))))
    this_year = service.current_year(now)
    years = list(range(FIRST_YEAR, this_year + 1))
    rng = random.Random(19)
    live = _live_resources(session, codes, this_year, now)
    items: list[StatIn] = []
    for i, d in enumerate(sorted(divisions, key=lambda d: d.code), start=1):
        items += _series(rng, d, years, this_year, live)
        if progress:
            progress("indicators", i, len(divisions))
    report = service.record_statistics(session, DEMO, items, now, demo=True)
    session.flush()
    return {
        "indicator_sets": 1,
        "indicators": len(imported.created),
        "statistics": report.created,
    }
