"""The demo city's enforcement year: realistic volumes, every record backed by its documents and
audit entries (bulk or through the service alike), loaded once, and quick."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from safecity.core import audit
from safecity.core.config import get_settings
from safecity.core.models import AuditEntry
from safecity.enforcement import case_search, common, demo, selection, signatures
from safecity.enforcement.models import Case, Document, Draw, Inspection
from safecity.hazards import demo as hazards_demo
from safecity.registry import demo as city_demo
from tests.conftest import NOW


@pytest.fixture
def storage(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The demo's signature images go to a temporary storage folder."""
    monkeypatch.setenv("SAFECITY_STORAGE_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    get_settings.cache_clear()


def test_demo_year(session, storage) -> None:  # type: ignore[no-untyped-def]
    city_demo.load(session, city_demo.generate(seed=7, now=NOW), NOW)
    hazards_demo.load(session, NOW)  # the checklists inspections use
    session.commit()
    cpu = time.process_time()
    counts = demo.load(session, NOW)["enforcement"]
    cpu = time.process_time() - cpu
    session.commit()
    assert demo.load(session, NOW) == {}  # a second run does nothing
    # generous against a loaded CI machine; it measured 15 s of CPU for the full demo city
    assert cpu < 60, cpu
    assert counts["draws"] >= 11 and counts["inspections"] > 1000 and counts["cases"] > 100
    draws = list(session.scalars(select(Draw)))
    assert all(d.published and d.status == "drawn" for d in draws)
    ok, _ = selection.verify_draw(session, draws[0].id)
    assert ok
    status = Counter(session.scalars(select(Inspection.status)))
    assert status["done"] == counts["inspections"] and status["planned"] > 0
    # every finished inspection has exactly one 现场检查记录, numbered uniquely in its division
    records = Counter(
        session.scalars(select(Document.inspection_id).where(Document.kind == "inspection_record"))
    )
    assert len(records) == status["done"] and set(records.values()) == {1}
    # …signed by hand by each inspector and the party, bulk or through the service alike
    for i in session.scalars(select(Inspection).where(Inspection.status == "done")):
        images = i.signatures["images"]
        assert len(images) == len(i.inspector_ids) + 1 and images[-1]["key"] == "party"
    some = session.scalars(select(Document).where(Document.kind == "inspection_record")).first()
    assert all(signatures.read(png) for _, _, png in some.content["signatures"])
    numbers = session.execute(select(Document.division_code, Document.kind, Document.number)).all()
    assert len(numbers) == len(set(numbers))
    # bulk-finished ones have their audit entries like the service's, stamped on their day
    done = session.scalars(
        select(Inspection).where(Inspection.status == "done").order_by(Inspection.id).limit(1)
    ).one()
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.object_type == "enf_inspection",
            AuditEntry.object_id == str(done.id),
            AuditEntry.action == "finish",
        )
    ).one()
    assert common.local_date(entry.ts) == common.local_date(done.finished_at)
    assert audit.verify(session).ok
    # cases at every stage, some closed, some past their decision deadline
    states = dict(session.execute(select(Case.state, func.count()).group_by(Case.state)).all())
    assert {"clue", "investigating", "reviewing", "notified", "executing", "closed"} <= set(states)
    overdue = case_search.list_cases(
        session, demo._principal(session, "head"), case_search.CaseFilters(overdue=True), NOW
    )[1]
    assert overdue > 0
