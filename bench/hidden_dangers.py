"""Hidden-danger benchmark on PostgreSQL: the statistics dashboard over 1,000,000 hidden dangers
(target < 500 ms) and the escalation job over 100,000 open ones. Prints one JSON object.

    .venv/bin/python bench/hidden_dangers.py [--rows 1000000] [--open 100000]

Uses SAFECITY_BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres) to
create and drop its own database.

Timed: `stats.dashboard` (the service call behind /api/v1/hazards/stats) for the city, one
district and a filtered city view, each 7 times in a fresh session; one escalation pass
(`jobs.run_once`) and a second pass at the same instant. Peer: the same run's plain
`count(*)` over the table, the least any dashboard can cost. Not timed: HTTP, auth, JSON
encoding, the page's charts, notification delivery (only queued).
Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it): median and slowest of every
dashboard < 500 ms, and the second escalation pass makes no step (nothing is escalated twice).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.registry import demo
from safecity.registry.models import Enterprise

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from safecity.core.scope import Principal
from safecity.hazards import final_counts, jobs, rules, stats
from safecity.hazards import workflow as wf
from safecity.hazards.models import HiddenDanger

sys.path.insert(0, str(Path(__file__).resolve().parent))
from judging import verdict

ADMIN_URL = os.environ.get(
    "SAFECITY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TARGET_MS = 500
CLOSED_SHARE_STATUSES = ("closed", "rejected")
COLUMNS = (
    "title",
    "description",
    "category",
    "grade",
    "grade_basis",
    "source",
    "status",
    "division_code",
    "enterprise_id",
    "industry_section",
    "industry_code",
    "lon",
    "lat",
    "address",
    "reporter_name",
    "reporter_phone",
    "reported_at",
    "month",
    "rejected_reason",
    "responsible_party",
    "responsible_person",
    "measures",
    "interim_measures",
    "deadline",
    "supervisor_division_code",
    "supervisor_name",
    "closed_at",
    "closed_late",
    "days_to_close",
    "escalation_level",
    "next_escalation_at",
    "updated_at",
)


def fresh_database() -> str:
    name = f"safecity_bench_hd_{os.getpid()}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def load_city(engine) -> list:  # type: ignore[no-untyped-def]

    with Session(engine) as session:
        demo.load(session, demo.generate(seed=7, now=NOW), NOW)
        session.commit()
        return list(
            session.execute(
                select(
                    Enterprise.id,
                    Enterprise.division_code,
                    Enterprise.industry_section,
                    Enterprise.industry_code,
                )
            )
        )


def _value(v: object) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, bool):
        return "t" if v else "f"
    return str(v).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def rows(n: int, n_open: int, enterprises: list, seed: int = 1):  # type: ignore[no-untyped-def]
    """n hidden dangers over two years, the last n_open of them open with deadlines around now."""
    rng = random.Random(seed)
    cats = list(wf.CATEGORIES)
    sources = list(wf.SOURCES)
    open_states = [wf.REGISTERED, wf.RECTIFYING, wf.RECTIFYING, wf.RECTIFYING, wf.PLAN_SUBMITTED]
    for i in range(n):
        e = enterprises[rng.randrange(len(enterprises))]
        reported = NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        major = rng.random() < 0.03
        grade = "major" if major else "general"
        closed_at = closed_late = days = deadline = nxt = None
        level = 0
        if i >= n - n_open:
            status = (
                rng.choice(open_states) if not major or rng.random() < 0.7 else wf.PLAN_SUBMITTED
            )
            deadline = NOW + timedelta(hours=rng.uniform(-40 * 24, 30 * 24))
            nxt = rules.next_escalation(deadline, 0, status)
        else:
            status = "rejected" if rng.random() < 0.06 else "closed"
            if status == "closed":
                deadline = reported + timedelta(days=rng.choice((7, 15, 30)))
                days = round(rng.uniform(1, 40), 2)
                closed_at = reported + timedelta(days=days)
                closed_late = closed_at > deadline
            else:
                grade = None
        yield (
            f"隐患{i}",
            "",
            rng.choice(cats),
            grade,
            "",
            rng.choice(sources),
            status,
            e.division_code,
            e.id,
            e.industry_section,
            e.industry_code,
            121.4,
            37.5,
            "",
            "",
            "",
            reported,
            rules.month_of(reported),
            "",
            "企业",
            "",
            "",
            "",
            deadline,
            e.division_code if major else None,
            "应急管理局" if major else "",
            closed_at,
            closed_late,
            days,
            level,
            nxt,
            reported,
        )


def copy_hidden_dangers(engine, n: int, n_open: int, enterprises: list) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cols = ", ".join(COLUMNS)
        with cur.copy(f"COPY hd_hidden_dangers ({cols}) FROM STDIN") as copy:
            buf = io.StringIO()
            for k, row in enumerate(rows(n, n_open, enterprises), 1):
                buf.write("\t".join(_value(v) for v in row))
                buf.write("\n")
                if k % 50_000 == 0:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()
    with Session(engine) as session:
        final_counts.rebuild_final(session)  # what `safecity demo` does after its bulk load
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE hd_hidden_dangers"))
        conn.execute(text("VACUUM ANALYZE hd_final_counts"))
    return time.perf_counter() - started


def time_dashboard(engine, who: Principal, repeat: int = 7, **params: str) -> dict:  # type: ignore[no-untyped-def]
    times = []
    data = {}
    for _ in range(repeat):
        with Session(engine) as session:
            t = time.perf_counter()
            data = stats.dashboard(session, who, stats.Params(**params), NOW)
            times.append((time.perf_counter() - t) * 1000)
    return {
        "median_ms": round(statistics.median(times), 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
        "total": data["totals"]["total"],
        "overdue": data["totals"]["overdue"],
        "rectification_rate": data["totals"]["rectification_rate"],
    }


DASHBOARDS = ("dashboard_city", "dashboard_district", "dashboard_city_major_2026")
TIMED = [
    "stats.dashboard service call, 7 runs each, fresh session",
    "escalation job: first pass and a second pass at the same instant",
    "plain count(*) over hd_hidden_dangers (peer)",
]
NOT_TIMED = [
    "HTTP, auth, JSON encoding and the page's charts",
    "notification delivery",
    "data load (reported)",
]


def judge(result: dict) -> dict:
    checks = []
    for name in DASHBOARDS:
        fig = result.get(name) or {}
        checks += [
            (f"{name}.median_ms", fig.get("median_ms"), "<", TARGET_MS),
            (f"{name}.max_ms", fig.get("max_ms"), "<", TARGET_MS),
        ]
    checks.append(
        (
            "escalation.second_run_steps",
            (result.get("escalation") or {}).get("second_run_steps"),
            "==",
            0,
        )
    )
    return verdict(checks)


def count_all_ms(engine) -> float:  # type: ignore[no-untyped-def]
    times = []
    with engine.connect() as conn:
        for _ in range(7):
            t = time.perf_counter()
            conn.execute(text("SELECT count(*) FROM hd_hidden_dangers")).scalar_one()
            times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    url = fresh_database()
    try:
        upgrade(url)
        engine = make_engine(url)
        enterprises = load_city(engine)
        load_s = copy_hidden_dangers(engine, args.rows, args.open, enterprises)
        city = Principal(1, "admin", "admin", "370600")
        district = Principal(2, "zhifu", "district_officer", "370602")
        result: dict = {
            "benchmark": "hidden_dangers",
            "database": "postgresql",
            "rows": args.rows,
            "open": args.open,
            "load_seconds": round(load_s, 1),
            "dashboard_city": time_dashboard(engine, city),
            "dashboard_district": time_dashboard(engine, district),
            "dashboard_city_major_2026": time_dashboard(
                engine, city, grade="major", month_from="2026-01"
            ),
            "dashboard_target_ms": TARGET_MS,
            "peer_count_all_median_ms": count_all_ms(engine),
            "timed": TIMED,
            "not_timed": NOT_TIMED,
            "cpus": os.cpu_count(),
        }
        factory = sessionmaker(bind=engine, expire_on_commit=False)

        @contextmanager
        def scope():  # type: ignore[no-untyped-def]
            s = factory()
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise
            finally:
                s.close()

        with Session(engine) as session:
            due = session.scalar(
                select(func.count())
                .select_from(HiddenDanger)
                .where(HiddenDanger.next_escalation_at <= NOW)
            )
        t = time.perf_counter()
        report = jobs.run_once(scope, NOW)
        first = time.perf_counter() - t
        t = time.perf_counter()
        again = jobs.run_once(scope, NOW)
        second = time.perf_counter() - t
        result["escalation"] = {
            "open": args.open,
            "due": due,
            "seconds": round(first, 1),
            "per_second": round(report.checked / first) if first else None,
            "steps": report.steps,
            "notifications": report.notifications,
            "events": report.events,
            "second_run_seconds": round(second, 3),
            "second_run_steps": sum(again.steps.values()),
        }
        engine.dispose()
    finally:
        if not args.keep:
            drop_database(url)
    result.update(judge(result))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
