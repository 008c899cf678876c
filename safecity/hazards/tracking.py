"""Tracking links for anonymous hidden-danger reports: a random token handed to the reporter once,
stored only as its SHA-256, that opens the report's public progress (no staff names or phones,
nothing about other reports). Lookups are rate-limited per address so tokens cannot be guessed."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.errors import NotFound, TooManyRequests
from safecity.hazards import rules
from safecity.hazards import workflow as wf
from safecity.hazards.models import HiddenDanger, HiddenDangerEvent
from safecity.hazards.service import ip_key

LOOKUPS_PER_HOUR = 30
# Public steps in order: (key, zh, en, the workflow states at or past this step).
STEPS: tuple[tuple[str, str, str, frozenset[str]], ...] = (
    ("received", "已受理", "Received", frozenset(wf.STATES)),
    (
        "assigned",
        "已交办整改",
        "Assigned",
        frozenset({wf.REGISTERED, wf.PLAN_SUBMITTED, wf.RECTIFYING, wf.SUBMITTED, wf.CLOSED}),
    ),
    (
        "rectifying",
        "整改中",
        "Being rectified",
        frozenset({wf.RECTIFYING, wf.SUBMITTED, wf.CLOSED}),
    ),
    ("closed", "已办结", "Closed", frozenset({wf.CLOSED, wf.REJECTED})),
)


def digest(token: str) -> str:
    return hashlib.sha256(f"safecity-track:{token}".encode()).hexdigest()


def issue(hd: HiddenDanger) -> str:
    """A new token for `hd` (only its hash is kept); the caller shows it to the reporter once."""
    token = secrets.token_urlsafe(24)
    hd.tracking_hash = digest(token)
    return token


def link(token: str) -> str:
    return f"/hazards/track/{token}"


class LookupLimiter:
    """At most LOOKUPS_PER_HOUR lookups per address in any hour (kept in memory)."""

    def __init__(self, per_hour: int = LOOKUPS_PER_HOUR, max_keys: int = 10_000) -> None:
        self.per_hour, self.max_keys = per_hour, max_keys
        self._seen: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def check(self, key: str | None, now: datetime) -> None:
        if key is None:
            return
        with self._lock:
            times = self._seen.setdefault(key, deque())
            while times and now - times[0] >= timedelta(hours=1):
                times.popleft()
            if len(times) >= self.per_hour:
                wait = times[0] + timedelta(hours=1) - now
                raise TooManyRequests(max(1, int(wait.total_seconds())))
            times.append(now)
            if len(self._seen) > self.max_keys:  # forget the oldest address first
                self._seen.pop(next(iter(self._seen)))

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


LIMITER = LookupLimiter()


def find(session: Session, token: str, ip: str | None, now: datetime) -> HiddenDanger:
    """The report behind `token`; 404 for a wrong one, 429 once the address used its budget."""
    LIMITER.check(ip_key(ip), now)
    hd = None
    if 16 <= len(token) <= 64:
        hd = session.scalar(select(HiddenDanger).where(HiddenDanger.tracking_hash == digest(token)))
    if hd is None:
        raise NotFound("举报记录", "report")
    return hd


def progress(session: Session, hd: HiddenDanger, lang: str) -> dict[str, Any]:
    """What the reporter may see: number, title, reported date, current step and the steps."""
    reached = _reached_at(session, hd)
    steps = [
        {
            "key": key,
            "label": en if lang == "en" else zh,
            "done": hd.status in states,
            "at": _day(reached.get(key)) if hd.status in states else None,
        }
        for key, zh, en, states in STEPS
    ]
    current = [s for s in steps if s["done"]][-1]
    rejected = hd.status == wf.REJECTED
    note = (
        (
            "Checked: not a hidden danger; the report is closed"
            if lang == "en"
            else "经核实不构成隐患，已办结"
        )
        if rejected
        else ""
    )
    return {
        "id": hd.id,
        "title": hd.title,
        "reported_at": _day(hd.reported_at),
        "stage": current["key"],
        "stage_label": current["label"],
        "note": note,
        "steps": steps,
    }


def _reached_at(session: Session, hd: HiddenDanger) -> dict[str, datetime | None]:
    rectifying = session.scalar(
        select(HiddenDangerEvent.at)
        .where(
            HiddenDangerEvent.hidden_danger_id == hd.id,
            HiddenDangerEvent.to_status == wf.RECTIFYING,
        )
        .order_by(HiddenDangerEvent.at)
        .limit(1)
    )
    ended = (
        hd.closed_at
        if hd.status == wf.CLOSED
        else session.scalar(
            select(HiddenDangerEvent.at)
            .where(
                HiddenDangerEvent.hidden_danger_id == hd.id,
                HiddenDangerEvent.to_status == wf.REJECTED,
            )
            .limit(1)
        )
    )
    return {
        "received": hd.reported_at,
        "assigned": hd.registered_at,
        "rectifying": rectifying,
        "closed": ended,
    }


def _day(value: datetime | None) -> str | None:
    return wf.as_utc(value).astimezone(rules.BEIJING).strftime("%Y-%m-%d") if value else None
