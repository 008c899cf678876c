"""Benchmark: demo city load, and a filtered enterprise list page over 100,000 enterprises.

Prints one JSON object. For each backend (SQLite file, PostgreSQL) it reports the demo load time,
then loads a city with ~100,000 enterprises and times the first page of a filtered, sorted list
(as the API serves it, through HTTP in-process) against the same query in raw SQL — the floor
the service layer is compared with. Target: list page p95 < 100 ms on every backend.

Timed: the list page through the whole app (routing, auth, scope, query, JSON) via an in-process
TestClient (no network, no uvicorn), the keyword search page, raw SQL of the same list (the
floor), demo generation and load. Not timed: HTTP over a socket, the browser, login.
Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it): list_page_p95_ms of each backend;
an erroring backend makes meets_target false. Search and load times are reported, not judged.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from safecity.core.db import make_engine, reset_engine
from safecity.core.migrate import upgrade
from safecity.registry import demo
from safecity.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judging import backend_errors, verdict
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

NOW = datetime(2026, 11, 23, tzinfo=UTC)
PG_ADMIN = os.environ.get(
    "SAFECITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REPEATS = int(os.environ.get("BENCH_REPEATS", "60"))
SCALE = float(os.environ.get("BENCH_SCALE", "33.4"))  # × ~3,000 enterprises ≈ 100,000


def _pg_url(name: str) -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def _load(url: str, scale: float) -> tuple[float, float, dict]:

    upgrade(url)
    t0 = time.perf_counter()
    city = demo.generate(seed=20260101, now=NOW, scale=scale)
    t1 = time.perf_counter()
    engine = make_engine(url)
    with sessionmaker(bind=engine)() as session:
        counts = demo.load(session, city, NOW)
        session.commit()
    t2 = time.perf_counter()
    engine.dispose()
    return t1 - t0, t2 - t1, counts


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000


def _time_list(url: str) -> dict:

    os.environ["SAFECITY_DATABASE_URL"] = url
    reset_engine()
    params = {"division": "370681", "industry_section": "C", "sort": "name", "size": 50}
    with TestClient(create_app()) as client:
        tok = client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo1234"})
        headers = {"Authorization": "Bearer " + tok.json()["access_token"]}
        api: list[float] = []
        search: list[float] = []
        total = 0
        for i in range(REPEATS + 5):
            t = time.perf_counter()
            resp = client.get(
                "/api/v1/enterprises", params={**params, "page": 1 + i % 5}, headers=headers
            )
            if i >= 5:
                api.append(time.perf_counter() - t)
            total = resp.json()["total"]
            t = time.perf_counter()
            client.get("/api/v1/enterprises", params={"q": "化工", "size": 50}, headers=headers)
            search.append(time.perf_counter() - t)
    engine = create_engine(url)
    raw: list[float] = []
    sql = text(
        "SELECT * FROM enterprises WHERE division_code >= '370681' AND division_code < '370682' AND "
        "industry_section = 'C' AND archived = :f ORDER BY name, id LIMIT 50"
    )
    count = text(
        "SELECT count(*) FROM enterprises WHERE division_code >= '370681' AND division_code < '370682' AND "
        "industry_section = 'C' AND archived = :f"
    )
    with engine.connect() as conn:
        for _ in range(REPEATS):
            t = time.perf_counter()
            conn.execute(sql, {"f": False}).fetchall()
            conn.execute(count, {"f": False}).scalar()
            raw.append(time.perf_counter() - t)
    engine.dispose()
    return {
        "list_page_p95_ms": round(_p95(api), 1),
        "list_page_median_ms": round(statistics.median(api) * 1000, 1),
        "matching_rows": total,
        "search_p95_ms": round(_p95(search), 1),
        "raw_sql_p95_ms": round(_p95(raw), 1),
    }


def run_backend(name: str, make_url_for) -> dict:  # type: ignore[no-untyped-def]
    demo_url = make_url_for("demo")
    gen_s, load_s, counts = _load(demo_url, 1.0)
    big_url = make_url_for("big")
    big_gen, big_load, big_counts = _load(big_url, SCALE)
    result = {
        "demo_generate_s": round(gen_s, 2),
        "demo_load_s": round(load_s, 2),
        "demo_counts": counts,
        "big_enterprises": big_counts.get("enterprises"),
        "big_load_s": round(big_gen + big_load, 1),
    }
    result.update(_time_list(big_url))
    return result


BACKENDS = ("sqlite", "postgresql")
TIMED = [
    "list page via in-process app (TestClient)",
    "keyword search page",
    "raw SQL of the same list (floor)",
    "demo generation and load",
]
NOT_TIMED = ["network and uvicorn", "browser rendering", "login"]


def judge(out: dict) -> dict:
    checks = [
        (f"{b}.list_page_p95_ms", out.get(b, {}).get("list_page_p95_ms"), "<", 100)
        for b in BACKENDS
    ]
    return verdict(checks, backend_errors(out, BACKENDS))


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="safecity-bench-"))
    out: dict = {
        "benchmark": "registry",
        "target_list_page_p95_ms": 100,
        "repeats": REPEATS,
        "timed": TIMED,
        "not_timed": NOT_TIMED,
        "cpus": os.cpu_count(),
    }
    out["sqlite"] = run_backend("sqlite", lambda n: f"sqlite:///{tmp}/{n}.db")
    try:
        out["postgresql"] = run_backend("postgresql", lambda n: _pg_url(f"safecity_bench_{n}"))
    except Exception as exc:  # noqa: BLE001  # report, do not hide, a missing server
        out["postgresql"] = {"error": str(exc)[:200]}
    out.update(judge(out))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
