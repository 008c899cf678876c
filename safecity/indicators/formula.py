"""A safe formula evaluator for indicators: + - * / ( ) min max over named inputs and numbers.

Pure logic: no I/O, no clock.  Nothing is passed to ``eval``: the text is parsed with
:func:`ast.parse` and only a whitelist of nodes is walked (numbers, input names, the four
operators, unary minus, ``min``/``max`` calls).  Anything else — attributes, subscripts, ``**``,
comparisons, lambdas, strings, other calls — is refused with the reason, as is a name that is
not a known input.  Why not ``simpleeval``/``asteval``: neither is installed, both evaluate full
Python expression semantics (``**``, comparisons, strings) we would have to switch off again, and
neither tells *which* denominator was zero or returns the set of names a formula uses — the two
things an indicator must explain.  The walker below is ~60 lines and has no dependency.

Numbers: exact ``fractions.Fraction`` arithmetic (inputs as written in decimal, floats via their
shortest ``repr``), like :mod:`safecity.risk.points.lec`.  ``Decimal`` would round 1/3 and divisions
such as deaths / GDP at its context precision, and a float would put 0.005 a hair above or below
a "≤ 0.005" target; Fraction keeps boundaries exact, and the value is only rounded for display.

A missing input or a zero denominator never yields a number: :meth:`Formula.evaluate` returns a
:class:`Computed` with ``value=None`` and says "cannot compute: missing X / denominator zero".
"""

from __future__ import annotations

import ast
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import Any

from safecity.indicators.errors import FieldError, IndicatorInputError

__all__ = ["Computed", "Formula", "exact"]

_LIMIT = Fraction(10) ** 300
MAX_LENGTH = 500  # long enough for any plan formula; bounds the parser's recursion
_FUNCTIONS = {"min": min, "max": max}
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)


def exact(raw: Any) -> Fraction | None:
    """Exact value of a number as written in decimal; None for non-numbers, NaN, ±inf, bools."""
    if type(raw) is Fraction:  # immutable: the value itself (the common case when evaluating)
        return raw
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | Fraction):
        return Fraction(raw)
    if isinstance(raw, float):
        return Fraction(repr(raw)) if math.isfinite(raw) else None
    if isinstance(raw, Decimal):
        return Fraction(raw) if raw.is_finite() else None
    if isinstance(raw, str):
        try:
            d = Decimal(raw.strip().replace(",", "").replace("_", ""))
        except InvalidOperation:
            return None
        return Fraction(d) if d.is_finite() else None
    return None


class _ZeroDenominator(Exception):
    def __init__(self, text: str) -> None:
        self.text = text


@dataclass(frozen=True)
class Computed:
    """A formula's result: a value, or None with what was missing or which denominator was 0."""

    value: Fraction | None
    missing: tuple[str, ...] = ()
    zero_denominator: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None

    def explanation(self) -> tuple[str, str]:
        if self.missing:
            names = ", ".join(self.missing)
            return (f"无法计算：缺少输入 {names}", f"cannot compute: missing {names}")
        if self.zero_denominator is not None:
            d = self.zero_denominator
            return (f"无法计算：分母 {d} 为零", f"cannot compute: denominator {d} is zero")
        v = "" if self.value is None else f"{float(self.value):.6g}"
        return (f"计算值 {v}", f"computed value {v}")

    def as_dict(self) -> dict[str, Any]:
        zh, en = self.explanation()
        return {
            "value": None if self.value is None else float(self.value),
            "missing": list(self.missing),
            "zero_denominator": self.zero_denominator,
            "explanation_zh": zh,
            "explanation_en": en,
        }


@dataclass(frozen=True)
class Formula:
    text: str
    inputs: frozenset[str]
    _tree: ast.Expression

    @classmethod
    def parse(cls, text: Any, known: Collection[str], field: str = "formula") -> Formula:
        """Parse and check ``text``; refuses syntax outside the whitelist and unknown names."""
        if not isinstance(text, str) or not text.strip():
            raise IndicatorInputError.one(
                field, "公式必须是非空文本", "formula must be a non-empty string"
            )
        if len(text) > MAX_LENGTH:
            raise IndicatorInputError.one(
                field,
                f"公式过长（上限 {MAX_LENGTH} 字符）",
                f"formula longer than {MAX_LENGTH} characters",
            )
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise IndicatorInputError.one(
                field, f"公式语法错误：{exc.msg}", f"formula syntax error: {exc.msg}"
            ) from None
        errors: list[FieldError] = []
        names: set[str] = set()
        callees = {id(n.func) for n in ast.walk(tree.body) if isinstance(n, ast.Call)}
        for node in ast.walk(tree.body):
            _check_node(node, field, known, names, errors, callees)
        if errors:
            raise IndicatorInputError(errors)
        return cls(text.strip(), frozenset(names), tree)

    def evaluate(self, values: Mapping[str, Any]) -> Computed:
        """The value for ``values`` (input → number or None); non-numbers are refused by name."""
        missing = tuple(sorted(n for n in self.inputs if values.get(n) is None))
        if missing:
            return Computed(None, missing=missing)
        exacts: dict[str, Fraction] = {}
        errors: list[FieldError] = []
        for name in sorted(self.inputs):
            v = exact(values[name])
            if v is None:
                errors.append(
                    FieldError(
                        name,
                        f"输入 {name} 必须是有限数值，收到 {values[name]!r}",
                        f"input {name} must be a finite number, got {values[name]!r}",
                    )
                )
            else:
                exacts[name] = v
        if errors:
            raise IndicatorInputError(errors)
        try:
            value = _eval(self._tree.body, exacts)
        except _ZeroDenominator as z:
            return Computed(None, zero_denominator=z.text)
        if abs(value) > _LIMIT:  # no indicator is this large; it could not be shown as a float
            raise IndicatorInputError.one(
                "formula",
                f"公式结果超出范围（{self.text}）",
                f"formula result out of range ({self.text})",
            )
        return Computed(value)


def _check_node(
    node: ast.AST,
    field: str,
    known: Collection[str],
    names: set[str],
    errors: list[FieldError],
    callees: set[int],
) -> None:
    if isinstance(node, ast.Name):
        if id(node) in callees:
            return  # a callee is checked with its Call (only min/max pass)
        if node.id not in known:
            errors.append(
                FieldError(
                    field,
                    f"公式引用了未知输入 {node.id!r}",
                    f"formula references unknown input {node.id!r}",
                )
            )
        names.add(node.id)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            errors.append(
                FieldError(
                    field,
                    f"公式中只允许数字常量，收到 {node.value!r}",
                    f"only numeric constants are allowed, got {node.value!r}",
                )
            )
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _OPS):
            errors.append(
                FieldError(field, "只允许 + - * / 运算", "only + - * / operators are allowed")
            )
    elif isinstance(node, ast.Call):
        ok = (
            isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and len(node.args) >= 2
            and not node.keywords
        )
        if not ok:
            errors.append(
                FieldError(
                    field,
                    "只允许 min(a, b, …) 与 max(a, b, …) 函数",
                    "only min(a, b, …) and max(a, b, …) calls are allowed",
                )
            )
    elif not isinstance(node, ast.UnaryOp | ast.operator | ast.unaryop | ast.Load):
        errors.append(
            FieldError(
                field,
                f"公式中不允许 {type(node).__name__}",
                f"{type(node).__name__} is not allowed in a formula",
            )
        )
    elif isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.USub | ast.UAdd):
        errors.append(FieldError(field, "只允许一元正负号", "only unary + and - are allowed"))


@lru_cache(maxsize=256)
def _constant(value: int | float) -> Fraction:
    """A formula's constant as written (0.1 is 1/10, not the float's binary value)."""
    return Fraction(repr(value))


def _eval(node: ast.expr, values: Mapping[str, Fraction]) -> Fraction:
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, values)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _FUNCTIONS[node.func.id](_eval(a, values) for a in node.args)
    assert isinstance(node, ast.BinOp)  # the only node left after Formula.parse's checks
    left, right = _eval(node.left, values), _eval(node.right, values)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    if right == 0:
        raise _ZeroDenominator(ast.unparse(node.right))
    return left / right
