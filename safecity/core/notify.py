"""The one notification service: every user's web inbox plus outbound channels (email, SMS,
webhook, and whatever a city plugs in through the ``safecity_channels`` hook).

Two ways in:

* to users — ``send(session, user_ids, Message(...), now)`` (or ``deliver`` for a batch of
  per-user messages): the inbox rows are written in the caller's transaction; email, SMS and
  webhooks go out only after it commits (nothing is sent for a rolled-back change, and a slow
  mail server never holds database locks). ``users(...)`` finds who to tell by role and place.
* to an address — ``channel(name).send(message, target)``: what the warning release does for
  its own delivery rows (a webhook URL, a list of mailboxes, "public" for a broadcast).

One channel protocol for both: ``send(message, target) -> Result``; a channel that can reach a
user also answers ``address(recipient)`` (an email address, a phone number, or None).
"""

from __future__ import annotations

import importlib
import json
import logging
import smtplib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol, runtime_checkable

import httpx
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from safecity.core.config import Settings
from safecity.core.errors import NotFound
from safecity.core.models import Notification, User
from safecity.core.scope import Principal, division_prefix, industry_matches

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- what is sent


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str  # "application/cap+xml"
    content: bytes


@dataclass(frozen=True)
class Message:
    """A notification as every channel sees it.

    ``title`` is the inbox line, the email subject and the SMS text; ``payload`` is what a
    webhook POSTs (JSON of the other fields when empty); ``audience`` is how many people a
    broadcast reaches (None: one addressee).
    """

    title: str
    body: str = ""
    link: str = ""
    kind: str = ""
    attachments: tuple[Attachment, ...] = ()
    payload: bytes = b""
    content_type: str = "application/json"
    audience: int | None = None


class Outgoing(Protocol):
    """Anything with a message's fields (a capability may pass its own richer object)."""

    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def link(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def attachments(self) -> tuple[Attachment, ...]: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def content_type(self) -> str: ...
    @property
    def audience(self) -> int | None: ...


@dataclass(frozen=True)
class Result:
    status: str  # sent | logged | failed
    reached: int = 0
    error: str = ""


@dataclass(frozen=True)
class Recipient:
    user_id: int
    username: str
    display_name: str = ""
    email: str | None = None
    phone: str | None = None


@runtime_checkable
class Channel(Protocol):
    """Sends one message to one target; never raises for a delivery problem (returns failed)."""

    name: str

    def send(self, message: Outgoing, target: str) -> Result: ...


@runtime_checkable
class UserChannel(Channel, Protocol):
    """A channel that can reach a user: where (None when it cannot reach this one)."""

    def address(self, recipient: Recipient) -> str | None: ...


# ---------------------------------------------------------------- the built-in channels


class EmailChannel:
    """Email through an SMTP server; ``target`` is one address or several, comma-separated."""

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

    @classmethod
    def from_settings(cls, s: Settings) -> EmailChannel:
        return cls(s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password, s.smtp_from,
                   s.smtp_starttls)  # fmt: skip

    def address(self, recipient: Recipient) -> str | None:
        return recipient.email

    def send(self, message: Outgoing, target: str) -> Result:
        recipients = [r.strip() for r in target.split(",") if r.strip()]
        if not recipients:
            return Result("failed", 0, "no address")
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = (
            self.sender,
            ", ".join(recipients),
            message.title,
        )
        mail.set_content("\n\n".join(p for p in (message.body, message.link) if p) + "\n")
        for a in message.attachments:
            main, _, sub = a.media_type.partition("/")
            mail.add_attachment(a.content, maintype=main, subtype=sub, filename=a.filename)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                refused = smtp.send_message(mail, to_addrs=recipients)
        except (OSError, smtplib.SMTPException) as exc:
            return Result("failed", 0, f"{type(exc).__name__}: {exc}")
        return Result("sent", len(recipients) - len(refused))


class LogChannel:
    """SMS, broadcast, sirens until a gateway is plugged in: the text goes to the log (and to
    ``sent``, for whoever wants to look), the audience is counted as reached."""

    def __init__(self, name: str, address_of: Callable[[Recipient], str | None] | None = None):
        self.name = name
        self.address_of = address_of
        self.sent: list[tuple[str, str]] = []

    def address(self, recipient: Recipient) -> str | None:
        return self.address_of(recipient) if self.address_of else None

    def send(self, message: Outgoing, target: str) -> Result:
        self.sent.append((target, message.title))
        del self.sent[:-1000]  # the latest thousand: a long-lived channel must not grow forever
        log.warning("[%s] to %s: %s", self.name, target, message.title)
        reached = message.audience if message.audience is not None else 1
        return Result("logged", reached)


def sms_log_channel() -> LogChannel:
    """The SMS channel with no gateway: reaches a user at their phone number, in the log."""
    return LogChannel("sms", lambda r: r.phone)


class WebhookChannel:
    """HTTP POST of the message's payload to ``target``, retried with exponential backoff."""

    name = "webhook"

    def __init__(
        self,
        attempts: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        urls: Sequence[str] = (),
    ) -> None:
        self.attempts, self.backoff, self.timeout, self.sleep = attempts, backoff, timeout, sleep
        # Fixed targets every user notification goes to once (not one POST per recipient).
        self.targets = list(urls)

    def send(self, message: Outgoing, target: str) -> Result:
        body = message.payload or json.dumps(_as_json(message), ensure_ascii=False).encode()
        error = ""
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            for attempt in range(self.attempts):
                if attempt:
                    self.sleep(self.backoff * 2 ** (attempt - 1))
                try:
                    resp = client.post(
                        target, content=body, headers={"Content-Type": message.content_type}
                    )
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    continue
                if resp.status_code < 300:
                    return Result("sent", 0)
                error = f"HTTP {resp.status_code}"
        return Result("failed", 0, error)


def _as_json(message: Outgoing) -> dict[str, Any]:
    return {"kind": message.kind, "title": message.title, "body": message.body,
            "link": message.link}  # fmt: skip


# ---------------------------------------------------------------- which channels there are

_registered: list[Channel] = []


def register_channel(channel: Channel) -> None:
    """Add a channel for user notifications at run time (tests, an embedding application);
    a city package uses the ``safecity_channels`` hook instead."""
    _registered.append(channel)


def unregister_channel(channel: Channel) -> None:
    if channel in _registered:
        _registered.remove(channel)


def plugin_channels() -> list[Channel]:
    """Channels from the ``safecity_channels`` hook (a city's SMS gateway, WeChat, …)."""
    try:
        # The plug-in manager sits above core (it imports every capability), so core reaches
        # it by name when a message is sent, as the manager itself reaches the capabilities.
        plugins = importlib.import_module("safecity.plugins")
    except ImportError:
        return []
    return list(plugins.collect("safecity_channels"))


def builtin_channels(settings: Settings | None = None) -> dict[str, Channel]:
    """Every built-in channel by name, configured or not (the warning release picks by name)."""
    s = settings or Settings()
    return {
        "email": EmailChannel.from_settings(s),
        "sms": sms_log_channel(),
        "webhook": WebhookChannel(urls=s.notify_webhook_urls),
        "broadcast": LogChannel("broadcast"),
        "siren": LogChannel("siren"),
    }


def channel(name: str, settings: Settings | None = None) -> Channel | None:
    """The channel called ``name``: a plug-in's wins over the built-in one."""
    for ch in reversed(plugin_channels()):
        if getattr(ch, "name", None) == name:
            return ch
    return builtin_channels(settings).get(name)


def user_channels(settings: Settings | None = None) -> list[Channel]:
    """The outbound channels user notifications take: email when an SMTP host is set, the
    logging SMS channel when ``sms_log`` is on, the notification webhooks when any are set,
    and every plug-in and registered channel."""
    # Read per delivery, not cached: the settings are cheap and a test or an operator's
    # environment change is seen at once.
    s = settings or Settings()
    out: list[Channel] = []
    if s.smtp_host:
        out.append(EmailChannel.from_settings(s))
    if s.sms_log:
        out.append(sms_log_channel())
    if s.notify_webhook_urls:
        out.append(WebhookChannel(urls=s.notify_webhook_urls))
    out += plugin_channels()
    out += _registered
    names = [getattr(c, "name", "") for c in out]
    # A plug-in channel of the same name replaces the built-in (a city's real SMS gateway).
    return [c for i, c in enumerate(out) if names[i] not in names[i + 1 :] or c in _registered]


# ---------------------------------------------------------------- to users


def users(
    session: Session,
    roles: Iterable[str],
    division_code: str,
    *,
    industry_code: str | None = None,
    enterprise_id: int | None = None,
    most_local: bool = False,
) -> list[User]:
    """Active users of ``roles`` whose division covers ``division_code`` (a city officer covers
    its streets). An enterprise officer counts only for their own ``enterprise_id``; a liaison
    with an industry only when ``industry_code`` is theirs. ``most_local``: keep only the users
    of the nearest division (a street's officer before the district's)."""
    wanted = sorted(set(roles))
    found = [
        u
        for u in session.scalars(
            select(User).where(User.active.is_(True), User.role.in_(wanted)).order_by(User.id)
        )
        if division_code.startswith(division_prefix(u.division_code))
        and (u.role != "enterprise_officer" or (enterprise_id and u.enterprise_id == enterprise_id))
        and (
            u.role != "department_liaison"
            or not u.industry
            or industry_matches(u.industry, industry_code)
        )  # fmt: skip
    ]
    if most_local and found:
        longest = max(len(division_prefix(u.division_code)) for u in found)
        found = [u for u in found if len(division_prefix(u.division_code)) == longest]
    return found


def send(session: Session, user_ids: Iterable[int], message: Message, now: datetime) -> int:
    """The same message to each user (duplicates once); returns how many inbox rows."""
    return deliver(session, [(uid, message) for uid in dict.fromkeys(user_ids)], now)


def deliver(session: Session, items: Sequence[tuple[int, Message]], now: datetime) -> int:
    """(user id, message) pairs: into the inbox now, out through the channels after commit."""
    if not items:
        return 0
    rows = [
        {
            "user_id": uid,
            "kind": m.kind[:24],
            "title": m.title[:200],
            "body": m.body,
            "link": m.link[:200],
            "created_at": now,
            "read_at": None,
        }
        for uid, m in items
    ]
    _insert(session, rows)
    outbound = user_channels()
    if outbound:
        # Who to reach is looked up now: after commit the session may not query any more.
        ids = {uid for uid, _ in items}
        found = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
        pending = session.info.setdefault("notify_outbound", [])
        pending.extend(
            (recipient_of(u), m) for uid, m in items if (u := found.get(uid)) is not None
        )
        _after_commit(session, outbound)
    return len(items)


def recipient_of(user: User) -> Recipient:
    # Users have no email column yet; a username that is an address is used as one.
    email = user.username if "@" in user.username else None
    return Recipient(user.id, user.username, user.display_name or "", email, user.phone)


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    table = Notification.__table__
    if session.get_bind().dialect.name == "postgresql" and len(rows) > 50:
        # COPY through the session's own connection (same transaction): the escalation job
        # writes tens of thousands of messages after a long weekend.
        columns = list(rows[0])
        raw = session.connection().connection.driver_connection
        names = ", ".join(columns)
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    else:
        session.connection().execute(insert(table), rows)


def _after_commit(session: Session, outbound: list[Channel]) -> None:
    if session.info.get("notify_hooked"):
        return
    session.info["notify_hooked"] = True

    def send_pending(sess: Session) -> None:
        pending = sess.info.pop("notify_outbound", [])
        sess.info.pop("notify_hooked", None)
        dispatch(pending, outbound)

    def drop(sess: Session) -> None:
        sess.info.pop("notify_outbound", None)
        sess.info.pop("notify_hooked", None)

    event.listen(session, "after_commit", send_pending, once=True)
    event.listen(session, "after_rollback", drop, once=True)


def dispatch(pending: Sequence[tuple[Recipient, Outgoing]], outbound: Sequence[Channel]) -> int:
    """Hand each message to every channel that reaches its recipient (and each fixed-target
    channel once per distinct message); a failing channel is logged and skipped."""
    done = 0
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for rcpt, m in pending:
        groups.setdefault((m.kind, m.title, m.body, m.link), []).append(rcpt.username)
    for ch in outbound:
        address = getattr(ch, "address", None)
        for rcpt, m in pending if address else ():
            target = address(rcpt)
            if target:
                done += _attempt(ch, m, target, rcpt.username)
        for target in getattr(ch, "targets", None) or ():
            for (kind, title, body, link), names in groups.items():
                payload = {"kind": kind, "title": title, "body": body, "link": link,
                           "recipients": names}  # fmt: skip
                m = Message(title, body, link, kind, payload=json.dumps(payload).encode())
                done += _attempt(ch, m, target, ",".join(names))
    return done


def _attempt(ch: Channel, message: Outgoing, target: str, who: str) -> int:
    try:
        result = ch.send(message, target)
    except Exception:  # a failing gateway must not lose the inbox copy or the other channels
        log.exception("channel %s failed for %s", getattr(ch, "name", ch), who)
        return 0
    if result.status == "failed":
        log.warning("channel %s failed for %s: %s", getattr(ch, "name", ch), who, result.error)
        return 0
    return 1


# ---------------------------------------------------------------- the inbox


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


def settle_before(session: Session, cutoff: datetime) -> int:
    """Mark every message created before `cutoff` read when it arrived: a loaded history (the
    demo city's past months) was seen at the time, and a 99+ badge would bury today's."""
    stmt = update(Notification).where(
        Notification.created_at < cutoff, Notification.read_at.is_(None)
    )
    # "fetch": SQLite hands back naive times, which the default in-Python sync cannot compare.
    result = session.execute(
        stmt.values(read_at=Notification.created_at).execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


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
