"""Supervision classes (分级分类监管) from rules over an enterprise's facts, written as data.

Pure domain logic: no I/O, no clock.

A scheme lists its classes (key, names, inspections per year) and ordered rules; the first rule
whose condition the facts meet decides, else the scheme's ``default``.  Conditions take the same
shape as response-level triggers (safecity/response/levels.py): ``{"field", "op", "value"}`` or
``{"any": [...]}`` / ``{"all": [...]}``.  That evaluator's field table is fixed to incidents,
so this module keeps its own small evaluator over :data:`FIELDS` (enterprise facts).

:data:`DEFAULT_SCHEME` is A–D with A the most closely supervised (重点监管, quarterly) and D the
least (covered by the 双随机 draw only) — an EXAMPLE; a city passes its own scheme.
An inspector may override the class; the override needs a reason and is kept with the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safecity.enforcement.errors import EnforcementInputError, FieldError

__all__ = ["DEFAULT_SCHEME", "FIELDS", "Classification", "Scheme", "override"]

_RISK = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}
_MHI = {"四级": 1, "三级": 2, "二级": 3, "一级": 4}  # 一级 is the most severe (GB 18218-2018)
_CREDIT = {"A": 1, "B": 2, "C": 3, "D": 4}  # D worst (失信)
_STD = {"一级": 1, "二级": 2, "三级": 3, "none": 4}  # 安全生产标准化 level; none = 未达标
# field → (zh, en, kind); ranked kinds compare by severity (gte "orange" = orange or red)
FIELDS: dict[str, tuple[str, str, Any]] = {
    "industry_section": ("行业门类", "industry section (GB/T 4754)", "section"),
    "industry_division": ("行业大类", "industry division (GB/T 4754)", "division"),
    "risk_level": ("风险等级", "risk level", _RISK),
    "mhi_count": ("重大危险源数量", "major hazard installations", "number"),
    "mhi_top_grade": ("重大危险源最高级别", "highest major hazard grade", _MHI),
    "key_process": ("重点监管危险化工工艺", "key hazardous process", "bool"),
    "key_chemical": ("重点监管危险化学品", "key hazardous chemical", "bool"),
    "open_major_hazards": ("未整改重大隐患数", "open major hidden dangers", "number"),
    "overdue_hazards": ("逾期未整改隐患数", "overdue hidden dangers", "number"),
    "credit": ("信用等级", "credit level", _CREDIT),
    "standardisation": ("标准化等级", "standardisation level", _STD),
}
_OPS = {
    "eq": ("等于", "="),
    "ne": ("不等于", "≠"),
    "gt": ("大于", ">"),
    "gte": ("不小于", "≥"),
    "lt": ("小于", "<"),
    "lte": ("不大于", "≤"),
    "in": ("属于", "in"),
}


def _kind_ops(kind: Any) -> set[str]:
    if kind in ("section", "division", "bool"):
        return {"eq"} if kind == "bool" else {"eq", "ne", "in"}
    return set(_OPS) - ({"in"} if kind == "number" else set())


def _norm(kind: Any, v: Any) -> Any:
    """The comparable value, or raise ValueError."""
    if isinstance(kind, dict):
        if v not in kind:
            raise ValueError(f"one of {', '.join(kind)}")
        return kind[v]
    if kind == "number":
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError("a whole number ≥ 0")
        return v
    if kind == "bool":
        if not isinstance(v, bool):
            raise ValueError("true or false")
        return v
    # GB/T 4754-2017: sections are the letters A–T, divisions two digits 01–97
    if kind == "section" and not (isinstance(v, str) and len(v) == 1 and "A" <= v <= "T"):
        raise ValueError("a GB/T 4754 section letter A–T")
    if kind == "division" and not (
        isinstance(v, str) and len(v) == 2 and v.isascii() and v.isdigit() and "01" <= v <= "97"
    ):
        raise ValueError("a GB/T 4754 two-digit division 01–97")
    return v


def _parse(node: Any, path: str, errors: list[FieldError], depth: int = 1) -> Any:
    if depth > 5 or not isinstance(node, Mapping):
        errors.append(
            FieldError(
                path,
                "条件必须是对象且嵌套不超过5层",
                "a condition must be an object nested at most 5 deep",
            )
        )
        return None
    for mode in ("any", "all"):
        if mode in node:
            items = node[mode]
            if len(node) != 1 or not isinstance(items, list) or not items:
                errors.append(
                    FieldError(
                        path,
                        f"{mode} 必须单独出现且为非空列表",
                        f"'{mode}' must stand alone with a non-empty list",
                    )
                )
                return None
            return (
                mode,
                [
                    _parse(it, f"{path}.{mode}[{i}]", errors, depth + 1)
                    for i, it in enumerate(items)
                ],
            )
    if set(node) != {"field", "op", "value"} or node["field"] not in FIELDS:
        errors.append(
            FieldError(
                path,
                f"条件需要 field（{'、'.join(FIELDS)}）、op、value",
                f"a condition needs field (one of {', '.join(FIELDS)}), op, value",
            )
        )
        return None
    kind = FIELDS[node["field"]][2]
    if node["op"] not in _kind_ops(kind):
        errors.append(
            FieldError(
                f"{path}.op",
                f"字段 {node['field']} 不支持运算 {node['op']!r}",
                f"field {node['field']} does not take op {node['op']!r}",
            )
        )
        return None
    raw = node["value"]
    try:
        value = (
            tuple(_norm(kind, v) for v in raw)
            if node["op"] == "in" and isinstance(raw, list)
            else _norm(kind, raw)
        )
    except ValueError as exc:
        errors.append(
            FieldError(f"{path}.value", f"取值无效（应为 {exc}）", f"bad value (expected {exc})")
        )
        return None
    return ("leaf", node["field"], node["op"], value, raw)


def _eval(node: Any, facts: Mapping[str, Any]) -> tuple[bool, list[tuple[str, str]]]:
    if node[0] != "leaf":
        hits: list[tuple[str, str]] = []
        for kid in node[1]:
            ok, sub = _eval(kid, facts)
            if node[0] == "any" and ok:
                return True, sub
            if node[0] == "all" and not ok:
                return False, []
            hits.extend(sub)
        return node[0] == "all", hits
    _, f, op, want, shown = node
    have = facts.get(f)
    if have is None:
        return False, []
    have = _norm(FIELDS[f][2], have)
    ok = {
        "eq": have == want,
        "ne": have != want,
        "in": op == "in" and have in want,
        "gt": op == "gt" and have > want,
        "gte": op == "gte" and have >= want,
        "lt": op == "lt" and have < want,
        "lte": op == "lte" and have <= want,
    }[op]
    return ok, [(f"{FIELDS[f][0]}{_OPS[op][0]}{shown}", f"{FIELDS[f][1]} {_OPS[op][1]} {shown}")]


@dataclass(frozen=True)
class Classification:
    class_key: str
    inspections_per_year: int
    rule: int | None  # index of the deciding rule; None = the scheme's default
    reasons: tuple[tuple[str, str], ...]
    explanation_zh: str
    explanation_en: str
    override_reason: str | None = None
    computed_class: str | None = None  # what the rules said, when overridden


@dataclass(frozen=True)
class Scheme:
    classes: dict[str, tuple[str, str, int]]  # key → zh, en, inspections per year
    rules: tuple[tuple[str, Any], ...]
    default: str
    raw: Any = field(default=None, compare=False, repr=False)  # as written, to show and edit

    @classmethod
    def from_dict(cls, data: Any) -> Scheme:
        errors: list[FieldError] = []
        raw = data.get("classes") if isinstance(data, Mapping) else None
        classes: dict[str, tuple[str, str, int]] = {}
        for i, c in enumerate(raw if isinstance(raw, list) else []):
            freq = c.get("inspections_per_year") if isinstance(c, Mapping) else None
            if (
                not isinstance(c, Mapping)
                or not isinstance(c.get("key"), str)
                or isinstance(freq, bool)
                or not isinstance(freq, int)
                or freq < 0
            ):
                errors.append(
                    FieldError(
                        f"classes[{i}]",
                        "需要 key、name_zh、name_en 和非负整数 inspections_per_year",
                        "needs key, names and inspections_per_year ≥ 0",
                    )
                )
                continue
            classes[c["key"]] = (
                str(c.get("name_zh", c["key"])),
                str(c.get("name_en", c["key"])),
                freq,
            )
        if not raw or not isinstance(raw, list):
            errors.append(FieldError("classes", "需要类别列表", "a list of classes is needed"))
        rules: list[tuple[str, Any]] = []
        raw_rules = data.get("rules", []) if isinstance(data, Mapping) else []
        for i, r in enumerate(raw_rules if isinstance(raw_rules, list) else []):
            if not isinstance(r, Mapping) or r.get("class") not in classes:
                errors.append(
                    FieldError(
                        f"rules[{i}].class",
                        "类别未定义",
                        "class is not one of the scheme's classes",
                    )
                )
                continue
            rules.append((r["class"], _parse(r.get("when"), f"rules[{i}].when", errors)))
        default = data.get("default") if isinstance(data, Mapping) else None
        if default not in classes:
            errors.append(FieldError("default", "默认类别未定义", "default is not a defined class"))
        if errors:
            raise EnforcementInputError(errors)
        return cls(classes, tuple(rules), str(default), data)

    def _facts(self, facts: Mapping[str, Any]) -> None:
        errors = []
        for f, v in facts.items():
            if f not in FIELDS:
                errors.append(FieldError(f, f"未知字段 {f}", f"unknown field {f}"))
                continue
            try:
                if v is not None:
                    _norm(FIELDS[f][2], v)
            except ValueError as exc:
                errors.append(
                    FieldError(
                        f,
                        f"{FIELDS[f][0]}取值无效（应为 {exc}）",
                        f"bad {FIELDS[f][1]} (expected {exc})",
                    )
                )
        if errors:
            raise EnforcementInputError(errors)

    def classify(self, facts: Mapping[str, Any]) -> Classification:
        """The first matching rule's class, with why; every bad fact named at once."""
        self._facts(facts)
        for i, (key, node) in enumerate(self.rules):
            ok, hits = _eval(node, facts)
            if ok:
                return self._result(key, i, tuple(hits))
        return self._result(self.default, None, ())

    def _result(
        self, key: str, rule: int | None, hits: tuple[tuple[str, str], ...]
    ) -> Classification:
        zh, en, freq = self.classes[key]
        why_zh = (
            f"规则{rule + 1}：" + "；".join(h[0] for h in hits)
            if rule is not None
            else "未命中任何规则，取默认类别"
        )
        why_en = (
            f"rule {rule + 1}: " + "; ".join(h[1] for h in hits)
            if rule is not None
            else "no rule matched; the default class"
        )
        return Classification(
            key,
            freq,
            rule,
            hits,
            f"{zh}（{why_zh}），每年检查 {freq} 次",
            f"{en} ({why_en}); {freq} inspections a year",
        )


def override(result: Classification, scheme: Scheme, to_class: str, reason: str) -> Classification:
    """An inspector's override: the new class and its frequency, the reason kept, never silent."""
    errors = []
    if to_class not in scheme.classes:
        errors.append(FieldError("to_class", "类别未定义", "not a class of the scheme"))
    if not isinstance(reason, str) or not reason.strip():
        errors.append(
            FieldError("reason", "调整监管类别必须说明理由", "an override needs a reason")
        )
    if errors:
        raise EnforcementInputError(errors)
    zh, en, freq = scheme.classes[to_class]
    return Classification(
        to_class,
        freq,
        result.rule,
        result.reasons,
        f"{zh}（执法人员调整，原为{result.class_key}：{reason.strip()}），每年检查 {freq} 次",
        f"{en} (overridden by an inspector from {result.class_key}: "
        f"{reason.strip()}); {freq} inspections a year",
        reason.strip(),
        result.class_key,
    )


DEFAULT_SCHEME = Scheme.from_dict(
    {
        "classes": [
            {
                "key": "A",
                "name_zh": "A类（重点监管）",
                "name_en": "class A (close)",
                "inspections_per_year": 4,
            },
            {"key": "B", "name_zh": "B类", "name_en": "class B", "inspections_per_year": 2},
            {"key": "C", "name_zh": "C类", "name_en": "class C", "inspections_per_year": 1},
            {
                "key": "D",
                "name_zh": "D类（双随机抽查）",
                "name_en": "class D (random draw only)",
                "inspections_per_year": 0,
            },
        ],
        "rules": [
            {
                "class": "A",
                "when": {
                    "any": [
                        {"field": "risk_level", "op": "eq", "value": "red"},
                        {"field": "mhi_top_grade", "op": "gte", "value": "二级"},
                        {"field": "open_major_hazards", "op": "gte", "value": 1},
                        {
                            "all": [
                                {"field": "key_process", "op": "eq", "value": True},
                                {"field": "key_chemical", "op": "eq", "value": True},
                                {"field": "mhi_count", "op": "gte", "value": 1},
                            ]
                        },
                    ]
                },
            },
            {
                "class": "B",
                "when": {
                    "any": [
                        {"field": "risk_level", "op": "eq", "value": "orange"},
                        {"field": "mhi_count", "op": "gte", "value": 1},
                        {"field": "key_process", "op": "eq", "value": True},
                        {"field": "overdue_hazards", "op": "gte", "value": 1},
                        {"field": "credit", "op": "gte", "value": "C"},
                    ]
                },
            },
            {
                "class": "C",
                "when": {
                    "any": [
                        {"field": "risk_level", "op": "eq", "value": "yellow"},
                        {"field": "standardisation", "op": "eq", "value": "none"},
                    ]
                },
            },
        ],
        "default": "D",
    }
)
