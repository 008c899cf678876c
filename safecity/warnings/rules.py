"""Warning workflow and the mapping between a SafeCity warning and its CAP 1.2 alert (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from safecity.core.errors import Conflict, FieldError, Invalid
from safecity.warnings import cap

# Event types: key → (中文, English, CAP category). Accident types follow GB 6441 loosely; the
# natural hazards are those the meteorology, earthquake and water agencies warn about.
EVENT_TYPES: dict[str, tuple[str, str, str]] = {
    "gas_leak": ("燃气泄漏", "Gas leak", "Safety"),
    "hazchem_leak": ("危险化学品泄漏", "Hazardous chemical release", "CBRNE"),
    "explosion": ("爆炸", "Explosion", "CBRNE"),
    "fire": ("火灾", "Fire", "Fire"),
    "forest_fire": ("森林火灾", "Forest fire", "Fire"),
    "pipeline": ("管网运行异常", "Pipeline anomaly", "Infra"),
    "bridge": ("桥梁结构异常", "Bridge structural anomaly", "Infra"),
    "waterlogging": ("城市内涝", "Urban waterlogging", "Met"),
    "rainstorm": ("暴雨", "Rainstorm", "Met"),
    "gale": ("大风", "Gale", "Met"),
    "typhoon": ("台风", "Typhoon", "Met"),
    "storm_surge": ("风暴潮", "Storm surge", "Met"),
    "flood": ("洪水", "Flood", "Met"),
    "earthquake": ("地震", "Earthquake", "Geo"),
    "geological": ("地质灾害", "Geological hazard", "Geo"),
    "crowd": ("人员密集场所拥挤踩踏", "Crowd crush risk", "Safety"),
    "traffic": ("道路交通事故", "Road traffic accident", "Transport"),
    "other": ("其他突发事件", "Other emergency", "Other"),
}

STATUSES: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "Draft"),
    "submitted": ("待审批", "Submitted"),
    "approved": ("已审批", "Approved"),
    "issued": ("已发布", "Issued"),
    "updated": ("已更新", "Superseded by update"),
    "cancelled": ("已解除", "Cancelled"),
    "expired": ("已过期", "Expired"),
    "external": ("外部预警", "External"),
    "recorded": ("已记录", "Recorded"),  # an external Ack/Error, or a message with nothing to show
}

# CAP msgType as staff say it; the CAP word itself stays in the XML.
MSG_TYPES: dict[str, tuple[str, str]] = {
    "Alert": ("警报", "Alert"),
    "Update": ("更新", "Update"),
    "Cancel": ("解除", "Cancel"),
    "Ack": ("确认", "Ack"),
    "Error": ("更正", "Error"),
}

# Where a warning comes from.
SOURCES: dict[str, tuple[str, str]] = {
    "local": ("本平台", "SafeCity"),
    "external": ("外部机构", "Other agency"),
}

# action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "edit": (frozenset({"draft"}), "draft"),
    "submit": (frozenset({"draft"}), "submitted"),
    "reject": (frozenset({"submitted"}), "draft"),
    "approve": (frozenset({"submitted"}), "approved"),
    "issue": (frozenset({"approved"}), "issued"),
    "auto_issue": (frozenset({"draft"}), "issued"),
    "supersede": (frozenset({"issued"}), "updated"),
    "cancel": (frozenset({"issued"}), "cancelled"),
    "expire": (frozenset({"issued"}), "expired"),
}
ACTION_NAMES: dict[str, tuple[str, str]] = {
    "edit": ("修改", "edit"),
    "submit": ("提交审批", "submit"),
    "reject": ("退回", "reject"),
    "approve": ("审批通过", "approve"),
    "issue": ("发布", "issue"),
    "auto_issue": ("自动发布", "auto-issue"),
    "supersede": ("被更新", "supersede"),
    "cancel": ("解除", "cancel"),
    "expire": ("到期", "expire"),
}
DRAFTER_ROLES = frozenset({"admin", "commander", "duty_officer", "district_officer"})
NEEDS_APPROVAL = frozenset({"red", "orange"})  # never configurable away


def next_status(current: str, action: str) -> str:
    """The status after `action`, or Conflict (409) when the workflow does not allow it."""
    sources, target = TRANSITIONS[action]
    if current not in sources:
        now_zh, now_en = STATUSES.get(current, (current, current))
        act_zh, act_en = ACTION_NAMES[action]
        raise Conflict(
            f"预警当前为“{now_zh}”，不能{act_zh}",
            f"cannot {act_en} a warning that is {now_en.lower()}",
        )
    return target


def approvers(level: str, configured: dict[str, list[str]]) -> frozenset[str]:
    """Roles that may approve a level; red and orange fall back to commander when unset."""
    roles = frozenset(configured.get(level, []))
    if level in NEEDS_APPROVAL and not roles:
        return frozenset({"commander"})
    return roles


def duty_conflict(level: str, drafters: set[str], approver: str) -> tuple[str, str] | None:
    """Why separation of duties bars ``approver`` from approving (zh, en), or None.

    A red or orange warning goes out only when a second person has checked it, so whoever
    drafted or submitted it cannot approve it.
    """
    if level in NEEDS_APPROVAL and approver in drafters:
        return (
            "职责分离：红色、橙色预警须由起草人以外的人员审批，您起草或提交了该预警",
            "Separation of duties: a red or orange warning must be approved by someone "
            "other than the person who drafted or submitted it",
        )
    return None


def needs_approval(level: str, configured: dict[str, list[str]]) -> bool:
    return bool(approvers(level, configured))


def may_auto_issue(level: str, blue_auto_issue: bool) -> bool:
    return level == "blue" and blue_auto_issue


# ---------------------------------------------------------------- content


@dataclass(frozen=True)
class WarningArea:
    desc: str
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    circles: tuple[tuple[float, float, float], ...] = ()
    divisions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Content:
    """What a warning says: the part that must survive a CAP round trip unchanged."""

    event_type: str
    level: str
    headline: str
    description: str
    instruction: str
    headline_en: str
    description_en: str
    instruction_en: str
    areas: tuple[WarningArea, ...]
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    links: tuple[tuple[str, str], ...] = field(default=())  # ("alarm", id) …


def _round(value: Any) -> float:
    return round(float(value), 6)


def areas_from_json(raw: list[dict[str, Any]]) -> tuple[WarningArea, ...]:
    out = []
    for a in raw or []:
        out.append(
            WarningArea(
                desc=str(a.get("desc") or ""),
                polygons=tuple(
                    tuple((_round(p[0]), _round(p[1])) for p in ring)
                    for ring in a.get("polygons") or []
                ),
                circles=tuple(
                    (_round(c[0]), _round(c[1]), _round(c[2])) for c in a.get("circles") or []
                ),
                divisions=tuple(str(d) for d in a.get("divisions") or []),
            )
        )
    return tuple(out)


def areas_to_json(areas: tuple[WarningArea, ...]) -> list[dict[str, Any]]:
    return [
        {
            "desc": a.desc,
            "polygons": [[list(p) for p in ring] for ring in a.polygons],
            "circles": [list(c) for c in a.circles],
            "divisions": list(a.divisions),
        }
        for a in areas
    ]


def check_areas(raw: Any) -> list[FieldError]:
    """Field errors of an areas list (as posted: JSON), empty when it is usable."""
    errors: list[FieldError] = []

    def err(i: int, zh: str, en: str) -> None:
        errors.append(FieldError(f"areas.{i}", f"预警区域 {i + 1}：{zh}", f"area {i + 1}: {en}"))

    if not isinstance(raw, list) or not raw:
        return [
            FieldError(
                "areas", "预警区域：至少需要一个区域", "areas: at least one area is required"
            )
        ]
    for i, a in enumerate(raw):
        if not isinstance(a, dict) or not str(a.get("desc") or "").strip():
            err(i, "需要区域描述", "needs a description")
            continue
        polys, circles, divs = (
            a.get("polygons") or [],
            a.get("circles") or [],
            a.get("divisions") or [],
        )
        if not (polys or circles or divs):
            err(i, "需要多边形、圆形或行政区划之一", "needs a polygon, a circle or a division")
        try:
            for ring in polys:
                pts = [(float(p[0]), float(p[1])) for p in ring]
                if len(pts) < 4 or pts[0] != pts[-1]:
                    err(
                        i, "多边形至少 4 个点且首尾相同", "a polygon needs ≥ 4 points, first = last"
                    )
                if any(not (-180 <= x <= 180 and -90 <= y <= 90) for x, y in pts):
                    err(i, "坐标超出经纬度范围", "coordinates out of range")
            for c in circles:
                lon, lat, radius = float(c[0]), float(c[1]), float(c[2])
                if not (-180 <= lon <= 180 and -90 <= lat <= 90) or not 0 < radius <= 1000:
                    err(
                        i,
                        "圆形区域的中心或半径（公里）无效",
                        "circle centre or radius (km) invalid",
                    )
        except (TypeError, ValueError, IndexError):
            err(i, "坐标格式无效", "coordinates are malformed")
        for d in divs:
            if not (isinstance(d, str) and d.isdigit() and len(d) in (6, 9, 12)):
                err(i, f"行政区划代码“{d}”无效", f"division code '{d}' is invalid")
    return errors


def _cap_area(area: WarningArea) -> cap.Area:
    return cap.Area(
        desc=area.desc,
        polygons=area.polygons,
        circles=area.circles,
        geocodes=tuple((cap.GEOCODE_DIVISION, d) for d in area.divisions),
    )


def build_alert(
    content: Content,
    *,
    identifier: str,
    sender: str,
    sent: datetime,
    msg_type: str,
    references: tuple[str, ...],
    sender_names: tuple[str, str],
    table: dict[str, dict[str, str]],
    web: str = "",
    status: str = "Actual",
    note: str = "",
) -> cap.Alert:
    """The CAP 1.2 alert of a warning: one zh-CN and one en-US info block, same areas."""
    terms = cap.cap_terms(content.level, table)
    zh_event, en_event, category = EVENT_TYPES.get(content.event_type, EVENT_TYPES["other"])
    areas = tuple(_cap_area(a) for a in content.areas)
    codes = (("SafeCity:event", content.event_type),)
    params = (("SafeCity:level", content.level),) + tuple(
        (f"SafeCity:{kind}", value) for kind, value in content.links
    )

    def info(
        lang: str, event: str, name: str, headline: str, description: str, instruction: str
    ) -> cap.Info:
        return cap.Info(
            language=lang,
            categories=(category,),
            event=event,
            urgency=terms["urgency"],
            severity=terms["severity"],
            certainty=terms["certainty"],
            effective=content.effective,
            onset=content.onset,
            expires=content.expires,
            sender_name=name,
            headline=headline,
            description=description,
            instruction=instruction,
            web=web,
            event_codes=codes,
            parameters=params,
            areas=areas,
        )

    infos = (
        info(
            "zh-CN",
            zh_event,
            sender_names[0],
            content.headline,
            content.description,
            content.instruction,
        ),
        info(
            "en-US",
            en_event,
            sender_names[1],
            content.headline_en or content.headline,
            content.description_en or content.description,
            content.instruction_en or content.instruction,
        ),
    )
    return cap.Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=status,
        msg_type=msg_type,
        scope="Public",
        note=note,
        references=references,
        infos=infos,
    )


def _info_by_lang(alert: cap.Alert, prefix: str) -> cap.Info | None:
    return next((i for i in alert.infos if i.language.lower().startswith(prefix)), None)


def _value(pairs: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((v for n, v in pairs if n == name), None)


def content_of(alert: cap.Alert) -> Content:
    """Read a CAP alert back into warning content (ours round-trip exactly; others best effort)."""
    zh = _info_by_lang(alert, "zh") or (alert.infos[0] if alert.infos else None)
    en = _info_by_lang(alert, "en") or zh
    if zh is None or en is None:
        raise Invalid(
            [FieldError("info", "CAP 警报没有 info 信息块", "the CAP alert has no info block")]
        )
    event_type = _value(zh.event_codes, "SafeCity:event") or _guess_event(zh)
    level = _value(zh.parameters, "SafeCity:level") or cap.level_of(zh.severity)
    links = tuple(
        (n.split(":", 1)[1], v)
        for n, v in zh.parameters
        if n.startswith("SafeCity:") and n != "SafeCity:level"
    )
    areas = tuple(
        WarningArea(
            desc=a.desc,
            polygons=a.polygons,
            circles=a.circles,
            divisions=tuple(v for n, v in a.geocodes if n.replace(" ", "").upper() == "GB/T2260"),
        )
        for a in zh.areas
    )
    return Content(
        event_type=event_type,
        level=level,
        headline=zh.headline or zh.event,
        description=zh.description,
        instruction=zh.instruction,
        headline_en=en.headline if en is not zh else "",
        description_en=en.description if en is not zh else "",
        instruction_en=en.instruction if en is not zh else "",
        areas=areas,
        effective=zh.effective,
        onset=zh.onset,
        expires=zh.expires,
        links=links,
    )


# How an info-less message is titled: CAP 1.2 lets Cancel, Ack and Error (any msgType, in fact)
# carry no <info>, so their headline is built from the message type and what they refer to.
MESSAGE_NAMES: dict[str, tuple[str, str]] = {
    "Alert": ("预警", "Alert"),
    "Update": ("更新", "Update"),
    "Cancel": ("解除", "Cancelled"),
    "Ack": ("确认回执", "Acknowledgement"),
    "Error": ("错误回执", "Error report"),
}


def message_content(alert: cap.Alert, referenced: Content | None = None) -> Content:
    """A message's content: its own info blocks, else that of the warning it refers to."""
    if alert.infos:
        return content_of(alert)
    zh, en = MESSAGE_NAMES.get(alert.msg_type, (alert.msg_type, alert.msg_type))
    if referenced is None:
        return Content(
            event_type="other",
            level="blue",
            headline=f"{zh}：{alert.identifier}",
            description=alert.note,
            instruction="",
            headline_en=f"{en}: {alert.identifier}",
            description_en=alert.note,
            instruction_en="",
            areas=(),
        )
    return replace(
        referenced,
        headline=f"{zh}：{referenced.headline}",
        headline_en=f"{en}: {referenced.headline_en or referenced.headline}",
        description=alert.note,
        description_en=alert.note,
        instruction="",
        instruction_en="",
        links=(),
    )


def _guess_event(info: cap.Info) -> str:
    for key, (zh_name, en_name, _cat) in EVENT_TYPES.items():
        if info.event and (info.event in zh_name or info.event.lower() == en_name.lower()):
            return key
    return "other"


def is_current(status: str, expires: datetime | None, now: datetime) -> bool:
    """Issued (or imported) and not yet expired."""
    if status not in ("issued", "external"):
        return False
    if expires is None:
        return True
    aware = expires if expires.tzinfo else expires.replace(tzinfo=now.tzinfo)
    return aware > now
