"""Benchmark: emergency command over BENCH_INCIDENTS incidents (100,000 by default).

Prints one JSON object. For each backend (SQLite; PostgreSQL unless BENCH_SKIP_PG=1) a fresh
database gets the demo city's registry and the incidents (bulk insert, spread over the demo
districts and four years, grades and states mixed); then, BENCH_REPEATS times each (30):
- list: the first page of the incident list (most severe first, then newest) as the city's
  commander and as a district officer, with the total count, and the overdue-report flags of
  the page (the list page's whole work);
- map: the open incidents layer of the one map (up to 200, GeoJSON built);
- surroundings: what lies within 3 km of a random incident, every layer of the command map
  (`response.surroundings.around`, as the command view does): protected targets, major hazards,
  enterprises, grid-cell population, BENCH_SENSORS sensors (100,000; 3 % vehicles reporting a
  position) with their latest values, BENCH_ALARMS open alarms (1,000, plus ten times as many
  closed) and the warnings in force covering the point (BENCH_WARNINGS, 30: circles and whole
  districts, plus as many expired).
Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it): list and map p95 < 300 ms,
surroundings p95 < 500 ms, on every backend, without error.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))  # judging.py, after the standard library

from judging import verdict

from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.core.scope import Principal
from safecity.models_all import import_all
from safecity.monitoring.models import Alarm, Sensor, SensorLatest
from safecity.registry import demo as registry_demo
from safecity.registry.models import Division, GridCell
from safecity.response import service
from safecity.response.api import GRADE_COLOUR
from safecity.response.models import Incident
from safecity.response.surroundings import around as surroundings_of
from safecity.warnings.models import Warning

N = int(os.environ.get("BENCH_INCIDENTS", "100000"))
SENSORS = int(os.environ.get("BENCH_SENSORS", "100000"))
ALARMS = int(os.environ.get("BENCH_ALARMS", "1000"))
WARNINGS = int(os.environ.get("BENCH_WARNINGS", "30"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "30"))
PG_ADMIN = os.environ.get(
    "SAFECITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TYPES = [
    ("accident_disaster.production_safety", True),
    ("accident_disaster.fire", True),
    ("accident_disaster.transport.road_traffic", True),
    ("accident_disaster.public_facility", False),
    ("natural_disaster.flood_drought.flood", False),
    ("public_health.food_occupational", False),
]
GRADES = [("ordinary", 1)] * 85 + [("relatively_serious", 2)] * 12 + [("serious", 3)] * 3
STATES = ["closed"] * 90 + ["received", "graded", "responding", "ended"] * 2 + ["merged"] * 2


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)


def timed(fn: Callable[[], Any]) -> list[float]:
    out = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def seed(url: str, now: Any) -> None:
    engine = make_engine(url)
    rng = random.Random(15)
    with Session(engine) as s:
        registry_demo.load(s, registry_demo.generate(seed=7, now=now), now)
        s.commit()
        cells = [(c.division_code, c.lon, c.lat) for c in s.scalars(select(GridCell))]
        rows = []
        for i in range(N):
            code, lon, lat = cells[i % len(cells)]
            type_key, ps = TYPES[rng.randrange(len(TYPES))]
            grade, rank = GRADES[rng.randrange(len(GRADES))]
            at = now - timedelta(minutes=rng.randrange(0, 4 * 365 * 24 * 60))
            rows.append(
                {
                    "title": f"事件 {i}",
                    "description": "",
                    "type_key": type_key,
                    "class_key": type_key.split(".")[0],
                    "production_safety": ps,
                    "is_drill": False,
                    "source": "phone",
                    "source_ref": "",
                    "status": STATES[rng.randrange(len(STATES))],
                    "occurred_at": at,
                    "received_at": at + timedelta(minutes=10),
                    "received_by": "duty",
                    "received_level": "city",
                    "reporter_name": "",
                    "reporter_phone": "",
                    "reporter_org": "",
                    "division_code": code,
                    "lon": lon + rng.uniform(-0.003, 0.003),
                    "lat": lat + rng.uniform(-0.003, 0.003),
                    "address": "",
                    "deaths": rank - 1,
                    "missing": 0,
                    "serious_injuries": 0,
                    "trapped": 0,
                    "affected_population": 0,
                    "relocated": 0,
                    "direct_loss_yuan": 0,
                    "grade": grade,
                    "grade_rank": rank,
                    "summary": "",
                    "review": "",
                    "created_at": at,
                    "updated_at": at,
                }
            )
            if len(rows) == 5000:
                s.execute(insert(Incident), rows)
                rows = []
        if rows:
            s.execute(insert(Incident), rows)
        seed_live_layers(s, cells, now, rng)
        for table in ("rs_incidents", "sensors", "sensor_latest", "alarms", "warnings"):
            s.execute(text(f'ANALYZE "{table}"'))
        s.commit()
    engine.dispose()


def seed_live_layers(s: Session, cells: list[Any], now: Any, rng: random.Random) -> None:
    """Sensors with latest values (vehicles with a position), open and closed alarms, and
    warnings in force and expired, spread over the demo city like the incidents."""
    now_ms = int(now.timestamp() * 1000)
    rows = []
    for i in range(SENSORS):
        code, lon, lat = cells[i % len(cells)]
        vehicle = i % 33 == 0
        rows.append(
            {
                "device_id": f"B-{i:07d}",
                "name": f"传感器 {i}",
                "sensor_type": "vehicle" if vehicle else ("gas", "water_pressure", "smoke")[i % 3],
                "division_code": code,
                "lon": lon + rng.uniform(-0.01, 0.01),
                "lat": lat + rng.uniform(-0.01, 0.01),
                "status": "active",
                "token_hash": "",
                "archived": False,
            }
        )
    for start in range(0, len(rows), 5000):
        s.execute(insert(Sensor), rows[start : start + 5000])
    ids = list(s.execute(select(Sensor.id, Sensor.sensor_type, Sensor.lon, Sensor.lat)))
    latest = [
        {
            "sensor_id": sid,
            "ts": now_ms - rng.randrange(0, 3_600_000),
            "value": rng.uniform(0, 30),
            "lon": x + rng.uniform(-0.02, 0.02) if kind == "vehicle" else None,
            "lat": y + rng.uniform(-0.02, 0.02) if kind == "vehicle" else None,
        }
        for sid, kind, x, y in ids
    ]
    for start in range(0, len(latest), 5000):
        s.execute(insert(SensorLatest), latest[start : start + 5000])
    alarms = []
    for k in range(ALARMS * 11):
        sid, _kind, x, y = ids[rng.randrange(len(ids))]
        open_ = k < ALARMS
        alarms.append(
            {
                "open_key": f"{sid}:threshold:{k}" if open_ else None,
                "sensor_id": sid,
                "division_code": cells[(sid - 1) % len(cells)][0],
                "rule": "threshold",
                "level": ("blue", "yellow", "orange", "red")[k % 4],
                "peak_level": "red",
                "status": ("active", "acknowledged", "handling")[k % 3] if open_ else "resolved",
                "condition_active": open_,
                "message": f"报警 {k}",
                "message_en": f"alarm {k}",
                "lon": x,
                "lat": y,
                "first_ts": now_ms,
                "last_ts": now_ms,
                "occurrences": 1,
                "raised_at": now - timedelta(minutes=k % 600),
                "updated_at": now - timedelta(minutes=k % 600),
            }
        )
    for start in range(0, len(alarms), 5000):
        s.execute(insert(Alarm), alarms[start : start + 5000])
    counties = list(s.scalars(select(Division.code).where(Division.level == "county")))
    warnings = []
    for k in range(WARNINGS * 2):
        code, lon, lat = cells[rng.randrange(len(cells))]
        whole = k % 3 == 0
        area = {"desc": f"预警区域 {k}", "circles": [], "divisions": []}
        if whole:
            code = counties[k % len(counties)]
            area["divisions"] = [code]
        else:
            area["circles"] = [[lon, lat, rng.uniform(1, 8)]]
        warnings.append(
            {
                "kind": "local",
                "status": "issued",
                "msg_type": "Alert",
                "event_type": "rainstorm",
                "level": ("blue", "yellow", "orange", "red")[k % 4],
                "headline": f"预警 {k}",
                "areas": [area],
                "division_code": code,
                "expires": now + timedelta(hours=6) if k < WARNINGS else now - timedelta(hours=1),
                "issued_at": now - timedelta(hours=2),
                "created_at": now,
                "updated_at": now,
            }
        )
    s.execute(insert(Warning), warnings)


def measure(url: str, now: Any) -> dict[str, Any]:
    engine = make_engine(url)
    out: dict[str, Any] = {}
    with Session(engine) as s:
        city = Principal(1, "commander", "commander", "370600")
        county = s.scalar(select(Division.code).where(Division.level == "county"))
        district = Principal(2, "zhifu", "district_officer", county)
        rng = random.Random(3)

        def page(who: Principal) -> None:
            p = service.list_incidents(s, who, service.Filters(size=30))
            service.overdue_counts(s, p.items, now)

        def layer() -> None:
            p = service.list_incidents(
                s, city, service.Filters(open_only=True, size=service.MAX_PAGE_SIZE), count=False
            )
            [{"c": [i.lon, i.lat], "l": GRADE_COLOUR.get(i.grade or "", "blue")} for i in p.items]

        ids = list(s.scalars(select(Incident.id).limit(2000)))

        def around() -> None:
            inc = s.get(Incident, rng.choice(ids))
            surroundings_of(s, city, inc.lon, inc.lat, 3000, now)

        for name, fn in (
            ("list_city", lambda: page(city)),
            ("list_district", lambda: page(district)),
            ("map_layer", layer),
            ("surroundings_3km", around),
        ):
            fn()  # warm
            ms = timed(fn)
            out[name] = {"p95_ms": p95(ms), "median_ms": round(statistics.median(ms), 1)}
        inc = s.get(Incident, ids[0])
        sample = surroundings_of(s, city, inc.lon, inc.lat, 3000, now)
        out["surroundings_3km_sample_counts"] = sample.counts
        out["incidents"] = s.scalar(select(text("count(*)")).select_from(Incident))
    engine.dispose()
    return out


def backend(kind: str, folder: Path, now: Any) -> dict[str, Any]:
    if kind == "sqlite":
        url = f"sqlite:///{folder}/command.db"
        Path(f"{folder}/command.db").unlink(missing_ok=True)
        admin = None
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text('DROP DATABASE IF EXISTS "safecity_bench_command" WITH (FORCE)'))
            c.execute(text('CREATE DATABASE "safecity_bench_command"'))
        url = make_url(PG_ADMIN).set(database="safecity_bench_command").render_as_string(False)
    try:
        upgrade(url)
        t = time.perf_counter()
        seed(url, now)
        result = {"seed_s": round(time.perf_counter() - t, 1), **measure(url, now)}
    except Exception as exc:  # noqa: BLE001 a failing backend is reported, never a pass
        result = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        if admin is not None:
            with admin.connect() as c:
                c.execute(text('DROP DATABASE IF EXISTS "safecity_bench_command" WITH (FORCE)'))
            admin.dispose()
    return result


def main() -> None:
    import_all()
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    folder = Path(os.environ.get("BENCH_DIR", "/tmp"))
    kinds = ["sqlite"] + ([] if os.environ.get("BENCH_SKIP_PG") == "1" else ["postgresql"])
    out: dict[str, Any] = {"bench": "command", "incidents": N, "repeats": REPEATS}
    for kind in kinds:
        out[kind] = backend(kind, folder, now)
    checks, errors = [], []
    for kind in kinds:
        part = out[kind]
        if "error" in part:
            errors.append(f"{kind}: {part['error']}")
            continue
        for name, limit in (
            ("list_city", 300),
            ("list_district", 300),
            ("map_layer", 300),
            ("surroundings_3km", 500),
        ):
            checks.append((f"{kind}.{name}.p95_ms", part[name]["p95_ms"], "<", limit))
    out["verdict"] = verdict(checks, errors)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
