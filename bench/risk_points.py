"""Benchmark: risk demo load, filtered risk point list pages, enterprise level, exposure.

Prints one JSON object. For each backend (SQLite file, PostgreSQL) it loads the demo city at
BENCH_SCALE (× ~3,000 enterprises; the risk demo gives each 1–8 risk points) and the risk demo,
then times as the API serves them:
  * a filtered, sorted risk point list page (division + level + industry, sort by level) — target
    p95 < 100 ms;
  * an enterprise's inherent level (GET /risk/enterprises/{id}/level) — target p95 < 50 ms;
  * the 500 m exposure of a major hazard unit from grid cells and targets — target p95 < 50 ms;
and the risk demo load itself against its budget of 20 s (`safecity demo`) at scale 1, scaled
linearly with BENCH_SCALE (the demo gives each enterprise its risk points).

Timed: the service functions the API calls (list_points, enterprise_level, compute_exposure) in
one session, and the risk demo load. Not timed: HTTP, routing, auth, JSON encoding (the registry
bench times those for a list page), the city registry load.
Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it) on every backend: the three p95s and
the load budget; an erroring backend makes meets_target false. The unfiltered list is reported.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.core.scope import Principal
from safecity.models_all import import_all
from safecity.registry import demo as city_demo
from safecity.risk import demo
from safecity.risk.major_hazards import service as hazard_service
from safecity.risk.models import MajorHazard, RiskPoint
from safecity.risk.points import enterprise
from safecity.risk.points import service as point_service

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judging import backend_errors, verdict
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

NOW = datetime(2026, 11, 23, tzinfo=UTC)
PG_ADMIN = os.environ.get(
    "SAFECITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REPEATS = int(os.environ.get("BENCH_REPEATS", "40"))
SCALE = float(os.environ.get("BENCH_SCALE", "3"))


def _pg_url(name: str) -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def _drop_pg(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[18] * 1000, 2)


def _timed(fn, repeats: int = REPEATS) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return _p95(samples)


def _run(url: str) -> dict:

    import_all()
    upgrade(url)
    engine = make_engine(url)
    factory = sessionmaker(bind=engine)
    with factory() as session:
        city_demo.load(session, city_demo.generate(seed=20260101, now=NOW, scale=SCALE), NOW)
        session.commit()
    with factory() as session:
        t0 = time.perf_counter()
        counts = demo.load(session, NOW)
        session.commit()
        load_s = time.perf_counter() - t0
    analyst = Principal(1, "analyst", "risk_analyst", "370600")
    with factory() as session:
        points = session.scalar(select(func.count()).select_from(RiskPoint))
        busiest = session.scalar(
            select(RiskPoint.enterprise_id)
            .where(RiskPoint.enterprise_id.is_not(None))
            .group_by(RiskPoint.enterprise_id)
            .order_by(func.count().desc())
            .limit(1)
        )
        unit = session.scalar(
            select(MajorHazard)
            .where(MajorHazard.is_major.is_(True))
            .order_by(MajorHazard.exposed_population.desc())
            .limit(1)
        )
        query = point_service.PointQuery(
            division="370683",
            level="yellow",
            industry="C",
            sort="level",
            desc=True,
            size=50,
            today=NOW.date(),
        )
        first = point_service.list_points(session, analyst, query)
        list_p95 = _timed(lambda: point_service.list_points(session, analyst, query))
        plain = point_service.PointQuery(size=50, sort="name")
        plain_p95 = _timed(lambda: point_service.list_points(session, analyst, plain))
        level_p95 = _timed(lambda: enterprise.enterprise_level(session, analyst, busiest))
        exposure_p95 = _timed(
            lambda: hazard_service.compute_exposure(session, unit.lon, unit.lat, unit.boundary), 20
        )
    engine.dispose()
    return {
        "risk_points": points,
        "major_hazards": counts.get("major_hazards"),
        "risk_demo_load_s": round(load_s, 2),
        "filtered_list_total": first.total,
        "filtered_list_p95_ms": list_p95,
        "unfiltered_list_p95_ms": plain_p95,
        "enterprise_level_p95_ms": level_p95,
        "exposure_p95_ms": exposure_p95,
    }


BACKENDS = ("sqlite", "postgresql")
TARGETS = {"filtered_list_p95_ms": 100, "enterprise_level_p95_ms": 50, "exposure_p95_ms": 50}
TIMED = [
    ("service functions as the API calls them: list_points, enterprise_level and compute_exposure"),
    "risk demo load",
]
NOT_TIMED = ["HTTP, routing, auth and JSON encoding", "the city registry load"]


def judge(out: dict) -> dict:
    budget = 20 * max(1.0, float(out.get("scale", 1)))
    checks = []
    for b in BACKENDS:
        part = out.get(b, {})
        checks += [(f"{b}.{k}", part.get(k), "<", t) for k, t in TARGETS.items()]
        checks.append((f"{b}.risk_demo_load_s", part.get("risk_demo_load_s"), "<=", budget))
    return verdict(checks, backend_errors(out, BACKENDS))


def main() -> None:
    out: dict = {
        "benchmark": "risk_points",
        "scale": SCALE,
        "repeats": REPEATS,
        "targets": {
            "filtered_list_p95_ms": 100,
            "enterprise_level_p95_ms": 50,
            "exposure_p95_ms": 50,
            "risk_demo_load_s_at_scale_1": 20,
        },
        "timed": TIMED,
        "not_timed": NOT_TIMED,
        "cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = _run(f"sqlite:///{tmp}/bench.db")
    name = f"safecity_bench_risk_points_{os.getpid()}"
    try:
        out["postgresql"] = _run(_pg_url(name))
    except Exception as exc:  # noqa: BLE001  # report, do not crash, when PG is unavailable
        out["postgresql"] = {"error": str(exc)[:200]}
    finally:
        with contextlib.suppress(Exception):
            _drop_pg(name)
    out.update(judge(out))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
