"""Enforcement reads an enterprise's hidden dangers through the hazards service
(hazards.service.enterprise_counts, checklist_name), not the hazards tables: the supervision
class facts count open major and overdue hidden dangers as before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from safecity.enforcement import supervision
from safecity.hazards import service as hd_service
from safecity.hazards.models import Checklist, HiddenDanger
from tests.conftest import NOW


def _hd(enterprise_id: int, status: str, grade: str | None, deadline_days: int | None) -> Any:
    return HiddenDanger(
        title="t",
        source="enterprise_self",
        status=status,
        grade=grade,
        division_code="370602",
        enterprise_id=enterprise_id,
        reported_at=NOW - timedelta(days=30),
        updated_at=NOW - timedelta(days=30),
        month="2026-10",
        deadline=None if deadline_days is None else NOW + timedelta(days=deadline_days),
    )


def test_supervision_facts_count_hidden_dangers_through_the_hazards_service(
    session: Session, city: dict
) -> None:
    first, second, third = city["enterprises"][:3]
    session.add_all(
        [
            # first: two open major (one overdue on the clock), one closed major, one rejected
            _hd(first.id, "registered", "major", -2),
            _hd(first.id, "confirmed", "major", None),
            _hd(first.id, "closed", "major", -40),
            _hd(first.id, "rejected", "major", None),
            # second: general ones: one overdue rectifying, one overdue but submitted (off the
            # clock), one not yet due
            _hd(second.id, "rectifying", "general", -1),
            _hd(second.id, "submitted", "general", -5),
            _hd(second.id, "plan_submitted", "general", 3),
        ]
    )
    session.flush()
    ids = [first.id, second.id, third.id, *range(10_000, 11_000)]  # more than one chunk
    counts = hd_service.enterprise_counts(session, ids, NOW)
    assert counts == {first.id: (2, 1), second.id: (0, 1)}  # third has none: left out
    facts = supervision.enterprise_facts(session, [first, second, third], NOW)
    got = {
        e.id: (facts[e.id]["open_major_hazards"], facts[e.id]["overdue_hazards"])
        for e in (first, second, third)
    }
    assert got == {first.id: (2, 1), second.id: (0, 1), third.id: (0, 0)}


def test_an_inspection_record_names_its_checklist_through_the_hazards_service(
    session: Session, city: dict
) -> None:
    checklist = Checklist(name="燃气企业检查表", division_code="370602", created_at=NOW)
    session.add(checklist)
    session.flush()
    assert hd_service.checklist_name(session, checklist.id) == "燃气企业检查表"
    assert hd_service.checklist_name(session, checklist.id + 1) is None
