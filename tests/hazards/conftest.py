"""Hazards fixtures: extra users (inspector, grid member, street officers) on top of seed_city."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from safecity.core.config import get_settings
from safecity.core.models import User
from tests.factories import NOW

EXTRA_USERS = {
    "inspector": ("inspector", "370600", None),
    "grid": ("grid_member", "370602", None),
    "street1": ("district_officer", "370602001", None),
    "street2": ("district_officer", "370602002", None),
    "zfinspector": ("inspector", "370602", None),
}


@pytest.fixture
def hz_city(city: dict, session: Session, password_hash: str, tmp_path, monkeypatch) -> dict:
    monkeypatch.setenv("SAFECITY_STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setenv("SAFECITY_ESCALATION_INTERVAL_SECONDS", "0")

    get_settings.cache_clear()
    for username, (role, division, industry) in EXTRA_USERS.items():
        session.add(
            User(
                username=username,
                display_name=username,
                password_hash=password_hash,
                role=role,
                division_code=division,
                industry=industry,
                created_at=NOW,
            )
        )
    session.commit()
    return city


def jpeg(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()
