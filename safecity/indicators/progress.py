"""Progress of an indicator against its target: trajectory, status, plausibility of inputs.

Pure logic: no I/O and no clock — the caller passes the year.

Trajectory
----------
The linear path from the base (base year, base value) to the target (end year, target value),
the target being the stricter of the absolute value and the percentage change from the base
(:meth:`~safecity.indicators.definitions.Indicator.target_value`).  E.g. base 0.03 in 2020, down
33 % by 2025: target 0.03 × 0.67 = 0.0201, expected in 2023 0.03 + (0.0201 − 0.03) × 3/5 =
0.02406.  Years before the base hold the base value, years after the end the target.

Status (:class:`Thresholds`, defaults documented there)
-------------------------------------------------------
* ``on_track``  — the value is as good as the trajectory (or the target when there is no base),
  or better; in the end year (and after) the target itself must be met, strictly for "<"/">";
* ``at_risk``   — worse than the reference, but by no more than ``at_risk_percent`` of it;
* ``off_track`` — worse by more than that;
* ``unknown``   — the value cannot be computed (missing input, zero denominator) or the target
  is a change with no base value known: the explanation says which.

With no baseline the value is compared with the end target from the first year (plans with
only "≤ 0.005" mean it in every year).  A reference of 0 (e.g. "no deaths") has no relative
band: any worse value is off track.

Plausibility of statistical inputs (:func:`check_series`)
--------------------------------------------------------
Negative values, zero where the input is a denominator (population, GDP, vehicles, workers,
forest area) and year-on-year changes beyond a limit are flagged with the reason — never
silently used.  Defaults (:data:`DEFAULT_MAX_CHANGE_PERCENT`): population ±10 % a year (a city
does not lose a tenth of its residents in a year without a census revision, which must be
looked at), other statistics ±50 %.  Only consecutive years are compared: after a gap in the
series the next value starts a new comparison (a two-year change is not a yearly one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from safecity.indicators.definitions import INPUTS, Indicator
from safecity.indicators.errors import FieldError, IndicatorInputError
from safecity.indicators.formula import Computed, exact

__all__ = [
    "DEFAULT_MAX_CHANGE_PERCENT",
    "Flag",
    "Progress",
    "Thresholds",
    "assess",
    "check_series",
    "trajectory",
]

Status = Literal["on_track", "at_risk", "off_track", "unknown"]
_STATUS_ZH = {
    "on_track": "达到进度",
    "at_risk": "存在风险",
    "off_track": "明显滞后",
    "unknown": "无法判断",
}
_STATUS_EN = {
    "on_track": "on track",
    "at_risk": "at risk",
    "off_track": "off track",
    "unknown": "unknown",
}


@dataclass(frozen=True)
class Thresholds:
    """``at_risk_percent``: how far (relative, %) worse than the reference is still "at risk".

    Default 10 %: a death rate 10 % above its path is one bad quarter's worth in a city of
    millions — worth a warning, not yet an alarm.  Cities set their own.
    """

    at_risk_percent: Fraction = Fraction(10)

    def __post_init__(self) -> None:
        if self.at_risk_percent < 0:
            raise IndicatorInputError.one(
                "at_risk_percent", "风险阈值不能为负", "at_risk_percent cannot be negative"
            )


def _float(v: Fraction | None) -> float | None:
    return None if v is None else float(v)


def _fmt(v: Fraction | None) -> str:
    return "—" if v is None else f"{float(v):.6g}"


def trajectory(ind: Indicator, year: int, base_value: Fraction | None = None) -> Fraction | None:
    """The value the path expects in ``year``; None without a base (or without a target)."""
    base = ind.base_value if ind.base_value is not None else base_value
    target = ind.target_value(base)
    if base is None or ind.base_year is None or target is None:
        return None
    if year <= ind.base_year:
        return base
    if year >= ind.period_end:
        return target
    return base + (target - base) * Fraction(year - ind.base_year, ind.period_end - ind.base_year)


@dataclass(frozen=True)
class Progress:
    key: str
    year: int
    value: Fraction | None
    reference: Fraction | None  # trajectory value, or the target when there is no base
    target: Fraction | None
    status: Status
    explanation_zh: str
    explanation_en: str

    def as_dict(self) -> dict[str, Any]:
        f = _float
        return {
            "key": self.key,
            "year": self.year,
            "value": f(self.value),
            "reference": f(self.reference),
            "target": f(self.target),
            "status": self.status,
            "status_zh": _STATUS_ZH[self.status],
            "status_en": _STATUS_EN[self.status],
            "explanation_zh": self.explanation_zh,
            "explanation_en": self.explanation_en,
        }


def assess(
    ind: Indicator,
    computed: Computed | Any,
    year: int,
    base_value: Any = None,
    thresholds: Thresholds | None = None,
) -> Progress:
    """Status of ``computed`` (a :class:`Computed` or a number) for ``year``."""
    th = thresholds or Thresholds()
    if not isinstance(computed, Computed):
        v = exact(computed)
        if v is None:
            raise IndicatorInputError.one(
                "value",
                f"指标值必须是数值，收到 {computed!r}",
                f"the value must be a number, got {computed!r}",
            )
        computed = Computed(v)
    base = None if base_value is None else exact(base_value)
    if base_value is not None and base is None:
        raise IndicatorInputError.one(
            "base_value",
            f"基期值必须是数值，收到 {base_value!r}",
            f"base_value must be a number, got {base_value!r}",
        )
    if computed.value is None:
        zh, en = computed.explanation()
        return Progress(ind.key, year, None, None, None, "unknown", zh, en)
    target = ind.target_value(base)
    if target is None:
        return Progress(
            ind.key,
            year,
            computed.value,
            None,
            None,
            "unknown",
            f"目标为较基期变化，但基期（{ind.base_year}年）值未知",
            f"the target is a change against {ind.base_year}, whose value is unknown",
        )
    path = trajectory(ind, year, base)
    final = path is None or year >= ind.period_end
    reference = target if path is None else path
    return _judge(ind, year, computed.value, reference, target, final, th)


def _judge(
    ind: Indicator,
    year: int,
    value: Fraction,
    ref: Fraction,
    target: Fraction,
    final: bool,
    th: Thresholds,
) -> Progress:
    lower = ind.direction == "lower"
    strict = final and ind.target.strict
    meets = (
        (value < ref if lower else value > ref)
        if strict
        else (value <= ref if lower else value >= ref)
    )
    gap = (value - ref) if lower else (ref - value)  # > 0 means worse than the reference
    if meets:
        status: Status = "on_track"
    elif ref != 0 and gap * 100 <= abs(ref) * th.at_risk_percent:
        status = "at_risk"
    else:
        status = "off_track"
    what_zh, what_en = ("目标值", "the target") if final else ("进度线", "the trajectory")
    op = ("<" if lower else ">") if strict else ("≤" if lower else "≥")
    pct = "" if ref == 0 else f"{float(abs(gap) / abs(ref) * 100):.1f}%"
    zh = f"{year}年 {_fmt(value)}{ind.unit}，{what_zh} {op} {_fmt(ref)}：{_STATUS_ZH[status]}" + (
        "" if meets or not pct else f"（差 {pct}，风险阈值 {float(th.at_risk_percent):g}%）"
    )
    en = (
        f"{year}: {_fmt(value)} {ind.unit} against {what_en} {op} {_fmt(ref)}: "
        f"{_STATUS_EN[status]}"
        + (
            ""
            if meets or not pct
            else f" ({pct} worse, at-risk band {float(th.at_risk_percent):g} %)"
        )
    )
    return Progress(ind.key, year, value, ref, target, status, zh, en)


# --------------------------------------------------------------------------- plausibility

DEFAULT_MAX_CHANGE_PERCENT: Mapping[str, Fraction] = {
    "resident_population": Fraction(10),
    "*": Fraction(50),
}
_DENOMINATORS = frozenset(
    {
        "resident_population",
        "gdp_100m_yuan",
        "vehicles_10k",
        "industry_mining_trade_workers",
        "forest_area_ha",
    }
)


@dataclass(frozen=True)
class Flag:
    input: str
    year: int
    reason_zh: str
    reason_en: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "year": self.year,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
        }


@dataclass(frozen=True)
class _Limits:
    max_change: Mapping[str, Fraction] = field(default_factory=lambda: DEFAULT_MAX_CHANGE_PERCENT)

    def for_input(self, name: str) -> Fraction:
        return self.max_change.get(name, self.max_change.get("*", Fraction(50)))


def _limits(raw: Mapping[str, Any]) -> dict[str, Fraction]:
    """Change limits as given; a non-number or a non-positive limit is refused by name."""
    out: dict[str, Fraction] = {}
    errors: list[FieldError] = []
    for k, v in raw.items():
        e = exact(v)
        if e is None or e <= 0:
            errors.append(
                FieldError(
                    f"max_change_percent.{k}",
                    f"变化上限必须是正数，收到 {v!r}",
                    f"the change limit must be a positive number, got {v!r}",
                )
            )
        else:
            out[k] = e
    if errors:
        raise IndicatorInputError(errors)
    return out


def check_series(
    name: str, series: Mapping[int, Any], max_change_percent: Mapping[str, Any] | None = None
) -> list[Flag]:
    """Flags for one statistical input of one division, year → value (None = not reported)."""
    if name not in INPUTS:
        raise IndicatorInputError.one("input", f"未知输入 {name!r}", f"unknown input {name!r}")
    limits = _Limits(
        _limits(max_change_percent) if max_change_percent else DEFAULT_MAX_CHANGE_PERCENT
    )
    label = INPUTS[name].zh
    flags: list[Flag] = []
    prev: tuple[int, Fraction] | None = None
    for year in sorted(series):
        raw = series[year]
        if raw is None:
            continue
        v = exact(raw)
        if v is None:
            flags.append(
                Flag(name, year, f"{label}不是数值：{raw!r}", f"{name} is not a number: {raw!r}")
            )
            continue
        if v < 0:
            flags.append(
                Flag(name, year, f"{label}为负数 {_fmt(v)}", f"{name} is negative ({_fmt(v)})")
            )
            continue
        if v == 0 and name in _DENOMINATORS:
            flags.append(
                Flag(name, year, f"{label}为零，不能作分母", f"{name} is zero, cannot divide")
            )
            continue
        if prev is not None and prev[1] > 0 and year == prev[0] + 1:
            change = (v - prev[1]) / prev[1] * 100
            limit = limits.for_input(name)
            if abs(change) > limit:
                flags.append(
                    Flag(
                        name,
                        year,
                        f"{label}较{prev[0]}年变化 {float(change):+.1f}%，超过 ±{float(limit):g}%",
                        f"{name} changed {float(change):+.1f} % from {prev[0]}, beyond "
                        f"±{float(limit):g} %",
                    )
                )
        prev = (year, v)
    return flags
