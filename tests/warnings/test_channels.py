"""Channels against real local servers: a webhook that fails then succeeds, an SMTP server, a
failing channel that does not block the others, and a restart that resumes pending rows."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message as EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safecity.core.scope import Principal
from safecity.warnings import cap, channels, service
from safecity.warnings.models import Delivery
from safecity.warnings.settings import WarningSettings

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
COMMANDER = Principal(user_id=2, username="commander", role="commander", division_code="370600")
# Drafts red warnings: separation of duties keeps the commander from approving his own.
DRAFTER = Principal(user_id=1, username="admin", role="admin", division_code="370600")


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if cls.fail_first > 0:
            cls.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        cls.received.append(body)
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "fail_first": 0})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/cap", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[EmailMessage]]]:
    from aiosmtpd.controller import Controller  # noqa: PLC0415 aiosmtpd loaded only by the SMTP test server

    inbox: list[EmailMessage] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            inbox.append(message_from_bytes(envelope.content, policy=default))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def _message(xml: str = "<alert/>") -> channels.Message:
    return channels.Message(1, "Alert", "red", "标题", "内容", "撤离", xml, 100)


def test_webhook_retries_with_backoff_then_succeeds(hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    handler.fail_first = 2
    sleeps: list[float] = []
    result = channels.WebhookChannel(attempts=3, backoff=0.5, sleep=sleeps.append).send(
        _message("<alert>x</alert>"), url
    )
    assert result.status == "sent" and handler.received == [b"<alert>x</alert>"]
    assert sleeps == [0.5, 1.0]  # exponential backoff between the three attempts


def test_webhook_gives_up_after_its_attempts(hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    handler.fail_first = 5
    result = channels.WebhookChannel(attempts=2, backoff=0, sleep=lambda s: None).send(
        _message(), url
    )
    assert result.status == "failed" and result.error == "HTTP 503"
    dead = channels.WebhookChannel(attempts=1, timeout=1).send(_message(), "http://127.0.0.1:9/")
    assert dead.status == "failed" and "ConnectError" in dead.error


def test_email_through_a_local_smtp_server(smtp: tuple[int, list[EmailMessage]]) -> None:
    port, inbox = smtp
    settings = WarningSettings(
        smtp_host="127.0.0.1", smtp_port=port, email_from="safecity@yt.example"
    )
    result = channels.EmailChannel(settings).send(
        _message("<alert>cap</alert>"), "duty@yt.example,chief@yt.example"
    )
    assert result.status == "sent" and result.reached == 2
    (mail,) = inbox
    assert mail["Subject"] == "标题" and mail["To"] == "duty@yt.example, chief@yt.example"
    parts = {p.get_content_type(): p for p in mail.walk()}
    assert parts["application/cap+xml"].get_payload(decode=True) == b"<alert>cap</alert>"


def _issue(session: Session, settings: WarningSettings, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(service, "get_warning_settings", lambda: settings)
    data = {
        "event_type": "gale",
        "level": "red",
        "division_code": "370602",
        "headline": "大风红色预警",
        "description": "沿海大风。",
        "areas": [{"desc": "芝罘区", "divisions": ["370602"]}],
    }
    w = service.create_warning(session, DRAFTER, data, NOW)
    service.submit(session, DRAFTER, w.id, NOW)
    service.approve(session, COMMANDER, w.id, NOW)
    service.issue(session, COMMANDER, w.id, NOW)
    session.commit()
    return w.id


class _Broken:
    def send(self, message: channels.Message, target: str) -> channels.Result:
        raise RuntimeError("gateway exploded")


def test_dispatch_records_each_channel_and_resumes_after_restart(
    session: Session,
    city: dict,
    engine: Any,
    hook: tuple[str, type[_Hook]],
    smtp: tuple[int, list[EmailMessage]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, handler = hook
    port, inbox = smtp
    settings = WarningSettings(
        webhook_urls=[url],
        smtp_host="127.0.0.1",
        smtp_port=port,
        email_to=["duty@yt.example"],
        webhook_backoff_seconds=0,
    )
    wid = _issue(session, settings, monkeypatch)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    adapters = channels.adapters(settings) | {"sms": _Broken()}
    # A crash right after claiming: the row is left "sending"; a restart 6 minutes later resumes.
    with factory() as s:
        d = s.scalar(select(Delivery).where(Delivery.channel == "webhook"))
        d.status, d.updated_at = "sending", NOW
        s.commit()
    counts = channels.dispatch_pending(factory, lambda: NOW, adapters, settings)
    assert counts == {"sent": 2, "logged": 2, "retry": 1}  # web, email; broadcast, siren; sms
    counts = channels.dispatch_pending(
        factory, lambda: NOW + timedelta(minutes=6), adapters, settings
    )
    # The webhook left half-sent goes out; the sms (retry due after 30 s) fails again, backs off.
    assert counts == {"sent": 1, "retry": 1}
    with factory() as s:
        rows = {d.channel: d for d in s.scalars(select(Delivery).where(Delivery.warning_id == wid))}
    assert rows["sms"].status == "retry" and "gateway exploded" in rows["sms"].last_error
    assert rows["sms"].attempts == 2
    due = rows["sms"].next_attempt_at
    assert (due if due.tzinfo else due.replace(tzinfo=UTC)) == NOW + timedelta(minutes=7)
    assert rows["email"].status == "sent" and rows["email"].reached == 1
    assert rows["webhook"].status == "sent" and rows["webhook"].attempts == 1
    assert len(inbox) == 1 and len(handler.received) == 1
    assert cap.parse(handler.received[0])[0].infos[0].headline == "大风红色预警"
    # A second issue call plans nothing new and a further run sends nothing twice.
    service.issue(session, COMMANDER, wid, NOW)
    session.commit()
    assert (
        channels.dispatch_pending(factory, lambda: NOW + timedelta(minutes=6.5), adapters, settings)
        == {}
    )
    counts = channels.dispatch_pending(
        factory, lambda: NOW + timedelta(hours=1), channels.adapters(settings), settings
    )
    assert counts == {"logged": 1}  # the sms retry, with a working adapter now
    assert len(handler.received) == 1 and len(inbox) == 1


class _Counting:
    def __init__(self) -> None:
        self.sent: list[int] = []
        self.lock = threading.Lock()

    def send(self, message: channels.Message, target: str) -> channels.Result:
        with self.lock:
            self.sent.append(message.warning_id)
        return channels.Result("sent", 1)


def test_two_dispatchers_never_send_the_same_delivery_twice(
    session: Session, city: dict, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = WarningSettings(channels=["web", "sms", "broadcast", "siren"])
    _issue(session, settings, monkeypatch)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    counter = _Counting()
    adapters = dict.fromkeys(("web", "sms", "broadcast", "siren"), counter)
    workers = [
        threading.Thread(
            target=channels.dispatch_pending, args=(factory, lambda: NOW, adapters, settings)
        )
        for _ in range(3)
    ]
    for t in workers:
        t.start()
    for t in workers:
        t.join(30)
    assert len(counter.sent) == 4  # four deliveries, each sent exactly once
