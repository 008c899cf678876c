"""The one notification service: inbox rows in the caller's transaction, outbound channels only
after commit, who is told by role and place, plug-in channels replacing built-in ones, and the
notification webhook getting one POST per distinct message."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import notify
from safecity.core.models import Notification, User
from tests.conftest import NOW


def _ids(session: Session, *names: str) -> list[int]:
    found = {u.username: u.id for u in session.scalars(select(User))}
    return [found[n] for n in names]


def _names(users: list[User]) -> list[str]:
    return sorted(u.username for u in users)


def test_who_is_told_by_role_and_place(session: Session, city: dict) -> None:
    officers = {"district_officer"}
    # 370602 芝罘区: its own officer and nobody from 莱山区
    assert _names(notify.users(session, officers, "370602")) == ["zhifu"]
    # a street of 芝罘区 is covered by the district's officer too
    assert _names(notify.users(session, officers, "370602001")) == ["zhifu"]
    # city-level roles cover every district, not another city
    assert _names(notify.users(session, {"admin", "commander"}, "370613")) == ["admin", "commander"]
    assert _names(notify.users(session, {"admin"}, "370202")) == ["qdadmin"]
    # an enterprise officer only for their own enterprise
    own = city["own_enterprise_id"]
    assert _names(notify.users(session, {"enterprise_officer"}, "370602")) == []
    assert _names(notify.users(session, {"enterprise_officer"}, "370602", enterprise_id=own)) == [
        "enterprise"
    ]
    # the liaison for section G (transport, divisions 53-60) only for that industry
    liaison = {"department_liaison"}
    assert _names(notify.users(session, liaison, "370602", industry_code="5430")) == ["liaison"]
    assert _names(notify.users(session, liaison, "370602", industry_code="2614")) == []
    # most_local: the district officer answers before the city's admin
    both = notify.users(session, {"admin", "district_officer"}, "370602", most_local=True)
    assert _names(both) == ["zhifu"]


def test_inbox_now_channels_after_commit_and_never_after_rollback(
    session: Session, city: dict
) -> None:
    sms = notify.LogChannel("sms", lambda r: r.phone)
    notify.register_channel(sms)
    try:
        zhifu, laishan = _ids(session, "zhifu", "laishan")
        session.get(User, zhifu).phone = "13900000001"
        session.flush()
        message = notify.Message(
            "【突发事件 #7】已接报", "芝罘区", "/response/incidents/7", "incident"
        )
        # duplicates are told once; a user without a phone gets the inbox row only
        assert notify.send(session, [zhifu, zhifu, laishan], message, NOW) == 2
        assert sms.sent == []  # nothing leaves before the commit
        session.commit()
        assert sms.sent == [("13900000001", "【突发事件 #7】已接报")]
        rows = session.scalars(select(Notification).order_by(Notification.user_id)).all()
        assert [(r.user_id, r.kind, r.title, r.link) for r in rows] == [
            (zhifu, "incident", "【突发事件 #7】已接报", "/response/incidents/7"),
            (laishan, "incident", "【突发事件 #7】已接报", "/response/incidents/7"),
        ]
        notify.send(session, [zhifu], notify.Message("不会发送"), NOW)
        session.rollback()
        session.commit()
        assert len(sms.sent) == 1
        assert session.scalar(select(Notification).where(Notification.title == "不会发送")) is None
    finally:
        notify.unregister_channel(sms)


class _Broken:
    name = "sms"

    def address(self, recipient: notify.Recipient) -> str | None:
        return "x"

    def send(self, message: Any, target: str) -> notify.Result:
        raise RuntimeError("gateway exploded")


def test_a_failing_channel_loses_neither_the_inbox_nor_the_other_channels(
    session: Session, city: dict
) -> None:
    good = notify.LogChannel("pager", lambda r: r.username)
    channels = [_Broken(), good]
    for ch in channels:
        notify.register_channel(ch)
    try:
        (zhifu,) = _ids(session, "zhifu")
        notify.send(session, [zhifu], notify.Message("超时未处置"), NOW)
        session.commit()
        assert good.sent == [("zhifu", "超时未处置")]
        assert session.scalar(select(Notification.title)) == "超时未处置"
    finally:
        for ch in channels:
            notify.unregister_channel(ch)


class _Gateway:
    name = "sms"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def address(self, recipient: notify.Recipient) -> str | None:
        return recipient.phone

    def send(self, message: Any, target: str) -> notify.Result:
        self.sent.append((target, message.title))
        return notify.Result("sent", 1)


def test_a_plugin_channel_replaces_the_builtin_of_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = _Gateway()
    monkeypatch.setattr(notify, "plugin_channels", lambda: [gateway])
    monkeypatch.setenv("SAFECITY_SMS_LOG", "1")
    monkeypatch.delenv("SAFECITY_SMTP_HOST", raising=False)
    assert notify.user_channels() == [gateway]  # not the logging SMS channel as well
    assert notify.channel("sms") is gateway
    assert isinstance(notify.channel("broadcast"), notify.LogChannel)
    assert notify.channel("no-such-channel") is None


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.headers["Content-Type"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/robot", handler
    server.shutdown()
    server.server_close()


def test_notification_webhook_gets_each_distinct_message_once(
    session: Session, city: dict, hook_url: tuple[str, type[_Hook]], monkeypatch
) -> None:
    url, handler = hook_url
    monkeypatch.setenv("SAFECITY_NOTIFY_WEBHOOK_URLS", json.dumps([url]))
    zhifu, laishan, admin = _ids(session, "zhifu", "laishan", "admin")
    alarm = notify.Message("燃气浓度超限", link="/monitoring/alarms/3", kind="alarm")
    notify.deliver(
        session,
        [(zhifu, alarm), (laishan, alarm), (admin, notify.Message("日报", kind="report"))],
        NOW,
    )
    assert handler.received == []
    session.commit()
    posts = [(ct, json.loads(body)) for ct, body in handler.received]
    assert posts == [
        (
            "application/json",
            {
                "kind": "alarm",
                "title": "燃气浓度超限",
                "body": "",
                "link": "/monitoring/alarms/3",
                "recipients": ["zhifu", "laishan"],
            },
        ),
        (
            "application/json",
            {"kind": "report", "title": "日报", "body": "", "link": "", "recipients": ["admin"]},
        ),
    ]


def test_email_to_a_closed_port_fails_without_raising() -> None:
    ch = notify.EmailChannel("127.0.0.1", 9)
    result = ch.send(notify.Message("测试"), "duty@yt.example")
    assert result.status == "failed" and "Error" in result.error
    assert ch.send(notify.Message("测试"), " , ").status == "failed"  # no address at all


def test_settled_history_is_read_when_it_arrived_and_today_stays_unread(
    session: Session, city: dict
) -> None:
    from datetime import timedelta  # noqa: PLC0415 only this test

    user = session.scalars(select(User).where(User.username == "zhifu")).one()
    ages = {
        "old": timedelta(days=30),
        "yesterday": timedelta(hours=25),
        "today": timedelta(hours=2),
    }
    for title, age in ages.items():
        session.add(
            Notification(
                user_id=user.id, kind="info", title=title, body="", link="", created_at=NOW - age
            )
        )
    session.flush()
    assert notify.settle_before(session, NOW - timedelta(days=1)) == 2
    got = {
        n.title: n
        for n in session.scalars(select(Notification).where(Notification.user_id == user.id))
    }
    assert got["old"].read_at == got["old"].created_at  # read when it arrived, not at load time
    assert got["yesterday"].read_at is not None and got["today"].read_at is None
    assert notify.settle_before(session, NOW - timedelta(days=1)) == 0  # nothing read twice
