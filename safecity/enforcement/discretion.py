"""Discretion tables (行政处罚裁量基准): violation × circumstance → fine range and measures.

Pure domain logic: no I/O, no clock.  A city writes its table as data; :func:`propose` gives the
range for a violation and its circumstance, :func:`check_decision` refuses a decided fine outside
the range unless a reason is given (the reason is kept with the result).  Amounts are whole yuan
(``Decimal``), bounds inclusive.

:data:`EXAMPLE_TABLE` is an EXAMPLE to show the shape — it is NOT law and not any city's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from safecity.enforcement.errors import EnforcementInputError, FieldError

__all__ = ["CIRCUMSTANCES", "EXAMPLE_TABLE", "Decision", "Range", "Table", "check_decision"]

CIRCUMSTANCES: dict[str, tuple[str, str]] = {
    "minor": ("轻微", "minor"),
    "ordinary": ("一般", "ordinary"),
    "serious": ("较重", "serious"),
    "grave": ("严重", "grave"),
}


@dataclass(frozen=True)
class Range:
    violation: str
    circumstance: str
    fine_min: Decimal
    fine_max: Decimal
    measures: tuple[str, ...]
    basis: str
    explanation_zh: str
    explanation_en: str


@dataclass(frozen=True)
class Decision:
    fine: Decimal
    within: bool
    reason: str | None
    explanation_zh: str
    explanation_en: str


def _yuan(v: Any) -> Decimal | None:
    if isinstance(v, bool) or not isinstance(v, int | Decimal | str):
        return None
    try:
        d = Decimal(v)
    except ArithmeticError:
        return None
    return d if d.is_finite() and d >= 0 and d == d.to_integral_value() else None


@dataclass(frozen=True)
class Table:
    name: str
    circumstances: dict[str, tuple[str, str]]
    violations: dict[str, tuple[str, str, str, dict[str, tuple[Decimal, Decimal, tuple[str, ...]]]]]

    @classmethod
    def from_dict(cls, data: Any) -> Table:
        """Check the whole table, naming every bad cell (min > max, unknown circumstance …)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("violations"), Mapping):
            raise EnforcementInputError.one(
                "violations", "需要违法行为表", "a 'violations' map is needed"
            )
        circ = dict(CIRCUMSTANCES)
        for k, v in (data.get("circumstances") or {}).items():
            circ[str(k)] = (str(v[0]), str(v[1]))
        errors: list[FieldError] = []
        out: dict[
            str, tuple[str, str, str, dict[str, tuple[Decimal, Decimal, tuple[str, ...]]]]
        ] = {}
        for code, v in data["violations"].items():
            rows: dict[str, tuple[Decimal, Decimal, tuple[str, ...]]] = {}
            for c, row in (v.get("ranges") or {}).items() if isinstance(v, Mapping) else ():
                path = f"violations.{code}.ranges.{c}"
                lo, hi = _yuan(row.get("fine_min")), _yuan(row.get("fine_max"))
                if c not in circ:
                    errors.append(
                        FieldError(path, f"未定义的情节 {c}", f"unknown circumstance {c}")
                    )
                elif lo is None or hi is None or lo > hi:
                    errors.append(
                        FieldError(
                            path,
                            "罚款幅度须为非负整数元且下限不大于上限",
                            "fine bounds must be whole yuan ≥ 0, min ≤ max",
                        )
                    )
                else:
                    rows[c] = (lo, hi, tuple(row.get("measures", ())))
            if not rows:
                errors.append(
                    FieldError(
                        f"violations.{code}",
                        "没有有效的裁量档次",
                        "no valid range for this violation",
                    )
                )
                continue
            out[str(code)] = (
                str(v.get("name_zh", code)),
                str(v.get("name_en", code)),
                str(v.get("basis", "")),
                rows,
            )
        if errors:
            raise EnforcementInputError(errors)
        return cls(str(data.get("name", "")), circ, out)

    def propose(self, violation: str, circumstance: str) -> Range:
        errors = []
        if violation not in self.violations:
            errors.append(
                FieldError(
                    "violation",
                    f"裁量基准中没有违法行为 {violation}",
                    f"violation {violation} is not in the table",
                )
            )
        elif circumstance not in self.violations[violation][3]:
            errors.append(
                FieldError(
                    "circumstance",
                    f"该违法行为没有“{circumstance}”情节档次",
                    f"no range for circumstance {circumstance!r}",
                )
            )
        if errors:
            raise EnforcementInputError(errors)
        zh, en, basis, rows = self.violations[violation]
        lo, hi, measures = rows[circumstance]
        czh, cen = self.circumstances[circumstance]
        extra_zh = f"，并{'、'.join(measures)}" if measures else ""
        extra_en = f", and {', '.join(measures)}" if measures else ""
        return Range(
            violation,
            circumstance,
            lo,
            hi,
            measures,
            basis,
            f"{zh}（{czh}情节）：罚款 {lo}–{hi} 元{extra_zh}；依据 {basis}（{self.name}）",
            f"{en} ({cen}): fine {lo}–{hi} yuan{extra_en}; basis {basis} ({self.name})",
        )


def check_decision(rng: Range, fine: Any, reason: str | None = None) -> Decision:
    """A decided fine inside the range passes; outside it needs a reason, else it is refused."""
    amount = _yuan(fine)
    if amount is None:
        raise EnforcementInputError.one("fine", "罚款须为非负整数元", "fine must be whole yuan ≥ 0")
    within = rng.fine_min <= amount <= rng.fine_max
    why = (reason or "").strip()
    if not within and not why:
        raise EnforcementInputError.one(
            "reason",
            f"罚款 {amount} 元超出裁量幅度 {rng.fine_min}–{rng.fine_max} 元，必须说明理由",
            f"fine {amount} is outside {rng.fine_min}–{rng.fine_max} yuan; a reason is required",
        )
    if within:
        return Decision(
            amount,
            True,
            why or None,
            f"罚款 {amount} 元在裁量幅度内",
            f"fine {amount} yuan is within the range",
        )
    return Decision(
        amount,
        False,
        why,
        f"罚款 {amount} 元超出裁量幅度，理由：{why}",
        f"fine {amount} yuan is outside the range; reason: {why}",
    )


EXAMPLE_TABLE = Table.from_dict(
    {
        "name": "示例裁量基准（仅为示例，非法律规定）/ example table, not law",
        "violations": {
            "training": {
                "name_zh": "未按规定对从业人员进行安全生产教育和培训",
                "name_en": "workers not given the required safety training",
                "basis": "《安全生产法》第九十七条 (example)",
                "ranges": {
                    "minor": {"fine_min": 0, "fine_max": 20000},
                    "ordinary": {"fine_min": 20000, "fine_max": 50000},
                    "serious": {"fine_min": 50000, "fine_max": 80000},
                    "grave": {
                        "fine_min": 80000,
                        "fine_max": 100000,
                        "measures": ["责令停产停业整顿"],
                    },
                },
            },
            "hidden_danger": {
                "name_zh": "未采取措施消除事故隐患",
                "name_en": "hidden danger not eliminated",
                "basis": "《安全生产法》第一百零二条 (example)",
                "ranges": {
                    "ordinary": {"fine_min": 0, "fine_max": 50000},
                    "grave": {
                        "fine_min": 50000,
                        "fine_max": 100000,
                        "measures": ["责令停产停业整顿"],
                    },
                },
            },
        },
    }
)
