"""Where each indicator input comes from: a small registry of named record sources.

An input (definitions.INPUTS) is read, per division and year, from the first of:

1. a recorded statistic of that division and year (``ind_statistics``, versioned) — yearly
   statistics always come from here, and a platform input may be recorded too (the official
   figure of a year before the platform ran, e.g. accident deaths from the statistical bulletin);
2. the named source that serves the input from the platform's own records (hidden dangers,
   alarms, warnings now; accidents from emergency command and shelters, staff and warehouses
   from emergency resources when those capabilities provide their functions).

A source that is not connected yields no number: the indicator then says which input is missing
and why ("来源未接入：应急指挥（事故记录）"), never a zero.  Record counts are 0 in a year with no
record (that is a real value); stock figures (shelter area, staff) exist only for the current
year unless recorded as statistics.

A source implements ``values`` (bulk: every requested division and year, summed per division
prefix from the owning capability's yearly figures per record division code) and ``records``
(the drill-down: the records behind one figure). Both call the owner's own functions
(``safecity.<capability>.figures``), never its tables: the owner knows how its records are
stored and indexed. ``register`` adds one; the built-ins are registered at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from safecity.core.scope import division_prefix

DRILL_LIMIT = 200

Key = tuple[str, str, int]  # (input, division code, year)


def sum_by_prefix(
    rows: Iterable[tuple[str, int, Any]], divisions: Sequence[str]
) -> dict[tuple[str, int], Fraction]:
    """Counts grouped by (record division, year) summed for each requested division: a city
    adds up its districts and streets (the GB/T 2260 prefix rule of core.scope). Rows first add
    up per (code, year) as plain integers (exact fractions only for amounts that are not
    whole), then each code is matched against the prefixes once: a city's ten years of grouped
    rows sum in milliseconds."""
    per_code: dict[tuple[str, int], int | Fraction] = {}
    for code, year, n in rows:
        if year is None or code is None or not n:
            continue
        if type(n) is not int and not isinstance(n, Fraction):
            n = Fraction(n)  # Decimal or float: exact, as before
        key = (code, year)
        per_code[key] = per_code.get(key, 0) + n
    prefixes = [(d, division_prefix(d)) for d in divisions]
    match: dict[str, list[str]] = {}
    acc: dict[tuple[str, int], int | Fraction] = {}
    for (code, year), v in per_code.items():
        text = str(code)
        within = match.get(text)
        if within is None:
            within = match[text] = [d for d, p in prefixes if text.startswith(p)]
        y = int(year)
        for d in within:
            acc[d, y] = acc.get((d, y), 0) + v
    return {k: Fraction(v) for k, v in acc.items()}


@dataclass(frozen=True)
class Record:
    """One record behind a figure (the drill-down)."""

    kind: str
    id: str
    title: str
    at: datetime | None
    division_code: str
    amount: float | None = None  # what this record adds to the figure (deaths, people …)
    detail: str = ""
    link: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "at": self.at.isoformat() if self.at else None,
            "division_code": self.division_code,
            "amount": self.amount,
            "detail": self.detail,
            "link": self.link,
        }


@dataclass
class Source:
    """A named provider of some platform inputs.

    ``available()`` says whether the capability behind it is installed and connected;
    ``stock`` sources know only the present state (their value is for the current year).
    """

    name: str
    zh: str
    en: str
    inputs: tuple[str, ...]
    values: Callable[[Session, Sequence[str], Sequence[int], datetime], dict[Key, Fraction]]
    records: Callable[[Session, str, str, int, datetime], list[Record]]
    available: Callable[[], bool] = lambda: True
    stock: bool = False
    why_unavailable: tuple[str, str] = ("", "")
    extra: dict[str, Any] = field(default_factory=dict)


SOURCES: dict[str, Source] = {}


def register(source: Source) -> None:
    """Add or replace a source (a later registration of the same name wins)."""
    SOURCES[source.name] = source


def source_for(input_name: str) -> Source | None:
    for s in SOURCES.values():
        if input_name in s.inputs:
            return s
    return None


# =========================================================================== hidden dangers


HD_NAMES = (
    "hidden_dangers_found",
    "hidden_dangers_rectified",
    "major_hidden_dangers_found",
    "major_hidden_dangers_closed_on_time",
)


def _spread(
    rows: dict[str, list[tuple[str, int, Any]]], divisions: Sequence[str], years: Sequence[int]
) -> dict[Key, Fraction]:
    """Rows (record division code, year, amount) per input summed for every requested division
    and year; 0 where no record counts (a real value for record counts)."""
    out: dict[Key, Fraction] = {}
    for name, found in rows.items():
        summed = sum_by_prefix(found, divisions)
        for d in divisions:
            for y in years:
                out[name, d, y] = summed.get((d, y), Fraction(0))
    return out


def _hd_values(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    """The hidden-danger ledger's own yearly figures (``hazards.figures.yearly_figures``)."""
    from safecity.hazards import figures  # noqa: PLC0415 optional capability

    rows: dict[str, list[tuple[str, int, Any]]] = {n: [] for n in HD_NAMES}
    for f in figures.yearly_figures(session, years):
        rows["hidden_dangers_found"].append((f.division_code, f.year, f.found))
        rows["hidden_dangers_rectified"].append((f.division_code, f.year, f.rectified))
        rows["major_hidden_dangers_found"].append((f.division_code, f.year, f.major_found))
        rows["major_hidden_dangers_closed_on_time"].append(
            (f.division_code, f.year, f.major_closed_on_time)
        )
    return _spread(rows, divisions, years)


def _hd_records(
    session: Session, input_name: str, division: str, year: int, now: datetime
) -> list[Record]:
    from safecity.hazards import figures  # noqa: PLC0415 optional capability

    found = figures.hidden_dangers_of(
        session,
        division,
        year,
        closed_only=input_name == "hidden_dangers_rectified",
        major_only=input_name.startswith("major_"),
        on_time_only=input_name == "major_hidden_dangers_closed_on_time",
        limit=DRILL_LIMIT,
    )
    return [
        Record(
            "hidden_danger",
            str(h.id),
            h.title,
            h.reported_at,
            h.division_code,
            1,
            f"{h.grade or '—'} · {h.status}",
            f"/hazards/{h.id}",
        )
        for h in found
    ]


def _installed(module: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            __import__(module)
        except ImportError:
            return False
        return True

    return check


register(
    Source(
        "hazards",
        "隐患排查治理（隐患台账）",
        "hidden-danger investigation (ledger)",
        HD_NAMES,
        _hd_values,
        _hd_records,
        _installed("safecity.hazards.figures"),
    )
)


# =========================================================================== alarms


def _alarm_values(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    from safecity.monitoring import figures  # noqa: PLC0415 optional capability

    return _spread({"alarms_raised": figures.alarms_by_year(session, years)}, divisions, years)


def _alarm_records(
    session: Session, input_name: str, division: str, year: int, now: datetime
) -> list[Record]:
    from safecity.monitoring import figures  # noqa: PLC0415 optional capability

    return [
        Record(
            "alarm",
            str(a.id),
            a.message,
            a.raised_at,
            a.division_code,
            1,
            f"{a.peak_level} · {a.status}",
            f"/monitoring/alarms/{a.id}",
        )
        for a in figures.alarms_of(session, division, year, DRILL_LIMIT)
    ]


register(
    Source(
        "monitoring",
        "监测预警（报警记录）",
        "monitoring (alarms)",
        ("alarms_raised",),
        _alarm_values,
        _alarm_records,
        _installed("safecity.monitoring.figures"),
    )
)


# =========================================================================== warnings

MAJOR_WARNING_LEVELS = ("red", "orange")  # 重大: the two highest of the four colours
WEATHER = "Met"  # CAP category of the weather warnings the plans count


def _reach(session: Session, years: Sequence[int], division: str | None = None) -> list[Any]:
    from safecity.warnings import figures  # noqa: PLC0415 optional capability

    return figures.reach(session, years, MAJOR_WARNING_LEVELS, WEATHER, division)


def _warning_values(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    """People in the major weather warnings' areas and people reached (warning publication's
    own rule: the best confirmed public channel, at most the area's people)."""
    area: list[tuple[str, int, Any]] = []
    reached: list[tuple[str, int, Any]] = []
    for r in _reach(session, years):
        area.append((r.division_code, r.year, r.population))
        reached.append((r.division_code, r.year, r.reached))
    return _spread(
        {"major_warning_area_people": area, "major_warning_reached_people": reached},
        divisions,
        years,
    )


def _warning_records(
    session: Session, input_name: str, division: str, year: int, now: datetime
) -> list[Record]:
    out = []
    for r in sorted(_reach(session, [year], division), key=lambda r: r.issued_at, reverse=True):
        amount = r.population if input_name == "major_warning_area_people" else r.reached
        out.append(
            Record(
                "warning",
                str(r.warning_id),
                r.headline,
                r.issued_at,
                r.division_code,
                amount,
                f"{r.level} · 区域人口 {r.population} · 确认送达 {r.reached}",
                f"/warnings/{r.warning_id}",
            )
        )
    return out[:DRILL_LIMIT]


register(
    Source(
        "warnings",
        "预警发布（红色、橙色气象类预警及其送达）",
        "warning publication (red and orange weather warnings and their delivery)",
        ("major_warning_area_people", "major_warning_reached_people"),
        _warning_values,
        _warning_records,
        _installed("safecity.warnings.figures"),
    )
)


# ============================================ capabilities still being built: placeholders
# Emergency command (issue 15) and emergency resources (issue 16) register their real sources
# through the adapters in safecity/indicators/adapters.py once their service functions exist;
# until then these placeholders make the inputs say exactly what is missing.


def _none_values(
    session: Session, divisions: Sequence[str], years: Sequence[int], now: datetime
) -> dict[Key, Fraction]:
    return {}


def _no_records(
    session: Session, input_name: str, division: str, year: int, now: datetime
) -> list[Record]:
    return []


ACCIDENT_INPUTS = (
    "production_safety_deaths",
    "industry_mining_trade_deaths",
    "road_traffic_deaths",
    "fire_deaths",
    "natural_disaster_deaths",
    "natural_disaster_loss_10k_yuan",
    "forest_fire_damaged_ha",
    "forest_fires",
    "forest_fires_out_24h",
)
RESOURCE_INPUTS = ("shelter_area_m2", "fire_rescue_staff", "supply_warehouse_m2")

register(
    Source(
        "response",
        "应急指挥（事故记录）",
        "emergency command (accident records)",
        ACCIDENT_INPUTS,
        _none_values,
        _no_records,
        lambda: False,
        why_unavailable=(
            "应急指挥模块尚未提供事故记录",
            "emergency command does not provide accident records yet",
        ),
    )
)
register(
    Source(
        "resources",
        "应急保障（避难场所、队伍、物资库）",
        "emergency resources (shelters, teams, warehouses)",
        RESOURCE_INPUTS,
        _none_values,
        _no_records,
        lambda: False,
        stock=True,
        why_unavailable=(
            "应急保障模块尚未提供避难场所、队伍与物资库数据",
            "emergency resources does not provide shelters, teams and warehouses yet",
        ),
    )
)
