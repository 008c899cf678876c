"""`safecity serve` runs the delivery worker itself: a warning past its expiry is expired and its
deliveries are sent without a separate `safecity warnings dispatch` process."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.db import reset_engine
from safecity.core.scope import Principal
from safecity.warnings import service
from safecity.warnings.models import Delivery, Warning
from safecity.web.app import create_app
from tests.conftest import NOW

COMMANDER = Principal(user_id=2, username="commander", role="commander", division_code="370600")
# Drafts red warnings: separation of duties keeps the commander from approving his own.
DRAFTER = Principal(user_id=1, username="admin", role="admin", division_code="370600")


def test_serve_expires_and_dispatches_in_the_background(
    session: Session, city: dict, engine: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = {
        "event_type": "gale",
        "level": "red",
        "division_code": "370602",
        "headline": "大风红色预警",
        "description": "沿海大风。",
        "expires": (NOW + timedelta(hours=1)).isoformat(),  # already past on the real clock
        "areas": [{"desc": "芝罘区", "divisions": ["370602"]}],
    }
    w = service.create_warning(session, DRAFTER, data, NOW)
    service.submit(session, DRAFTER, w.id, NOW)
    for step in (service.approve, service.issue):
        step(session, COMMANDER, w.id, NOW)
    session.commit()
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    monkeypatch.setenv("SAFECITY_WARNINGS_DISPATCH_INTERVAL_SECONDS", "0.2")
    reset_engine()
    with TestClient(create_app()):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            session.expire_all()
            if session.get(Warning, w.id).status == "expired":
                break
            time.sleep(0.2)
    reset_engine()
    session.expire_all()
    assert session.get(Warning, w.id).status == "expired"
    pending = session.scalars(
        select(Delivery.status).where(Delivery.warning_id == w.id, Delivery.status == "pending")
    ).all()
    assert pending == []
