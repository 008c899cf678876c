"""Warnings API on SQLite and PostgreSQL: drafting, approval, idempotent issue, update/cancel with
CAP references, scope, targeting, deliveries, the Atom feed and CAP import."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from safecity.core.db import session_scope
from safecity.core.models import AuditEntry
from safecity.warnings import cap, rules, service
from safecity.warnings.models import Warning
from safecity.warnings.settings import get_warning_settings
from tests.conftest import login

DATA = Path(__file__).parent / "data"
# Half of grid cell 370602-0001 (121.36-121.37 × 37.46-37.47, 3,000 people) and the school at
# 121.38, 37.52: hand-computed coverage is 1,500 people and one protected target (1,200 places).
HALF_CELL = [
    [121.365, 37.46],
    [121.385, 37.46],
    [121.385, 37.53],
    [121.365, 37.53],
    [121.365, 37.46],
]


def draft(level: str = "red", division: str = "370602", **extra: Any) -> dict[str, Any]:
    return {
        "event_type": "gas_leak",
        "level": level,
        "division_code": division,
        "headline": "芝罘区燃气泄漏预警",
        "description": "南大街燃气管线泄漏。",
        "instruction": "请立即撤离。",
        "headline_en": "Gas leak in Zhifu",
        "areas": [{"desc": "南大街周边", "polygons": [HALF_CELL]}],
        "effective": "2026-11-23T17:00:00+08:00",
        "expires": "2099-11-24T17:00:00+08:00",
        **extra,
    }


def issued(client: Any, level: str = "red", **extra: Any) -> dict[str, Any]:
    """Drafted and submitted by the admin, approved and issued by the commander (separation
    of duties: the drafter of a red or orange warning cannot approve it)."""
    adm, cmd = login(client, "admin"), login(client, "commander")
    w = client.post("/api/v1/warnings", json=draft(level, **extra), headers=adm).json()
    for step, who in (("submit", adm), ("approve", cmd), ("issue", cmd)):
        resp = client.post(f"/api/v1/warnings/{w['id']}/{step}", headers=who)
        assert resp.status_code == 200, resp.text
    return resp.json()


def test_red_warning_workflow_and_idempotent_issue(client: Any) -> None:
    cmd, zhifu = login(client, "commander"), login(client, "zhifu")
    resp = client.post("/api/v1/warnings", json=draft(), headers=zhifu)
    assert resp.status_code == 201, resp.text
    w = resp.json()
    assert w["status"] == "draft" and w["created_by"] == "zhifu"
    # Issuing a draft is an illegal transition.
    resp = client.post(f"/api/v1/warnings/{w['id']}/issue", headers=cmd)
    assert resp.status_code == 409 and "草稿" in resp.json()["message"]
    assert (
        client.post(f"/api/v1/warnings/{w['id']}/submit", headers=zhifu).json()["status"]
        == "submitted"
    )
    # A district officer may draft but not approve a red warning.
    resp = client.post(f"/api/v1/warnings/{w['id']}/approve", headers=zhifu)
    assert resp.status_code == 403 and "commander" in resp.json()["message_en"]
    assert (
        client.post(f"/api/v1/warnings/{w['id']}/approve", headers=cmd).json()["approved_by"]
        == "commander"
    )
    first = client.post(f"/api/v1/warnings/{w['id']}/issue", headers=cmd).json()
    assert first["status"] == "issued" and first["already_issued"] is False
    assert first["targeting"]["population"] == 1500
    assert first["targeting"]["protected_targets"] == 1
    assert first["targeting"]["protected_by_type"] == {"school": 1}
    assert first["targeting"]["people_in_targets"] == 1200
    again = client.post(f"/api/v1/warnings/{w['id']}/issue", headers=cmd).json()
    assert again["already_issued"] is True and again["identifier"] == first["identifier"]
    cov = client.get(f"/api/v1/warnings/{w['id']}/deliveries", headers=cmd).json()
    channels = sorted(d["channel"] for d in cov["deliveries"])
    assert channels == ["broadcast", "siren", "sms", "web"]  # retry added no second set
    assert {d["channel"]: d["status"] for d in cov["deliveries"]} == {
        "web": "sent",
        "sms": "logged",
        "broadcast": "logged",
        "siren": "logged",
    }
    assert cov["coverage"] is None or cov["coverage"] == 0.0  # nothing confirmed yet
    assert cov["coverage_simulated"] == 1.0 and cov["reached"]["sms"] == 1500
    xml = client.get(first["cap_url"]).content  # public, no login
    assert cap.validate_xml(xml) == []
    alert = cap.parse(xml)[0]
    assert alert.identifier == first["identifier"] and alert.msg_type == "Alert"
    # 17:00 Beijing time stays 17:00 Beijing time through the store (SQLite drops offsets).
    assert alert.infos[0].effective == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert b"<effective>2026-11-23T17:00:00+08:00</effective>" in xml
    back = rules.content_of(alert)
    assert back.level == "red" and back.headline == "芝罘区燃气泄漏预警"
    assert back.areas[0].polygons[0][0] == (121.365, 37.46)

    with session_scope() as session:
        actions = list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "warning", AuditEntry.object_id == str(w["id"]))
                .order_by(AuditEntry.seq)
            )
        )
    assert actions == ["create", "submit", "approve", "issue"]


def test_round_trip_of_every_issued_message(client: Any) -> None:
    """Alert, Update and Cancel all parse back to the content the warning holds."""

    cmd = login(client, "commander")
    w = issued(client, "orange", alarm_id="A-9")
    adm = login(client, "admin")
    upd = client.post(
        f"/api/v1/warnings/{w['id']}/update", json={"level": "red"}, headers=adm
    ).json()
    assert upd["msg_type"] == "Update" and upd["previous_id"] == w["id"]
    for step, who in (("submit", adm), ("approve", cmd), ("issue", cmd)):
        assert client.post(f"/api/v1/warnings/{upd['id']}/{step}", headers=who).status_code == 200
    assert client.get(f"/api/v1/warnings/{w['id']}", headers=cmd).json()["status"] == "updated"
    cancel = client.post(
        f"/api/v1/warnings/{upd['id']}/cancel", json={"note": "泄漏已处置"}, headers=cmd
    ).json()
    assert cancel["msg_type"] == "Cancel"
    resp = client.post(f"/api/v1/warnings/{upd['id']}/cancel", headers=cmd)
    assert resp.status_code == 409

    with session_scope() as session:
        for wid, msg_type, n_refs in (
            (w["id"], "Alert", 0),
            (upd["id"], "Update", 1),
            (cancel["id"], "Cancel", 2),
        ):
            row = session.get(Warning, wid)
            assert cap.validate_xml(row.cap_xml.encode()) == []
            alert = cap.parse(row.cap_xml.encode())[0]
            assert alert.msg_type == msg_type and len(alert.references) == n_refs
            assert rules.content_of(alert) == service.content(row)
        first = session.get(Warning, w["id"])
        assert session.get(Warning, cancel["id"]).references.split()[-1] == cap.reference(
            first.sender,
            session.get(Warning, upd["id"]).identifier,
            session.get(Warning, upd["id"]).sent,
        )
        assert session.get(Warning, upd["id"]).status == "cancelled"


def test_scope_validation_and_feed(client: Any) -> None:
    laishan, zhifu = login(client, "laishan"), login(client, "zhifu")
    w = issued(client, "red")
    assert client.get(f"/api/v1/warnings/{w['id']}", headers=laishan).status_code == 404
    assert client.get("/api/v1/warnings", headers=laishan).json()["total"] == 0
    assert client.get("/api/v1/warnings", headers=zhifu).json()["total"] == 1
    resp = client.post("/api/v1/warnings", json=draft(division="370602"), headers=laishan)
    assert resp.status_code == 403
    bad = draft(level="purple", areas=[{"desc": "", "polygons": []}])
    resp = client.post("/api/v1/warnings", json=bad, headers=zhifu)
    assert resp.status_code == 422
    body = resp.json()
    assert body["detail"][0]["field"] == "level" and "预警级别" in body["detail"][0]["message"]
    resp = client.post("/api/v1/warnings", json=draft(areas=[{"desc": "x"}]), headers=zhifu)
    assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "areas.0"
    resp = client.post(
        "/api/v1/warnings", json=draft(expires="2026-11-23T16:00:00+08:00"), headers=zhifu
    )
    assert resp.status_code == 422 and "expires" in resp.json()["message_en"]
    feed = client.get("/api/v1/warnings/feed.atom?division=370602")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith(
        "application/atom+xml"
    )
    alerts = cap.parse(feed.content)
    assert [a.identifier for a in alerts] == [w["identifier"]]
    other = client.get("/api/v1/warnings/feed.atom?division=370613").content
    root = etree.fromstring(other)
    assert root.findall(f"{{{cap.ATOM}}}entry") == []
    public = client.get("/api/v1/warnings/public?division=370602").json()
    assert public["features"][0]["properties"]["level"] == "red"
    assert public["features"][0]["geometry"]["type"] == "Polygon"


def test_cap_import_external_and_hostile(client: Any, frozen_clock: datetime) -> None:
    # The met office's warning (sent 2026-11-23 16:00, expires the next evening) is current
    # only on the suite's date: the clock stands there.
    cmd, zhifu = login(client, "commander"), login(client, "zhifu")
    body = (DATA / "cap11_met.xml").read_bytes()
    resp = client.post(
        "/api/v1/warnings/cap", content=body, headers={**cmd, "Content-Type": "application/xml"}
    )
    assert resp.status_code == 201, resp.text
    (wid,) = resp.json()["created"]
    again = client.post(
        "/api/v1/warnings/cap", content=body, headers={**cmd, "Content-Type": "application/xml"}
    ).json()
    assert again["created"] == [] and again["unchanged"] == ["SD-MET-20261123-0001"]
    got = client.get(f"/api/v1/warnings/{wid}", headers=cmd).json()
    assert (got["kind"], got["status"], got["level"], got["event_type"]) == (
        "external",
        "external",
        "orange",
        "gale",
    )
    assert got["sender_name"] == "山东省气象台"
    # The met office warning shows on the public map until it expires.
    ids = [
        f["properties"]["id"]
        for f in client.get("/api/v1/warnings/public?division=370602").json()["features"]
    ]
    assert wid in ids
    resp = client.post(
        "/api/v1/warnings/cap",
        files={"file": ("x.xml", (DATA / "cap10_quake.xml").read_bytes(), "text/xml")},
        headers=cmd,
    )
    assert resp.status_code == 201 and len(resp.json()["created"]) == 1
    xxe = b"""<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>"""
    resp = client.post("/api/v1/warnings/cap", content=xxe, headers=cmd)
    assert resp.status_code == 422 and "DOCTYPE" in resp.json()["message_en"]
    bad = cap.to_xml(
        cap.Alert(
            identifier="x", sender="s", sent=cap.parse_time("2026-11-23T17:00:00+08:00"), infos=()
        )
    ).replace(b"Actual", b"Real")
    resp = client.post("/api/v1/warnings/cap", content=bad, headers=cmd)
    assert resp.status_code == 422
    assert "status" in resp.json()["detail"][0]["message_en"]
    assert "不是 CAP 1.2 允许的值" in resp.json()["detail"][0]["message"]
    # A district officer may not import for the city.
    assert client.post("/api/v1/warnings/cap", content=body, headers=zhifu).status_code == 403
    assert client.post("/api/v1/warnings/cap", content=body).status_code == 401


def test_monthly_coverage(client: Any) -> None:
    cmd = login(client, "commander")
    issued(client, "red")
    months = client.get("/api/v1/warnings/coverage", headers=cmd).json()["months"]
    assert len(months) == 1
    m = months[0]
    assert (m["warnings"], m["major"], m["population"], m["simulated"]) == (1, 1, 1500, 1500)
    assert m["coverage_simulated"] == 1.0


@pytest.mark.parametrize("role", ["analyst", "public", "enterprise"])
def test_roles_that_may_not_draft(client: Any, role: str) -> None:
    resp = client.post(
        "/api/v1/warnings", json=draft(division="370600"), headers=login(client, role)
    )
    assert resp.status_code == 403


def test_city_configures_who_approves_each_level(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "SAFECITY_WARNINGS_APPROVAL_ROLES",
        json.dumps(
            {"red": [], "orange": ["commander"], "yellow": ["district_officer"], "blue": []}
        ),
    )
    get_warning_settings.cache_clear()
    try:
        zhifu = login(client, "zhifu")
        blue = client.post("/api/v1/warnings", json=draft("blue"), headers=zhifu).json()
        # Blue needs no second person in this city: submitting approves it.
        done = client.post(f"/api/v1/warnings/{blue['id']}/submit", headers=zhifu).json()
        assert done["status"] == "approved"
        yellow = client.post("/api/v1/warnings", json=draft("yellow"), headers=zhifu).json()
        client.post(f"/api/v1/warnings/{yellow['id']}/submit", headers=zhifu)
        resp = client.post(f"/api/v1/warnings/{yellow['id']}/approve", headers=zhifu)
        assert resp.status_code == 200 and resp.json()["approved_by"] == "zhifu"
        # Red can never be configured away from approval: it falls back to the commander.
        red = client.post("/api/v1/warnings", json=draft("red"), headers=zhifu).json()
        assert (
            client.post(f"/api/v1/warnings/{red['id']}/submit", headers=zhifu).json()["status"]
            == "submitted"
        )
        assert (
            client.post(f"/api/v1/warnings/{red['id']}/approve", headers=zhifu).status_code == 403
        )
    finally:
        monkeypatch.delenv("SAFECITY_WARNINGS_APPROVAL_ROLES")
        get_warning_settings.cache_clear()


def test_oversized_cap_upload_is_refused(client: Any) -> None:
    big = b"<alert>" + b" " * (cap.MAX_BYTES + 10) + b"</alert>"
    resp = client.post(
        "/api/v1/warnings/cap",
        content=big,
        headers={**login(client, "commander"), "Content-Type": "application/xml"},
    )
    assert resp.status_code == 422 and "larger than" in resp.json()["message_en"]


def test_failed_webhook_does_not_block_other_channels_and_can_be_resent(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in (
        ("WEBHOOK_URLS", '["http://127.0.0.1:9/cap"]'),
        ("MAX_ATTEMPTS", "1"),
        ("WEBHOOK_ATTEMPTS", "1"),
    ):
        monkeypatch.setenv(f"SAFECITY_WARNINGS_{key}", value)
    get_warning_settings.cache_clear()
    try:
        cmd = login(client, "commander")
        w = issued(client, "orange")
        rows = client.get(f"/api/v1/warnings/{w['id']}/deliveries", headers=cmd).json()
        status = {d["channel"]: d["status"] for d in rows["deliveries"]}
        assert status == {
            "web": "sent",
            "webhook": "failed",
            "sms": "logged",
            "broadcast": "logged",
            "siren": "logged",
        }
        hook = next(d for d in rows["deliveries"] if d["channel"] == "webhook")
        assert "ConnectError" in hook["last_error"]
        zhifu = login(client, "zhifu")
        assert (
            client.post(f"/api/v1/warnings/{w['id']}/deliveries/retry", headers=zhifu).status_code
            == 403
        )
        resp = client.post(f"/api/v1/warnings/{w['id']}/deliveries/retry", headers=cmd)
        assert resp.json() == {"requeued": 1}
        rows = client.get(f"/api/v1/warnings/{w['id']}/deliveries", headers=cmd).json()
        hook = next(d for d in rows["deliveries"] if d["channel"] == "webhook")
        assert (hook["status"], hook["attempts"]) == ("failed", 1)  # tried again, still down
    finally:
        for key in ("WEBHOOK_URLS", "MAX_ATTEMPTS", "WEBHOOK_ATTEMPTS"):
            monkeypatch.delenv(f"SAFECITY_WARNINGS_{key}")
        get_warning_settings.cache_clear()


def test_feed_import_is_all_or_nothing(client: Any) -> None:
    cmd = {**login(client, "commander"), "Content-Type": "application/atom+xml"}
    good = (DATA / "cap11_met.xml").read_text(encoding="utf-8").split("?>", 1)[1]
    bad = good.replace("SD-MET-20261123-0001", "SD-MET-20261123-0002").replace(
        "<sender>sdmb@cma.gov.cn</sender>", ""
    )
    feed = (
        f'<feed xmlns="http://www.w3.org/2005/Atom"><title>省气象台</title>'
        f'<entry><title>a</title><content type="text/xml">{good}</content></entry>'
        f'<entry><title>b</title><content type="text/xml">{bad}</content></entry></feed>'
    )
    resp = client.post("/api/v1/warnings/cap", content=feed.encode(), headers=cmd)
    assert resp.status_code == 422 and "sender" in resp.json()["message_en"]
    assert client.get("/api/v1/warnings", headers=cmd).json()["total"] == 0
    fixed = feed.replace(bad, bad.replace("<sent>", "<sender>x@y</sender><sent>"))
    resp = client.post("/api/v1/warnings/cap", content=fixed.encode(), headers=cmd)
    assert resp.status_code == 201 and len(resp.json()["created"]) == 2
