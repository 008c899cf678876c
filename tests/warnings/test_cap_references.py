"""CAP 1.2 messages that refer to earlier ones: Cancel, Update, Ack and Error from other agencies,
with or without <info>, through the API and the CLI, on a frozen clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from safecity.cli import app
from safecity.core import clock, deps
from safecity.core.db import reset_engine, session_scope
from safecity.core.models import AuditEntry
from safecity.warnings import cap, rules
from safecity.warnings.models import Warning
from tests.conftest import NOW, login

MET = "sdmb@cma.gov.cn"
SENT = "2026-11-23T16:00:00+08:00"  # NOW is 17:00 Beijing time
XML = {"Content-Type": "application/cap+xml"}

INFO = """<info><language>zh-CN</language><category>Met</category><event>大风</event>
  <urgency>Expected</urgency><severity>{severity}</severity><certainty>Likely</certainty>
  <expires>2026-11-24T20:00:00+08:00</expires><senderName>山东省气象台</senderName>
  <headline>{headline}</headline><description>沿海大风</description>
  <area><areaDesc>烟台市沿海</areaDesc>
    <polygon>37.4,121.2 37.6,121.2 37.6,121.6 37.4,121.6 37.4,121.2</polygon>
    <geocode><valueName>GB/T2260</valueName><value>370600</value></geocode></area></info>"""


def message(
    identifier: str,
    msg_type: str = "Alert",
    *,
    refs: str = "",
    note: str = "",
    info: str = "",
    sent: str = SENT,
    sender: str = MET,
) -> bytes:
    """A hand-written CAP 1.2 alert, elements in schema order."""
    parts = [
        f"<identifier>{identifier}</identifier><sender>{sender}</sender>",
        f"<sent>{sent}</sent><status>Actual</status><msgType>{msg_type}</msgType>",
        "<scope>Public</scope>",
    ]
    if note:
        parts.append(f"<note>{note}</note>")
    if refs:
        parts.append(f"<references>{refs}</references>")
    body = "".join(parts) + info
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">{body}</alert>'
    ).encode()


def gale(
    identifier: str = "SD-MET-1",
    headline: str = "大风橙色预警",
    severity: str = "Severe",
    **kw: Any,
) -> bytes:
    return message(identifier, info=INFO.format(headline=headline, severity=severity), **kw)


def ref(identifier: str, sent: str = SENT, sender: str = MET) -> str:
    return f"{sender},{identifier},{sent}"


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Every `now` the API and CLI take is NOW (the fixture alert expires a day later)."""
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    monkeypatch.setattr(deps, "utcnow", lambda: NOW)
    return NOW


def post(client: Any, who: dict[str, str], body: bytes) -> Any:
    return client.post("/api/v1/warnings/cap", content=body, headers={**who, **XML})


def public_ids(client: Any) -> list[int]:
    features = client.get("/api/v1/warnings/public?division=370602").json()["features"]
    return [f["properties"]["id"] for f in features]


def status_of(client: Any, who: dict[str, str], wid: int) -> str:
    return client.get(f"/api/v1/warnings/{wid}", headers=who).json()["status"]


def counts() -> tuple[int, int]:
    with session_scope() as s:
        return (
            s.scalar(select(func.count(Warning.id))) or 0,
            s.scalar(select(func.count(AuditEntry.id))) or 0,
        )


# ---------------------------------------------------------------- pure


def test_references_are_triples_and_malformed_ones_are_set_apart() -> None:
    good, bad = cap.parse_references(
        (ref("A-1"), "a@b,X-2,2026-11-23T08:00:00-00:00", "no-commas", "a,b,not-a-time", "a,,t")
    )
    assert [(r.sender, r.identifier) for r in good] == [(MET, "A-1"), ("a@b", "X-2")]
    assert good[1].sent == datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert bad == ("no-commas", "a,b,not-a-time", "a,,t")


def test_infoless_message_takes_its_title_from_what_it_refers_to() -> None:
    held = rules.content_of(cap.parse(gale())[0])
    cancel = cap.parse(message("C-1", "Cancel", refs=ref("SD-MET-1"), note="风已减弱"))[0]
    c = rules.message_content(cancel, held)
    assert (c.headline, c.headline_en, c.description) == (
        "解除：大风橙色预警",
        "Cancelled: 大风橙色预警",
        "风已减弱",
    )
    assert c.areas == held.areas and c.level == "orange"
    alone = rules.message_content(cap.parse(message("K-1", "Ack"))[0])
    assert (alone.headline, alone.level, alone.areas) == ("确认回执：K-1", "blue", ())


# ---------------------------------------------------------------- through the API


def test_cancel_without_info_lifts_the_held_warning(client: Any, frozen: datetime) -> None:
    cmd = login(client, "commander")
    (wid,) = post(client, cmd, gale()).json()["created"]
    assert wid in public_ids(client)
    cancel = message("SD-MET-1-C", "Cancel", refs=ref("SD-MET-1"), note="大风减弱，解除预警")
    assert cap.validate_xml(cancel) == []  # schema-valid without <info>
    resp = post(client, cmd, cancel)
    assert resp.status_code == 201, resp.text
    report = resp.json()
    (cid,) = report["created"]
    assert report["cancelled"] == [wid] and report["unknown_references"] == []
    assert status_of(client, cmd, wid) == "cancelled"
    assert public_ids(client) == []
    got = client.get(f"/api/v1/warnings/{cid}", headers=cmd).json()
    assert (got["msg_type"], got["status"], got["previous_id"]) == ("Cancel", "cancelled", wid)
    assert got["headline"] == "解除：大风橙色预警" and got["description"] == "大风减弱，解除预警"
    with session_scope() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(wid)))
        assert "cancel" in list(actions)
    # The same Cancel again changes nothing.
    again = post(client, cmd, cancel).json()
    assert again["unchanged"] == ["SD-MET-1-C"] and again["cancelled"] == []


def test_update_with_info_replaces_the_held_warning(client: Any, frozen: datetime) -> None:
    cmd = login(client, "commander")
    (wid,) = post(client, cmd, gale()).json()["created"]
    update = gale(
        "SD-MET-2",
        headline="大风红色预警",
        severity="Extreme",
        refs=ref("SD-MET-1"),
        sent="2026-11-23T16:30:00+08:00",
    )
    update = update.replace(b"<msgType>Alert</msgType>", b"<msgType>Update</msgType>")
    report = post(client, cmd, update).json()
    (new,) = report["created"]
    assert report["superseded"] == [wid] and report["cancelled"] == []
    assert status_of(client, cmd, wid) == "updated"
    assert public_ids(client) == [new]
    got = client.get(f"/api/v1/warnings/{new}", headers=cmd).json()
    assert (got["level"], got["headline"], got["previous_id"]) == ("red", "大风红色预警", wid)


def test_ack_and_error_are_recorded_and_change_nothing(client: Any, frozen: datetime) -> None:
    cmd = login(client, "commander")
    (wid,) = post(client, cmd, gale()).json()["created"]
    ack = post(client, cmd, message("ACK-1", "Ack", refs=ref("SD-MET-1"), sender="yt@gov.cn"))
    err = post(
        client,
        cmd,
        message("ERR-1", "Error", refs=ref("SD-MET-1"), note="区域编码有误", sender="yt@gov.cn"),
    )
    assert ack.status_code == 201 and err.status_code == 201, (ack.text, err.text)
    (ack_id,), (err_id,) = ack.json()["recorded"], err.json()["recorded"]
    assert ack.json()["cancelled"] == ack.json()["superseded"] == []
    assert status_of(client, cmd, wid) == "external" and public_ids(client) == [wid]
    listed = client.get("/api/v1/warnings?msg_type=Ack", headers=cmd).json()["items"]
    assert [(w["id"], w["status"], w["previous_id"]) for w in listed] == [(ack_id, "recorded", wid)]
    got = client.get(f"/api/v1/warnings/{err_id}", headers=cmd).json()
    assert (got["msg_type"], got["description"]) == ("Error", "区域编码有误")
    assert client.get("/api/v1/warnings?msg_type=Revoke", headers=cmd).status_code == 422


def test_unknown_references_are_reported_and_apply_when_the_alert_arrives(
    client: Any, frozen: datetime
) -> None:
    cmd = login(client, "commander")
    cancel = message(
        "SD-MET-9-C", "Cancel", refs=f"{ref('SD-MET-9')} garbage", sent="2026-11-23T16:45:00+08:00"
    )
    resp = post(client, cmd, cancel)
    assert resp.status_code == 201, resp.text
    assert resp.json()["unknown_references"] == [ref("SD-MET-9"), "garbage"]
    (cid,) = resp.json()["created"]
    # The warning it names arrives later (feeds are not always in order): it is lifted at once.
    late = post(client, cmd, gale("SD-MET-9")).json()
    (wid,) = late["created"]
    assert late["cancelled"] == [wid]
    assert status_of(client, cmd, wid) == "cancelled" and public_ids(client) == []
    assert client.get(f"/api/v1/warnings/{cid}", headers=cmd).json()["previous_id"] == wid


def test_a_feed_listing_the_cancel_first_still_lifts_the_alert(
    client: Any, frozen: datetime
) -> None:
    cmd = login(client, "commander")
    body = [
        m.decode().split("?>", 1)[1]
        for m in (
            message("SD-MET-5-C", "Cancel", refs=ref("SD-MET-5"), sent="2026-11-23T16:50:00+08:00"),
            gale("SD-MET-5"),
        )
    ]
    feed = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>省气象台</title>'
        + "".join(
            f'<entry><title>{i}</title><content type="text/xml">{b}</content></entry>'
            for i, b in enumerate(body)
        )
        + "</feed>"
    )
    report = client.post(
        "/api/v1/warnings/cap",
        content=feed.encode(),
        headers={**cmd, "Content-Type": "application/atom+xml"},
    ).json()
    assert len(report["created"]) == 2 and len(report["cancelled"]) == 1
    assert report["unknown_references"] == [] and public_ids(client) == []


def test_another_agency_cannot_cancel_a_safecity_warning(client: Any, frozen: datetime) -> None:
    cmd = login(client, "commander")
    with session_scope() as s:
        own = Warning(
            kind="local",
            status="issued",
            msg_type="Alert",
            identifier="CN-370600-SC-1",
            sender="safecity@370600",
            sent=NOW,
            event_type="gale",
            level="orange",
            headline="本市大风预警",
            areas=[],
            division_code="370600",
            expires=NOW + timedelta(days=1),
            created_at=NOW,
            updated_at=NOW,
            issued_at=NOW,
        )
        s.add(own)
        s.flush()
        own_id = own.id
    refs = f"safecity@370600,CN-370600-SC-1,{cap.cap_time(NOW)}"
    report = post(client, cmd, message("X-C", "Cancel", refs=refs, sender="x@y")).json()
    assert report["cancelled"] == [] and report["unknown_references"] == []
    assert [n["reference"] for n in report["not_applied"]] == [refs]
    assert status_of(client, cmd, own_id) == "issued"


@pytest.mark.parametrize(
    "bad, expected",
    [
        (message("C-1", "Revoke", refs=ref("SD-MET-1")), "msgType"),
        (
            message("C-1", "Cancel", refs=ref("SD-MET-1")).replace(b"<scope>Public</scope>", b""),
            "scope",
        ),
        (
            message("C-1", "Cancel", refs=ref("SD-MET-1")).replace(
                b"<sent>2026-11-23T16:00:00+08:00</sent>", b"<sent>yesterday</sent>"
            ),
            "sent",
        ),
    ],
)
def test_schema_invalid_messages_are_refused_and_write_nothing(
    client: Any, frozen: datetime, bad: bytes, expected: str
) -> None:
    cmd = login(client, "commander")
    (wid,) = post(client, cmd, gale()).json()["created"]
    before = counts()
    resp = post(client, cmd, bad)
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"][0]
    assert expected in detail["message_en"] and "第" in detail["message"]
    assert counts() == before and status_of(client, cmd, wid) == "external"


def test_hostile_cancel_is_still_refused(client: Any, frozen: datetime) -> None:
    cmd = login(client, "commander")
    before = counts()
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + message("C-1", "Cancel", note="&x;").split(b"?>", 1)[1]
    )
    resp = post(client, cmd, xxe)
    assert resp.status_code == 422 and "DOCTYPE" in resp.json()["message_en"]
    huge = message("C-2", "Cancel", note="x" * (cap.MAX_BYTES + 1))
    assert post(client, cmd, huge).status_code == 422
    assert counts() == before


# ---------------------------------------------------------------- through the CLI


def test_cli_imports_an_infoless_cancel(
    database_url: str,
    engine: Any,
    city: dict,
    monkeypatch: pytest.MonkeyPatch,
    frozen: datetime,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    reset_engine()
    runner = CliRunner()
    alert, cancel = tmp_path / "a.xml", tmp_path / "c.xml"
    alert.write_bytes(gale())
    cancel.write_bytes(message("SD-MET-1-C", "Cancel", refs=f"{ref('SD-MET-1')} {ref('NOPE')}"))
    try:
        first = runner.invoke(app, ["warnings", "import", str(alert)])
        assert first.exit_code == 0, first.output
        (wid,) = json.loads(first.stdout)["created"]
        res = runner.invoke(app, ["warnings", "import", str(cancel)])
        assert res.exit_code == 0, res.output
        report = json.loads(res.stdout)
        assert report["cancelled"] == [wid] and report["unknown_references"] == [ref("NOPE")]
        assert "NOPE" in res.stderr  # the operator sees what was not found
        with session_scope() as s:
            assert s.get(Warning, wid).status == "cancelled"
    finally:
        reset_engine()


# ---------------------------------------------------------------- the OpenAPI document


def test_openapi_gives_the_xml_answers_their_real_media_types(
    client: Any, frozen: datetime
) -> None:
    cmd = login(client, "commander")
    (wid,) = post(client, cmd, gale()).json()["created"]
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    base = "/api/v1/warnings"
    for path, url, media in (
        (f"{base}/feed.atom", f"{base}/feed.atom", "application/atom+xml"),
        (f"{base}/{{warning_id}}/cap.xml", f"{base}/{wid}/cap.xml", "application/cap+xml"),
    ):
        documented = paths[path]["get"]["responses"]["200"]["content"]
        assert list(documented) == [media], path
        answer = client.get(url)  # what the route really sends
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media)
    body = paths[f"{base}/cap"]["post"]["requestBody"]["content"]
    assert {"application/cap+xml", "application/atom+xml", "multipart/form-data"} <= set(body)
