"""Benchmark (pure part): every indicator of a set, every division, ten years, in < 1 s.

Prints one JSON object. Synthetic input tables, seeded: 100,000 accident records (division, year,
kind, deaths) and the yearly statistics of every division (GDP, population, vehicles, workers,
forest area) plus the platform's other yearly figures (shelter area, warning reach, forest fires,
staff, warehouses); a few statistics are left out on purpose (one division's vehicles in one
year) and some divisions have no forest fire in a year, so "cannot compute" appears as it will
in a city; one division's 2019 population is halved, which the plausibility check must flag.

Timed, per set: counting the accident records by (division, year, kind) with numpy, the
plausibility checks of every statistical series, evaluating every indicator's formula for every
division it applies to and every year 2016–2025, and its status against the trajectory (base
value = the same division's computed 2020 value). Not timed: generating the synthetic tables,
loading the TOML sets. Not covered: the database, the 1,000,000 hidden dangers of the issue's
figure (no shipped indicator reads hidden dangers yet) — the kernel-based bench will add them.

Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it): Yantai (12 divisions × 10 years ×
13 indicators) median < 1000 ms, all four shipped sets together median < 1000 ms, and the count
of values not computed equal to the count expected from the deliberately missing inputs and
zero denominators, and exactly the 2 planted plausibility flags per set (a wrong evaluator that
returned numbers for missing inputs, dropped rows or missed the halving fails).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from judging import verdict

from safecity.indicators.definitions import SHIPPED_SETS, IndicatorSet, load_shipped
from safecity.indicators.progress import assess, check_series

YEARS = list(range(2016, 2026))
BASE_YEAR = 2020
N_ACCIDENTS = 100_000
REPEATS = 5
TARGET_MS = 1000.0
KINDS = (
    "production_safety_deaths",
    "industry_mining_trade_deaths",
    "road_traffic_deaths",
    "fire_deaths",
    "natural_disaster_deaths",
)
STATISTICS = (
    "gdp_100m_yuan",
    "resident_population",
    "vehicles_10k",
    "industry_mining_trade_workers",
    "forest_area_ha",
)


def _records(n_div: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "division": rng.integers(0, n_div, N_ACCIDENTS),
        "year": rng.integers(0, len(YEARS), N_ACCIDENTS),
        "kind": rng.choice(len(KINDS), N_ACCIDENTS, p=[0.1, 0.1, 0.6, 0.15, 0.05]),
        "deaths": rng.poisson(0.05, N_ACCIDENTS),
    }


def _tables(s: IndicatorSet, rng: np.random.Generator) -> dict[tuple[str, int], dict[str, Any]]:
    """Statistics and non-accident platform figures per (division, year)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for d in s.divisions:
        pop = float(rng.uniform(3e5, 1.2e6))
        for i, y in enumerate(YEARS):
            p = pop * (1 + 0.004 * i)
            fires = int(rng.integers(0, 4))
            out[d, y] = {
                "gdp_100m_yuan": round(p * 0.0012 * (1.05**i), 1),
                "resident_population": round(p),
                "vehicles_10k": round(p / 40_000, 2),
                "industry_mining_trade_workers": round(p * 0.2),
                "forest_area_ha": round(p / 20),
                "natural_disaster_loss_10k_yuan": float(rng.uniform(0, 5000)),
                "forest_fire_damaged_ha": float(rng.uniform(0, 8)),
                "forest_fires": fires,
                "forest_fires_out_24h": int(rng.integers(0, fires + 1)),
                "shelter_area_m2": round(p * float(rng.uniform(1.8, 2.8))),
                "major_warning_reached_people": round(p * float(rng.uniform(0.95, 1.0))),
                "fire_rescue_staff": round(p * 0.0004),
                "supply_warehouse_m2": float(rng.uniform(1500, 6000)),
            }
    out[s.divisions[-1], 2023]["vehicles_10k"] = None  # missing on purpose
    first = out[s.divisions[0], 2019]
    first["resident_population"] //= 2  # a halving in 2019 and a doubling in 2020: 2 flags
    return out


def _run(
    s: IndicatorSet, rec: dict[str, np.ndarray], tables: dict[tuple[str, int], dict[str, Any]]
) -> dict[str, int]:
    n_div = len(s.divisions)
    flat = (rec["division"] * len(YEARS) + rec["year"]) * len(KINDS) + rec["kind"]
    counts = np.bincount(flat, weights=rec["deaths"], minlength=n_div * len(YEARS) * len(KINDS))
    counts = counts.reshape(n_div, len(YEARS), len(KINDS)).astype(np.int64)
    flags = sum(
        len(check_series(name, {y: tables[d, y][name] for y in YEARS}))
        for d in s.divisions
        for name in STATISTICS
    )
    tally = {"computed": 0, "not_computed": 0, "flags": flags}
    for di, d in enumerate(s.divisions):
        rows = {
            y: tables[d, y] | {k: int(counts[di, yi, ki]) for ki, k in enumerate(KINDS)}
            for yi, y in enumerate(YEARS)
        }
        for ind in s:
            if not ind.applies_to(d):
                continue
            base = ind.formula.evaluate(rows[BASE_YEAR]).value
            for y in YEARS:
                p = assess(ind, ind.formula.evaluate(rows[y]), y, base_value=base)
                tally["computed" if p.value is not None else "not_computed"] += 1
                tally[p.status] = tally.get(p.status, 0) + 1  # "unknown" also counts a base
                # value that could not be computed
    return tally


def _expected_unknown(s: IndicatorSet, tables: dict[tuple[str, int], dict[str, Any]]) -> int:
    """Rows whose inputs are missing or whose denominator is zero, counted independently."""
    n = 0
    for (d, _y), row in tables.items():
        for ind in s:
            if not ind.applies_to(d):
                continue
            if "vehicles_10k" in ind.formula.inputs and row["vehicles_10k"] is None:
                n += 1
            elif "forest_fires" in ind.formula.inputs and row["forest_fires"] == 0:
                n += 1
    return n


def _time(
    s: IndicatorSet, rec: dict[str, np.ndarray], tables: dict[tuple[str, int], dict[str, Any]]
) -> tuple[list[float], dict[str, int]]:
    times, tally = [], {}
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        tally = _run(s, rec, tables)
        times.append((time.perf_counter() - t0) * 1000)
    return times, tally


def main() -> None:
    rng = np.random.default_rng(19)
    sets = {c: load_shipped(c) for c in SHIPPED_SETS}
    data = {c: (_records(len(s.divisions), rng), _tables(s, rng)) for c, s in sets.items()}
    out: dict[str, Any] = {
        "years": [YEARS[0], YEARS[-1]],
        "accident_records": N_ACCIDENTS,
        "repeats": REPEATS,
        "sets": {},
    }
    checks = []
    count_ok = True
    for c, s in sets.items():
        times, tally = _time(s, *data[c])
        expected_unknown = _expected_unknown(s, data[c][1])
        count_ok &= tally["not_computed"] == expected_unknown and tally["flags"] == 2
        out["sets"][c] = {
            "divisions": len(s.divisions),
            "indicators": len(s.indicators),
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
            "expected_unknown": expected_unknown,
            **tally,
        }
    t_all = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for c, s in sets.items():
            _run(s, *data[c])
        t_all.append((time.perf_counter() - t0) * 1000)
    out["all_sets_median_ms"] = round(statistics.median(t_all), 1)
    checks.append(("yantai_median_ms", out["sets"]["yantai"]["median_ms"], "<", TARGET_MS))
    checks.append(("all_sets_median_ms", out["all_sets_median_ms"], "<", TARGET_MS))
    checks.append(("unknown_count_matches", int(count_ok), "==", 1))
    out |= verdict(checks)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
