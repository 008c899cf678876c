"""Registry REST API beyond its kinds' generic routes (mounted by the app): the map layers."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from safecity.core.deps import db, principal
from safecity.core.scope import Principal
from safecity.registry import map as map_layers
from safecity.registry.schemas import MapLayerOut

router = APIRouter()


@router.get("/api/v1/map/layers/{name}", tags=["map"], summary="GeoJSON layer for the one map")
def map_layer(
    name: str,
    division: str | None = None,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> MapLayerOut:
    return map_layers.layer(session, who, name, division)
