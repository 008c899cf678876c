"""Demo-city data of the warnings capability, loaded by `safecity demo` after the registry:
two warnings in force, one expired, one lifted, and a CAP 1.2 alert imported from the
provincial meteorological observatory. A second run does nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.scope import Principal
from safecity.warnings import cap, channels, service
from safecity.warnings.models import Delivery, Warning
from safecity.warnings.settings import get_warning_settings

DEMO_USER = "commander"
COMMANDER = Principal(user_id=0, username=DEMO_USER, role="commander", division_code="370600")
# The duty officer drafts and submits; the commander approves (separation of duties).
DUTY = Principal(user_id=0, username="duty", role="duty_officer", division_code="370600")
MET_SENDER = "sdqxt@cma.gov.cn"
MET_IDENTIFIER = "SD-MET-DEMO-GALE-0001"
ZHIFU_COAST = [
    [121.36, 37.53],
    [121.44, 37.53],
    [121.44, 37.575],
    [121.36, 37.575],
    [121.36, 37.53],
]


def _warnings(now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "event_type": "rainstorm",
            "level": "orange",
            "division_code": "370602",
            "headline": "芝罘区暴雨橙色预警",
            "headline_en": "Orange rainstorm warning for Zhifu",
            "description": "预计未来 6 小时芝罘区降雨量将达 50 毫米以上，局部 100 毫米，易发城市内涝。",
            "description_en": "Over 50 mm of rain expected in Zhifu within 6 hours, locally 100 mm.",
            "instruction": "避开下穿通道和低洼地带，地下车库及时转移车辆，非必要不外出。",
            "instruction_en": "Avoid underpasses and low ground; move cars out of basements.",
            "areas": [{"desc": "芝罘区全境", "divisions": ["370602"]}],
            "effective": now - timedelta(hours=1),
            "expires": now + timedelta(hours=11),
        },
        {
            "event_type": "gale",
            "level": "yellow",
            "division_code": "370602",
            "headline": "芝罘区沿海大风黄色预警",
            "headline_en": "Yellow gale warning, Zhifu coast",
            "description": "芝罘区沿海海面将出现 8 级阵风，海上作业和滨海游览存在风险。",
            "instruction": "停止海上作业和滨海游览，加固户外广告牌等设施。",
            "areas": [{"desc": "芝罘区沿海", "polygons": [ZHIFU_COAST]}],
            "effective": now - timedelta(minutes=30),
            "expires": now + timedelta(hours=20),
        },
    ]


def _past(now: datetime) -> list[tuple[dict[str, Any], str]]:
    return [
        (
            {
                "event_type": "gas_leak",
                "level": "blue",
                "division_code": "370613",
                "headline": "莱山区燃气管网压力异常蓝色预警",
                "description": "莱山区部分燃气管网压力波动，已安排抢修。",
                "instruction": "如闻到燃气异味，请关闭阀门、开窗通风并拨打抢修电话。",
                "areas": [{"desc": "莱山区观海路周边", "circles": [[121.445, 37.41, 1.5]]}],
                "effective": now - timedelta(days=3),
                "expires": now - timedelta(days=2),
            },
            "expire",
        ),
        (
            {
                "event_type": "hazchem_leak",
                "level": "red",
                "division_code": "370602",
                "headline": "芝罘区化工企业泄漏红色预警",
                "description": "芝罘区某化工企业储罐发生泄漏，下风向存在中毒风险。",
                "instruction": "下风向 2 公里内居民关闭门窗，听从疏散指挥。",
                "areas": [{"desc": "泄漏点下风向 2 公里", "circles": [[121.39, 37.52, 2.0]]}],
                "effective": now - timedelta(days=10),
                "expires": now - timedelta(days=9),
            },
            "cancel",
        ),
    ]


def met_alert(now: datetime) -> cap.Alert:
    """A CAP 1.2 gale warning as the Shandong observatory would send it (external import)."""
    area = cap.Area(
        desc="烟台市沿海",
        geocodes=(("GB/T2260", "370600"),),
        polygons=(((120.9, 37.35), (121.9, 37.35), (121.9, 37.8), (120.9, 37.8), (120.9, 37.35)),),
    )
    info = cap.Info(
        language="zh-CN",
        categories=("Met",),
        event="大风",
        urgency="Expected",
        severity="Severe",
        certainty="Likely",
        effective=now,
        expires=now + timedelta(hours=30),
        sender_name="山东省气象台",
        headline="山东省气象台发布海上大风橙色预警",
        description="预计今天夜间到明天，渤海海峡和黄海北部将出现 9～10 级大风。",
        instruction="海上船只回港避风，沿海停止户外作业。",
        areas=(area,),
    )
    sent = now.replace(microsecond=0)
    return cap.Alert(identifier=MET_IDENTIFIER, sender=MET_SENDER, sent=sent, infos=(info,))


def _deliver(session: Session, w: Warning, now: datetime) -> None:
    """Send the demo's deliveries in place (web and the logging adapters need no network)."""
    settings = get_warning_settings()
    adapters = channels.adapters(settings)
    message = channels.Message(
        w.id,
        w.msg_type,
        w.level,
        w.headline,
        w.description,
        w.instruction,
        w.cap_xml or "",
        int((w.targeting or {}).get("population", 0)),
    )
    for d in session.scalars(select(Delivery).where(Delivery.warning_id == w.id)):
        if d.channel in ("web", "sms", "broadcast", "siren"):
            d.attempts += 1
            channels._record(d, adapters[d.channel].send(message, d.target), now, settings)


def _issue(session: Session, data: dict[str, Any], at: datetime) -> Warning:
    w = service.create_warning(session, DUTY, data, at)
    service.submit(session, DUTY, w.id, at)
    if w.status == "submitted":
        service.approve(session, COMMANDER, w.id, at)
    service.issue(session, COMMANDER, w.id, at)
    _deliver(session, w, at)
    return w


def load(
    session: Session, now: datetime, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, Any]:
    """Load this capability's demo data; a second call does nothing (idempotent)."""
    marker = f"{MET_SENDER}|{MET_IDENTIFIER}"  # the imported alert marks a loaded demo
    if session.scalar(select(Warning.id).where(Warning.identifier == marker)) is not None:
        return {}
    items = _warnings(now)
    past = _past(now)
    total = len(items) + len(past) + 1
    for i, (data, fate) in enumerate(past, start=1):
        at = data["effective"]
        w = _issue(session, data, at)
        if fate == "cancel":
            msg = service.cancel(
                session,
                COMMANDER,
                w.id,
                at + timedelta(hours=5),
                "泄漏已封堵，空气监测恢复正常，解除预警。",
            )
            _deliver(session, msg, at + timedelta(hours=5))
        if progress:
            progress("warnings", i, total)
    service.expire_due(session, now)
    for i, data in enumerate(items, start=len(past) + 1):
        _issue(session, data, now - timedelta(minutes=20))
        if progress:
            progress("warnings", i, total)
    report = service.import_cap(session, COMMANDER, cap.to_xml(met_alert(now)), now)
    if progress:
        progress("warnings", total, total)
    session.flush()
    local = session.scalars(select(Warning.id).where(Warning.kind == "local")).all()
    return {"warnings": len(local), "external_warnings": len(report.created)}
