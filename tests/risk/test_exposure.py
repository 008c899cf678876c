"""People within 500 m of a unit: hand-computed cases, pure and through the database."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import kinds_service
from safecity.core.models import User
from safecity.core.security import to_principal
from safecity.registry.models import GridCell, ProtectedTarget
from safecity.risk.major_hazards import exposure
from safecity.risk.major_hazards.exposure import Cell, Target, rectangle
from safecity.risk.major_hazards.kind import MAJOR_HAZARD
from tests.factories import NOW

LON0, LAT0 = 121.40, 37.50


def at(dx: float, dy: float) -> tuple[float, float]:
    return exposure.local_offset(LON0, LAT0, dx, dy)


def _boundary() -> dict:
    # a 200 m × 200 m plant centred on (LON0, LAT0); the buffer's east edge is the line x = 600 m
    return rectangle(LON0, LAT0, -100, -100, 100, 100)


def _cells() -> list[Cell]:
    return [
        # x 150…350 m: wholly between the fence (100 m) and the buffer's edge (600 m)
        Cell(1, 1000, rectangle(LON0, LAT0, 150, -50, 350, 50), name="inside"),
        # x 350…850 m: 350…600 inside the straight east edge of the buffer → exactly half
        Cell(2, 600, rectangle(LON0, LAT0, 350, -50, 850, 50), name="half"),
        Cell(3, 5000, rectangle(LON0, LAT0, 2000, -100, 2200, 100), name="outside"),
    ]


def _targets() -> list[Target]:
    school, hospital = at(0, 300), at(0, 1000)
    return [
        Target(10, "实验小学", school[0], school[1], 800, "school"),
        Target(11, "人民医院", hospital[0], hospital[1], 500, "hospital"),
    ]


def test_hand_computed_case() -> None:
    unit = exposure.unit_geometry(LON0, LAT0, _boundary())
    result = exposure.compute(unit, _cells(), _targets())
    # residents 1000 × 1 + 600 × 0.5 = 1300; school 800 inside (200 m from the fence),
    # hospital 900 m from the fence: outside.
    assert result.residents == 1300
    assert result.target_people == 800
    assert result.total == 2100
    shares = {c["id"]: c["share"] for c in result.cells}
    assert shares[1] == 1.0 and shares[2] == pytest.approx(0.5, abs=1e-6) and 3 not in shares
    assert [t["id"] for t in result.targets] == [10]
    assert result.targets[0]["distance_m"] == pytest.approx(200, abs=0.5)


def test_people_inside_the_boundary_are_not_counted() -> None:
    unit = exposure.unit_geometry(LON0, LAT0, _boundary())
    plant = Cell(1, 400, rectangle(LON0, LAT0, -50, -50, 50, 50))  # inside the fence
    # a cell straddling the fence: x −100…300, half inside the plant, half in the ring
    straddle = Cell(2, 800, rectangle(LON0, LAT0, -100, -50, 300, 50))
    gate = at(0, 50)
    result = exposure.compute(unit, [plant, straddle], [Target(1, "门卫室", *gate, 5)])
    assert result.residents == 400 and result.target_people == 0


def test_point_unit_uses_a_500_m_circle() -> None:
    unit = exposure.unit_geometry(LON0, LAT0, None)
    # a 2 km square cell centred on the unit holds the whole circle: share = π·500² / 2000²
    cell = Cell(1, 16_000, rectangle(LON0, LAT0, -1000, -1000, 1000, 1000))
    near, far = at(490, 0), at(0, 510)
    result = exposure.compute(unit, [cell], [Target(1, "a", *near, 50), Target(2, "b", *far, 70)])
    expected = 16_000 * math.pi * 500**2 / 2000**2  # 3141.6
    assert abs(result.residents - expected) < 2
    assert result.target_people == 50


def test_cell_without_geometry_counts_by_centre() -> None:
    unit = exposure.unit_geometry(LON0, LAT0, None)
    inside, outside = at(100, 100), at(800, 0)
    cells = [Cell(1, 300, None, *inside), Cell(2, 400, None, *outside)]
    assert exposure.compute(unit, cells, []).residents == 300


def test_no_location_means_no_exposure() -> None:
    assert exposure.unit_geometry(None, None, None) is None


def test_major_hazard_exposure_from_the_database(session: Session, city: dict) -> None:
    for cell in _cells():
        lon, lat = at({1: 250, 2: 600, 3: 2100}[cell.id], 0)
        session.add(
            GridCell(
                code=f"T-{cell.id}",
                name=cell.name,
                division_code="370602",
                population=cell.population,
                geometry=cell.geometry,
                lon=lon,
                lat=lat,
            )
        )
    for target in _targets():
        # capacity 900 but 800 pupils present: occupancy wins
        session.add(
            ProtectedTarget(
                name=target.name,
                target_type=target.target_type,
                capacity=target.people + 100,
                occupancy=target.people,
                division_code="370602",
                lon=target.lon,
                lat=target.lat,
            )
        )
    session.flush()
    analyst = to_principal(session.scalar(select(User).where(User.username == "analyst")))
    hazard = kinds_service.create_object(
        session,
        analyst,
        MAJOR_HAZARD,
        {
            "enterprise_id": city["enterprises"][0].id,
            "name": "液氯库",
            "unit_kind": "storage",
            "lon": LON0,
            "lat": LAT0,
            "boundary": _boundary(),
            "substances": [{"name": "液氯", "quantity_t": 5}],
        },
        NOW,
    )
    assert hazard.exposed_population_computed == hazard.exposed_population == 2100
    assert hazard.exposure["residents"] == 1300 and hazard.exposure["target_people"] == 800
    # α = 2.0 (100 or more), β(氯) = 4, S = 1 → R = 8 → 四级
    assert hazard.alpha == 2.0 and hazard.r_value == pytest.approx(8.0) and hazard.level == 4
