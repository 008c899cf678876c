"""Incident grading (事件分级): Decree 493 art. 3 for production-safety accidents, city tables else.

Pure domain logic: no I/O, no database, no clock.

Production-safety accidents
---------------------------
《生产安全事故报告和调查处理条例》 (State Council Decree No. 493, 2007) art. 3, para. 1::

    (一) 特别重大事故，是指造成30人以上死亡，或者100人以上重伤（包括急性工业中毒，下同），
         或者1亿元以上直接经济损失的事故；
    (二) 重大事故，是指造成10人以上30人以下死亡，或者50人以上100人以下重伤，
         或者5000万元以上1亿元以下直接经济损失的事故；
    (三) 较大事故，是指造成3人以上10人以下死亡，或者10人以上50人以下重伤，
         或者1000万元以上5000万元以下直接经济损失的事故；
    (四) 一般事故，是指造成3人以下死亡，或者10人以下重伤，
         或者1000万元以下直接经济损失的事故。

and para. 3: 本条第一款所称的"以上"包括本数，所称的"以下"不包括本数.  So each criterion puts
the accident in ``[lower, upper)``; the three criteria are joined by 或者 (or), so the accident
takes the **highest** grade any one of them reaches, and the result names the criterion (or
criteria) that decided it.  Counts are integers, money is exact (``Decimal`` yuan, no float);
an accident with no death, injury or loss is 一般 (0 is "3人以下").

Other incidents
---------------
The Emergency Response Law gives the same four grades for every incident, but the thresholds
for floods, epidemics or riots are set by plans and local rules.  A city writes them as data
(:class:`GradingTable`, a dict or TOML): per incident type (a GB/T 35561 class, sub-class or
type key from :mod:`safecity.response.classes`, the most specific one wins), a list of criteria,
each a named quantity with the minimum value (inclusive, like "以上") for 较大, 重大 and
特别重大.  The same rule as Decree 493 applies — highest criterion wins, below every threshold
is 一般 — and the same explanation comes out.  :data:`EXAMPLE_CITY_TABLE` is an *example* to
copy, not a legal source.

Regrading (续报)
---------------
:func:`regrade` takes the grade held so far and the counts of a follow-up report and returns
the new grade, whether it changed and in which direction; storing the history is the caller's.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from safecity.response import classes
from safecity.response.errors import FieldError, ResponseInputError

__all__ = [
    "DECREE_493_RULE",
    "EXAMPLE_CITY_TABLE",
    "GRADES",
    "Criterion",
    "Grade",
    "GradeResult",
    "GradingRule",
    "GradingTable",
    "Regrade",
    "grade_accident",
    "grade_incident",
    "parse_grade",
    "regrade",
]


@dataclass(frozen=True)
class Grade:
    key: str
    zh: str
    en: str
    rank: int  # 1 一般 … 4 特别重大

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "zh": self.zh, "en": self.en, "rank": self.rank}


# English names as in the official translation of the Emergency Response Law (art. 3).
ORDINARY = Grade("ordinary", "一般", "ordinary", 1)
RELATIVELY_SERIOUS = Grade("relatively_serious", "较大", "relatively serious", 2)
SERIOUS = Grade("serious", "重大", "serious", 3)
EXTRAORDINARY = Grade("extraordinary", "特别重大", "extraordinarily serious", 4)
GRADES: tuple[Grade, ...] = (ORDINARY, RELATIVELY_SERIOUS, SERIOUS, EXTRAORDINARY)
_BY_KEY = {g.key: g for g in GRADES} | {g.zh: g for g in GRADES}
_RAISABLE = GRADES[1:]  # 一般 is the floor, never a threshold


def parse_grade(value: Any, field: str = "grade") -> Grade:
    """A grade from its key (``serious``), its Chinese name (``重大``) or a :class:`Grade`."""
    if isinstance(value, Grade):
        return value
    found = _BY_KEY.get(value) if isinstance(value, str) else None
    if found is None:
        raise ResponseInputError.one(
            field,
            f"未知的事件等级 {value!r}（一般、较大、重大、特别重大）",
            f"unknown grade {value!r} (ordinary, relatively_serious, serious, extraordinary)",
        )
    return found


# --------------------------------------------------------------------------- numbers


def _decimal(raw: Any) -> Decimal | None:
    """Exact value as written; None for anything that is not a finite number."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if math.isfinite(raw) else None
    if isinstance(raw, Decimal):
        return raw if raw.is_finite() else None
    if isinstance(raw, str):
        try:
            d = Decimal(raw.strip().replace(",", "").replace("_", ""))
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


def _money_zh(yuan: Decimal) -> str:
    """1亿元, 5000万元 — the way the decree writes amounts."""
    if yuan >= 100_000_000 and yuan % 100_000_000 == 0:
        return f"{_fmt(yuan / 100_000_000)}亿元"
    if yuan >= 10_000 and yuan % 10_000 == 0:
        return f"{_fmt(yuan / 10_000)}万元"
    return f"{_fmt(yuan)}元"


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Criterion:
    """One named quantity with the inclusive minimum ("以上") for each grade it can reach."""

    quantity: str
    zh: str
    en: str
    thresholds: tuple[tuple[Grade, Decimal], ...]  # ascending by grade
    unit_zh: str = "人"
    unit_en: str = "persons"
    integer: bool = True
    money: bool = False

    def grade_of(self, value: Decimal) -> Grade:
        reached = ORDINARY
        for grade, minimum in self.thresholds:
            if value >= minimum:  # "以上"包括本数
                reached = grade
        return reached

    def _amount_zh(self, v: Decimal) -> str:
        return _money_zh(v) if self.money else f"{_fmt(v)}{self.unit_zh}"

    def rule_for(self, grade: Grade) -> tuple[str, str]:
        """The interval of ``grade`` as the decree writes it (zh) and as maths (en)."""
        lower = dict(self.thresholds).get(grade)
        upper = next((m for g, m in self.thresholds if g.rank > grade.rank), None)
        if grade is ORDINARY:
            upper = self.thresholds[0][1] if self.thresholds else None
        zh = "".join(
            (
                f"{self._amount_zh(lower)}以上" if lower is not None else "",
                f"{self._amount_zh(upper)}以下" if upper is not None else "",
            )
        )
        zh = zh + self.zh if zh else f"任意{self.zh}"
        if lower is not None and upper is not None:
            en = f"{_fmt(lower)} ≤ {self.en} < {_fmt(upper)}"
        elif lower is not None:
            en = f"{self.en} ≥ {_fmt(lower)}"
        else:
            en = f"{self.en} < {_fmt(upper)}" if upper is not None else f"any {self.en}"
        return zh, en

    def as_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "zh": self.zh,
            "en": self.en,
            "unit_zh": self.unit_zh,
            "unit_en": self.unit_en,
            "integer": self.integer,
            "thresholds": {g.key: _fmt(m) for g, m in self.thresholds},
        }


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    value: Decimal | None
    grade: Grade | None

    def as_dict(self) -> dict[str, Any]:
        c = self.criterion
        out: dict[str, Any] = {
            "criterion": c.quantity,
            "zh": c.zh,
            "en": c.en,
            "value": None if self.value is None else _number(self.value),
        }
        if self.grade is None:
            out |= {
                "grade": None,
                "rule_zh": "未提供，不参与定级",
                "rule_en": "not given, not used",
            }
        else:
            zh, en = c.rule_for(self.grade)
            out |= {"grade": self.grade.as_dict(), "rule_zh": zh, "rule_en": en}
        return out


def _number(v: Decimal) -> int | str:
    """JSON: counts and whole yuan as integers, fractional yuan as exact strings."""
    return int(v) if v == v.to_integral_value() else str(v)


@dataclass(frozen=True)
class GradingRule:
    name: str
    source: str
    criteria: tuple[Criterion, ...]
    subject_zh: str = "事件"  # 事故 for Decree 493

    def grade(self, quantities: Mapping[str, Any]) -> GradeResult:
        """Grade from ``quantities`` (name → number); raises listing every bad value."""
        if not isinstance(quantities, Mapping):
            raise ResponseInputError.one("quantities", "数量必须是对象", "quantities must be a map")
        errors: list[FieldError] = []
        rows: list[CriterionResult] = []
        for c in self.criteria:
            raw = quantities.get(c.quantity)
            if raw is None:
                rows.append(CriterionResult(c, None, None))
                continue
            value = _decimal(raw)
            if value is None or value < 0 or (c.integer and value != value.to_integral_value()):
                kind_zh = "非负整数" if c.integer else "非负数"
                kind_en = "a non-negative integer" if c.integer else "a non-negative number"
                errors.append(
                    FieldError(
                        c.quantity,
                        f"「{c.zh}」必须是{kind_zh}，收到 {raw!r}",
                        f"{c.en} must be {kind_en}, got {raw!r}",
                    )
                )
                continue
            rows.append(CriterionResult(c, value, c.grade_of(value)))
        if errors:
            raise ResponseInputError(errors)
        if all(r.grade is None for r in rows):
            names = "、".join(c.zh for c in self.criteria)
            raise ResponseInputError.one(
                "quantities",
                f"至少需要一项定级数据（{names}）",
                "at least one grading quantity is needed: "
                + ", ".join(c.en for c in self.criteria),
            )
        return GradeResult(self, tuple(rows))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "criteria": [c.as_dict() for c in self.criteria],
        }


@dataclass(frozen=True)
class GradeResult:
    rule: GradingRule
    criteria: tuple[CriterionResult, ...]

    @property
    def grade(self) -> Grade:
        return max((r.grade for r in self.criteria if r.grade), key=lambda g: g.rank)

    @property
    def decided_by(self) -> tuple[CriterionResult, ...]:
        """Every criterion that reaches the final grade (first is the one named in text)."""
        return tuple(r for r in self.criteria if r.grade is self.grade)

    def explanation(self) -> tuple[str, str]:
        g, subject = self.grade, self.rule.subject_zh
        first = self.decided_by[0]
        zh_rule, en_rule = first.criterion.rule_for(g)
        value = first.value or Decimal(0)
        zh = f"{g.zh}{subject}：{zh_rule}（实际{first.criterion._amount_zh(value)}）"
        en = f"{g.en}: {en_rule} (actual {_fmt(value)})"
        others = [r for r in self.decided_by[1:]]
        if others:
            zh += "；" + "、".join(r.criterion.zh for r in others) + "也达到该等级"
            en += "; " + ", ".join(r.criterion.en for r in others) + " reach it too"
        if g is ORDINARY:
            zh, en = (
                f"一般{subject}：各项均未达到较大{subject}标准",
                "ordinary: no criterion reaches the relatively serious threshold",
            )
        return zh, en

    def as_dict(self) -> dict[str, Any]:
        zh, en = self.explanation()
        first = self.decided_by[0].as_dict()
        return {
            "grade": self.grade.as_dict(),
            "decided_by": first,
            "decided_by_all": [r.criterion.quantity for r in self.decided_by],
            "criteria": [r.as_dict() for r in self.criteria],
            "explanation_zh": zh,
            "explanation_en": en,
            "rule": {"name": self.rule.name, "source": self.rule.source},
        }


def _thresholds(*values: int) -> tuple[tuple[Grade, Decimal], ...]:
    return tuple((g, Decimal(v)) for g, v in zip(_RAISABLE, values, strict=True))


DECREE_493_SOURCE = "《生产安全事故报告和调查处理条例》（国务院令第493号）第三条"
DECREE_493_RULE = GradingRule(
    name="decree_493",
    source=DECREE_493_SOURCE,
    subject_zh="事故",
    criteria=(
        Criterion("deaths", "死亡", "deaths", _thresholds(3, 10, 30)),
        Criterion(
            "serious_injuries",
            "重伤（包括急性工业中毒）",
            "serious injuries (incl. acute industrial poisoning)",
            _thresholds(10, 50, 100),
        ),
        Criterion(
            "direct_loss_yuan",
            "直接经济损失",
            "direct economic loss (yuan)",
            _thresholds(10_000_000, 50_000_000, 100_000_000),
            unit_zh="元",
            unit_en="yuan",
            integer=False,
            money=True,
        ),
    ),
)


def grade_accident(deaths: Any, serious_injuries: Any, direct_loss_yuan: Any) -> GradeResult:
    """Decree 493 art. 3 with all three figures required (0 where there is none)."""
    given = {
        "deaths": deaths,
        "serious_injuries": serious_injuries,
        "direct_loss_yuan": direct_loss_yuan,
    }
    missing = [
        FieldError(c.quantity, f"缺少{c.zh}（没有请填0）", f"{c.en} is missing (0 if none)")
        for c in DECREE_493_RULE.criteria
        if given[c.quantity] is None
    ]
    if missing:
        raise ResponseInputError(missing)
    return DECREE_493_RULE.grade(given)


# --------------------------------------------------------------------------- city tables


@dataclass(frozen=True)
class GradingTable:
    """Per incident type, the city's grading rule; the most specific type with a rule wins."""

    name: str
    source: str
    rules: Mapping[str, GradingRule]

    @classmethod
    def from_toml(cls, text: str) -> GradingTable:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ResponseInputError.one(
                "table", f"TOML 格式错误：{exc}", f"bad TOML: {exc}"
            ) from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> GradingTable:
        if not isinstance(data, Mapping) or not isinstance(data.get("types"), Mapping):
            raise ResponseInputError.one(
                "types",
                "分级表需要 types 对象（类型 → 指标）",
                "a grading table needs a 'types' map (type → criteria)",
            )
        name, source = str(data.get("name", "city")), str(data.get("source", "城市自定义分级表"))
        errors: list[FieldError] = []
        rules: dict[str, GradingRule] = {}
        for type_key, spec in data["types"].items():
            path = f"types.{type_key}"
            if classes.get(type_key) is None:
                errors.append(
                    FieldError(
                        path,
                        f"未知的突发事件类型 {type_key!r}",
                        f"unknown incident type {type_key!r}",
                    )
                )
                continue
            crit = spec.get("criteria") if isinstance(spec, Mapping) else None
            if not isinstance(crit, Sequence) or isinstance(crit, str) or not crit:
                errors.append(
                    FieldError(
                        f"{path}.criteria",
                        "criteria 必须是非空列表",
                        "criteria must be a non-empty list",
                    )
                )
                continue
            parsed = [_criterion(f"{path}.criteria[{i}]", c, errors) for i, c in enumerate(crit)]
            if all(p is not None for p in parsed):
                rules[type_key] = GradingRule(
                    type_key, source, tuple(p for p in parsed if p is not None)
                )
        if errors:
            raise ResponseInputError(errors)
        return cls(name, source, rules)

    def rule_for(self, type_key: str) -> GradingRule:
        for t in classes.ancestors(type_key):
            if t.key in self.rules:
                return self.rules[t.key]
        t = classes.validate(type_key)
        raise ResponseInputError.one(
            "type",
            f"分级表「{self.name}」没有{t.zh}（{t.key}）或其上级类别的分级规则",
            f"grading table {self.name!r} has no rule for {t.key} or its parent classes",
        )


def _criterion(path: str, spec: Any, errors: list[FieldError]) -> Criterion | None:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("quantity"), str):
        errors.append(FieldError(path, "指标需要 quantity 名称", "a criterion needs a 'quantity'"))
        return None
    th = spec.get("thresholds")
    if not isinstance(th, Mapping) or not th:
        errors.append(
            FieldError(
                f"{path}.thresholds",
                "thresholds 必须是等级 → 下限的对象",
                "thresholds must map grade → minimum",
            )
        )
        return None
    pairs: list[tuple[Grade, Decimal]] = []
    for key, raw in th.items():
        grade, value = _BY_KEY.get(key), _decimal(raw)
        if grade is None or grade is ORDINARY:
            errors.append(
                FieldError(
                    f"{path}.thresholds.{key}",
                    "只能为较大、重大、特别重大设下限（一般是兜底等级）",
                    "thresholds only for relatively_serious, serious, "
                    "extraordinary (ordinary is the floor)",
                )
            )
            return None
        if value is None or value <= 0:
            errors.append(
                FieldError(
                    f"{path}.thresholds.{key}",
                    "下限必须是正数",
                    "a threshold must be a positive number",
                )
            )
            return None
        pairs.append((grade, value))
    pairs.sort(key=lambda p: p[0].rank)
    if any(a[1] >= b[1] for a, b in pairwise(pairs)):
        errors.append(
            FieldError(
                f"{path}.thresholds",
                "等级越高下限必须越大",
                "a higher grade needs a larger minimum",
            )
        )
        return None
    q = spec["quantity"]
    return Criterion(
        q,
        str(spec.get("zh", q)),
        str(spec.get("en", q)),
        tuple(pairs),
        unit_zh=str(spec.get("unit_zh", "")),
        unit_en=str(spec.get("unit_en", "")),
        integer=bool(spec.get("integer", True)),
    )


_PERSONS = {"unit_zh": "人", "unit_en": "persons", "integer": True}
# An example to copy — NOT a legal source.  Each city writes its own from its plans.
EXAMPLE_CITY_TABLE: dict[str, Any] = {
    "name": "example",
    "source": "示例分级表（非法定标准，各市按本地预案配置） / example table, not a legal source",
    "types": {
        "natural_disaster": {
            "criteria": [
                {
                    "quantity": "deaths_and_missing",
                    "zh": "死亡和失踪",
                    "en": "dead and missing",
                    **_PERSONS,
                    "thresholds": {"relatively_serious": 3, "serious": 10, "extraordinary": 30},
                },
                {
                    "quantity": "relocated",
                    "zh": "紧急转移安置",
                    "en": "people relocated",
                    **_PERSONS,
                    "thresholds": {
                        "relatively_serious": 10_000,
                        "serious": 100_000,
                        "extraordinary": 1_000_000,
                    },
                },
            ]
        },
        "accident_disaster": {
            "criteria": [
                {
                    "quantity": "deaths",
                    "zh": "死亡",
                    "en": "deaths",
                    **_PERSONS,
                    "thresholds": {"relatively_serious": 3, "serious": 10, "extraordinary": 30},
                },
                {
                    "quantity": "serious_injuries",
                    "zh": "重伤",
                    "en": "serious injuries",
                    **_PERSONS,
                    "thresholds": {"relatively_serious": 10, "serious": 50, "extraordinary": 100},
                },
            ]
        },
        "accident_disaster.environmental": {
            "criteria": [
                {
                    "quantity": "deaths",
                    "zh": "死亡",
                    "en": "deaths",
                    **_PERSONS,
                    "thresholds": {"relatively_serious": 3, "serious": 10, "extraordinary": 30},
                },
                {
                    "quantity": "evacuated",
                    "zh": "疏散转移",
                    "en": "people evacuated",
                    **_PERSONS,
                    "thresholds": {
                        "relatively_serious": 5_000,
                        "serious": 10_000,
                        "extraordinary": 50_000,
                    },
                },
            ]
        },
        "public_health": {
            "criteria": [
                {
                    "quantity": "cases",
                    "zh": "病例",
                    "en": "cases",
                    **_PERSONS,
                    "thresholds": {"relatively_serious": 10, "serious": 50, "extraordinary": 100},
                },
                {
                    "quantity": "deaths",
                    "zh": "死亡",
                    "en": "deaths",
                    **_PERSONS,
                    "thresholds": {"relatively_serious": 1, "serious": 5, "extraordinary": 10},
                },
            ]
        },
        "social_security": {
            "criteria": [
                {
                    "quantity": "deaths",
                    "zh": "死亡",
                    "en": "deaths",
                    **_PERSONS,
                    "thresholds": {"relatively_serious": 1, "serious": 3, "extraordinary": 10},
                },
                {
                    "quantity": "participants",
                    "zh": "参与人数",
                    "en": "participants",
                    **_PERSONS,
                    "thresholds": {
                        "relatively_serious": 100,
                        "serious": 1_000,
                        "extraordinary": 10_000,
                    },
                },
            ]
        },
    },
}


def grade_incident(
    type_key: str,
    quantities: Mapping[str, Any],
    *,
    production_safety: bool,
    table: GradingTable | None = None,
) -> GradeResult:
    """Decree 493 for a production-safety accident, else the city's table for the type."""
    t = classes.validate(type_key)
    if production_safety:
        if not classes.is_production_safety_candidate(t.key):
            raise ResponseInputError.one(
                "production_safety",
                f"{t.zh}不适用《生产安全事故报告和调查处理条例》",
                f"Decree 493 does not apply to {t.en}",
            )
        return DECREE_493_RULE.grade(quantities)
    return (table or GradingTable.from_dict(EXAMPLE_CITY_TABLE)).rule_for(t.key).grade(quantities)


@dataclass(frozen=True)
class Regrade:
    previous: Grade
    result: GradeResult

    @property
    def grade(self) -> Grade:
        return self.result.grade

    @property
    def changed(self) -> bool:
        return self.grade is not self.previous

    @property
    def direction(self) -> str:
        diff = self.grade.rank - self.previous.rank
        return "up" if diff > 0 else "down" if diff < 0 else "same"

    def as_dict(self) -> dict[str, Any]:
        verb_zh = {"up": "升级", "down": "降级", "same": "维持"}[self.direction]
        verb_en = {"up": "raised", "down": "lowered", "same": "kept"}[self.direction]
        why_zh, why_en = self.result.explanation()
        return {
            "previous": self.previous.as_dict(),
            "grade": self.grade.as_dict(),
            "changed": self.changed,
            "direction": self.direction,
            "explanation_zh": f"续报后{verb_zh}：{self.previous.zh} → {self.grade.zh}（{why_zh}）",
            "explanation_en": f"follow-up report {verb_en} the grade: {self.previous.en} → "
            f"{self.grade.en} ({why_en})",
            "result": self.result.as_dict(),
        }


def regrade(
    previous: Any, quantities: Mapping[str, Any], rule: GradingRule = DECREE_493_RULE
) -> Regrade:
    """The grade after a follow-up report (续报): counts may go up or down (the missing found)."""
    return Regrade(parse_grade(previous, "previous"), rule.grade(quantities))
