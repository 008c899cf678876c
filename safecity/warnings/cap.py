"""OASIS Common Alerting Protocol: build CAP 1.2 alerts, validate them, parse CAP 1.0-1.2 and feeds.

Pure logic: no database, no network, no clock. Element order and formats follow CAP 1.2
(OASIS Standard, 1 July 2010) and the schema in data/cap12.xsd:

- times are ``YYYY-MM-DDThh:mm:ss±hh:mm`` (no "Z"); we write Beijing time (+08:00);
- ``polygon`` is space-separated ``lat,lon`` pairs, at least four, first equal to last;
- ``circle`` is ``lat,lon radius`` with the radius in kilometres;
- ``references`` is space-separated ``sender,identifier,sent`` triples;
- ``identifier`` and ``sender`` must not contain spaces, commas, "<" or "&".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from lxml import etree

from safecity.core.clock import BEIJING
from safecity.core.errors import FieldError, Invalid

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11 = "urn:oasis:names:tc:emergency:cap:1.1"
CAP10 = "http://www.incident.com/cap/1.0"
CAP_NAMESPACES = {CAP12: "1.2", CAP11: "1.1", CAP10: "1.0"}
ATOM = "http://www.w3.org/2005/Atom"
XSD_PATH = Path(__file__).parent / "data" / "cap12.xsd"
MAX_BYTES = 2 * 1024 * 1024  # a real alert is a few kB; a feed of a hundred alerts well under 2 MB
GEOCODE_DIVISION = "GB/T2260"  # valueName of geocodes carrying GB/T 2260 division codes

LEVELS = ("blue", "yellow", "orange", "red")
LEVEL_NAMES: dict[str, tuple[str, str]] = {
    "red": ("红色", "Red"),
    "orange": ("橙色", "Orange"),
    "yellow": ("黄色", "Yellow"),
    "blue": ("蓝色", "Blue"),
}

# Four colours → CAP severity / urgency / certainty. Severity follows the mapping China's
# national early-warning release system uses when it publishes CAP (红 Extreme, 橙 Severe,
# 黄 Moderate, 蓝 Minor, as in the CMA alerts listed in the WMO register of alerting
# authorities). CAP has no colour for urgency and certainty, so we chose: a red warning is
# acted on now on an observed hazard; orange and yellow are expected within hours and likely;
# blue is a heads-up for a possible hazard. A city overrides any cell through
# [warnings] level_table in safecity.toml (see warnings/settings.py).
LEVEL_TABLE: dict[str, dict[str, str]] = {
    "red": {"severity": "Extreme", "urgency": "Immediate", "certainty": "Observed"},
    "orange": {"severity": "Severe", "urgency": "Expected", "certainty": "Likely"},
    "yellow": {"severity": "Moderate", "urgency": "Expected", "certainty": "Likely"},
    "blue": {"severity": "Minor", "urgency": "Future", "certainty": "Possible"},
}
SEVERITY_TO_LEVEL = {"Extreme": "red", "Severe": "orange", "Moderate": "yellow", "Minor": "blue"}

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
_FORBIDDEN_ID = re.compile(r"[\s,<&]")


@dataclass(frozen=True)
class Area:
    desc: str
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()  # rings of (lon, lat), closed
    circles: tuple[tuple[float, float, float], ...] = ()  # (lon, lat, radius km)
    geocodes: tuple[tuple[str, str], ...] = ()  # (valueName, value)


@dataclass(frozen=True)
class Info:
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    web: str = ""
    event_codes: tuple[tuple[str, str], ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[Area, ...] = ()


@dataclass(frozen=True)
class Alert:
    identifier: str
    sender: str
    sent: datetime
    status: str = "Actual"
    msg_type: str = "Alert"
    scope: str = "Public"
    source: str = ""
    note: str = ""
    references: tuple[str, ...] = ()  # "sender,identifier,sent" triples
    incidents: str = ""
    infos: tuple[Info, ...] = field(default_factory=tuple)
    version: str = "1.2"


# ---------------------------------------------------------------- colours


def cap_terms(level: str, table: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """Severity, urgency and certainty of a colour level under the (city's) table."""
    row = (table or LEVEL_TABLE).get(level)
    if row is None:
        raise ValueError(f"unknown level {level!r}")
    return dict(row)


def level_of(severity: str) -> str:
    """The colour an external alert is shown in, from its CAP severity (Unknown → blue)."""
    return SEVERITY_TO_LEVEL.get(severity, "blue")


# ---------------------------------------------------------------- writing


def cap_time(value: datetime) -> str:
    """A CAP dateTime in Beijing time: 2026-11-23T17:00:00+08:00 (CAP forbids "Z")."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(BEIJING).replace(microsecond=0).isoformat()


def reference(sender: str, identifier: str, sent: datetime) -> str:
    return f"{sender},{identifier},{cap_time(sent)}"


def _fmt(number: float) -> str:
    return f"{number:.6f}".rstrip("0").rstrip(".")


def polygon_text(ring: tuple[tuple[float, float], ...]) -> str:
    return " ".join(f"{_fmt(lat)},{_fmt(lon)}" for lon, lat in ring)


def circle_text(circle: tuple[float, float, float]) -> str:
    lon, lat, radius = circle
    return f"{_fmt(lat)},{_fmt(lon)} {_fmt(radius)}"


def _sub(parent: etree._Element, name: str, text: str | None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{CAP12}}}{name}")
    if text is not None:
        el.text = text
    return el


def _pair(parent: etree._Element, name: str, pair: tuple[str, str]) -> None:
    el = _sub(parent, name, None)
    _sub(el, "valueName", pair[0])
    _sub(el, "value", pair[1])


def _area(parent: etree._Element, area: Area) -> None:
    el = _sub(parent, "area", None)
    _sub(el, "areaDesc", area.desc)
    for ring in area.polygons:
        _sub(el, "polygon", polygon_text(ring))
    for circle in area.circles:
        _sub(el, "circle", circle_text(circle))
    for pair in area.geocodes:
        _pair(el, "geocode", pair)


def _info(parent: etree._Element, info: Info) -> None:
    el = _sub(parent, "info", None)
    _sub(el, "language", info.language)
    for category in info.categories:
        _sub(el, "category", category)
    _sub(el, "event", info.event)
    _sub(el, "urgency", info.urgency)
    _sub(el, "severity", info.severity)
    _sub(el, "certainty", info.certainty)
    for pair in info.event_codes:
        _pair(el, "eventCode", pair)
    for name in ("effective", "onset", "expires"):
        value = getattr(info, name)
        if value is not None:
            _sub(el, name, cap_time(value))
    for name, tag in (
        ("sender_name", "senderName"),
        ("headline", "headline"),
        ("description", "description"),
        ("instruction", "instruction"),
        ("web", "web"),
    ):
        if getattr(info, name):
            _sub(el, tag, getattr(info, name))
    for pair in info.parameters:
        _pair(el, "parameter", pair)
    for area in info.areas:
        _area(el, area)


def to_element(alert: Alert) -> etree._Element:
    root = etree.Element(f"{{{CAP12}}}alert", nsmap={None: CAP12})
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", cap_time(alert.sent))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    if alert.source:
        _sub(root, "source", alert.source)
    _sub(root, "scope", alert.scope)
    if alert.note:
        _sub(root, "note", alert.note)
    if alert.references:
        _sub(root, "references", " ".join(alert.references))
    if alert.incidents:
        _sub(root, "incidents", alert.incidents)
    for info in alert.infos:
        _info(root, info)
    return root


def to_xml(alert: Alert) -> bytes:
    xml: bytes = etree.tostring(
        to_element(alert), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return xml


# ---------------------------------------------------------------- safe parsing


def _parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network, no giant trees: hostile input stays inert.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def _bad(zh: str, en: str, field_name: str = "file") -> Invalid:
    return Invalid([FieldError(field_name, zh, en)])


def safe_root(data: bytes, max_bytes: int = MAX_BYTES) -> etree._Element:
    """Parse untrusted XML: size-limited, DOCTYPE refused outright (XXE, billion laughs)."""
    if len(data) > max_bytes:
        raise _bad(
            f"文件超过 {max_bytes // 1024} KB 上限", f"file larger than {max_bytes // 1024} kB"
        )
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise _bad(
            "不接受含 DOCTYPE 或实体声明的 XML（可能是外部实体攻击）",
            "XML with a DOCTYPE or entity declaration is refused (possible XXE attack)",
        )
    if not head:
        raise _bad("文件为空", "file is empty")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _bad(f"不是格式正确的 XML：{exc}", f"not well-formed XML: {exc}") from None
    if root is None:
        raise _bad("文件为空", "file is empty")
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise _bad("不接受含 DOCTYPE 的 XML", "XML with a DOCTYPE is refused")
    return root


# ---------------------------------------------------------------- schema validation


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(XSD_PATH), parser))


_ENUM = re.compile(r"Element '(?P<el>[^']+)': \[facet 'enumeration'\] The value '(?P<v>[^']*)'")
_PATTERN = re.compile(r"Element '(?P<el>[^']+)': \[facet 'pattern'\] The value '(?P<v>[^']*)'")
_UNEXPECTED = re.compile(
    r"Element '(?P<el>[^']+)': This element is not expected\."
    r"(?: Expected is(?: one of)? \( (?P<exp>[^)]*) \))?"
)
_MISSING = re.compile(
    r"Element '(?P<el>[^']+)': Missing child element\(s\)\. "
    r"Expected is(?: one of)? \( (?P<exp>[^)]*) \)"
)
_DATETIME = re.compile(
    r"Element '(?P<el>[^']+)': '(?P<v>[^']*)' is not a valid value of the "
    r"atomic type 'xs:dateTime'"
)


def _local(name: str) -> str:
    return re.sub(r"\{[^}]*\}", "", name).strip()


def plain_error(message: str) -> tuple[str, str]:
    """An lxml schema message in plain words, Chinese and English."""
    if m := _ENUM.search(message):
        el, v = _local(m["el"]), m["v"]
        return (
            f"元素 {el} 的取值“{v}”不是 CAP 1.2 允许的值",
            f"{el}: '{v}' is not a value CAP 1.2 allows",
        )
    if m := _PATTERN.search(message) or _DATETIME.search(message):
        el, v = _local(m["el"]), m["v"]
        return (
            f"元素 {el} 的时间“{v}”格式不对，应为 2026-11-23T17:00:00+08:00",
            f"{el}: time '{v}' must look like 2026-11-23T17:00:00+08:00",
        )
    if m := _MISSING.search(message):
        el, exp = _local(m["el"]), _local(m["exp"])
        return f"元素 {el} 缺少必需的子元素：{exp}", f"{el} is missing a required element: {exp}"
    if m := _UNEXPECTED.search(message):
        el, exp = _local(m["el"]), _local(m["exp"] or "")
        zh = f"元素 {el} 出现的位置不对或不属于 CAP 1.2"
        en = f"{el} is out of place or not part of CAP 1.2"
        if exp:
            zh += f"，此处应为：{exp}"
            en += f"; expected here: {exp}"
        return zh, en
    text = _local(message)
    return f"不符合 CAP 1.2 结构：{text}", f"does not follow the CAP 1.2 schema: {text}"


def schema_errors(root: etree._Element) -> list[FieldError]:
    """Schema violations of a CAP 1.2 alert element, each in plain words with its line."""
    xsd = schema()
    if xsd.validate(root):
        return []
    out = []
    for err in xsd.error_log:
        zh, en = plain_error(err.message)
        out.append(
            FieldError(f"line {err.line}", f"第 {err.line} 行：{zh}", f"line {err.line}: {en}")
        )
    return out


def validate_xml(data: bytes) -> list[FieldError]:
    return schema_errors(safe_root(data))


# ---------------------------------------------------------------- reading


def parse_time(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    value = text.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _bad(f"时间“{text}”格式不对", f"time '{text}' is not a valid date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _points(text: str) -> tuple[tuple[float, float], ...]:
    pts = []
    for pair in text.split():
        lat, _, lon = pair.partition(",")
        pts.append((round(float(lon), 6), round(float(lat), 6)))
    return tuple(pts)


def parse_polygon(text: str) -> tuple[tuple[float, float], ...]:
    try:
        ring = _points(text)
    except ValueError:
        raise _bad(
            f"多边形坐标无效：{text[:60]}", f"invalid polygon coordinates: {text[:60]}", "polygon"
        ) from None
    if len(ring) < 4 or ring[0] != ring[-1]:
        raise _bad(
            "多边形至少需要 4 个点且首尾相同",
            "a polygon needs at least 4 points, first = last",
            "polygon",
        )
    return ring


def parse_circle(text: str) -> tuple[float, float, float]:
    try:
        centre, radius = text.split()
        lon, lat = _points(centre)[0]
        return lon, lat, round(float(radius), 6)
    except ValueError:
        raise _bad(f"圆形区域无效：{text[:60]}", f"invalid circle: {text[:60]}", "circle") from None


class _Reader:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def text(self, el: etree._Element, name: str) -> str:
        child = el.find(self.q(name))
        return (child.text or "").strip() if child is not None and child.text else ""

    def texts(self, el: etree._Element, name: str) -> list[str]:
        return [(c.text or "").strip() for c in el.findall(self.q(name))]

    def pairs(self, el: etree._Element, name: str) -> tuple[tuple[str, str], ...]:
        out = []
        for c in el.findall(self.q(name)):
            out.append((self.text(c, "valueName"), self.text(c, "value")))
        # CAP 1.0 wrote geocodes/parameters as "name=value" strings
        if self.ns == CAP10:
            out = []
            for c in el.findall(self.q(name)):
                raw = (c.text or "").strip()
                key, _, value = raw.partition("=")
                out.append((key.strip(), value.strip()) if value else ("", raw))
        return tuple(out)

    def area(self, el: etree._Element) -> Area:
        return Area(
            desc=self.text(el, "areaDesc"),
            polygons=tuple(parse_polygon(t) for t in self.texts(el, "polygon") if t),
            circles=tuple(parse_circle(t) for t in self.texts(el, "circle") if t),
            geocodes=self.pairs(el, "geocode"),
        )

    def info(self, el: etree._Element) -> Info:
        return Info(
            language=self.text(el, "language") or "en-US",
            categories=tuple(self.texts(el, "category")),
            event=self.text(el, "event"),
            urgency=self.text(el, "urgency"),
            severity=self.text(el, "severity"),
            certainty=self.text(el, "certainty"),
            effective=parse_time(self.text(el, "effective")),
            onset=parse_time(self.text(el, "onset")),
            expires=parse_time(self.text(el, "expires")),
            sender_name=self.text(el, "senderName"),
            headline=self.text(el, "headline"),
            description=self.text(el, "description"),
            instruction=self.text(el, "instruction"),
            web=self.text(el, "web"),
            event_codes=self.pairs(el, "eventCode"),
            parameters=self.pairs(el, "parameter"),
            areas=tuple(self.area(a) for a in el.findall(self.q("area"))),
        )

    def alert(self, el: etree._Element) -> Alert:
        sent = parse_time(self.text(el, "sent"))
        if sent is None:
            raise _bad("缺少发送时间 sent", "sent is missing", "sent")
        return Alert(
            identifier=self.text(el, "identifier"),
            sender=self.text(el, "sender"),
            sent=sent,
            status=self.text(el, "status"),
            msg_type=self.text(el, "msgType"),
            scope=self.text(el, "scope"),
            source=self.text(el, "source"),
            note=self.text(el, "note"),
            references=tuple(self.text(el, "references").split()),
            incidents=self.text(el, "incidents"),
            infos=tuple(self.info(i) for i in el.findall(self.q("info"))),
            version=CAP_NAMESPACES[self.ns],
        )


def _namespace(el: etree._Element) -> str:
    return etree.QName(el).namespace or ""


def _check_older(el: etree._Element, version: str) -> list[FieldError]:
    # No schema ships for CAP 1.0/1.1, so check what the later steps rely on.
    reader = _Reader(_namespace(el))
    errors = []
    for name in ("identifier", "sender", "sent", "status", "msgType", "scope"):
        if not reader.text(el, name):
            errors.append(
                FieldError(
                    name, f"CAP {version} 警报缺少 {name}", f"CAP {version} alert lacks {name}"
                )
            )
    return errors


def read_alert(el: etree._Element) -> Alert:
    """One <alert> element (CAP 1.0, 1.1 or 1.2) → Alert; 1.2 is schema-validated first."""
    ns = _namespace(el)
    if ns not in CAP_NAMESPACES or etree.QName(el).localname != "alert":
        raise _bad(
            "不是 CAP 警报（根元素应为 CAP 1.0/1.1/1.2 的 alert）",
            "not a CAP alert (root must be a CAP 1.0/1.1/1.2 alert)",
        )
    version = CAP_NAMESPACES[ns]
    errors = schema_errors(el) if version == "1.2" else _check_older(el, version)
    if errors:
        raise Invalid(errors)
    return _Reader(ns).alert(el)


def _embedded_alerts(root: etree._Element) -> list[etree._Element]:
    return [el for ns in CAP_NAMESPACES for el in root.iter(f"{{{ns}}}alert")]


def parse(data: bytes, max_bytes: int = MAX_BYTES) -> list[Alert]:
    """A CAP alert, or an Atom/RSS feed with CAP alerts embedded in its entries/items."""
    root = safe_root(data, max_bytes)
    name = etree.QName(root)
    if name.namespace in CAP_NAMESPACES:
        return [read_alert(root)]
    is_feed = (name.namespace == ATOM and name.localname == "feed") or name.localname in (
        "rss",
        "RDF",
    )
    if not is_feed:
        raise _bad(
            "不是 CAP 警报，也不是 Atom/RSS 订阅源", "neither a CAP alert nor an Atom/RSS feed"
        )
    found = _embedded_alerts(root)
    if not found:
        raise _bad(
            "订阅源中没有内嵌的 CAP 警报（只含链接的订阅源需先下载各警报）",
            "the feed embeds no CAP alerts (fetch linked alerts and import them one by one)",
        )
    return [read_alert(el) for el in found]


# ---------------------------------------------------------------- feeds


def atom_feed(
    feed_id: str, title: str, self_url: str, updated: datetime, entries: list[tuple[Alert, str]]
) -> bytes:
    """An Atom feed of alerts, each entry linking its CAP XML (OASIS "CAP Feeds" practice)."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})

    def sub(
        parent: etree._Element, tag: str, text: str | None = None, **attrs: str
    ) -> etree._Element:
        el = etree.SubElement(parent, f"{{{ATOM}}}{tag}", **attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    sub(feed, "updated", cap_time(updated))
    sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    author = sub(feed, "author")
    sub(author, "name", "SafeCity")
    for alert, url in entries:
        info = alert.infos[0] if alert.infos else None
        entry = sub(feed, "entry")
        sub(entry, "id", url)  # the alert's own URL: a stable IRI, as Atom requires
        sub(entry, "title", info.headline if info else alert.identifier)
        sub(entry, "updated", cap_time(alert.sent))
        sub(entry, "published", cap_time(alert.sent))
        sub(entry, "link", rel="alternate", href=url, type="application/cap+xml")
        if info:
            sub(entry, "summary", info.description[:500])
        content = sub(entry, "content", type="text/xml")
        content.append(to_element(alert))
    xml: bytes = etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


def check_identifier(value: str) -> bool:
    return bool(value) and not _FORBIDDEN_ID.search(value)


# ---------------------------------------------------------------- references between messages

# CAP 1.2 §3.2.1 msgType: Update "updates and supercedes", Cancel "cancels" the earlier
# message(s) named in <references>; Ack acknowledges receipt and acceptance of them and Error
# rejects them (explained in <note>): those two change nothing the recipient holds.
EFFECTS: dict[str, str | None] = {
    "Alert": None,
    "Update": "supersede",
    "Cancel": "cancel",
    "Ack": None,
    "Error": None,
}


@dataclass(frozen=True)
class Reference:
    """One "sender,identifier,sent" triple of <references> (the extended message identifier)."""

    sender: str
    identifier: str
    sent: datetime
    text: str


def parse_references(items: tuple[str, ...]) -> tuple[tuple[Reference, ...], tuple[str, ...]]:
    """The well-formed references and the entries that are not a "sender,identifier,sent" triple.

    CAP 1.2 separates references by whitespace and forbids spaces and commas in sender and
    identifier, so a triple splits on its two commas; the schema types <references> as a plain
    string, so a malformed entry is schema-valid and is reported rather than refused.
    """
    good, bad = [], []
    for item in items:
        parts = item.split(",")
        sent = None
        if len(parts) == 3 and all(parts):
            try:
                sent = parse_time(parts[2])
            except Invalid:
                sent = None
        if sent is None:
            bad.append(item)
        else:
            good.append(Reference(parts[0], parts[1], sent, item))
    return tuple(good), tuple(bad)
