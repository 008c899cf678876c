"""Outbound channels: a real SMTP conversation with a small local server, the SMS log channel,
sending only after commit; and the escalation loop that `safecity serve` starts."""

from __future__ import annotations

import socketserver
import threading
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.core.clock import utcnow
from safecity.core.db import reset_engine
from safecity.core.models import User
from safecity.hazards import notify
from safecity.hazards.models import Escalation, HiddenDanger, Notification
from safecity.web.app import create_app
from tests.factories import NOW
from tests.hazards.helpers import registered


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message and keep it."""

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        data = False
        lines: list[str] = []
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if data:
                if line == ".":
                    data = False
                    self.server.messages.append("\n".join(lines))  # type: ignore[attr-defined]
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line)
                continue
            cmd = line[:4].upper()
            if cmd == "EHLO":
                self.wfile.write(b"250-test\r\n250 8BITMIME\r\n")
            elif cmd == "DATA":
                data = True
                self.wfile.write(b"354 go\r\n")
            elif cmd == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_smtp_and_sms_after_commit(hz_city, session, monkeypatch) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SAFECITY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SAFECITY_SMTP_PORT", str(server.server_address[1]))
    sms = notify.LogSmsChannel()
    notify.register_channel(sms)
    try:
        user = session.scalar(select(User).where(User.username == "zhifu"))
        user.username, user.phone = "zhifu@example.org", "13900000000"
        session.flush()
        notify.deliver(
            session,
            [notify.Message(user.id, "test", "【隐患 #1】逾期", "请处理", "/hazards/1")],
            NOW,
        )
        assert server.messages == [] and sms.sent == []  # nothing leaves before commit
        session.commit()
        assert sms.sent == [("13900000000", "【隐患 #1】逾期")]
        deadline = time.monotonic() + 5
        while not server.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.messages) == 1 and "To: zhifu@example.org" in server.messages[0]
        assert session.scalar(select(Notification.title)) == "【隐患 #1】逾期"
        # a rolled-back transaction sends nothing
        notify.deliver(session, [notify.Message(user.id, "test", "不会发送")], NOW)
        session.rollback()
        session.commit()
        assert len(sms.sent) == 1
    finally:
        notify.unregister_channel(sms)
        server.shutdown()
        server.server_close()


def test_serve_runs_the_escalation_loop(hz_city, session, database_url, monkeypatch) -> None:

    hd_id = registered(session, hz_city, utcnow() + timedelta(days=40))

    hd = session.get(HiddenDanger, hd_id)  # make it overdue against the real clock
    hd.deadline = utcnow() - timedelta(days=1)
    hd.next_escalation_at = hd.deadline - timedelta(days=3)
    session.commit()
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    monkeypatch.setenv("SAFECITY_ESCALATION_INTERVAL_SECONDS", "0.2")
    reset_engine()
    with TestClient(create_app()):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            session.expire_all()
            if session.scalar(select(Escalation.step).where(Escalation.step == "overdue")):
                break
            time.sleep(0.2)
    reset_engine()
    assert session.scalars(select(Escalation.step)).all() == ["overdue"]
