"""A grid cell stored with a JSON null geometry (the API accepts "geometry": null) passes
"IS NOT NULL" on SQLite; the coverage layer leaves it out instead of failing every issue and
cancel (the fuzzer found the 500)."""

from __future__ import annotations

from sqlalchemy import select

from safecity.registry.models import GridCell
from safecity.warnings import service


def test_grid_cell_without_a_shape_is_left_out_of_coverage(city, session) -> None:
    shaped = session.scalars(select(GridCell).where(GridCell.geometry.is_not(None))).all()
    session.add(
        GridCell(
            code="NOSHAPE-1",
            name="无边界网格",
            division_code="370602",
            population=500,
            geometry=None,
        )
    )
    session.flush()
    layer = service.grid_layer(session)
    assert len(layer.ids) == len([c for c in shaped if c.geometry]) and layer.ids.size > 0
    added = session.scalar(select(GridCell.id).where(GridCell.code == "NOSHAPE-1"))
    assert added not in set(layer.ids.tolist())
