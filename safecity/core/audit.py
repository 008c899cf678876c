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
SYSTEM_ACTOR = "system"  # jobs, rules and loaders that act on no one's behalf
MACHINE_ACTORS = (SYSTEM_ACTOR, "demo")  # and "system:<part>"; the demo loader is no person


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


@dataclass(frozen=True)
class AuditFilter:
    """What an administrator looks for in the log; every field optional. `before_seq` pages
    backwards (keyset: the log only grows at the newest end, so a page never shifts)."""

    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None
    people_only: bool = False  # leave out the system's own entries (alarms, signals, drafts)
    before_seq: int | None = None


def search(session: Session, flt: AuditFilter, limit: int) -> list[AuditEntry]:
    """The newest entries matching `flt`, newest first, at most `limit`."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    exact = {
        AuditEntry.actor: flt.actor,
        AuditEntry.object_type: flt.object_type,
        AuditEntry.object_id: flt.object_id,
        AuditEntry.action: flt.action,
    }
    for column, value in exact.items():
        if value:
            stmt = stmt.where(column == value)
    if flt.since is not None:
        stmt = stmt.where(AuditEntry.ts >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(AuditEntry.ts < flt.until)
    if flt.people_only:
        stmt = stmt.where(
            AuditEntry.actor.not_in(MACHINE_ACTORS),
            AuditEntry.actor.not_like(f"{SYSTEM_ACTOR}:%"),  # system:alarm, system:plans, …
        )
    if flt.before_seq is not None:
        stmt = stmt.where(AuditEntry.seq < flt.before_seq)
    return list(session.scalars(stmt))


def object_types(session: Session) -> list[str]:
    """Every object type the log holds (for the page's filter)."""
    return list(
        session.scalars(select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type))
    )
