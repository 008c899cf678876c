"""Passwords (argon2), session and API tokens with expiry, and slowing down repeated failed logins."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

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
    from safecity.core.clock import utcnow

    return utcnow()


def authenticate(session: Session, username: str, password: str, now: datetime) -> User:
    settings = get_settings()
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        check_password(_dummy_hash(), password)
        raise Unauthorized("用户名或密码错误", "wrong username or password")
    if user.locked_until and _as_aware(user.locked_until) > now:
        wait = int((_as_aware(user.locked_until) - now).total_seconds()) + 1
        raise TooManyRequests(wait)
    if not user.active or not check_password(user.password_hash, password):
        user.failed_logins += 1
        delay = login_delay_seconds(
            user.failed_logins, settings.login_free_failures, settings.login_max_delay_seconds
        )
        user.locked_until = now + timedelta(seconds=delay) if delay else None
        raise Unauthorized("用户名或密码错误", "wrong username or password")
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
    session.add(AuthToken(token_hash=_digest(token), user_id=user.id, kind=kind,
                          created_at=now, expires_at=expires))
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
        user_id=user.id, username=user.username, role=user.role,
        division_code=user.division_code, enterprise_id=user.enterprise_id,
        industry=user.industry, display_name=user.display_name,
    )


def csrf_for(token: str) -> str:
    return hashlib.sha256(("csrf:" + token).encode()).hexdigest()[:32]
