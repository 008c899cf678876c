"""Resources fixtures: a duty officer on top of seed_city, warehouses with items, a road town."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from safecity.core.config import get_settings
from safecity.core.models import User
from safecity.resources import network, service
from tests.conftest import principal
from tests.factories import NOW
from tests.resources.helpers import collection, ll, road


@pytest.fixture
def rs_city(
    city: dict, session: Session, password_hash: str, tmp_path, monkeypatch
) -> Iterator[dict]:
    monkeypatch.setenv("SAFECITY_STORAGE_DIR", str(tmp_path / "storage"))
    get_settings.cache_clear()
    network.forget()
    session.add(
        User(
            username="duty",
            display_name="duty",
            password_hash=password_hash,
            role="duty_officer",
            division_code="370600",
            created_at=NOW,
        )
    )
    session.commit()
    yield city
    network.forget()
    get_settings.cache_clear()


def who(session: Session, username: str) -> Any:
    return principal(session, username)


def warehouse(session: Session, name: str, division: str, x: float = 0, y: float = 0) -> Any:
    lon, lat = ll(x, y)
    return service.create_resource(
        session,
        who(session, "admin"),
        "warehouses",
        {"name": name, "lon": lon, "lat": lat, "division_code": division, "tier": "district"},
        NOW,
    )


def item(session: Session, code: str = "1010101", name: str = "帐篷", **extra: Any) -> Any:
    return service.create_item(
        session, who(session, "admin"), {"code": code, "name": name, "unit": "顶"} | extra, NOW
    )


def river_town_geojson() -> dict:
    """South bank road y=0, north bank road y=1000, one bridge at x=4000 (as test_routing)."""
    return collection(
        road([(0, 0), (2000, 0), (4000, 0)], highway="secondary"),
        road([(0, 1000), (2000, 1000), (4000, 1000)], highway="secondary"),
        road([(4000, 0), (4000, 1000)], highway="primary", bridge="yes"),
        road([(2000, 0), (2000, -1000)], highway="residential", oneway="yes"),
        road([(0, -1000), (2000, -1000)], highway="residential"),
        road([(0, -1000), (0, 0)], highway="residential"),
    )
