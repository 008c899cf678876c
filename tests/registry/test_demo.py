"""The Yantai demo city: deterministic, geographically consistent, valid codes, idempotent load."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import safecity.core.models  # registers the users and audit tables with Base.metadata
import safecity.registry.models  # noqa: F401
from safecity.core.audit import verify
from safecity.core.db import Base, make_engine
from safecity.core.models import AuditEntry, User
from safecity.core.scope import ROLES
from safecity.core.security import check_password
from safecity.registry import demo
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.registry.rules import (
    INDUSTRY_DIVISIONS,
    SCALES,
    SUPERVISION_CATEGORIES,
    TARGET_TYPES,
    industry_section,
    uscc_problem,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
COUNTIES = {
    "370602",
    "370611",
    "370612",
    "370613",
    "370614",
    "370681",
    "370682",
    "370683",
    "370685",
    "370686",
    "370687",
}
PG_ADMIN_URL = os.environ.get(
    "SAFECITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="module")
def city() -> demo.DemoCity:
    return demo.generate(now=NOW)


def _shapes(city: demo.DemoCity) -> dict[str, object]:
    shapes = {d["code"]: shape(d["geometry"]) for d in city.divisions}
    for geom in shapes.values():
        shapely.prepare(geom)
    return shapes


def _columns(model: type) -> set[str]:
    return {c.name for c in model.__table__.columns}


def test_same_seed_gives_identical_city(city: demo.DemoCity) -> None:
    again = demo.generate(now=NOW)
    assert again == city
    other = demo.generate(seed=7, now=NOW)
    assert [e["uscc"] for e in other.enterprises] != [e["uscc"] for e in city.enterprises]


def test_generate_needs_an_explicit_now() -> None:
    with pytest.raises(TypeError):
        demo.generate()


def test_city_and_its_eleven_real_counties(city: demo.DemoCity) -> None:
    by_code = {d["code"]: d for d in city.divisions if d["level"] != "street"}
    assert set(by_code) == COUNTIES | {"370600"}
    assert by_code["370600"]["name"] == "烟台市" and by_code["370600"]["level"] == "city"
    assert by_code["370602"]["name"] == "芝罘区" and by_code["370613"]["name"] == "莱山区"
    counties = [d for d in by_code.values() if d["code"] != "370600"]
    assert all(d["level"] == "county" and d["parent_code"] == "370600" for d in counties)
    total = sum(d["population"] for d in counties)
    assert by_code["370600"]["population"] == total
    assert 6_900_000 < total < 7_300_000
    # 芝罘区 is the small, dense old city; 栖霞 and 莱州 are the largest by area.
    areas = {d["code"]: d["area_km2"] for d in counties}
    assert areas["370602"] == min(areas.values()) and areas["370602"] < 300
    assert max(areas, key=areas.__getitem__) in {"370686", "370683"}


def test_county_polygons_tile_the_outline(city: demo.DemoCity) -> None:
    shapes = _shapes(city)
    outline = shapes.pop("370600")
    union = shapely.union_all(list(shapes.values()))
    assert all(g.is_valid and g.geom_type in ("Polygon", "MultiPolygon") for g in shapes.values())
    assert abs(union.area - outline.area) / outline.area < 0.001
    assert shapely.intersection(union, outline).area / outline.area > 0.999
    minx, miny, maxx, maxy = outline.bounds
    assert 119.5 <= minx and maxx <= 121.9 + 0.1 and 36.5 <= miny and maxy <= 38.0
    for code, geom in shapes.items():  # each county's centroid falls inside its own polygon
        row = next(d for d in city.divisions if d["code"] == code)
        assert geom.contains(shapely.Point(row["lon"], row["lat"])), code


def test_credit_codes_are_valid_unique_and_name_the_county(city: demo.DemoCity) -> None:
    codes = [e["uscc"] for e in city.enterprises]
    assert len(set(codes)) == len(codes) == len(city.enterprises)
    for e in city.enterprises:
        assert uscc_problem(e["uscc"]) is None, e["uscc"]
        assert e["uscc"][2:8] == e["division_code"]


def test_every_point_lies_in_its_own_county(city: demo.DemoCity) -> None:
    shapes = _shapes(city)
    for rows in (city.enterprises, city.protected_targets, city.grid_cells):
        for code in COUNTIES:
            mine = [r for r in rows if r["division_code"] == code]
            xs = np.array([r["lon"] for r in mine])
            ys = np.array([r["lat"] for r in mine])
            assert len(mine) > 0
            if rows is not city.grid_cells:  # a clipped cell's centroid may sit just outside
                assert shapely.contains_xy(shapes[code], xs, ys).all(), code
            assert ((119.5 <= xs) & (xs <= 121.9) & (36.5 <= ys) & (ys <= 38.0)).all()


def test_streets_are_unions_of_their_grid_cells(city: demo.DemoCity) -> None:
    streets = [d for d in city.divisions if d["level"] == "street"]
    counties = {d["code"]: d for d in city.divisions if d["level"] == "county"}
    assert len(streets) >= 60
    for d in streets:
        assert len(d["code"]) == 9 and d["parent_code"] == d["code"][:6] in counties
    # Street populations add up to their county's, and each cell lies inside the street it names.
    by_county = Counter()
    for d in streets:
        by_county[d["parent_code"]] += d["population"]
    assert by_county == Counter({c: d["population"] for c, d in counties.items()})
    shapes = {d["code"]: shape(d["geometry"]) for d in streets}
    names = {(d["parent_code"], d["name"]): d["code"] for d in streets}
    for cell in city.grid_cells[::50]:
        county = counties[cell["division_code"]]["name"]
        street = cell["name"][len(county) : cell["name"].index("第")]
        point = shapely.Point(cell["lon"], cell["lat"])
        assert shapes[names[(cell["division_code"], street)]].distance(point) < 1e-3, cell["code"]


def test_grid_population_adds_up_per_county(city: demo.DemoCity) -> None:
    assert 2_500 <= len(city.grid_cells) <= 3_600
    sums = Counter()
    for cell in city.grid_cells:
        sums[cell["division_code"]] += cell["population"]
    for d in city.divisions:
        if d["level"] == "county":
            assert sums[d["code"]] == d["population"], d["code"]
    codes = [c["code"] for c in city.grid_cells]
    assert len(set(codes)) == len(codes)
    assert all(c["code"].startswith(c["division_code"] + "-") for c in city.grid_cells)
    assert all(
        c["grid_member_phone"].startswith("1") and len(c["grid_member_phone"]) == 11
        for c in city.grid_cells
    )
    # urban cells are smaller and more crowded than rural ones
    mean = {
        code: np.mean([c["population"] for c in city.grid_cells if c["division_code"] == code])
        for code in COUNTIES
    }
    assert mean["370602"] > 2 * mean["370686"]


def test_enterprise_mix(city: demo.DemoCity) -> None:
    assert 2_800 <= len(city.enterprises) <= 3_200
    hazchem = [e for e in city.enterprises if e["is_hazchem"]]
    assert 180 <= len(hazchem) <= 220
    assert all(
        e["industry_code"] in ("25", "26") and e["supervision_category"] == "hazchem"
        for e in hazchem
    )
    assert any(e["division_code"] == "370602" for e in hazchem)
    by_category = Counter(e["supervision_category"] for e in city.enterprises)
    assert set(by_category) <= set(SUPERVISION_CATEGORIES) and by_category["mining"] >= 50
    mining = Counter(
        e["division_code"] for e in city.enterprises if e["supervision_category"] == "mining"
    )
    assert mining.most_common(2)[0][0] in ("370685", "370683")
    for e in city.enterprises:
        assert e["industry_code"] in INDUSTRY_DIVISIONS
        assert e["industry_section"] == industry_section(e["industry_code"])
        assert e["scale"] in SCALES and e["employees"] > 0
        assert e["created_at"].tzinfo is not None and e["created_at"] <= e["updated_at"] <= NOW
    assert len({e["name"] for e in city.enterprises}) == len(city.enterprises)


def test_protected_targets(city: demo.DemoCity) -> None:
    targets = city.protected_targets
    assert len(targets) == 1000
    assert set(Counter(t["target_type"] for t in targets)) == set(TARGET_TYPES)
    names = {t["name"] for t in targets}
    assert {"蓬莱阁景区", "烟台火车站", "南山公园", "烟台毓璜顶医院"} <= names
    assert len(names) == len(targets)
    assert all(t["capacity"] > 0 and 0 <= t["occupancy"] <= t["capacity"] for t in targets)


def test_rows_use_model_columns_only(city: demo.DemoCity) -> None:
    for rows, model in (
        (city.divisions, Division),
        (city.grid_cells, GridCell),
        (city.enterprises, Enterprise),
        (city.protected_targets, ProtectedTarget),
    ):
        keys = {frozenset(r) for r in rows}
        assert len(keys) == 1 and set(next(iter(keys))) <= _columns(model)


def test_demo_users_cover_every_role(city: demo.DemoCity) -> None:
    users = {u["username"]: u for u in city.users}
    assert {u["role"] for u in city.users} == set(ROLES)
    assert all(u["password"] == demo.DEMO_PASSWORD == "demo1234" for u in city.users)
    assert users["zhifu"]["division_code"] == "370602"
    assert users["liaison"]["industry"] == "C"
    officer = users["enterprise"]
    first = next(e for e in city.enterprises if e["is_hazchem"] and e["division_code"] == "370602")
    assert officer["enterprise_uscc"] == first["uscc"] and officer["division_code"] == "370602"


def test_scale_multiplies_and_stays_valid() -> None:
    started = time.perf_counter()
    big = demo.generate(now=NOW, scale=5)
    print(
        f"\ngenerate(scale=5): {time.perf_counter() - started:.2f}s, "
        f"{len(big.enterprises)} enterprises"
    )
    assert 14_000 <= len(big.enterprises) <= 16_000 and len(big.protected_targets) == 5000
    codes = {e["uscc"] for e in big.enterprises}
    assert len(codes) == len(big.enterprises)
    shapes = _shapes(big)
    for code in COUNTIES:
        mine = [e for e in big.enterprises if e["division_code"] == code]
        assert shapely.contains_xy(
            shapes[code], [e["lon"] for e in mine], [e["lat"] for e in mine]
        ).all()


# ---------------------------------------------------------------- loading


def _pg_admin() -> Engine:
    admin = create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    return admin


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own (not the shared test database, whose schema is migrated)."""
    admin, name = None, f"safecity_demo_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    if request.param == "sqlite":
        engine = make_engine("sqlite:///" + str(tmp_path / "demo.db"))
    else:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(False))
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_load_is_idempotent(fresh_engine: Engine, city: demo.DemoCity) -> None:

    seen: list[tuple[str, int, int]] = []
    with Session(fresh_engine) as session:
        first = demo.load(session, city, NOW, progress=lambda *a: seen.append(a))
        session.commit()
    assert first == {
        "divisions": len(city.divisions),
        "grid_cells": len(city.grid_cells),
        "enterprises": len(city.enterprises),
        "protected_targets": len(city.protected_targets),
        "users": len(city.users),
    }
    assert ("enterprises", len(city.enterprises), len(city.enterprises)) in seen
    assert next(s for s in seen if s[0] == "enterprises")[1] == demo.CHUNK
    with Session(fresh_engine) as session:
        assert demo.load(session, city, NOW) == first
        session.commit()
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
        assert verify(session).ok
        officer = session.scalar(select(User).where(User.username == "enterprise"))
        firm = session.get(Enterprise, officer.enterprise_id)
        assert firm is not None and firm.is_hazchem and firm.division_code == "370602"
        assert check_password(officer.password_hash, "demo1234")
        first_row = city.enterprises[0]
        stored = session.scalar(select(Enterprise).where(Enterprise.uscc == first_row["uscc"]))
        assert stored.name == first_row["name"]
