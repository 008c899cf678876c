"""Passwords (argon2), session and API tokens with expiry, and slowing down repeated failed logins."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safecity.core.clock import utcnow
from safecity.core.config import get_settings
from safecity.core.errors import TooManyRequests, Unauthorized
from safecity.core.models import AuthToken, User
from safecity.core.scope import Principal

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_delay_seconds(failures: int, free: int, ceiling: int) -> int:
    """The first `free` failures cost nothing; each further one doubles the wait: 1, 2, 4 … s."""
    if failures <= free:
        return 0
    return min(ceiling, 2 ** (failures - free - 1))


def _as_aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything here is UTC.
    return value if value.tzinfo else value.replace(tzinfo=now_utc().tzinfo)


def now_utc() -> datetime:
    return utcnow()


@dataclass
class _Failures:
    count: int = 0
    until: datetime | None = None
    last: datetime | None = None


@dataclass
class LoginThrottle:
    """Failed logins slow down per (username, address) and per address, never per user alone.

    A user can thus not be locked out by someone elsewhere guessing their password, while one
    address guessing one account, or spraying many (known or unknown) usernames, soon waits
    1, 2, 4 … s per attempt. Counts live in this process (one per app) and are forgotten after
    `window` without failures; the dictionaries are bounded so a flood cannot fill memory.
    """

    pair_free: int = 3
    address_free: int = 20
    ceiling: int = 900
    window: timedelta = timedelta(hours=1)
    max_entries: int = 100_000
    _pairs: OrderedDict[tuple[str, str], _Failures] = field(default_factory=OrderedDict)
    _addresses: OrderedDict[str, _Failures] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls) -> LoginThrottle:
        s = get_settings()
        return cls(s.login_free_failures, s.login_address_free_failures, s.login_max_delay_seconds)

    def wait_seconds(self, username: str, address: str, now: datetime) -> int:
        with self._lock:
            until = [
                f.until
                for f in (
                    self._pairs.get((username.lower(), address)),
                    self._addresses.get(address),
                )
                if f and f.until
            ]
        wait = max(((u - now).total_seconds() for u in until), default=0)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, username: str, address: str, now: datetime) -> None:
        with self._lock:
            self._count(self._pairs, (username.lower(), address), self.pair_free, now)
            self._count(self._addresses, address, self.address_free, now)

    def succeeded(self, username: str, address: str) -> None:
        # The address budget stays: one known password must not buy unlimited guesses elsewhere.
        with self._lock:
            self._pairs.pop((username.lower(), address), None)

    def _count(self, table: OrderedDict, key: object, free: int, now: datetime) -> None:  # type: ignore[type-arg]
        entry = table.pop(key, None) or _Failures()
        if entry.last and now - entry.last > self.window:
            entry = _Failures()
        entry.count += 1
        entry.last = now
        delay = login_delay_seconds(entry.count, free, self.ceiling)
        entry.until = now + timedelta(seconds=delay) if delay else None
        table[key] = entry  # most recent last, so the oldest go first when full
        while len(table) > self.max_entries:
            table.popitem(last=False)


def authenticate(
    session: Session,
    username: str,
    password: str,
    now: datetime,
    address: str | None = None,
    throttle: LoginThrottle | None = None,
) -> User:
    """The user behind a correct password; wrong ones are counted by `throttle` (see there)."""
    source = address or "unknown"
    if throttle is not None and (wait := throttle.wait_seconds(username, source, now)):
        raise TooManyRequests(wait)  # before the password check: waiting is not optional
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        check_password(_dummy_hash(), password)
    if user is None or not user.active or not check_password(user.password_hash, password):
        if user is not None:
            user.failed_logins += 1  # shown to administrators; no longer locks the account
        if throttle is not None:
            throttle.failed(username, source, now)
        raise Unauthorized("用户名或密码错误", "wrong username or password")
    if throttle is not None:
        throttle.succeeded(username, source)
    user.failed_logins = 0
    user.locked_until = None
    return user


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_hex(8)))
    return _DUMMY[0]


def issue_token(session: Session, user: User, kind: str, now: datetime) -> tuple[str, datetime]:
    settings = get_settings()
    minutes = settings.session_ttl_minutes if kind == "session" else settings.token_ttl_minutes
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(minutes=minutes)
    session.add(
        AuthToken(
            token_hash=_digest(token),
            user_id=user.id,
            kind=kind,
            created_at=now,
            expires_at=expires,
        )
    )
    session.execute(delete(AuthToken).where(AuthToken.expires_at < now))
    return token, expires


def revoke_token(session: Session, token: str) -> None:
    session.execute(delete(AuthToken).where(AuthToken.token_hash == _digest(token)))


def principal_for_token(session: Session, token: str, now: datetime) -> Principal | None:
    row = session.get(AuthToken, _digest(token))
    if row is None or _as_aware(row.expires_at) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return to_principal(user)


def to_principal(user: User) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        division_code=user.division_code,
        enterprise_id=user.enterprise_id,
        industry=user.industry,
        display_name=user.display_name,
    )


def csrf_for(token: str) -> str:
    return hashlib.sha256(("csrf:" + token).encode()).hexdigest()[:32]
