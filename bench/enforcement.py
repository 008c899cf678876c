"""Benchmark: the 双随机 draw over 100,000 enterprises and 2,000 inspectors, its verification,
and the penalty-case list at 100,000 cases on SQLite and PostgreSQL.

Prints one JSON object.

Draw (no database: the draw is pure). Pools are synthetic and deterministic: 100,000 targets
across 12 divisions, 1 % key units; 2,000 inspectors, 2 % with an expired certificate, each
with 3 declared relations and 1 former employer; the previous draw's assignments (a first draw
with another seed, not timed) excluded. Timed: `draw` (validation, HMAC ranking, inspector
assignment, pool fingerprint) and `verify` (commitment check + a full re-run + comparison),
each the median of BENCH_REPEATS runs (max reported; the draw's CPU time too, as the machine is
often shared).

Case list. For each backend (SQLite; PostgreSQL unless BENCH_SKIP_PG=1) a fresh database gets
the demo city's registry (3,000 enterprises) and BENCH_CASES cases (100,000; bulk insert with a
progress bar on stderr, spread over the demo's enterprises and three years, 75 % finished, the
open ones with 90-day deadlines, some past). Timed, BENCH_LIST_REPEATS times each (30), in one
session: the case-list page's whole query work — `case_list` (the state tabs' counts, the
total, the first page of 50 in the default order) and the page's enterprise names —
for the city administrator unfiltered (`first_page`), a district officer (`district`), the
city filtered by a county, a state and overdue (`filtered`), and a text search for part of an
enterprise's name (`search`, six characters); reported but not judged, the same search with
its first two characters (`search_two_chars`: below a trigram, so it scans every case).
Not timed: HTTP, auth, template rendering, seeding.

Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it): draw median ≤ 1 s, verify median
≤ 1 s, the verification passing (1 == 1), and the four judged case-list p95 < 300 ms on every
backend; a backend that errors is a miss.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))  # judging.py, after the standard library

from judging import verdict

from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.core.scope import Principal
from safecity.enforcement import case_search, common
from safecity.enforcement.draw import Inspector, Target, draw, verify
from safecity.enforcement.models import Case
from safecity.models_all import import_all
from safecity.registry import demo as registry_demo
from safecity.registry.models import Division, Enterprise

ON = date(2026, 12, 6)
NOW = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
N_TARGETS = int(os.environ.get("BENCH_TARGETS", "100000"))
N_INSPECTORS = int(os.environ.get("BENCH_INSPECTORS", "2000"))
N_CASES = int(os.environ.get("BENCH_CASES", "100000"))
LIST_REPEATS = int(os.environ.get("BENCH_LIST_REPEATS", "30"))
LIST_TARGET_MS = 300
PG_ADMIN = os.environ.get(
    "SAFECITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PG_NAME = "safecity_bench_enforcement"
SEED = bytes.fromhex("5a" * 32)
LISTS = ("first_page", "district", "filtered", "search")
TIMED = [
    "draw(): validation, HMAC-SHA256 ranking, inspector assignment, pool fingerprint",
    "verify(): commitment, full re-run, comparison",
    "case list: case_list (state counts, total, page of 50), the page's enterprise names",
]
NOT_TIMED = [
    "building the pools",
    "the previous draw whose pairs are excluded",
    "seeding the case databases",
    "HTTP, auth and template rendering of the case list",
]
# The cases' states: most finished, the rest spread over the open states.
STATES = (
    ["closed"] * 70
    + ["not_filed", "revoked", "terminated"] * 2
    + ["clue", "filed", "investigating", "reviewing", "notified", "hearing"] * 2
    + ["decided", "served", "executing"] * 2
    + ["investigating", "reviewing"] * 3
)
BEFORE_DECISION = set(common.OPEN_BEFORE_DECISION)


def pools() -> tuple[list[Target], list[Inspector]]:
    targets = [
        Target(
            f"91370600{i:010d}",
            f"3706{i % 12:02d}",
            "C26" if i % 3 else "G54",
            "ABCD"[i % 4],
            i % 100 == 0,
        )
        for i in range(N_TARGETS)
    ]

    def ent(k: int) -> str:
        return targets[k % N_TARGETS].id

    inspectors = [
        Inspector(
            f"ZF{i:05d}",
            f"office-{i % 24}",
            date(2026, 1, 1) if i % 50 == 0 else date(2028, 1, 1),
            frozenset({ent(i * 31), ent(i * 37 + 5), ent(i * 41 + 11)}),
            frozenset({ent(i * 53 + 3)}),
        )
        for i in range(N_INSPECTORS)
    ]
    return targets, inspectors


def judge(out: dict) -> dict:
    checks: list[tuple[str, Any, str, float]] = [
        ("draw_median_s", out.get("draw_median_s"), "<=", 1.0),
        ("verify_median_s", out.get("verify_median_s"), "<=", 1.0),
        ("verified", out.get("verified"), "==", 1),
    ]
    errors = []
    for kind in out.get("backends") or ():
        part = out.get(kind) or {"error": "not measured"}
        if "error" in part:
            errors.append(f"{kind}: {part['error']}")
            continue
        for name in LISTS:
            value = (part.get(name) or {}).get("p95_ms")
            checks.append((f"{kind}.{name}.p95_ms", value, "<", LIST_TARGET_MS))
    return verdict(checks, errors)


def run_draw() -> dict[str, Any]:
    targets, inspectors = pools()
    before = draw(targets, inspectors, bytes(32), date(2026, 6, 1))
    previous = {t: ins for t, ins in before.assignments}
    draws, checks, cpu = [], [], []
    result = None
    ok = False
    for _ in range(REPEATS):
        t0, c0 = time.perf_counter(), time.process_time()
        result = draw(targets, inspectors, SEED, ON, previous=previous)
        draws.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        ok = verify(result, SEED, targets, inspectors, previous).ok
        checks.append(time.perf_counter() - t0)
    assert result is not None
    return {
        "targets_in_pool": N_TARGETS,
        "inspectors_in_pool": N_INSPECTORS,
        "repeats": REPEATS,
        "selected": len(result.assignments),
        "key_units": len(result.key_targets),
        "random": len(result.random_targets),
        "expired_excluded": result.expired_excluded,
        "draw_median_s": round(statistics.median(draws), 3),
        "draw_max_s": round(max(draws), 3),
        "draw_cpu_median_s": round(statistics.median(cpu), 3),
        "verify_median_s": round(statistics.median(checks), 3),
        "verify_max_s": round(max(checks), 3),
        "verified": int(ok),
    }


# ---------------------------------------------------------------- the case list


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)


def case_rows(ents: list[Any], rng: random.Random) -> Any:
    """N_CASES case rows as the service would have left them, oldest first."""
    table = common.table()
    violations = list(table.violations)
    circumstances = list(table.circumstances)
    span = 3 * 365 * 24 * 60
    per_year: dict[tuple[str, int], int] = {}
    for i in range(N_CASES):
        e = ents[rng.randrange(len(ents))]
        opened = NOW - timedelta(minutes=span * (N_CASES - i) // N_CASES + rng.randrange(60))
        state = STATES[rng.randrange(len(STATES))] if opened > NOW - timedelta(days=200) else None
        state = state or ("closed" if rng.random() < 0.93 else "terminated")
        violation = violations[i % len(violations)]
        filed = None if state in ("clue", "not_filed") else opened + timedelta(days=3)
        number = ""
        if filed is not None:
            key = (e.division_code, filed.year)
            per_year[key] = per_year.get(key, 0) + 1
            number = f"应急罚〔{filed.year}〕{e.division_code[:6]}-{per_year[key]:04d}号"
        deadline = filed + timedelta(days=90) if filed and state in BEFORE_DECISION else None
        final = state in ("closed", "not_filed", "revoked", "terminated")
        name = table.violations[violation][0]
        yield {
            "number": number,
            "title": f"{e.name}{name}案",
            "search_text": case_search.search_text(number, f"{e.name}{name}案"),
            "enterprise_id": e.id,
            "division_code": e.division_code,
            "industry_code": e.industry_code,
            "violation": violation,
            "circumstance": circumstances[i % len(circumstances)],
            "facts": "现场检查发现",
            "party_kind": "organisation",
            "state": state,
            "opened_at": opened,
            "filed_at": filed,
            "deadline_at": deadline,
            "fine_min": 20000,
            "fine_max": 50000,
            "decided_fine": 30000
            if state in ("decided", "served", "executing", "closed")
            else None,
            "extensions": [],
            "history": [],
            "inspector_username": "insp",
            "closed_at": opened + timedelta(days=40) if final else None,
            "updated_at": opened,
        }


def seed_cases(url: str, label: str) -> int:
    engine = make_engine(url)
    rng = random.Random(18)
    with Session(engine) as s:
        registry_demo.load(s, registry_demo.generate(seed=7, now=NOW), NOW)
        s.commit()
        ents = list(
            s.execute(
                select(
                    Enterprise.id,
                    Enterprise.name,
                    Enterprise.division_code,
                    Enterprise.industry_code,
                ).order_by(Enterprise.id)
            )
        )
        batch: list[dict[str, Any]] = []
        with Progress(
            TextColumn(f"[bold]{label}[/] cases"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("seed", total=N_CASES)
            for row in case_rows(ents, rng):
                batch.append(row)
                if len(batch) == 5000:
                    s.execute(insert(Case), batch)
                    bar.advance(task, len(batch))
                    batch = []
            if batch:
                s.execute(insert(Case), batch)
                bar.advance(task, len(batch))
        s.commit()
    # The steady state of a live database (autovacuum's work): statistics, and on PostgreSQL a
    # visibility map, without which its index-only scans still read the table.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    return len(ents)


def measure_cases(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    out: dict[str, Any] = {}
    with Session(engine) as s:
        city = Principal(1, "admin", "admin", "370600")
        county = s.scalar(
            select(Division.code).where(Division.level == "county").order_by(Division.code)
        )
        assert county is not None
        district = Principal(2, "officer", "district_officer", county)
        # A search for one enterprise by part of its name (its cases among the 100,000).
        some = s.scalar(select(Case.title).order_by(Case.id.desc()).limit(1)) or ""
        needle = some[2:8]
        lists = {
            "first_page": (city, case_search.CaseFilters()),
            "district": (district, case_search.CaseFilters()),
            "filtered": (
                city,
                case_search.CaseFilters(division=county, state="investigating", overdue=True),
            ),
            "search": (city, case_search.CaseFilters(q=needle)),
            # reported, not judged: two characters are below a trigram, so no index serves them
            "search_two_chars": (city, case_search.CaseFilters(q=needle[:2])),
        }

        def page(who: Principal, f: case_search.CaseFilters) -> int:
            case_search.case_filters_checked(s, who, f)
            found = case_search.case_list(s, who, f, NOW)
            common.names_of(s, {c.enterprise_id for c in found.items})
            return found.total

        for name, (who, f) in lists.items():
            total = page(who, f)  # warm
            ms = timed(lambda who=who, f=f: page(who, f))
            out[name] = {
                "p95_ms": p95(ms),
                "median_ms": round(statistics.median(ms), 1),
                "matching": total,
            }
        out["search"]["text"] = needle
        out["search_two_chars"]["text"] = needle[:2]
        out["search_two_chars"]["judged"] = False
        out["cases"] = s.scalar(select(func.count()).select_from(Case))
    engine.dispose()
    return out


def timed(fn: Callable[[], Any]) -> list[float]:
    out = []
    for _ in range(LIST_REPEATS):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def case_backend(kind: str, folder: Path) -> dict[str, Any]:
    admin = None
    if kind == "sqlite":
        db = folder / "enforcement_cases.db"
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
        url = make_url(PG_ADMIN).set(database=PG_NAME).render_as_string(False)
    try:
        upgrade(url)
        t = time.perf_counter()
        enterprises = seed_cases(url, kind)
        seeded = round(time.perf_counter() - t, 1)
        result = {"enterprises": enterprises, "seed_s": seeded, **measure_cases(url)}
    except Exception as exc:  # noqa: BLE001 a failing backend is reported, never a pass
        result = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
            admin.dispose()
        elif kind == "sqlite":
            db.unlink(missing_ok=True)
    return result


def main() -> None:
    import_all()
    out: dict[str, Any] = {"benchmark": "enforcement", **run_draw()}
    kinds = ["sqlite"] + ([] if os.environ.get("BENCH_SKIP_PG") == "1" else ["postgresql"])
    folder = Path(os.environ.get("BENCH_DIR", "/tmp"))
    out.update({"cases_seeded": N_CASES, "list_repeats": LIST_REPEATS, "backends": kinds})
    for kind in kinds:
        out[kind] = case_backend(kind, folder)
    out.update(
        {
            "target": {"draw_s": 1.0, "verify_s": 1.0, "case_list_p95_ms": LIST_TARGET_MS},
            "timed": TIMED,
            "not_timed": NOT_TIMED,
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
    )
    out.update(judge(out))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
