"""Risk points, major hazards and a protected target placed at known spots of the test city.

Geometry of tests.factories.seed_city:
  grid cell 370602-0001 (芝罘区): lon 121.36–121.37, lat 37.46–37.47
  grid cell 370613-0001 (莱山区): lon 121.43–121.44, lat 37.36–37.37
  芝罘区 121.35–121.40 × 37.45–37.50; 莱山区 121.42–121.47 × 37.35–37.40

Hand-computed levels with the default rule:
  grid 芝罘 cell: orange 1 (4) + yellow 3 (4.5) + 1 vulnerable target (2) = 10.5 → orange by
      score, floor orange (an orange point) → orange.  The target (幼儿园 at 121.365, 37.465) is
      882.6 m west of the 二级 hazard at 121.375, 37.465 (radius 1,000 m).
  grid 莱山 cell: blue 10 × 0.3 = 3.0 → yellow (exactly at the threshold).
  district 芝罘区 (by division code or location): red 2 (20) + orange 1 (4) + yellow 3 (4.5)
      + 二级 hazard (8) + vulnerable 1 (2) = 38.5 → red.
  district 莱山区: blue 10 (3.0) + 四级 hazard (3) = 6.0 → yellow (floor yellow too).
  Archived points and the 青岛 rows never count for 烟台 users.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.registry.models import GridCell, ProtectedTarget
from safecity.risk.models import MajorHazard, RiskPoint
from tests.factories import NOW


def point(
    name: str,
    division: str,
    level: str,
    lon: float | None,
    lat: float | None,
    *,
    grid: int | None = None,
    enterprise: Any = None,
    **extra: Any,
) -> RiskPoint:
    return RiskPoint(
        name=name,
        owner_kind="enterprise" if enterprise else "area",
        enterprise_id=enterprise.id if enterprise else None,
        grid_cell_id=grid,
        division_code=division,
        industry_code=None,
        lon=lon,
        lat=lat,
        level=level,
        archived=False,
        created_at=NOW,
        updated_at=NOW,
        **extra,
    )


def hazard(enterprise: Any, name: str, grade: int, r: float, lon: float, lat: float) -> MajorHazard:
    return MajorHazard(
        enterprise_id=enterprise.id,
        name=name,
        unit_kind="storage",
        substances=[{"name": "液氨", "quantity_t": 30}],
        division_code=enterprise.division_code,
        lon=lon,
        lat=lat,
        s_value=3.0,
        is_major=True,
        r_value=r,
        level=grade,
        alpha=1.5,
        exposed_population=120,
        exposed_population_computed=120,
        result={},
        assessed_at=NOW,
    )


def seed_areas(session: Session, city: dict) -> dict:
    e = city["enterprises"]  # 0,1: 芝罘区 C26; 2: 芝罘区 G54; 3: 莱山区 C26; 4: 莱山区 F51; 5: 青岛
    cells = {c.code: c.id for c in session.scalars(select(GridCell))}
    zf, ls = cells["370602-0001"], cells["370613-0001"]
    rows = [
        point(
            "芝罘区储罐区作业",
            "370602",
            "orange",
            121.365,
            37.465,
            enterprise=e[0],
            control_measures=[
                {
                    "type": "engineering",
                    "description": "设置可燃气体报警",
                    "level": "company",
                    "person": "王五",
                }
            ],
        ),
        point("芝罘区仓库一", "370602", "yellow", 121.362, 37.462, grid=zf),
        point("芝罘区仓库二", "370602", "yellow", 121.363, 37.463, grid=zf),
        point("芝罘区仓库三", "370602", "yellow", 121.364, 37.464, grid=zf),
        point(
            "芝罘区红色风险点",
            "370602",
            "red",
            121.39,
            37.49,
            enterprise=e[1],
            hazard_factors=[{"category": "material", "description": "液氨泄漏"}],
            accident_types=["poisoning"],
        ),
        point("芝罘区物流风险点", "370602", "red", None, None, enterprise=e[2]),
        *[
            point(f"莱山区低风险点{i}", "370613", "blue", 121.431 + i * 0.0005, 37.361, grid=ls)
            for i in range(10)
        ],
        point("青岛风险点", "370202", "red", 120.4, 36.1, enterprise=e[5]),
        point("芝罘区归档风险点", "370602", "red", 121.365, 37.465),
    ]
    rows[-1].archived = True
    session.add_all(rows)
    session.add_all(
        [
            hazard(e[1], "液氨储罐区", 2, 62.5, 121.375, 37.465),
            hazard(e[3], "液化石油气储罐", 4, 6.0, 121.46, 37.39),
            hazard(e[5], "青岛储罐", 1, 130.0, 120.4, 36.1),
        ]
    )
    session.add(
        ProtectedTarget(
            name="芝罘区幼儿园",
            target_type="kindergarten",
            capacity=300,
            division_code="370602",
            lon=121.365,
            lat=37.465,
        )
    )
    session.commit()
    return {"zhifu_cell": zf, "laishan_cell": ls, "enterprises": e}
