"""Notifications: the in-app inbox of every user plus pluggable outbound channels (SMTP email,
and an SMS channel that logs until a gateway is configured).

Outbound channels are configured by environment variables: SAFECITY_SMTP_HOST (and _PORT, _USER,
_PASSWORD, _FROM, _STARTTLS) turns email on; SAFECITY_SMS_LOG=1 turns the logging SMS channel on.
Sending happens after the database transaction commits, so a slow mail server never holds locks.
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from safecity.core.errors import NotFound
from safecity.core.models import User
from safecity.core.scope import Principal
from safecity.hazards.bulk import insert_rows
from safecity.hazards.models import Notification

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    user_id: int
    kind: str
    title: str
    body: str = ""
    link: str = ""


@dataclass(frozen=True)
class Recipient:
    user_id: int
    username: str
    email: str | None = None
    phone: str | None = None


class Channel(Protocol):
    name: str

    def send(self, recipient: Recipient, message: Message) -> None: ...


class SmtpChannel:
    """Email through an SMTP server (smtplib)."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int = 25,
        user: str | None = None,
        password: str | None = None,
        sender: str = "safecity@localhost",
        starttls: bool = False,
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.sender, self.starttls = sender, starttls

    def send(self, recipient: Recipient, message: Message) -> None:
        if not recipient.email:
            return
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, recipient.email, message.title
        mail.set_content(f"{message.body}\n\n{message.link}".strip())
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(mail)


class LogSmsChannel:
    """The SMS interface with a logging implementation until a gateway is configured."""

    name = "sms"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, recipient: Recipient, message: Message) -> None:
        if recipient.phone:
            self.sent.append((recipient.phone, message.title))
            log.info("SMS to %s: %s", recipient.phone, message.title)


_channels: list[Channel] = []


def channels() -> list[Channel]:
    """Configured outbound channels (environment) plus any registered by a plug-in."""
    out: list[Channel] = list(_channels)
    host = os.environ.get("SAFECITY_SMTP_HOST")
    if host:
        out.append(
            SmtpChannel(
                host,
                int(os.environ.get("SAFECITY_SMTP_PORT", "25")),
                os.environ.get("SAFECITY_SMTP_USER"),
                os.environ.get("SAFECITY_SMTP_PASSWORD"),
                os.environ.get("SAFECITY_SMTP_FROM", "safecity@localhost"),
                os.environ.get("SAFECITY_SMTP_STARTTLS") == "1",
            )
        )
    if os.environ.get("SAFECITY_SMS_LOG") == "1":
        out.append(LogSmsChannel())
    return out


def register_channel(channel: Channel) -> None:
    _channels.append(channel)


def unregister_channel(channel: Channel) -> None:
    if channel in _channels:
        _channels.remove(channel)


def deliver(session: Session, messages: Sequence[Message], now: datetime) -> int:
    """Put messages in the inbox now; hand them to outbound channels after commit."""
    if not messages:
        return 0

    insert_rows(
        session,
        Notification.__table__,
        [
            {
                "user_id": m.user_id,
                "kind": m.kind,
                "title": m.title[:200],
                "body": m.body,
                "link": m.link[:200],
                "created_at": now,
                "read_at": None,
            }
            for m in messages
        ],
    )
    outbound = channels()
    if outbound:
        # Who to reach is looked up now: after commit the session may not query any more.
        ids = {m.user_id for m in messages}
        users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
        pending = session.info.setdefault("hd_outbound", [])
        pending.extend(
            (Recipient(u.id, u.username, _email_of(u), u.phone), m)
            for m in messages
            if (u := users.get(m.user_id)) is not None
        )
        _after_commit(session, outbound)
    return len(messages)


def _after_commit(session: Session, outbound: list[Channel]) -> None:
    if session.info.get("hd_outbound_hooked"):
        return
    session.info["hd_outbound_hooked"] = True

    def send(sess: Session) -> None:
        pending = sess.info.pop("hd_outbound", [])
        sess.info.pop("hd_outbound_hooked", None)
        for rcpt, m in pending:
            for channel in outbound:
                try:
                    channel.send(rcpt, m)
                except Exception:  # a failing gateway must not lose the inbox copy
                    log.exception("channel %s failed for user %s", channel.name, rcpt.username)

    def drop(sess: Session) -> None:
        sess.info.pop("hd_outbound", None)
        sess.info.pop("hd_outbound_hooked", None)

    event.listen(session, "after_commit", send, once=True)
    event.listen(session, "after_rollback", drop, once=True)


def _email_of(user: User) -> str | None:
    # Users have no email column yet; a username that is an address is used as one.
    return user.username if "@" in user.username else None


# ---------------------------------------------------------------- inbox use cases


def inbox(
    session: Session, who: Principal, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == who.user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
    return list(session.scalars(stmt.limit(max(1, min(limit, 200))).offset(max(0, offset))))


def unread_count(session: Session, who: Principal) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == who.user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, who: Principal, ids: Iterable[int] | None, now: datetime) -> int:
    """Mark some (or, with None, all) of the caller's own messages read; others' are untouched."""
    stmt = update(Notification).where(
        Notification.user_id == who.user_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        wanted = list(ids)
        if len(wanted) == 1 and session.get(Notification, wanted[0]) is None:
            raise NotFound("消息", "message")
        stmt = stmt.where(Notification.id.in_(wanted))
    return session.execute(stmt.values(read_at=now)).rowcount or 0


def as_dict(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "created_at": n.created_at.isoformat(),
        "read": n.read_at is not None,
    }
