"""Response levels (响应级别 Ⅰ–Ⅳ) proposed from a plan's trigger rules; drill and review due dates.

Pure domain logic: no I/O, no database; the caller passes ``now``.

Trigger rules
-------------
A plan writes, per level, a condition over the incident as data — never code, never ``eval``::

    {"levels": [
        {"level": "I",  "when": {"any": [{"field": "deaths", "op": "gte", "value": 30},
                                         {"field": "grade", "op": "gte", "value": "extraordinary"}]}},
        {"level": "II", "when": {"all": [{"field": "type", "op": "within",
                                          "value": "accident_disaster"},
                                         {"field": "affected_population", "op": "gte",
                                          "value": 10000}]}}]}

A condition is ``{"field", "op", "value"}`` or ``{"any": [...]}`` / ``{"all": [...]}`` (nested at
most :data:`MAX_DEPTH` deep).  Fields: :data:`FIELDS`; grades and alarm levels compare by
severity (``gte`` "serious" means 重大 or 特别重大).  Levels are tried from Ⅰ down to Ⅳ and the
first that matches is proposed, with the condition that matched.  A field the incident does not
have makes its condition false (and says so).  Malformed rules are refused when loaded, listing
every bad path.

GB/T 29639-2020 says response levels must not simply copy accident grades, so the result is a
*proposal*: the commander decides and may choose another level.

Drills and reviews
------------------
《生产安全事故应急预案管理办法》 art. 33: 每年至少组织一次综合应急预案演练或者专项应急预案演练，
每半年至少组织一次现场处置方案演练.  SafeCity applies it per plan (each comprehensive or special
plan drilled within 12 months of its last drill, each on-site procedure within 6 months) — the
stricter reading; the text read per enterprise needs only one of the comprehensive/special plans.
Months are calendar months (31 Aug + 6 months = 28/29 Feb).  A plan never drilled counts from
the date it took effect.  Plans are reviewed every three years (art. 35 for the listed high-risk
units; SafeCity applies it to all plans).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from safecity.response import classes
from safecity.response.errors import FieldError, ResponseInputError, require_aware
from safecity.response.grading import GRADES

__all__ = [
    "FIELDS",
    "LEVELS",
    "OPS",
    "PLAN_TIERS",
    "DueStatus",
    "Proposal",
    "TriggerRules",
    "add_months",
    "drill_status",
    "review_status",
]

MAX_DEPTH = 5
LEVELS: dict[str, tuple[str, str]] = {
    "I": ("Ⅰ级响应", "level I"),
    "II": ("Ⅱ级响应", "level II"),
    "III": ("Ⅲ级响应", "level III"),
    "IV": ("Ⅳ级响应", "level IV"),
}
_ALARM = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}
_ALARM_NAMES = {
    "blue": ("蓝色", "blue"),
    "yellow": ("黄色", "yellow"),
    "orange": ("橙色", "orange"),
    "red": ("红色", "red"),
}
_GRADE = {g.key: g.rank for g in GRADES}
_GRADE_NAMES = {g.key: (g.zh, g.en) for g in GRADES}

# field → (zh, en, kind); kind decides which ops and values are allowed
FIELDS: dict[str, tuple[str, str, str]] = {
    "type": ("事件类型", "incident type", "type"),
    "grade": ("事件等级", "grade", "grade"),
    "alarm_level": ("预警/报警级别", "alarm level", "alarm"),
    "deaths": ("死亡人数", "deaths", "number"),
    "missing": ("失踪人数", "missing", "number"),
    "serious_injuries": ("重伤人数", "serious injuries", "number"),
    "trapped": ("被困人数", "trapped", "number"),
    "affected_population": ("受影响人口", "affected population", "number"),
    "direct_loss_yuan": ("直接经济损失（元）", "direct loss (yuan)", "number"),
}
OPS: dict[str, tuple[str, str]] = {
    "eq": ("等于", "="),
    "ne": ("不等于", "≠"),
    "gt": ("大于", ">"),
    "gte": ("不小于", "≥"),
    "lt": ("小于", "<"),
    "lte": ("不大于", "≤"),
    "in": ("属于", "in"),
    "within": ("属于类别", "within"),
}
_OPS_BY_KIND = {
    "type": {"eq", "ne", "in", "within"},
    "grade": {"eq", "ne", "gt", "gte", "lt", "lte", "in"},
    "alarm": {"eq", "ne", "gt", "gte", "lt", "lte", "in"},
    "number": {"eq", "ne", "gt", "gte", "lt", "lte"},
}


# --------------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Leaf:
    field: str
    op: str
    value: Any  # normalised: rank for grade/alarm, Decimal for numbers, str/tuple for type
    shown: Any  # as the plan wrote it, for the explanation

    def describe(self) -> tuple[str, str]:
        fzh, fen, kind = FIELDS[self.field]
        ozh, oen = OPS[self.op]
        zh_value, en_value = _shown(kind, self.shown)
        return f"{fzh}{ozh}{zh_value}", f"{fen} {oen} {en_value}"


def _shown(kind: str, shown: Any) -> tuple[str, str]:
    """A rule's value as people read it: 事故灾难 rather than accident_disaster."""
    values = shown if isinstance(shown, list | tuple) else [shown]
    zh: list[str] = []
    en: list[str] = []
    for v in values:
        if kind == "type" and isinstance(v, str) and classes.get(v) is not None:
            t = classes.get(v)
            assert t is not None
            zh.append(t.zh)
            en.append(t.en)
        elif kind == "alarm" and isinstance(v, str) and v in _ALARM_NAMES:
            zh.append(_ALARM_NAMES[v][0])
            en.append(_ALARM_NAMES[v][1])
        elif kind == "grade" and isinstance(v, str) and v in _GRADE_NAMES:
            zh.append(_GRADE_NAMES[v][0])
            en.append(_GRADE_NAMES[v][1])
        else:
            zh.append(str(v))
            en.append(str(v))
    return "、".join(zh), ", ".join(en)


@dataclass(frozen=True)
class Group:
    mode: str  # "any" | "all"
    items: tuple[Leaf | Group, ...]


Node = Leaf | Group


def _fail(path: str, zh: str, en: str) -> FieldError:
    return FieldError(path, zh, en)


def _parse_value(path: str, kind: str, op: str, raw: Any) -> Any:
    many = op == "in"
    values = raw if many else [raw]
    if many and (not isinstance(raw, Sequence) or isinstance(raw, str) or not raw):
        raise ResponseInputError(
            [_fail(path, "in 的值必须是非空列表", "'in' needs a non-empty list")]
        )
    out: list[Any] = []
    for v in values:
        if kind == "type":
            classes.validate(v, path)
            out.append(v)
        elif kind in ("grade", "alarm"):
            table = _GRADE if kind == "grade" else _ALARM
            if not isinstance(v, str) or v not in table:
                raise ResponseInputError(
                    [
                        _fail(
                            path,
                            f"取值必须是 {'/'.join(table)} 之一",
                            f"value must be one of {', '.join(table)}",
                        )
                    ]
                )
            out.append(table[v])
        else:
            if isinstance(v, bool) or not isinstance(v, int | float | Decimal):
                raise ResponseInputError([_fail(path, "取值必须是数", "value must be a number")])
            out.append(Decimal(repr(v)) if isinstance(v, float) else Decimal(v))
    return tuple(out) if many else out[0]


def _parse(node: Any, path: str, depth: int, errors: list[FieldError]) -> Node | None:
    if depth > MAX_DEPTH:
        errors.append(_fail(path, f"条件嵌套超过{MAX_DEPTH}层", f"nested deeper than {MAX_DEPTH}"))
        return None
    if not isinstance(node, Mapping):
        errors.append(_fail(path, "条件必须是对象", "a condition must be an object"))
        return None
    groups = [k for k in ("any", "all") if k in node]
    if groups:
        if len(groups) > 1 or len(node) != 1:
            errors.append(_fail(path, "any/all 必须单独出现", "'any'/'all' must stand alone"))
            return None
        items = node[groups[0]]
        if not isinstance(items, Sequence) or isinstance(items, str) or not items:
            errors.append(
                _fail(f"{path}.{groups[0]}", "必须是非空列表", "must be a non-empty list")
            )
            return None
        parsed = [
            _parse(it, f"{path}.{groups[0]}[{i}]", depth + 1, errors) for i, it in enumerate(items)
        ]
        kids = tuple(p for p in parsed if p is not None)
        return Group(groups[0], kids) if len(kids) == len(parsed) else None
    if set(node) != {"field", "op", "value"}:
        errors.append(
            _fail(
                path,
                "条件需要且只能有 field、op、value",
                "a condition needs exactly 'field', 'op' and 'value'",
            )
        )
        return None
    field, op = node["field"], node["op"]
    if field not in FIELDS:
        errors.append(
            _fail(
                f"{path}.field",
                f"未知字段 {field!r}（可用：{'、'.join(FIELDS)}）",
                f"unknown field {field!r} (allowed: {', '.join(FIELDS)})",
            )
        )
        return None
    kind = FIELDS[field][2]
    if op not in _OPS_BY_KIND[kind]:
        allowed = ", ".join(sorted(_OPS_BY_KIND[kind]))
        errors.append(
            _fail(
                f"{path}.op",
                f"字段 {field} 不支持运算 {op!r}（可用：{allowed}）",
                f"field {field} does not take op {op!r} (allowed: {allowed})",
            )
        )
        return None
    try:
        value = _parse_value(f"{path}.value", kind, op, node["value"])
    except ResponseInputError as exc:
        errors.extend(exc.errors)
        return None
    return Leaf(field, op, value, node["value"])


def _incident_value(field: str, incident: Mapping[str, Any]) -> Any:
    raw = incident.get(field)
    if raw is None:
        return None
    kind = FIELDS[field][2]
    if kind in ("grade", "alarm"):
        table = _GRADE if kind == "grade" else _ALARM
        if raw not in table:
            raise ResponseInputError.one(
                field,
                f"{FIELDS[field][0]}必须是 {'/'.join(table)} 之一",
                f"{field} must be one of {', '.join(table)}",
            )
        return table[raw]
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
            raise ResponseInputError.one(
                field, f"{FIELDS[field][0]}必须是数", f"{field} must be a number"
            )
        return Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    return raw


def _compare(op: str, have: Any, want: Any) -> bool:
    if op == "in":
        return bool(have in want)
    if op == "within":
        return isinstance(have, str) and (have == want or have.startswith(want + "."))
    if op in ("eq", "ne"):
        return bool(have == want) is (op == "eq")
    return bool(
        {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[op]
    )


def _eval(
    node: Node, incident: Mapping[str, Any], path: str
) -> tuple[bool, list[tuple[str, Leaf]]]:
    """(matched, the leaves — with their paths — that made it match)."""
    if isinstance(node, Leaf):
        have = _incident_value(node.field, incident)
        return (have is not None and _compare(node.op, have, node.value)), [(path, node)]
    hits: list[tuple[str, Leaf]] = []
    for i, kid in enumerate(node.items):
        ok, sub = _eval(kid, incident, f"{path}.{node.mode}[{i}]")
        if node.mode == "any" and ok:
            return True, sub
        if node.mode == "all" and not ok:
            return False, []
        hits.extend(sub)
    return node.mode == "all", hits


def _words(node: Node) -> tuple[str, str]:
    if isinstance(node, Leaf):
        return node.describe()
    parts = [_words(kid) for kid in node.items]
    zh_sep, en_sep = ("，或", " or ") if node.mode == "any" else ("，且", " and ")
    zh = zh_sep.join(p[0] for p in parts)
    en = en_sep.join(p[1] for p in parts)
    return (f"（{zh}）", f"({en})") if len(parts) > 1 else (zh, en)


@dataclass(frozen=True)
class Proposal:
    level: str | None
    matched: tuple[str, ...]  # paths of the conditions that matched
    reasons: tuple[tuple[str, str], ...]  # (zh, en) per matched condition
    missing_fields: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        if self.level is None:
            zh = "预案的响应条件均未满足，不建议启动响应（由指挥长决定）"
            en = (
                "no trigger condition of the plan matches; no response proposed (commander decides)"
            )
        else:
            zh = (
                f"建议启动{LEVELS[self.level][0]}："
                + "；".join(r[0] for r in self.reasons)
                + "。响应级别由指挥长决定（GB/T 29639-2020：响应分级不可照搬事故分级）"
            )
            en = (
                f"proposed {LEVELS[self.level][1]}: "
                + "; ".join(r[1] for r in self.reasons)
                + ". The commander decides (GB/T 29639-2020: response levels must not simply "
                "copy accident grades)"
            )
        return {
            "level": self.level,
            "level_zh": LEVELS[self.level][0] if self.level else None,
            "proposal_only": True,
            "matched": list(self.matched),
            "missing_fields": list(self.missing_fields),
            "explanation_zh": zh,
            "explanation_en": en,
        }


@dataclass(frozen=True)
class TriggerRules:
    """A plan's per-level trigger conditions, checked when loaded."""

    levels: tuple[tuple[str, Node], ...]  # ordered Ⅰ → Ⅳ

    @classmethod
    def from_dict(cls, data: Any) -> TriggerRules:
        entries = data.get("levels") if isinstance(data, Mapping) else None
        if not isinstance(entries, Sequence) or isinstance(entries, str) or not entries:
            raise ResponseInputError.one("levels", "需要 levels 列表", "a 'levels' list is needed")
        errors: list[FieldError] = []
        out: list[tuple[str, Node]] = []
        for i, entry in enumerate(entries):
            path = f"levels[{i}]"
            if not isinstance(entry, Mapping) or set(entry) != {"level", "when"}:
                errors.append(
                    _fail(
                        path,
                        "每项需要且只能有 level 和 when",
                        "each entry needs exactly 'level' and 'when'",
                    )
                )
                continue
            if entry["level"] not in LEVELS:
                errors.append(
                    _fail(
                        f"{path}.level",
                        "级别必须是 I、II、III、IV",
                        "level must be I, II, III or IV",
                    )
                )
                continue
            if any(lv == entry["level"] for lv, _ in out):
                errors.append(_fail(f"{path}.level", "级别重复", "level given twice"))
                continue
            node = _parse(entry["when"], f"{path}.when", 1, errors)
            if node is not None:
                out.append((entry["level"], node))
        if errors:
            raise ResponseInputError(errors)
        order = list(LEVELS)
        return cls(tuple(sorted(out, key=lambda p: order.index(p[0]))))

    def describe(self) -> list[tuple[str, str, str]]:
        """(level, zh, en) of every level's condition in words, for people reading the plan."""
        out = []
        for level, node in self.levels:
            zh, en = _words(node)
            if isinstance(node, Group) and len(node.items) > 1:  # no brackets around the whole
                zh, en = zh[1:-1], en[1:-1]
            out.append((level, zh, en))
        return out

    def propose(self, incident: Mapping[str, Any]) -> Proposal:
        """The most severe level whose condition the incident meets (a proposal only)."""
        if not isinstance(incident, Mapping):
            raise ResponseInputError.one("incident", "事件必须是对象", "incident must be a map")
        if incident.get("type") is not None:
            classes.validate(incident["type"])
        missing = tuple(sorted({f for f in FIELDS if incident.get(f) is None}))
        for level, node in self.levels:
            root = f"levels[{level}].when"
            ok, hits = _eval(node, incident, root)
            if ok:
                return Proposal(
                    level,
                    tuple(p for p, _ in hits),
                    tuple(leaf.describe() for _, leaf in hits),
                    missing,
                )
        return Proposal(None, (), (), missing)


# --------------------------------------------------------------------------- drills, reviews

PLAN_TIERS: dict[str, tuple[str, str, int]] = {  # key → zh, en, drill interval in months
    "comprehensive": ("综合应急预案", "comprehensive plan", 12),
    "special": ("专项应急预案", "special plan", 12),
    "onsite": ("现场处置方案", "on-site procedure", 6),
}
REVIEW_YEARS = 3


def add_months(at: datetime, months: int) -> datetime:
    """Calendar months, the day clamped to the month's end (31 Aug + 6 → 28/29 Feb)."""
    y, m = divmod(at.month - 1 + months, 12)
    year, month = at.year + y, m + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class DueStatus:
    kind: str  # "drill" | "review"
    since: datetime
    due_at: datetime
    overdue: bool
    days_left: int  # negative when overdue
    explanation_zh: str
    explanation_en: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "since": self.since.isoformat(),
            "due_at": self.due_at.isoformat(),
            "overdue": self.overdue,
            "days_left": self.days_left,
            "explanation_zh": self.explanation_zh,
            "explanation_en": self.explanation_en,
        }


def _due(
    kind: str,
    since: datetime,
    due: datetime,
    now: datetime,
    what: tuple[str, str],
    rule: tuple[str, str],
) -> DueStatus:
    overdue = now > due  # due on the day itself is still on time
    days_left = (due - now).days  # floor: one second late is -1
    state_zh = "已逾期" if overdue else "未逾期"
    state_en = "overdue" if overdue else "not overdue"
    return DueStatus(
        kind,
        since,
        due,
        overdue,
        days_left,
        # the day in the caller's zone (pass Beijing times for Beijing dates)
        f"{what[0]}{state_zh}：{rule[0]}，应于 {due.date().isoformat()} 前完成",
        f"{what[1]} {state_en}: {rule[1]}, due by {due.date().isoformat()}",
    )


def drill_status(
    tier: str, effective_at: datetime, last_drill_at: datetime | None, now: datetime
) -> DueStatus:
    """Art. 33: is the plan's next drill overdue at ``now``?"""
    if tier not in PLAN_TIERS:
        raise ResponseInputError.one(
            "tier",
            "预案层级必须是 comprehensive/special/onsite",
            "tier must be comprehensive, special or onsite",
        )
    now = require_aware("now", now)
    since = require_aware(
        "last_drill_at" if last_drill_at else "effective_at", last_drill_at or effective_at
    )
    zh, en, months = PLAN_TIERS[tier]
    period_zh = "每年至少一次" if months == 12 else "每半年至少一次"
    period_en = "at least once a year" if months == 12 else "at least every six months"
    return _due(
        "drill",
        since,
        add_months(since, months),
        now,
        (f"{zh}演练", f"{en} drill"),
        (
            f"《生产安全事故应急预案管理办法》第三十三条，{zh}{period_zh}",
            f"emergency plan rules art. 33, {en} {period_en}",
        ),
    )


def review_status(last_review_at: datetime, now: datetime, years: int = REVIEW_YEARS) -> DueStatus:
    """The plan's periodic review (评估), every ``years`` years from the last review or approval."""
    now = require_aware("now", now)
    since = require_aware("last_review_at", last_review_at)
    return _due(
        "review",
        since,
        add_months(since, 12 * years),
        now,
        ("预案评估", "plan review"),
        (f"每{years}年进行一次应急预案评估", f"reviewed every {years} years"),
    )
