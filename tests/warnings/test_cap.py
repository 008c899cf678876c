"""CAP 1.2: writing alerts that validate against the OASIS schema, parsing 1.0-1.2 and feeds,
and refusing hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from safecity.core.errors import Conflict, Invalid
from safecity.warnings import cap, rules

DATA = Path(__file__).parent / "data"
SENT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def content(**changes: object) -> rules.Content:
    base = {
        "event_type": "gas_leak",
        "level": "red",
        "headline": "芝罘区燃气泄漏红色预警",
        "description": "芝罘区南大街燃气管线泄漏，浓度超过爆炸下限 25%。",
        "instruction": "请周边 500 米内人员立即撤离，严禁明火。",
        "headline_en": "Red warning: gas leak in Zhifu",
        "description_en": "Gas main leaking on Nan Street, above 25 % of the lower explosive limit.",
        "instruction_en": "Leave the area within 500 m now; no open flames.",
        "areas": (
            rules.WarningArea(
                desc="芝罘区南大街周边",
                polygons=(
                    (
                        (121.38, 37.52),
                        (121.40, 37.52),
                        (121.40, 37.54),
                        (121.38, 37.54),
                        (121.38, 37.52),
                    ),
                ),
                circles=((121.39, 37.53, 0.5),),
                divisions=("370602",),
            ),
        ),
        "effective": SENT,
        "onset": SENT,
        "expires": SENT + timedelta(hours=6),
        "links": (("alarm", "A-17"),),
    }
    base.update(changes)
    return rules.Content(**base)  # type: ignore[arg-type]


def alert_of(c: rules.Content, msg_type: str = "Alert", refs: tuple[str, ...] = ()) -> cap.Alert:
    return rules.build_alert(
        c,
        identifier="safecity-370600-20261123-000001",
        sender="safecity@370600",
        sent=SENT,
        msg_type=msg_type,
        references=refs,
        sender_names=("烟台市预警中心", "Yantai warning centre"),
        table=cap.LEVEL_TABLE,
        web="http://127.0.0.1:8000/public/warnings",
    )


def test_red_warning_validates_against_the_oasis_schema() -> None:
    xml = cap.to_xml(alert_of(content()))
    assert cap.validate_xml(xml) == []
    root = etree.fromstring(xml)
    ns = {"c": cap.CAP12}
    assert root.findtext("c:sent", namespaces=ns) == "2026-11-23T17:00:00+08:00"  # Beijing time
    infos = root.findall("c:info", ns)
    assert [i.findtext("c:language", namespaces=ns) for i in infos] == ["zh-CN", "en-US"]
    assert infos[0].findtext("c:severity", namespaces=ns) == "Extreme"
    assert infos[0].findtext("c:urgency", namespaces=ns) == "Immediate"
    assert infos[0].findtext("c:certainty", namespaces=ns) == "Observed"
    assert infos[0].findtext("c:category", namespaces=ns) == "Safety"
    assert infos[1].findtext("c:event", namespaces=ns) == "Gas leak"
    area = infos[0].find("c:area", ns)
    # CAP polygons are lat,lon — the reverse of GeoJSON.
    assert area.findtext("c:polygon", namespaces=ns) == (
        "37.52,121.38 37.52,121.4 37.54,121.4 37.54,121.38 37.52,121.38"
    )
    assert area.findtext("c:circle", namespaces=ns) == "37.53,121.39 0.5"
    assert area.findtext("c:geocode/c:valueName", namespaces=ns) == "GB/T2260"
    assert area.findtext("c:geocode/c:value", namespaces=ns) == "370602"


@pytest.mark.parametrize(
    "level,expected",
    [
        ("red", ("Extreme", "Immediate", "Observed")),
        ("orange", ("Severe", "Expected", "Likely")),
        ("yellow", ("Moderate", "Expected", "Likely")),
        ("blue", ("Minor", "Future", "Possible")),
    ],
)
def test_colour_table(level: str, expected: tuple[str, str, str]) -> None:
    terms = cap.cap_terms(level)
    assert (terms["severity"], terms["urgency"], terms["certainty"]) == expected
    assert cap.level_of(expected[0]) == level


def test_city_overrides_the_colour_table() -> None:
    table = {
        **cap.LEVEL_TABLE,
        "blue": {"severity": "Minor", "urgency": "Expected", "certainty": "Likely"},
    }
    alert = rules.build_alert(
        content(level="blue"),
        identifier="x1",
        sender="s",
        sent=SENT,
        msg_type="Alert",
        references=(),
        sender_names=("a", "b"),
        table=table,
    )
    assert alert.infos[0].urgency == "Expected"


def test_round_trip_gives_back_the_same_content() -> None:
    c = content()
    parsed = cap.parse(cap.to_xml(alert_of(c)))
    assert len(parsed) == 1 and parsed[0] == alert_of(c)
    assert rules.content_of(parsed[0]) == c


def test_update_and_cancel_carry_references() -> None:
    first = alert_of(content())
    ref = cap.reference(first.sender, first.identifier, first.sent)
    assert ref == "safecity@370600,safecity-370600-20261123-000001,2026-11-23T17:00:00+08:00"
    for msg_type in ("Update", "Cancel"):
        xml = cap.to_xml(alert_of(content(level="orange"), msg_type, (ref,)))
        assert cap.validate_xml(xml) == []
        back = cap.parse(xml)[0]
        assert back.msg_type == msg_type and back.references == (ref,)


def test_invalid_alert_is_explained_in_plain_words() -> None:
    xml = cap.to_xml(alert_of(content())).replace(
        b"<severity>Extreme</severity>", b"<severity>Catastrophic</severity>", 1
    )
    with pytest.raises(Invalid) as exc:
        cap.parse(xml)
    first = exc.value.errors[0]
    assert (
        "severity" in first.zh
        and "Catastrophic" in first.zh
        and "不是 CAP 1.2 允许的值" in first.zh
    )
    assert first.en.endswith("severity: 'Catastrophic' is not a value CAP 1.2 allows")


def test_missing_sender_and_bad_time_are_named() -> None:
    xml = cap.to_xml(alert_of(content()))
    no_sender = xml.replace(b"<sender>safecity@370600</sender>", b"")
    errs = cap.validate_xml(no_sender)
    assert errs and "sender" in errs[0].zh and "sender" in errs[0].en
    zulu = xml.replace(b"2026-11-23T17:00:00+08:00</sent>", b"2026-11-23T09:00:00Z</sent>")
    errs = cap.validate_xml(zulu)
    assert errs and "2026-11-23T17:00:00+08:00" in errs[0].en and "sent" in errs[0].en


def test_cap11_and_cap10_alerts_parse() -> None:
    met = cap.parse((DATA / "cap11_met.xml").read_bytes())[0]
    assert met.version == "1.1" and met.infos[0].severity == "Severe"
    assert met.infos[0].areas[0].polygons[0][0] == (121.2, 37.4)
    c = rules.content_of(met)
    assert (c.level, c.event_type, c.areas[0].divisions) == ("orange", "gale", ("370600",))
    quake = cap.parse((DATA / "cap10_quake.xml").read_bytes())[0]
    assert quake.version == "1.0"
    assert quake.infos[0].areas[0].circles == ((121.4, 37.45, 30.0),)
    assert quake.infos[0].areas[0].geocodes == (("GB/T2260", "370600"),)
    assert rules.content_of(quake).event_type == "earthquake"


def test_atom_feed_of_our_alerts_parses_back() -> None:
    alerts = [alert_of(content()), alert_of(content(level="blue"))]
    feed = cap.atom_feed(
        "urn:safecity:370600:warnings",
        "烟台市预警",
        "http://x/feed.atom",
        SENT,
        [(a, f"http://x/{i}.xml") for i, a in enumerate(alerts)],
    )
    root = etree.fromstring(feed)
    assert root.tag == f"{{{cap.ATOM}}}feed" and len(root.findall(f"{{{cap.ATOM}}}entry")) == 2
    assert cap.parse(feed) == alerts


def test_rss_feed_with_embedded_alerts() -> None:
    alert = (DATA / "cap11_met.xml").read_text(encoding="utf-8").split("?>", 1)[1]
    rss = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
      <item><title>大风</title><description>x</description>{alert}</item></channel></rss>"""
    assert [a.identifier for a in cap.parse(rss.encode())] == ["SD-MET-20261123-0001"]


def test_feed_with_only_links_is_refused() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>a</title>
      <link href="http://elsewhere/a.xml"/></entry></feed>"""
    with pytest.raises(Invalid, match="embeds no CAP alerts"):
        cap.parse(atom)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_hostile_xml_is_refused(payload: bytes) -> None:
    with pytest.raises(Invalid) as exc:
        cap.parse(payload)
    assert "DOCTYPE" in exc.value.en
    assert "root:" not in str(exc.value.body())  # nothing of /etc/passwd leaks


def test_parser_never_expands_entities_even_without_the_doctype_check() -> None:
    # Second line of defence: the lxml parser itself leaves the external entity unresolved.
    root = etree.fromstring(XXE, cap._parser())
    assert "root:" not in etree.tostring(root).decode()


def test_size_limit_and_garbage() -> None:
    with pytest.raises(Invalid, match="larger than"):
        cap.parse(b"<a>" + b"x" * 5000 + b"</a>", max_bytes=1000)
    with pytest.raises(Invalid, match="not well-formed"):
        cap.parse(b"<alert><oops></alert>")
    with pytest.raises(Invalid, match="neither a CAP alert"):
        cap.parse(b"<html><body/></html>")


def test_workflow_transitions() -> None:
    assert rules.next_status("draft", "submit") == "submitted"
    assert rules.next_status("submitted", "approve") == "approved"
    assert rules.next_status("approved", "issue") == "issued"
    assert rules.next_status("issued", "cancel") == "cancelled"
    with pytest.raises(Conflict) as exc:
        rules.next_status("draft", "issue")
    assert exc.value.status == 409 and "草稿" in exc.value.zh
    with pytest.raises(Conflict):
        rules.next_status("cancelled", "cancel")


def test_red_and_orange_always_need_approval() -> None:
    config = {"red": [], "orange": [], "yellow": ["duty_officer"], "blue": []}
    assert rules.approvers("red", config) == {"commander"}
    assert rules.needs_approval("orange", config)
    assert not rules.needs_approval("blue", config)
    assert rules.may_auto_issue("blue", True) and not rules.may_auto_issue("yellow", True)


def test_area_checks() -> None:
    assert rules.check_areas([{"desc": "x", "divisions": ["370602"]}]) == []
    errs = rules.check_areas(
        [
            {"desc": "x", "polygons": [[[1, 2], [3, 4], [1, 2]]]},
            {"desc": ""},
            {"desc": "c", "circles": [[121, 37, -1]]},
        ]
    )
    assert [e.field for e in errs] == ["areas.0", "areas.1", "areas.2"]
    assert rules.check_areas([])[0].en == "areas: at least one area is required"


def test_utf16_doctype_is_caught_after_parsing() -> None:
    # The byte scan misses a UTF-16 DOCTYPE; the parser leaves it unexpanded and docinfo sees it.
    payload = XXE.decode().replace('version="1.0"?>', 'version="1.0" encoding="UTF-16"?>')
    with pytest.raises(Invalid) as exc:
        cap.parse(payload.encode("utf-16"))
    assert "DOCTYPE" in exc.value.en
