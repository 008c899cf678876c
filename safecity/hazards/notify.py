"""Hidden-danger notifications through the platform's one notification service
(``safecity.core.notify``): the inbox, email, SMS and webhooks live there; this module keeps the
per-user message shape the workflow and the escalation job build."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from safecity.core import notify
from safecity.core.notify import (  # noqa: F401 the inbox use cases, for existing callers
    Channel,
    Recipient,
    as_dict,
    inbox,
    mark_read,
    register_channel,
    unread_count,
    unregister_channel,
)

SmtpChannel = notify.EmailChannel


@dataclass(frozen=True)
class Message:
    user_id: int
    kind: str
    title: str
    body: str = ""
    link: str = ""


class LogSmsChannel(notify.LogChannel):
    """The SMS channel that logs (and keeps in ``sent``) until a gateway is configured."""

    def __init__(self) -> None:
        super().__init__("sms", lambda r: r.phone)


def channels() -> list[Channel]:
    """The outbound channels a hidden-danger notification takes (see core.notify)."""
    return notify.user_channels()


def deliver(session: Session, messages: Sequence[Message], now: datetime) -> int:
    """Put messages in the inbox now; hand them to outbound channels after commit."""
    return notify.deliver(
        session,
        [(m.user_id, notify.Message(m.title, m.body, m.link, m.kind)) for m in messages],
        now,
    )
