"""Release channels: a delivery row per (message, channel, target) and a dispatcher that sends them.

Deliveries are rows with a status, so a crash or restart loses nothing: `dispatch_pending`
(the `safecity warnings dispatch` command, and a background task after each issue) picks up
whatever is pending, due for retry, or was left half-sent. One channel failing never stops
the others: each delivery is sent and recorded on its own.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

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
    """What a channel needs, copied out of the database so sending holds no transaction."""

    warning_id: int
    msg_type: str
    level: str
    headline: str
    description: str
    instruction: str
    cap_xml: str
    population: int


@dataclass(frozen=True)
class Result:
    status: str  # sent | logged | failed
    reached: int = 0
    error: str = ""


class Channel(Protocol):
    def send(self, message: Message, target: str) -> Result: ...


class WebChannel:
    """The public page and the map read issued warnings straight from the store."""

    def send(self, message: Message, target: str) -> Result:
        return Result("sent", 0)


class LoggingChannel:
    """SMS, broadcast and sirens until a gateway is configured: log the text, count the area."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: Message, target: str) -> Result:
        log.warning(
            "[%s] %s %s — %s", self.name, message.msg_type, message.headline, message.instruction
        )
        return Result("logged", message.population)


class WebhookChannel:
    """HTTP POST of the CAP XML, retried with exponential backoff inside one attempt."""

    def __init__(
        self,
        attempts: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts, self.backoff, self.timeout, self.sleep = attempts, backoff, timeout, sleep

    def send(self, message: Message, target: str) -> Result:
        error = ""
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            for attempt in range(self.attempts):
                if attempt:
                    self.sleep(self.backoff * 2 ** (attempt - 1))
                try:
                    resp = client.post(
                        target,
                        content=message.cap_xml.encode("utf-8"),
                        headers={"Content-Type": "application/cap+xml"},
                    )
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    continue
                if resp.status_code < 300:
                    return Result("sent", 0)
                error = f"HTTP {resp.status_code}"
        return Result("failed", 0, error)


class EmailChannel:
    def __init__(self, settings: WarningSettings) -> None:
        self.s = settings

    def send(self, message: Message, target: str) -> Result:
        recipients = [r for r in target.split(",") if r.strip()]
        mail = EmailMessage()
        mail["Subject"] = message.headline
        mail["From"] = self.s.email_from
        mail["To"] = ", ".join(recipients)
        mail.set_content(f"{message.headline}\n\n{message.description}\n\n{message.instruction}\n")
        mail.add_attachment(
            message.cap_xml.encode("utf-8"),
            maintype="application",
            subtype="cap+xml",
            filename=f"warning-{message.warning_id}.xml",
        )
        try:
            with smtplib.SMTP(self.s.smtp_host, self.s.smtp_port, timeout=10) as smtp:
                if self.s.smtp_starttls:
                    smtp.starttls()
                if self.s.smtp_user:
                    smtp.login(self.s.smtp_user, self.s.smtp_password)
                refused = smtp.send_message(mail, to_addrs=recipients)
        except (OSError, smtplib.SMTPException) as exc:
            return Result("failed", 0, f"{type(exc).__name__}: {exc}")
        return Result("sent", len(recipients) - len(refused))


def adapters(settings: WarningSettings) -> dict[str, Channel]:
    return {
        "web": WebChannel(),
        "webhook": WebhookChannel(
            settings.webhook_attempts,
            settings.webhook_backoff_seconds,
            settings.webhook_timeout_seconds,
        ),
        "email": EmailChannel(settings),
        "sms": LoggingChannel("sms"),
        "broadcast": LoggingChannel("broadcast"),
        "siren": LoggingChannel("siren"),
    }


def targets(channel: str, settings: WarningSettings) -> list[str]:
    if channel == "webhook":
        return list(settings.webhook_urls)
    if channel == "email":
        return [",".join(settings.email_to)] if settings.smtp_host and settings.email_to else []
    if channel in ("web", "sms", "broadcast", "siren"):
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
