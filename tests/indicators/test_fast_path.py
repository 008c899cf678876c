"""The grouped record sources (what the indicators compute from at city scale) hold to the
straightforward count: every record read and classified one by one, on a small mixed data set
with the awkward cases (drills, merged duplicates, rejected and late hidden dangers, the
Beijing new year, forest fires put out after more than 24 h, deliveries only logged)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy.orm import Session

from safecity.indicators import adapters, service, sources
from safecity.monitoring.models import Alarm
from safecity.resources.models import RescueTeam, Shelter, Warehouse
from safecity.response.models import Incident
from safecity.warnings.models import Delivery, Warning
from tests.conftest import NOW, principal
from tests.indicators import reference
from tests.indicators.helpers import hidden_danger, import_yantai, stats

DIVISIONS = ["370600", "370602", "370613"]
YEARS = [2023, 2024, 2025, 2026]
TYPES = [
    ("accident_disaster.production_safety", "accident_disaster", True),
    ("accident_disaster.transport.road_traffic", "accident_disaster", True),
    ("accident_disaster.transport.road_traffic", "accident_disaster", False),
    ("accident_disaster.fire", "accident_disaster", True),
    ("accident_disaster.fire", "accident_disaster", False),
    ("accident_disaster.public_facility", "accident_disaster", True),
    ("natural_disaster.forest_grassland_fire", "natural_disaster", False),
    ("natural_disaster.flood_drought.flood", "natural_disaster", False),
]
CODES = ["370602", "370613", "370613001", "370602002"]


def _when(rng: random.Random) -> datetime:
    # a share of the records fall on the last UTC evening of a year: Beijing's next year
    if rng.random() < 0.15:
        return datetime(rng.choice(YEARS[:-1]), 12, 31, 17, 30, tzinfo=UTC)
    return datetime(
        rng.choice(YEARS + [2022]), rng.randint(1, 12), rng.randint(1, 28), 3, 0, tzinfo=UTC
    )


def _seed(session: Session, rng: random.Random) -> None:
    for n in range(120):
        type_key, class_key, ps = rng.choice(TYPES)
        at = _when(rng)
        ended = (
            at + timedelta(hours=rng.choice([2, 23, 24, 30, 72])) if rng.random() < 0.8 else None
        )
        session.add(
            Incident(
                title=f"事故{n}",
                type_key=type_key,
                class_key=class_key,
                production_safety=ps,
                is_drill=rng.random() < 0.1,
                source="phone",
                status=rng.choice(["received", "graded", "ended", "closed", "merged"]),
                occurred_at=at,
                received_at=at,
                received_by="duty",
                division_code=rng.choice(CODES),
                deaths=rng.choice([0, 0, 1, 2, 5]),
                direct_loss_yuan=Decimal(rng.randint(0, 9_999_999)) / 100,
                response_ended_at=ended,
                created_at=at,
                updated_at=at,
            )
        )
    for _ in range(150):
        status = rng.choice(["registered", "rectifying", "closed", "closed", "rejected"])
        hidden_danger(
            session,
            rng.choice(CODES),
            _when(rng),
            status=status,
            grade=rng.choice(["general", "general", "major"]),
            closed_late=rng.choice([True, False, None]) if status == "closed" else None,
        )
    for n in range(30):
        at = _when(rng)
        w = Warning(
            kind=rng.choice(["local", "local", "external"]),
            status="issued",
            msg_type=rng.choice(["Alert", "Alert", "Update", "Cancel"]),
            event_type=rng.choice(["rainstorm", "waterlogging", "gas_leak"]),
            level=rng.choice(["red", "orange", "yellow"]),
            headline=f"预警{n}",
            division_code=rng.choice(CODES),
            targeting={"population": rng.randint(1000, 50_000)},
            issued_at=at,
            created_at=at,
            updated_at=at,
        )
        session.add(w)
        session.flush()
        for channel in rng.sample(["sms", "broadcast", "siren", "web", "internal"], 3):
            for k in range(2):
                session.add(
                    Delivery(
                        warning_id=w.id,
                        channel=channel,
                        target=f"t{k}",
                        status=rng.choice(["sent", "sent", "logged", "failed"]),
                        reached=rng.randint(0, 40_000),
                        created_at=at,
                        updated_at=at,
                    )
                )
    for n in range(60):
        at = _when(rng)
        session.add(
            Alarm(
                division_code=rng.choice(CODES),
                rule="threshold",
                level="yellow",
                peak_level="orange",
                first_ts=n,
                last_ts=n,
                raised_at=at,
                updated_at=at,
            )
        )
    for n in range(40):
        code = rng.choice(CODES)
        session.add(
            Shelter(
                name=f"避难场所{n}",
                division_code=code,
                effective_area_m2=rng.choice([0.1, 0.2, 1234.5, 8000.0]),
                status=rng.choice(["open", "open", "closed"]),
                archived=rng.random() < 0.1,
            )
        )
        session.add(
            RescueTeam(
                name=f"队伍{n}",
                division_code=code,
                team_type=rng.choice(["fire_rescue", "professional"]),
                members=rng.randint(5, 60),
            )
        )
        session.add(
            Warehouse(
                name=f"物资库{n}",
                division_code=code,
                tier=rng.choice(["city", "district", "town"]),
                floor_area_m2=rng.choice([0.3, 150.25, 2000.0]),
            )
        )
    session.commit()


def test_grouped_sources_equal_the_record_by_record_count(session: Session, city: dict) -> None:
    _seed(session, random.Random(19))
    pairs = [
        (adapters._accident_values, adapters.accident_values_by_record),
        (sources._hd_values, reference.hidden_dangers),
        (sources._alarm_values, reference.alarms),
        (sources._warning_values, reference.warnings),
        (adapters._resource_values, reference.resources),
    ]
    for fast, slow in pairs:
        got, want = fast(session, DIVISIONS, YEARS, NOW), slow(session, DIVISIONS, YEARS, NOW)
        assert got == want, fast.__name__
        assert sum(want.values()) > 0  # the data set exercises every input group
        for name in {k[0] for k in want}:
            assert any(v for k, v in want.items() if k[0] == name), name  # no input all zero
    # spot checks by hand against the fixtures, so a reference broken the same way still fails
    acc = adapters._accident_values(session, DIVISIONS, YEARS, NOW)
    for (name, d, y), v in acc.items():
        assert v >= 0 and isinstance(v, Fraction)
        if d == "370600":
            parts = acc[name, "370602", y] + acc[name, "370613", y]
            assert v == parts, (name, y)  # the city is the sum of its two districts here
    alarms = sources.SOURCES["monitoring"].values(session, DIVISIONS, YEARS, NOW)
    assert sum(alarms["alarms_raised", "370600", y] for y in YEARS) > 0


def test_evaluation_uses_the_grouped_figures(session: Session, city: dict) -> None:
    _seed(session, random.Random(7))
    s = import_yantai(session)
    stats(session, [(d, 2025, "gdp_100m_yuan", 1000) for d in DIVISIONS])
    ev = service.evaluate(
        session,
        principal(session, "analyst"),
        s.id,
        NOW,
        years=[2025],
        keys=["deaths_per_100m_gdp"],
    )
    want = adapters.accident_values_by_record(session, DIVISIONS, [2025], NOW)
    for d in DIVISIONS:
        cell = ev.cell("deaths_per_100m_gdp", d, 2025)
        use = next(u for u in cell.inputs if u.name == "production_safety_deaths")
        assert use.origin == "records"
        assert use.value == want["production_safety_deaths", d, 2025]
        assert cell.progress.value == want["production_safety_deaths", d, 2025] / 1000


def test_sqlite_reads_the_yearly_figures_from_their_indexes(session: Session, city: dict) -> None:
    """The owners' yearly figures are read in index order (no sort of every record) through
    the indexes declared for them: a query spelt differently from its expression index, or an
    index dropped, fails here rather than silently reading ten years of rows."""
    if session.get_bind().dialect.name != "sqlite":
        return
    from sqlalchemy import event  # noqa: PLC0415 kept beside its one use

    from safecity.hazards import figures as hd_figures  # noqa: PLC0415
    from safecity.monitoring import figures as mon_figures  # noqa: PLC0415
    from safecity.response import figures as rs_figures  # noqa: PLC0415

    _seed(session, random.Random(3))
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", grab)
    try:
        plans = {}
        for name, fn in (
            ("incidents", rs_figures.accident_groups),
            ("hidden_dangers", hd_figures.yearly_figures),
            ("alarms", mon_figures.alarms_by_year),
        ):
            seen.clear()
            fn(session, YEARS)
            statement, parameters = seen[0]
            rows = session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters
            )
            plans[name] = " | ".join(str(r[-1]) for r in rows)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert "COVERING INDEX ix_rs_incidents_figures" in plans["incidents"], plans["incidents"]
    assert "ix_ind_hidden_dangers_open" in plans["hidden_dangers"], plans["hidden_dangers"]
    assert "ix_hd_final_counts_figures" in plans["hidden_dangers"], plans["hidden_dangers"]
    assert "ix_alarms_division_raised" in plans["alarms"], plans["alarms"]
    for name, plan in plans.items():
        assert "TEMP B-TREE" not in plan, (name, plan)  # no sort of the records
