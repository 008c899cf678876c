"""Audit hash chain: every write is recorded, and edits or deletions are detected by verify."""

from sqlalchemy import text

from safecity.core import audit
from safecity.core.models import AuditEntry
from tests.conftest import NOW


def _write_three(session) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        audit.record(
            session,
            actor="admin",
            action="update",
            object_type="enterprise",
            object_id=i,
            before={"name": f"旧{i}"},
            after={"name": f"新{i}"},
            now=NOW,
        )
    session.commit()


def test_intact_chain_verifies(session) -> None:  # type: ignore[no-untyped-def]
    _write_three(session)
    result = audit.verify(session)
    assert result.ok and result.checked == 3


def test_edited_entry_is_named(session) -> None:  # type: ignore[no-untyped-def]
    _write_three(session)
    target = session.query(AuditEntry).filter_by(seq=2).one()
    # Tamper behind the application's back, as an intruder with database access would.
    session.execute(
        text("UPDATE audit_log SET actor = 'intruder' WHERE id = :id"), {"id": target.id}
    )
    session.commit()
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok
    assert any(f"id {target.id} " in p and "edited" in p for p in result.problems)


def test_deleted_middle_entry_is_detected(session) -> None:  # type: ignore[no-untyped-def]
    _write_three(session)
    session.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    session.commit()
    result = audit.verify(session)
    assert not result.ok
    assert any("missing" in p for p in result.problems)


def test_deleted_newest_entry_is_detected(session) -> None:  # type: ignore[no-untyped-def]
    _write_three(session)
    session.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    session.commit()
    result = audit.verify(session)
    assert not result.ok and any("head" in p for p in result.problems)


def test_chain_links_each_entry_to_the_previous(session) -> None:  # type: ignore[no-untyped-def]
    _write_three(session)
    rows = session.query(AuditEntry).order_by(AuditEntry.seq).all()
    assert rows[0].prev_hash == audit.GENESIS
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert rows[1].before == {"name": "旧1"} and rows[1].after == {"name": "新1"}
