"""Release channels: a delivery row per (message, channel, target) and a dispatcher that sends them.

The channels themselves (email, SMS, webhook, broadcast, a city's own gateway) are the platform's
notification service (``safecity.core.notify``); what is warning-specific lives here: the CAP
message they carry, the web page channel, who the targets are, and the delivery rows.

Deliveries are rows with a status, so a crash or restart loses nothing: `dispatch_pending`
(the `safecity warnings dispatch` command, and a background task after each issue) picks up
whatever is pending, due for retry, or was left half-sent. One channel failing never stops
the others: each delivery is sent and recorded on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from safecity.core import notify
from safecity.core.config import get_settings
from safecity.warnings.models import Delivery, Warning
from safecity.warnings.settings import WarningSettings, get_warning_settings

log = logging.getLogger("safecity.warnings.channels")
STALE_SENDING = timedelta(minutes=5)  # a "sending" row this old was cut off by a crash
CHANNEL_NAMES: dict[str, tuple[str, str]] = {
    "web": ("网站/应用", "Web/app"),
    "webhook": ("Webhook 推送", "Webhook"),
    "email": ("电子邮件", "Email"),
    "sms": ("短信", "SMS"),
    "broadcast": ("应急广播", "Broadcast"),
    "siren": ("警报器", "Siren"),
}
DELIVERY_STATUSES: dict[str, tuple[str, str]] = {
    "pending": ("待发送", "pending"),
    "sending": ("发送中", "sending"),
    "retry": ("等待重试", "retrying"),
    "sent": ("已送达", "sent"),
    "logged": ("已记录（未接网关）", "logged (no gateway)"),
    "failed": ("失败", "failed"),
}


@dataclass(frozen=True)
class Message:
    """What a channel needs, copied out of the database so sending holds no transaction. It
    has the fields of a ``notify.Message`` too (as properties), so the notification service's
    channels send it as they send any other message."""

    warning_id: int
    msg_type: str
    level: str
    headline: str
    description: str
    instruction: str
    cap_xml: str
    population: int

    @property
    def title(self) -> str:
        return self.headline

    @property
    def body(self) -> str:
        return "\n\n".join(p for p in (self.headline, self.description, self.instruction) if p)

    @property
    def link(self) -> str:
        return ""

    @property
    def kind(self) -> str:
        return f"warning_{self.msg_type.lower()}"

    @property
    def attachments(self) -> tuple[notify.Attachment, ...]:
        name = f"warning-{self.warning_id}.xml"
        return (notify.Attachment(name, "application/cap+xml", self.cap_xml.encode("utf-8")),)

    @property
    def payload(self) -> bytes:
        return self.cap_xml.encode("utf-8")

    @property
    def content_type(self) -> str:
        return "application/cap+xml"

    @property
    def audience(self) -> int:
        return self.population


Result = notify.Result


class Channel(Protocol):
    def send(self, message: Message, target: str) -> Result: ...


class WebChannel:
    """The public page and the map read issued warnings straight from the store."""

    name = "web"

    def send(self, message: Message, target: str) -> Result:
        return Result("sent", 0)


# SMS, broadcast and sirens until a gateway is plugged in: log the text, count the area.
LoggingChannel = notify.LogChannel
# HTTP POST of the CAP XML (the message's payload), retried with backoff inside one attempt.
WebhookChannel = notify.WebhookChannel


class EmailChannel(notify.EmailChannel):
    """Email with the CAP XML attached, through the [warnings] SMTP server when one is set,
    else the platform's (SAFECITY_SMTP_*)."""

    def __init__(self, settings: WarningSettings) -> None:
        if settings.smtp_host:
            super().__init__(settings.smtp_host, settings.smtp_port, settings.smtp_user,
                             settings.smtp_password, settings.email_from, settings.smtp_starttls)  # fmt: skip
        else:
            core = get_settings()
            super().__init__(core.smtp_host, core.smtp_port, core.smtp_user, core.smtp_password,
                             settings.email_from, core.smtp_starttls)  # fmt: skip


def adapters(settings: WarningSettings) -> dict[str, Channel]:
    """Every channel a warning can go out on: the notification service's (a city's plug-in
    channel replaces a built-in of the same name, and adds its own names), with the web page
    and the warning settings' webhook and email."""
    out: dict[str, Channel] = {name: ch for name, ch in notify.builtin_channels().items()}
    out |= {
        "web": WebChannel(),
        "webhook": WebhookChannel(
            settings.webhook_attempts,
            settings.webhook_backoff_seconds,
            settings.webhook_timeout_seconds,
        ),
        "email": EmailChannel(settings),
    }
    for ch in notify.plugin_channels():
        out[ch.name] = ch
    return out


def targets(channel: str, settings: WarningSettings) -> list[str]:
    if channel == "webhook":
        return list(settings.webhook_urls)
    if channel == "email":
        smtp = settings.smtp_host or get_settings().smtp_host
        return [",".join(settings.email_to)] if smtp and settings.email_to else []
    if channel in ("web", "sms", "broadcast", "siren"):
        return ["public"]
    # A city's own channel (a plug-in) listed in the settings reaches the public of the area.
    if any(getattr(ch, "name", None) == channel for ch in notify.plugin_channels()):
        return ["public"]
    return []


def plan_deliveries(
    session: Session, w: Warning, settings: WarningSettings, now: datetime
) -> list[Delivery]:
    """One pending row per channel target; existing rows are kept, so a retry adds nothing."""
    existing = {
        (d.channel, d.target)
        for d in session.scalars(select(Delivery).where(Delivery.warning_id == w.id))
    }
    rows = []
    for channel in settings.channels:
        for target in targets(channel, settings):
            if (channel, target[:300]) in existing:
                continue
            rows.append(
                Delivery(
                    warning_id=w.id,
                    channel=channel,
                    target=target[:300],
                    status="pending",
                    created_at=now,
                    updated_at=now,
                )
            )
    session.add_all(rows)
    session.flush()
    return rows


def _due(now: datetime) -> Any:
    return or_(
        Delivery.status == "pending",
        (Delivery.status == "retry") & (Delivery.next_attempt_at <= now),
        (Delivery.status == "sending") & (Delivery.updated_at <= now - STALE_SENDING),
    )


def _claim(session: Session, delivery_id: int, now: datetime) -> tuple[Delivery, Message] | None:
    """Take one due delivery; a single conditional UPDATE so two dispatchers never both send."""
    taken = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, _due(now))
        .values(status="sending", attempts=Delivery.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    d = session.get(Delivery, delivery_id, populate_existing=True)
    w = session.get(Warning, d.warning_id) if d is not None else None
    if d is None or w is None or not w.cap_xml:
        if d is not None:
            d.status, d.last_error = "failed", "no CAP message"
        return None
    message = Message(
        w.id,
        w.msg_type,
        w.level,
        w.headline,
        w.description,
        w.instruction,
        w.cap_xml,
        int((w.targeting or {}).get("population", 0)),
    )
    return d, message


def _record(d: Delivery, result: Result, now: datetime, settings: WarningSettings) -> None:
    d.updated_at = now
    d.last_error = result.error[:2000]
    if result.status in ("sent", "logged"):
        d.status, d.reached, d.sent_at, d.next_attempt_at = result.status, result.reached, now, None
    elif d.attempts >= settings.max_attempts:
        d.status, d.next_attempt_at = "failed", None
    else:
        d.status = "retry"
        d.next_attempt_at = now + timedelta(seconds=30 * 2 ** (d.attempts - 1))


def dispatch_pending(
    session_factory: Callable[[], Session],
    now: Callable[[], datetime],
    channels: dict[str, Channel] | None = None,
    settings: WarningSettings | None = None,
    limit: int = 200,
) -> dict[str, int]:
    """Send every due delivery once; returns counts by resulting status."""
    settings = settings or get_warning_settings()
    channels = channels or adapters(settings)
    with session_factory() as session:
        ids = list(
            session.scalars(
                select(Delivery.id).where(_due(now())).order_by(Delivery.id).limit(limit)
            )
        )
    counts: dict[str, int] = {}
    for delivery_id in ids:
        with session_factory() as session:
            claimed = _claim(session, delivery_id, now())
            session.commit()
            if claimed is None:
                continue
            d, message = claimed
            channel, target = d.channel, d.target
        adapter = channels.get(channel)
        try:
            result = (
                adapter.send(message, target)
                if adapter
                else Result("failed", 0, f"no adapter for channel {channel}")
            )
        except Exception as exc:  # a broken adapter must not stop the other channels
            log.exception("channel %s failed", channel)
            result = Result("failed", 0, f"{type(exc).__name__}: {exc}")
        with session_factory() as session:
            d = session.get(Delivery, delivery_id)
            if d is not None:
                _record(d, result, now(), settings)
                counts[d.status] = counts.get(d.status, 0) + 1
            session.commit()
    return counts
