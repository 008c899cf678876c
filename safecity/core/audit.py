"""Append-only audit log chained by SHA-256 so that edits and deletions are detectable."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from safecity.core.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(
    prev_hash: str,
    seq: int,
    ts: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Any,
    after: Any,
) -> str:
    # Timestamps are hashed in UTC ISO form so SQLite (naive) and PostgreSQL agree.
    stamp = ts.replace(tzinfo=None).isoformat(timespec="microseconds")
    payload = _canonical(
        [prev_hash, seq, stamp, actor, action, object_type, object_id, before, after]
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    # Writers must take turns so two transactions never extend the chain from the same head.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(727001)"))


@dataclass(frozen=True)
class Change:
    object_type: str
    object_id: Any
    action: str
    before: dict | None
    after: dict | None


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: Any,
    before: dict | None,
    after: dict | None,
    now: datetime,
) -> AuditEntry:
    return record_many(
        session, actor, [Change(object_type, object_id, action, before, after)], now
    )[0]


def record_many(
    session: Session, actor: str, changes: list[Change], now: datetime
) -> list[AuditEntry]:
    """Append entries for many changes with one head update (bulk imports use this)."""
    if not changes:
        return []
    _lock_chain(session)
    head = session.get(AuditHead, 1, with_for_update=True)
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    seq, prev = head.seq, head.hash
    entries = []
    for change in changes:
        seq += 1
        before = json.loads(_canonical(change.before)) if change.before is not None else None
        after = json.loads(_canonical(change.after)) if change.after is not None else None
        key = str(change.object_id)
        digest = entry_hash(
            prev, seq, now, actor, change.action, change.object_type, key, before, after
        )
        entries.append(
            AuditEntry(
                seq=seq,
                ts=now,
                actor=actor,
                action=change.action,
                object_type=change.object_type,
                object_id=key,
                before=before,
                after=after,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    session.add_all(entries)
    head.seq, head.hash = seq, prev
    session.flush()
    return entries


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]


def verify(session: Session) -> VerifyResult:
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(2000):
        checked += 1
        if e.seq != expected_seq:
            problems.append(
                f"entry seq {expected_seq}..{e.seq - 1} missing (deleted) before id {e.id}"
            )
            expected_seq = e.seq
        if e.prev_hash != prev:
            problems.append(f"entry id {e.id} (seq {e.seq}): chain broken, previous hash mismatch")
        digest = entry_hash(
            e.prev_hash,
            e.seq,
            e.ts,
            e.actor,
            e.action,
            e.object_type,
            e.object_id,
            e.before,
            e.after,
        )
        if digest != e.hash:
            problems.append(f"entry id {e.id} (seq {e.seq}): content edited, hash mismatch")
        prev = e.hash
        expected_seq += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        problems.append(
            f"newest entries missing: head is seq {head.seq}, log ends at {expected_seq - 1}"
        )
    return VerifyResult(ok=not problems, checked=checked, problems=problems)
