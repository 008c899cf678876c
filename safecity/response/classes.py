"""Incident types (突发事件类型): the four classes of GB/T 35561-2017 and their sub-classes.

Pure domain logic: no I/O, no database, no clock.

What is verified and what is not
--------------------------------
* The four classes — 自然灾害, 事故灾难, 公共卫生事件, 社会安全事件 — are those of GB/T
  35561-2017 《突发事件分类与编码》 and of the Emergency Response Law art. 3.
* The sub-classes (亚类) below are the ones listed in 《国家突发公共事件总体应急预案》 (State
  Council, 2006) §1.3, the classification GB/T 35561-2017 builds on.  The standard's own
  sub-class list and its numeric codes could not be checked against the text of the standard
  (it is not freely published and no copy was found), so **no GB/T 35561 code is given**:
  ``IncidentType.code`` is ``None`` everywhere, to be filled in from the standard's table by
  someone who has it.  Keys are SafeCity's own, stable identifiers (dotted paths).
* A few detailed types (细类) are added where a legal text names them, each with its
  ``source``: road-traffic and fire accidents (Decree 493 art. 13, they have a 7-day follow-up
  window), and the natural-disaster kinds of 《自然灾害情况统计调查制度》 (应急〔2020〕19号).
  ``fire`` is a SafeCity sub-class of 事故灾难 (flagged ``source="SafeCity"``): the 2006 plan
  names no fire sub-class, and a city needs one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from safecity.response.errors import ResponseInputError

__all__ = [
    "CLASSES",
    "IncidentType",
    "all_types",
    "ancestors",
    "children",
    "class_of",
    "compatible",
    "get",
    "is_production_safety_candidate",
    "is_road_traffic_or_fire",
    "validate",
]

PLAN_2006 = "《国家突发公共事件总体应急预案》1.3"
DECREE_493 = "《生产安全事故报告和调查处理条例》第十三条"
STATS_2020 = "《自然灾害情况统计调查制度》（应急〔2020〕19号）"
STANDARD = "GB/T 35561-2017"


@dataclass(frozen=True)
class IncidentType:
    key: str
    zh: str
    en: str
    source: str
    code: str | None = None  # the GB/T 35561-2017 code, unverified, see module docstring

    @property
    def depth(self) -> int:
        return self.key.count(".") + 1

    @property
    def parent_key(self) -> str | None:
        return self.key.rsplit(".", 1)[0] if "." in self.key else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "zh": self.zh,
            "en": self.en,
            "source": self.source,
            "code": self.code,
            "level": ("class", "subclass", "type")[self.depth - 1],
        }


def _t(key: str, zh: str, en: str, source: str = PLAN_2006) -> IncidentType:
    return IncidentType(key, zh, en, source)


_N, _A, _H, _S = "natural_disaster", "accident_disaster", "public_health", "social_security"

_ALL: tuple[IncidentType, ...] = (
    _t(_N, "自然灾害", "natural disaster", STANDARD),
    _t(f"{_N}.flood_drought", "水旱灾害", "flood and drought"),
    _t(f"{_N}.flood_drought.flood", "洪涝", "flood and waterlogging", STATS_2020),
    _t(f"{_N}.flood_drought.drought", "干旱", "drought", STATS_2020),
    _t(f"{_N}.meteorological", "气象灾害", "meteorological disaster"),
    _t(f"{_N}.meteorological.typhoon", "台风", "typhoon", STATS_2020),
    _t(f"{_N}.meteorological.wind_hail", "风雹", "wind and hail", STATS_2020),
    _t(f"{_N}.meteorological.low_temperature", "低温冷冻", "low temperature and frost", STATS_2020),
    _t(f"{_N}.meteorological.snow", "雪灾", "snow disaster", STATS_2020),
    _t(f"{_N}.meteorological.sandstorm", "沙尘暴", "sandstorm", STATS_2020),
    _t(f"{_N}.earthquake", "地震灾害", "earthquake"),
    _t(f"{_N}.geological", "地质灾害", "geological disaster"),
    _t(f"{_N}.geological.collapse", "崩塌", "rock fall / collapse", STATS_2020),
    _t(f"{_N}.geological.landslide", "滑坡", "landslide", STATS_2020),
    _t(f"{_N}.geological.debris_flow", "泥石流", "debris flow", STATS_2020),
    _t(f"{_N}.marine", "海洋灾害", "marine disaster"),
    _t(f"{_N}.marine.storm_surge", "风暴潮", "storm surge", STATS_2020),
    _t(f"{_N}.marine.tsunami", "海啸", "tsunami", STATS_2020),
    _t(f"{_N}.biological", "生物灾害", "biological disaster"),
    _t(f"{_N}.forest_grassland_fire", "森林草原火灾", "forest and grassland fire"),
    _t(_A, "事故灾难", "accident disaster", STANDARD),
    _t(
        f"{_A}.production_safety",
        "工矿商贸等企业的各类安全事故",
        "safety accident in industry, mining, commerce and trade",
    ),
    _t(f"{_A}.transport", "交通运输事故", "transport accident"),
    _t(f"{_A}.transport.road_traffic", "道路交通事故", "road traffic accident", DECREE_493),
    _t(f"{_A}.public_facility", "公共设施和设备事故", "public facility and equipment accident"),
    _t(
        f"{_A}.environmental",
        "环境污染和生态破坏事件",
        "environmental pollution and ecological damage",
    ),
    _t(f"{_A}.fire", "火灾事故", "fire accident", "SafeCity（参照" + DECREE_493 + "）"),
    _t(_H, "公共卫生事件", "public health event", STANDARD),
    _t(f"{_H}.infectious_disease", "传染病疫情", "infectious disease outbreak"),
    _t(f"{_H}.unexplained_illness", "群体性不明原因疾病", "cluster of unexplained illness"),
    _t(f"{_H}.food_occupational", "食品安全和职业危害", "food safety and occupational hazard"),
    _t(f"{_H}.animal_epidemic", "动物疫情", "animal epidemic"),
    _t(
        f"{_H}.other",
        "其他严重影响公众健康和生命安全的事件",
        "other event seriously affecting public health and life",
    ),
    _t(_S, "社会安全事件", "social security event", STANDARD),
    _t(f"{_S}.terrorist_attack", "恐怖袭击事件", "terrorist attack"),
    _t(f"{_S}.economic_security", "经济安全事件", "economic security event"),
    _t(f"{_S}.foreign_related", "涉外突发事件", "foreign-related emergency"),
)

_BY_KEY = {t.key: t for t in _ALL}
CLASSES: tuple[IncidentType, ...] = tuple(t for t in _ALL if t.depth == 1)


def all_types() -> Iterator[IncidentType]:
    """Every class, sub-class and type, parents before children."""
    return iter(_ALL)


def get(key: str) -> IncidentType | None:
    return _BY_KEY.get(key) if isinstance(key, str) else None


def validate(key: Any, field: str = "type") -> IncidentType:
    """The type for ``key`` or a 422-style error naming the four classes."""
    found = get(key)
    if found is None:
        names = "、".join(c.zh for c in CLASSES)
        raise ResponseInputError.one(
            field,
            f"未知的突发事件类型 {key!r}（{STANDARD}：{names}及其亚类）",
            f"unknown incident type {key!r} (GB/T 35561-2017 classes and their sub-classes)",
        )
    return found


def children(key: str) -> list[IncidentType]:
    parent = validate(key)
    return [t for t in _ALL if t.parent_key == parent.key]


def ancestors(key: str) -> list[IncidentType]:
    """The type itself, then its sub-class, then its class."""
    t: IncidentType | None = validate(key)
    out: list[IncidentType] = []
    while t is not None:
        out.append(t)
        t = _BY_KEY[t.parent_key] if t.parent_key else None
    return out


def class_of(key: str) -> IncidentType:
    return ancestors(key)[-1]


def compatible(a: str, b: str) -> bool:
    """Same type, or one is a refinement of the other (a caller said 气象灾害, another 台风)."""
    validate(a, "a")
    validate(b, "b")
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def is_road_traffic_or_fire(key: str) -> bool:
    """Decree 493 art. 13: road-traffic and fire accidents have a 7-day follow-up window."""
    validate(key)
    return any(
        key == k or key.startswith(k + ".") for k in (f"{_A}.transport.road_traffic", f"{_A}.fire")
    )


def is_production_safety_candidate(key: str) -> bool:
    """Accident types Decree 493 can apply to (art. 2 excludes environmental pollution).

    Whether the accident happened in production or business activity (生产经营活动) is a fact
    the duty officer records; this only says the type does not rule it out.
    """
    validate(key)
    return key.startswith(_A + ".") and not key.startswith(f"{_A}.environmental")
