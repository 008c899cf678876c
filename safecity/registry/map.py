"""GeoJSON layers of the base registry for the one map, scoped to the caller."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.errors import NotFound
from safecity.core.scope import Principal, division_prefix
from safecity.core.sql import code_within
from safecity.registry import service
from safecity.registry.kinds import KINDS
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget

LAYERS = ("divisions", "grid-cells", "enterprises", "protected-targets")

_PROPS: dict[str, tuple[str, ...]] = {
    "divisions": ("code", "name", "level", "population"),
    "grid-cells": ("id", "code", "name", "division_code", "population", "grid_member"),
    "enterprises": (
        "id",
        "name",
        "industry_section",
        "supervision_category",
        "is_hazchem",
        "division_code",
        "scale",
    ),
    "protected-targets": ("id", "name", "target_type", "capacity", "division_code"),
}

_MODELS = {
    "divisions": Division,
    "grid-cells": GridCell,
    "enterprises": Enterprise,
    "protected-targets": ProtectedTarget,
}


def layer(
    session: Session, principal: Principal, name: str, division: str | None = None
) -> dict[str, Any]:
    if name not in LAYERS:
        raise NotFound("图层", "layer")
    kind = KINDS[name]
    model = _MODELS[name]
    props = _PROPS[name]
    # The columns drawn, as plain rows: a layer has thousands of features and needs no ORM objects.
    shape = ("geometry",) if hasattr(model, "geometry") else ()
    columns = [getattr(model, c) for c in dict.fromkeys((*props, "lon", "lat", *shape))]
    stmt = select(*columns).where(service.scope_clause(kind, principal), model.archived.is_(False))
    if name == "divisions":
        # The city outline is drawn separately; counties and streets make the base layer.
        stmt = stmt.where(Division.level != "city")
    if division:
        column = model.code if name == "divisions" else model.division_code
        stmt = stmt.where(code_within(column, division_prefix(division)))
    features = []
    for row in session.execute(stmt).mappings():
        geometry = _geometry(row, bool(shape))
        if geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {p: row[p] for p in props},
            }
        )
    return {"type": "FeatureCollection", "layer": name, "features": features}


def _geometry(row: Any, has_shape: bool) -> dict[str, Any] | None:
    geometry = row["geometry"] if has_shape else None
    if geometry:
        return geometry
    if row["lon"] is None or row["lat"] is None:
        return None
    return {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
