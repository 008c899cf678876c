"""Demo warnings for Yantai: in force, expired, lifted and one imported CAP alert; idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.warnings import cap, demo, service
from safecity.warnings.models import Delivery, Warning

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_demo_loads_once(session: Session, city: dict) -> None:
    counts = demo.load(session, NOW)
    session.commit()
    assert counts == {"warnings": 5, "external_warnings": 1}
    assert demo.load(session, NOW) == {}
    statuses = dict(
        session.execute(select(Warning.status, func.count()).group_by(Warning.status)).all()
    )
    assert statuses == {"issued": 3, "expired": 1, "cancelled": 1, "external": 1}
    current = service.current_public(session, "370602", NOW)
    assert sorted(w.level for w in current) == [
        "orange",
        "orange",
        "yellow",
    ]  # incl. the met office
    for w in session.scalars(select(Warning).where(Warning.kind == "local")):
        assert cap.validate_xml(w.cap_xml.encode()) == []
    pending = session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
    )
    assert pending == 0
