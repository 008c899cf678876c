"""Benchmark: every indicator, every division, ten years, computed from a city's records IN THE
DATABASE in < 1 s, on SQLite and on PostgreSQL. Prints one JSON object (progress on stderr).

    .venv/bin/python bench/indicators.py [--accidents 100000] [--hidden-dangers 1000000]
        [--alarms 100000] [--backends sqlite,postgresql] [--repeats 5] [--no-peer]

Per backend a fresh database (a temporary SQLite file; a PostgreSQL database created and
dropped through SAFECITY_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/
postgres), migrated, then seeded with bulk inserts (executemany on SQLite, COPY on
PostgreSQL): Yantai's 12 divisions (registry/data/yantai.json); 100,000 accidents and
incidents 2017–2026 (road traffic, fire, production safety, forest fires, natural disasters,
drills and merged duplicates that must not count) at street and district level; 1,000,000
hidden dangers (10 % open, the rest closed or rejected; the hazards summary of final ones
rebuilt as `safecity demo` does); 100,000 monitoring alarms; 600 warnings (red/orange weather
warnings among them) with their deliveries; shelters, fire-rescue teams and warehouses; the
yearly statistics of every division (one division's 2023 vehicles left out on purpose).
The indicator set is Yantai's shipped set (13 indicators) plus three that read the hidden
dangers and the alarms (no shipped indicator does yet), 16 in all.

Timed (REPEATS runs, each in a fresh session): `indicators.service.evaluate` for the whole set,
every division the city analyst covers and the ten years 2017–2026 — the statistics query, each
record source through its owner's yearly figures (`response.figures.accident_groups`,
`hazards.figures.yearly_figures`, `monitoring.figures.alarms_by_year`, `warnings.figures.reach`,
`resources.figures.amounts`: SQL over the records themselves — closed hidden dangers from
hazards' own summary of final ones, kept by every close — no stored totals of the indicators),
every formula, the base values and the status against the trajectory, the
plausibility flags. Not timed: seeding, migrations, importing the set, HTTP, JSON and page
rendering. Peer (once, unless --no-peer): the straightforward count of the accident inputs
reading every incident one by one (`adapters.accident_values_by_record`), the path the grouped
query replaced.

Reported besides: the seeding time, the evaluation's own CPU time (on a loaded machine the
wall-clock figure also holds the time other processes had the CPU), the load average.

Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it): per backend median and slowest run
< 1000 ms; the city's yearly totals of four inputs (production-safety and road deaths, hidden
dangers found, alarms) equal to the totals counted from the generated rows; the planted missing
vehicles named as the reason the road indicator is not computed. A backend that errors adds its
error and makes meets_target false.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from judging import verdict
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Table, create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.core.scope import Principal
from safecity.hazards import final_counts
from safecity.hazards.models import HiddenDanger
from safecity.indicators import adapters, service
from safecity.indicators.service import StatIn
from safecity.monitoring.models import Alarm
from safecity.registry.models import Division
from safecity.resources.models import RescueTeam, Shelter, Warehouse
from safecity.response.models import Incident
from safecity.warnings.models import Delivery, Warning

ADMIN_URL = os.environ.get(
    "SAFECITY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)
YEARS = list(range(2017, 2027))
TARGET_MS = 1000.0
CHUNK = 50_000
CITY = "370600"
GAP = ("370687", 2023)  # vehicles not recorded: the road indicator must say so

# (type_key, class_key, production_safety, share)
TYPES = (
    ("accident_disaster.transport.road_traffic", "accident_disaster", True, 0.40),
    ("accident_disaster.transport.road_traffic", "accident_disaster", False, 0.10),
    ("accident_disaster.fire", "accident_disaster", False, 0.15),
    ("accident_disaster.fire", "accident_disaster", True, 0.05),
    ("accident_disaster.production_safety", "accident_disaster", True, 0.12),
    ("accident_disaster.public_facility", "accident_disaster", True, 0.05),
    ("natural_disaster.forest_grassland_fire", "natural_disaster", False, 0.03),
    ("natural_disaster.flood_drought.flood", "natural_disaster", False, 0.05),
    ("public_health.food_occupational", "public_health", False, 0.05),
)
HD_OPEN = ("registered", "rectifying", "plan_submitted")
EXTRA_INDICATORS = """
[[indicator]]
key = "hidden_danger_rectification_pct"
name_zh = "隐患整改率"
name_en = "hidden dangers rectified"
unit = "%"
formula = "hidden_dangers_rectified / hidden_dangers_found * 100"
direction = "higher"
period = { start = 2021, end = 2025 }
target = { value = 95 }
divisions = ["*"]
source = "bench"

[[indicator]]
key = "major_hidden_dangers_on_time_pct"
name_zh = "重大事故隐患按期整改率"
name_en = "major hidden dangers closed on time"
unit = "%"
formula = "major_hidden_dangers_closed_on_time / major_hidden_dangers_found * 100"
direction = "higher"
period = { start = 2021, end = 2025 }
target = { value = 100 }
divisions = ["*"]
source = "bench"

[[indicator]]
key = "alarms_per_10k"
name_zh = "每万人监测报警次数"
name_en = "alarms per 10,000 residents"
unit = "次/万人"
formula = "alarms_raised / resident_population * 10000"
direction = "lower"
period = { start = 2021, end = 2025 }
base = { year = 2020 }
target = { change_percent = -10 }
divisions = ["*"]
source = "bench"
"""


# --------------------------------------------------------------------------- databases


def fresh_database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'indicators_bench.db'}"
    name = f"safecity_bench_ind_{os.getpid()}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(backend: str, url: str) -> None:
    if backend == "sqlite":
        Path(make_url(url).database or "").unlink(missing_ok=True)
        return
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _sqlite_value(v: Any) -> Any:
    # the storage SQLAlchemy's SQLite types use: naive UTC text, 0/1, text decimals
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, Decimal):
        return float(v)
    return v


def _defaults(table: Table, given: tuple[str, ...]) -> dict[str, Any]:
    """Scalar column defaults of the NOT NULL columns a bulk row does not give."""
    out = {}
    for c in table.columns:
        if c.name in given or c.primary_key or c.nullable:
            continue
        if c.default is None or not c.default.is_scalar:
            raise ValueError(f"{table.name}.{c.name} needs a value")
        out[c.name] = c.default.arg
    return out


def bulk(engine: Engine, table: Table, columns: tuple[str, ...], rows: Any, advance: Any) -> None:
    """Insert rows (tuples in ``columns`` order) fast: COPY on PostgreSQL, executemany on
    SQLite, 50,000 at a time; column defaults filled in for what a row leaves out."""
    extra = _defaults(table, columns)
    cols = columns + tuple(extra)
    tail = tuple(extra.values())
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                for k, row in enumerate(rows, 1):
                    copy.write_row(row + tail)
                    if k % CHUNK == 0:
                        advance(CHUNK)
        else:
            sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            chunk: list[tuple[Any, ...]] = []
            for row in rows:
                chunk.append(tuple(_sqlite_value(v) for v in row + tail))
                if len(chunk) == CHUNK:
                    cur.executemany(sql, chunk)
                    advance(CHUNK)
                    chunk = []
            cur.executemany(sql, chunk)
        raw.commit()
    finally:
        raw.close()


# --------------------------------------------------------------------------- the city


def city_divisions() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = json.loads(
        resources.files("safecity.registry").joinpath("data/yantai.json").read_text("utf-8")
    )
    return data["city"], data["counties"]


def street_codes(counties: list[dict[str, Any]]) -> list[str]:
    """Where records happen: each district and its streets (9-digit codes): the city's figure
    sums them by prefix, as real records are filed."""
    out = []
    for c in counties:
        out.append(c["code"])
        out += [f"{c['code']}{k:03d}" for k in range(1, len(c.get("streets") or []) + 1)]
    return out


def _when(rng: np.random.Generator, n: int) -> np.ndarray:
    """n instants spread over the ten Beijing years (as UTC seconds since the epoch)."""
    first = datetime(YEARS[0], 1, 1, tzinfo=BEIJING).timestamp()
    last = NOW.timestamp() - 86400
    return rng.uniform(first, last, n)


def _beijing_year(ts: float) -> int:
    return datetime.fromtimestamp(ts, BEIJING).year


def seed(engine: Engine, args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    """Seed the city; returns the totals counted from the generated rows (the bench's own
    independent figures for the city, per input and Beijing year)."""
    rng = np.random.default_rng(19)
    city, counties = city_divisions()
    codes = street_codes(counties)
    expected: dict[str, Counter[int]] = {
        k: Counter()
        for k in (
            "production_safety_deaths",
            "road_traffic_deaths",
            "hidden_dangers_found",
            "alarms_raised",
        )
    }
    with Session(engine) as s:
        s.add(
            Division(
                code=CITY,
                name=city["name"],
                name_en=city["name_en"],
                level="city",
                parent_code="370000",
            )
        )
        for c in counties:
            s.add(
                Division(
                    code=c["code"],
                    name=c["name"],
                    name_en=c.get("name_en", ""),
                    level="county",
                    parent_code=CITY,
                    population=c.get("population", 0),
                )
            )
        s.commit()

    # accidents and incidents
    n = args.accidents
    task = progress.add_task("事故与突发事件 accidents", total=n)
    shares = np.array([t[3] for t in TYPES])
    kinds = rng.choice(len(TYPES), n, p=shares / shares.sum())
    when = _when(rng, n)
    where = rng.integers(0, len(codes), n)
    deaths = rng.poisson(0.08, n)
    drill = rng.random(n) < 0.02
    status = rng.choice(
        ["received", "graded", "responding", "ended", "closed", "merged"],
        n,
        p=[0.02, 0.03, 0.02, 0.08, 0.83, 0.02],
    )
    loss = rng.integers(0, 5_000_000_00, n)
    span = rng.choice([3, 20, 30, 60], n)

    def accidents() -> Any:
        for k in range(n):
            type_key, class_key, ps, _ = TYPES[kinds[k]]
            at = datetime.fromtimestamp(float(when[k]), UTC)
            st = str(status[k])
            if not drill[k] and st != "merged":
                y = _beijing_year(float(when[k]))
                if ps:
                    expected["production_safety_deaths"][y] += int(deaths[k])
                if type_key.startswith("accident_disaster.transport.road_traffic"):
                    expected["road_traffic_deaths"][y] += int(deaths[k])
            ended = at + timedelta(hours=int(span[k])) if st in ("ended", "closed") else None
            yield (
                f"事故{k}",
                type_key,
                class_key,
                ps,
                bool(drill[k]),
                "phone",
                st,
                at,
                at,
                "duty",
                codes[where[k]],
                int(deaths[k]),
                Decimal(int(loss[k])) / 100,
                ended,
                at,
                at,
            )

    bulk(
        engine,
        Incident.__table__,
        (
            "title",
            "type_key",
            "class_key",
            "production_safety",
            "is_drill",
            "source",
            "status",
            "occurred_at",
            "received_at",
            "received_by",
            "division_code",
            "deaths",
            "direct_loss_yuan",
            "response_ended_at",
            "created_at",
            "updated_at",
        ),
        accidents(),
        lambda k: progress.advance(task, k),
    )
    progress.update(task, completed=n)

    # hidden dangers
    n = args.hidden_dangers
    task = progress.add_task("隐患 hidden dangers", total=n)
    when = _when(rng, n)
    where = rng.integers(0, len(codes), n)
    major = rng.random(n) < 0.03
    roll = rng.random(n)
    late = rng.random(n) < 0.12

    def dangers() -> Any:
        for k in range(n):
            at = datetime.fromtimestamp(float(when[k]), UTC)
            local = at.astimezone(BEIJING)
            if roll[k] < 0.10:
                st = HD_OPEN[k % 3]
            elif roll[k] < 0.15:
                st = "rejected"
            else:
                st = "closed"
            if st != "rejected":
                expected["hidden_dangers_found"][local.year] += 1
            closed = st == "closed"
            yield (
                f"隐患{k}",
                "inspection",
                st,
                "major" if major[k] else "general",
                codes[where[k]],
                at,
                f"{local:%Y-%m}",
                at + timedelta(days=10) if closed else None,
                bool(late[k]) if closed else None,
                at,
            )

    bulk(
        engine,
        HiddenDanger.__table__,
        (
            "title",
            "source",
            "status",
            "grade",
            "division_code",
            "reported_at",
            "month",
            "closed_at",
            "closed_late",
            "updated_at",
        ),
        dangers(),
        lambda k: progress.advance(task, k),
    )
    progress.update(task, completed=n)
    with Session(engine) as s:
        final_counts.rebuild_final(s)  # what `safecity demo` does after its bulk load
        s.commit()

    # alarms
    n = args.alarms
    task = progress.add_task("报警 alarms", total=n)
    when = _when(rng, n)
    where = rng.integers(0, len(codes), n)

    def alarms() -> Any:
        for k in range(n):
            at = datetime.fromtimestamp(float(when[k]), UTC)
            expected["alarms_raised"][_beijing_year(float(when[k]))] += 1
            yield (
                codes[where[k]],
                "threshold",
                "yellow",
                "orange",
                "closed",
                False,
                int(when[k]),
                int(when[k]),
                at,
                at,
            )

    bulk(
        engine,
        Alarm.__table__,
        (
            "division_code",
            "rule",
            "level",
            "peak_level",
            "status",
            "condition_active",
            "first_ts",
            "last_ts",
            "raised_at",
            "updated_at",
        ),
        alarms(),
        lambda k: progress.advance(task, k),
    )
    progress.update(task, completed=n)

    # warnings with their deliveries, resources, statistics
    task = progress.add_task("预警、资源、统计 warnings, resources, statistics", total=3)
    with Session(engine) as s:
        when = _when(rng, 600)
        for k in range(600):
            at = datetime.fromtimestamp(float(when[k]), UTC)
            w = Warning(
                kind="local",
                status="issued",
                msg_type="Alert",
                event_type=str(rng.choice(["rainstorm", "typhoon", "gale", "gas_leak"])),
                level=str(rng.choice(["red", "orange", "yellow", "blue"])),
                headline=f"预警{k}",
                division_code=codes[int(rng.integers(0, len(codes)))],
                targeting={"population": int(rng.integers(10_000, 900_000))},
                issued_at=at,
                created_at=at,
                updated_at=at,
            )
            s.add(w)
            s.flush()
            for channel in ("sms", "broadcast", "siren", "internal"):
                s.add(
                    Delivery(
                        warning_id=w.id,
                        channel=channel,
                        status=str(rng.choice(["sent", "sent", "sent", "logged"])),
                        reached=int(rng.integers(0, 900_000)),
                        created_at=at,
                        updated_at=at,
                    )
                )
        s.commit()
        progress.advance(task)
        for k in range(400):
            s.add(
                Shelter(
                    name=f"避难场所{k}",
                    division_code=codes[k % len(codes)],
                    effective_area_m2=float(rng.uniform(2_000, 80_000)),
                )
            )
        for k in range(80):
            s.add(
                RescueTeam(
                    name=f"消防站{k}",
                    division_code=codes[k % len(codes)],
                    team_type="fire_rescue",
                    members=int(rng.integers(20, 60)),
                )
            )
        for k in range(40):
            s.add(
                Warehouse(
                    name=f"物资库{k}",
                    division_code=codes[k % len(codes)],
                    tier="city" if k < 4 else "district",
                    floor_area_m2=float(rng.uniform(800, 6_000)),
                )
            )
        s.commit()
        progress.advance(task)
        admin = Principal(0, "bench", "admin", CITY)
        items = []
        for d in [CITY] + [c["code"] for c in counties]:
            pop = (
                float(sum(c.get("population", 0) for c in counties))
                if d == CITY
                else float(next(c["population"] for c in counties if c["code"] == d))
            )
            for i, y in enumerate(YEARS):
                if y > NOW.astimezone(BEIJING).year:
                    continue
                p = pop * (1 + 0.004 * i)
                row = {
                    "gdp_100m_yuan": round(p * 0.0012 * 1.05**i, 1),
                    "resident_population": round(p),
                    "vehicles_10k": round(p / 40_000, 2),
                    "industry_mining_trade_workers": round(p * 0.2),
                    "forest_area_ha": round(p / 20),
                    "forest_fire_damaged_ha": round(float(rng.uniform(0, 8)), 2),
                }
                if (d, y) == GAP:
                    del row["vehicles_10k"]
                items += [
                    StatIn(d, y, name, v, "烟台统计年鉴（基准测试）") for name, v in row.items()
                ]
        service.record_statistics(s, admin, items, NOW)
        s.commit()
        progress.advance(task)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return {k: dict(v) for k, v in expected.items()}


def import_set(engine: Engine) -> int:
    body = resources.files("safecity.indicators").joinpath("data/yantai.toml").read_text("utf-8")
    with Session(engine) as s:
        res = service.import_set(
            s, Principal(0, "bench", "admin", CITY), body + EXTRA_INDICATORS, NOW
        )
        s.commit()
        return res.set.id


# --------------------------------------------------------------------------- timing


def run_backend(
    backend: str, args: argparse.Namespace, progress: Progress, tmp: Path
) -> dict[str, Any]:
    url = fresh_database(backend, tmp)
    out: dict[str, Any] = {}
    try:
        upgrade(url)
        engine = make_engine(url)
        t = time.perf_counter()
        expected = seed(engine, args, progress)
        out["seed_seconds"] = round(time.perf_counter() - t, 1)
        set_id = import_set(engine)
        analyst = Principal(0, "bench", "risk_analyst", CITY)
        times, cpu, ev = [], [], None
        task = progress.add_task(f"{backend}: evaluate ×{args.repeats}", total=args.repeats)
        for _ in range(args.repeats):
            with Session(engine) as s:
                t, c = time.perf_counter(), time.process_time()
                ev = service.evaluate(s, analyst, set_id, NOW, years=YEARS)
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
            progress.advance(task)
        assert ev is not None
        tally = Counter(c.progress.status for c in ev.cells.values())
        computed = sum(1 for c in ev.cells.values() if c.progress.value is not None)
        origins = Counter(u.origin for c in ev.cells.values() for u in c.inputs)
        mismatches = []
        for name, by_year in expected.items():
            for y in YEARS:
                cell = next(
                    c
                    for (k, d, yy), c in ev.cells.items()
                    if d == CITY and yy == y and any(u.name == name for u in c.inputs)
                )
                got = next(u.value for u in cell.inputs if u.name == name)
                if got != by_year.get(y, 0):
                    mismatches.append(f"{name} {y}: {got} != {by_year.get(y, 0)}")
        gap = ev.cell("road_deaths_per_10k_vehicles", *GAP)
        out |= {
            "median_ms": round(statistics.median(times), 1),
            "min_ms": round(min(times), 1),
            "max_ms": round(max(times), 1),
            # this process's CPU time (SQLite's work included, PostgreSQL's server not): how much
            # of the wall-clock time a loaded machine added
            "median_cpu_ms": round(statistics.median(cpu), 1),
            "cells": len(ev.cells),
            "computed": computed,
            "not_computed": len(ev.cells) - computed,
            "status": dict(tally),
            "input_origins": dict(origins),
            "records_match": int(not mismatches),
            "mismatches": mismatches[:5],
            "gap_named": int(
                gap is not None
                and gap.progress.value is None
                and "vehicles_10k" in [u.name for u in gap.missing]
            ),
        }
        if not args.no_peer:
            with Session(engine) as s:
                t = time.perf_counter()
                adapters.accident_values_by_record(s, ev.divisions, YEARS, NOW)
                out["peer_accidents_record_by_record_ms"] = round(
                    (time.perf_counter() - t) * 1000, 1
                )
                t = time.perf_counter()
                adapters._accident_values(s, ev.divisions, YEARS, NOW)
                out["accidents_grouped_ms"] = round((time.perf_counter() - t) * 1000, 1)
        engine.dispose()
    finally:
        drop_database(backend, url)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accidents", type=int, default=100_000)
    parser.add_argument("--hidden-dangers", type=int, default=1_000_000)
    parser.add_argument("--alarms", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "benchmark": "indicators",
        "now": NOW.isoformat(),
        "years": [YEARS[0], YEARS[-1]],
        "accidents": args.accidents,
        "hidden_dangers": args.hidden_dangers,
        "alarms": args.alarms,
        "warnings": 600,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "timed": "indicators.service.evaluate: whole set (16 indicators), every division (12), 2017-2026, from the records through the owners' figures functions, fresh session per run",
        "not_timed": "seeding, migrations, importing the set, HTTP/JSON/page rendering",
    }
    checks, errors = [], []
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with tempfile.TemporaryDirectory() as tmp, Progress(*columns, console=console) as progress:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            try:
                fig = run_backend(backend, args, progress, Path(tmp))
            except Exception as exc:  # noqa: BLE001 a failing backend is reported, not fatal
                errors.append(f"{backend}: {type(exc).__name__}: {exc}")
                console.print(traceback.format_exc())
                fig = {}
            result[backend] = fig
            checks += [
                (f"{backend}.median_ms", fig.get("median_ms"), "<", TARGET_MS),
                (f"{backend}.max_ms", fig.get("max_ms"), "<", TARGET_MS),
                (f"{backend}.records_match", fig.get("records_match"), "==", 1),
                (f"{backend}.gap_named", fig.get("gap_named"), "==", 1),
            ]
    result["target_ms"] = TARGET_MS
    result |= verdict(checks, errors)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
