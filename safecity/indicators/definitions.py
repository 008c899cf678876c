"""Indicator definitions as data (TOML), validated; the shipped city sets under ``data/``.

Pure logic: no I/O beyond reading the packaged TOML files, no clock.

An indicator set file has a ``[set]`` table (``city``, ``name_zh``, ``name_en``, ``divisions``
— the GB/T 2260 codes the city has) and ``[[indicator]]`` tables with:

* ``key``, ``name_zh``, ``name_en``, ``unit`` (as the plan writes it), ``source`` (where the
  target comes from — honest: "PRODUCT.md table; city attribution assumed" where it is);
* ``formula`` over the inputs of :data:`INPUTS` (see :mod:`safecity.indicators.formula`);
* ``direction``: ``lower`` (lower is better) or ``higher``;
* ``period = {start = 2021, end = 2025}``; the target is for the end year;
* ``base = {year = 2020, value = 0.03}`` — optional; ``value`` optional too (plans often give
  none; the platform then computes it for the base year and passes it to
  :func:`safecity.indicators.progress.assess`);
* ``target``: ``value`` (absolute) and/or ``change_percent`` (signed, against the base year:
  ``-33`` is "down 33 %"); with both, the stricter one is the target; ``strict = true`` for
  "<" / ">" rather than "≤" / "≥".  A change target needs ``base.year``;
* ``binding``: ``binding`` (约束性) or ``expected`` (预期性) — optional;
* ``divisions``: codes it applies to, or ``["*"]`` for every division of the set.

Refused, naming each field: missing fields, unknown inputs, a direction contradicting base and
target (lower-is-better with a target above the base or a positive change), a period that ends
before it starts, a base year after the period's start, unknown division codes.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Any, Literal, NamedTuple

from safecity.indicators.errors import FieldError, IndicatorInputError
from safecity.indicators.formula import Formula, exact

__all__ = [
    "INPUTS",
    "SHIPPED_SETS",
    "Indicator",
    "IndicatorSet",
    "InputSpec",
    "Target",
    "load_set",
    "load_shipped",
    "parse_set",
]

Direction = Literal["lower", "higher"]


class InputSpec(NamedTuple):
    zh: str
    en: str
    unit: str
    kind: Literal["platform", "statistic"]  # counted from records / imported yearly statistic


def _p(zh: str, en: str, unit: str) -> InputSpec:
    return InputSpec(zh, en, unit, "platform")


def _s(zh: str, en: str, unit: str) -> InputSpec:
    return InputSpec(zh, en, unit, "statistic")


INPUTS: Mapping[str, InputSpec] = {
    # counted from the platform's own records, per year and division
    "production_safety_deaths": _p(
        "生产安全事故死亡人数", "production-safety accident deaths", "人"
    ),
    "industry_mining_trade_deaths": _p(
        "工矿商贸事故死亡人数", "deaths in industry, mining and trade", "人"
    ),
    "road_traffic_deaths": _p("道路交通事故死亡人数", "road traffic deaths", "人"),
    "fire_deaths": _p("火灾死亡人数", "fire deaths", "人"),
    "natural_disaster_deaths": _p("自然灾害死亡人数", "natural-disaster deaths", "人"),
    "natural_disaster_loss_10k_yuan": _p(
        "自然灾害直接经济损失", "natural-disaster direct economic loss", "万元"
    ),
    "forest_fire_damaged_ha": _p("森林火灾受害面积", "forest area damaged by fire", "公顷"),
    "forest_fires": _p("森林火灾起数", "forest fires", "起"),
    "forest_fires_out_24h": _p(
        "24小时内扑灭的森林火灾起数", "forest fires put out within 24 hours", "起"
    ),
    "shelter_area_m2": _p("应急避难场所有效面积", "effective shelter area", "m²"),
    "major_warning_reached_people": _p(
        "重大气象预警覆盖人数", "people reached by major weather warnings", "人"
    ),
    "major_warning_area_people": _p(
        "重大气象预警区域内人口", "people in the areas of major weather warnings", "人"
    ),
    "hidden_dangers_found": _p("排查发现隐患数", "hidden dangers found", "项"),
    "hidden_dangers_rectified": _p(
        "当年发现并已整改销号的隐患数", "hidden dangers found and closed", "项"
    ),
    "major_hidden_dangers_found": _p("重大事故隐患数", "major hidden dangers found", "项"),
    "major_hidden_dangers_closed_on_time": _p(
        "按期整改销号的重大事故隐患数", "major hidden dangers closed on time", "项"
    ),
    "alarms_raised": _p("监测报警次数", "monitoring alarms raised", "次"),
    "fire_rescue_staff": _p("消防救援人员数", "fire-rescue staff", "人"),
    "supply_warehouse_m2": _p("应急物资储备库面积", "emergency supply warehouse area", "m²"),
    # yearly statistics imported with their source
    "gdp_100m_yuan": _s("地区生产总值", "GDP", "亿元"),
    "resident_population": _s("常住人口", "resident population", "人"),
    "vehicles_10k": _s("机动车保有量", "motor vehicles", "万辆"),
    "industry_mining_trade_workers": _s(
        "工矿商贸从业人员", "workers in industry, mining and trade", "人"
    ),
    "forest_area_ha": _s("森林面积", "forest area", "公顷"),
}


@dataclass(frozen=True)
class Target:
    value: Fraction | None  # absolute target for the end year
    change_percent: Fraction | None  # signed, against the base year value
    strict: bool  # "<" / ">" rather than "≤" / "≥"

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": None if self.value is None else float(self.value),
            "change_percent": None if self.change_percent is None else float(self.change_percent),
            "strict": self.strict,
        }


@dataclass(frozen=True)
class Indicator:
    key: str
    name_zh: str
    name_en: str
    unit: str
    source: str
    formula: Formula
    direction: Direction
    period_start: int
    period_end: int
    base_year: int | None
    base_value: Fraction | None
    target: Target
    binding: Literal["binding", "expected"] | None
    divisions: tuple[str, ...]  # ("*",) = every division of the set

    def applies_to(self, division: str) -> bool:
        return self.divisions == ("*",) or division in self.divisions

    def target_value(self, base_value: Fraction | None = None) -> Fraction | None:
        """The end-year target: the stricter of the absolute value and the change from base.

        ``base_value`` overrides a missing ``base.value`` (computed by the platform for the base
        year).  None when only a change is given and no base value is known.
        """
        base = self.base_value if self.base_value is not None else base_value
        candidates = [] if self.target.value is None else [self.target.value]
        if self.target.change_percent is not None and base is not None:
            candidates.append(base * (1 + self.target.change_percent / 100))
        if not candidates:
            return None
        return min(candidates) if self.direction == "lower" else max(candidates)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "unit": self.unit,
            "source": self.source,
            "formula": self.formula.text,
            "inputs": sorted(self.formula.inputs),
            "direction": self.direction,
            "period": {"start": self.period_start, "end": self.period_end},
            "base": {
                "year": self.base_year,
                "value": None if self.base_value is None else float(self.base_value),
            },
            "target": self.target.as_dict(),
            "binding": self.binding,
            "divisions": list(self.divisions),
        }


@dataclass(frozen=True)
class IndicatorSet:
    city: str
    name_zh: str
    name_en: str
    divisions: tuple[str, ...]
    indicators: tuple[Indicator, ...]

    def __iter__(self) -> Iterator[Indicator]:
        return iter(self.indicators)

    def get(self, key: str) -> Indicator:
        return next(i for i in self.indicators if i.key == key)


# --------------------------------------------------------------------------- parsing

_REQUIRED = (
    "key",
    "name_zh",
    "name_en",
    "unit",
    "source",
    "formula",
    "direction",
    "period",
    "target",
    "divisions",
)


class _Reader:
    """Collects every error of one indicator table instead of stopping at the first."""

    def __init__(self, path: str, spec: Mapping[str, Any], errors: list[FieldError]) -> None:
        self.path, self.spec, self.errors = path, spec, errors

    def error(self, field: str, zh: str, en: str) -> None:
        self.errors.append(FieldError(f"{self.path}.{field}", zh, en))

    def text(self, field: str) -> str:
        v = self.spec.get(field)
        if not isinstance(v, str) or not v.strip():
            self.error(field, f"{field} 必须是非空文本", f"{field} must be a non-empty string")
            return ""
        return v.strip()

    def year(self, table: Mapping[str, Any], field: str) -> int | None:
        v = table.get(field.rsplit(".", 1)[-1])
        if isinstance(v, bool) or not isinstance(v, int) or not 1949 <= v <= 2100:
            self.error(
                field,
                f"{field} 必须是年份（1949–2100），收到 {v!r}",
                f"{field} must be a year (1949–2100), got {v!r}",
            )
            return None
        return v

    def number(self, table: Mapping[str, Any], field: str) -> Fraction | None:
        raw = table.get(field.rsplit(".", 1)[-1])
        if raw is None:
            return None
        v = exact(raw)
        if v is None:
            self.error(
                field, f"{field} 必须是数值，收到 {raw!r}", f"{field} must be a number, got {raw!r}"
            )
        return v

    def table(self, field: str) -> Mapping[str, Any]:
        v = self.spec.get(field, {})
        if not isinstance(v, Mapping):
            self.error(field, f"{field} 必须是表", f"{field} must be a table")
            return {}
        return v


def _indicator(
    path: str, spec: Any, set_divisions: Sequence[str], errors: list[FieldError]
) -> Indicator | None:
    if not isinstance(spec, Mapping):
        errors.append(FieldError(path, "指标必须是表", "an indicator must be a table"))
        return None
    before = len(errors)
    r = _Reader(path, spec, errors)
    for f in _REQUIRED:
        if f not in spec:
            r.error(f, f"缺少必填字段 {f}", f"required field {f} is missing")
    if len(errors) > before:
        return None
    key, name_zh, name_en = r.text("key"), r.text("name_zh"), r.text("name_en")
    unit, source = r.text("unit"), r.text("source")
    formula: Formula | None = None
    try:
        formula = Formula.parse(spec["formula"], INPUTS, f"{path}.formula")
    except IndicatorInputError as exc:
        errors.extend(exc.errors)
    direction = spec["direction"]
    if direction not in ("lower", "higher"):
        r.error(
            "direction",
            f"direction 必须是 lower（越低越好）或 higher（越高越好），收到 {direction!r}",
            f"direction must be 'lower' or 'higher', got {direction!r}",
        )
    period = r.table("period")
    start, end = r.year(period, "period.start"), r.year(period, "period.end")
    if start is not None and end is not None and end <= start:
        r.error(
            "period",
            f"规划期结束年 {end} 必须晚于开始年 {start}",
            f"period end {end} must be after its start {start}",
        )
    base = r.table("base")
    base_year = r.year(base, "base.year") if "year" in base else None
    base_value = r.number(base, "base.value")
    if base_value is not None and base_year is None:
        r.error("base.year", "给出基期值时必须给出基期年份", "a base value needs its base year")
    if base_year is not None and start is not None and base_year > start:
        r.error(
            "base.year",
            f"基期年 {base_year} 不能晚于规划期开始年 {start}",
            f"base year {base_year} cannot be after the period start {start}",
        )
    target = _target(r, base_year)
    binding = spec.get("binding")
    if binding not in (None, "binding", "expected"):
        r.error(
            "binding",
            f"binding 只能是 binding（约束性）或 expected（预期性），收到 {binding!r}",
            f"binding must be 'binding' or 'expected', got {binding!r}",
        )
    divisions = _divisions(r, spec["divisions"], set_divisions)
    if target is not None and direction in ("lower", "higher"):
        _check_direction(r, direction, base_value, target)
    if len(errors) > before or formula is None or target is None:
        return None
    assert start is not None and end is not None  # else an error was recorded above
    return Indicator(
        key,
        name_zh,
        name_en,
        unit,
        source,
        formula,
        direction,
        start,
        end,
        base_year,
        base_value,
        target,
        binding,
        divisions,
    )


def _target(r: _Reader, base_year: int | None) -> Target | None:
    t = r.table("target")
    value, change = r.number(t, "target.value"), r.number(t, "target.change_percent")
    strict = t.get("strict", False)
    if not isinstance(strict, bool):
        r.error("target.strict", "strict 必须是 true 或 false", "strict must be true or false")
    if value is None and change is None and "value" not in t and "change_percent" not in t:
        r.error(
            "target",
            "目标需要 value（绝对值）或 change_percent（较基期变化%）",
            "a target needs value (absolute) or change_percent (change against the base)",
        )
        return None
    if change is not None and base_year is None:
        r.error("base.year", "按基期变化的目标需要基期年份", "a change target needs base.year")
    if change is not None and change <= -100:
        r.error(
            "target.change_percent",
            "下降幅度不能达到或超过100%",
            "a decrease cannot reach or exceed 100 %",
        )
    return Target(value, change, strict is True)


def _check_direction(
    r: _Reader, direction: Direction, base: Fraction | None, target: Target
) -> None:
    def worse(a: Fraction, b: Fraction) -> bool:
        return a > b if direction == "lower" else a < b

    dz, de = (
        ("越低越好", "lower is better")
        if direction == "lower"
        else ("越高越好", "higher is better")
    )
    if target.change_percent is not None and (
        worse(target.change_percent, Fraction(0)) or target.change_percent == 0
    ):
        r.error(
            "target.change_percent",
            f"方向为{dz}，但目标变化 {float(target.change_percent):g}% 不是改善",
            f"direction is {de} but the target change {float(target.change_percent):g} % "
            "is no improvement",
        )
    if base is not None and target.value is not None and worse(target.value, base):
        r.error(
            "target.value",
            f"方向为{dz}，但目标值 {float(target.value):g} 比基期值 {float(base):g} 更差",
            f"direction is {de} but the target {float(target.value):g} is worse than the "
            f"base {float(base):g}",
        )


def _divisions(r: _Reader, raw: Any, known: Sequence[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(d, str) for d in raw):
        r.error(
            "divisions",
            'divisions 必须是区划代码列表或 ["*"]',
            'divisions must be a list of division codes or ["*"]',
        )
        return ()
    if raw == ["*"]:
        return ("*",)
    unknown = [d for d in raw if d not in known]
    if unknown:
        r.error(
            "divisions",
            f"未知的区划代码 {', '.join(unknown)}",
            f"unknown division codes {', '.join(unknown)}",
        )
    return tuple(raw)


def parse_set(data: Any) -> IndicatorSet:
    """A validated indicator set from parsed TOML; raises naming every bad field."""
    if not isinstance(data, Mapping) or not isinstance(data.get("set"), Mapping):
        raise IndicatorInputError.one("set", "缺少 [set] 表", "the [set] table is missing")
    head = data["set"]
    errors: list[FieldError] = []
    r = _Reader("set", head, errors)
    city, name_zh, name_en = r.text("city"), r.text("name_zh"), r.text("name_en")
    divisions = head.get("divisions")
    if (
        not isinstance(divisions, list)
        or not divisions
        or not all(isinstance(d, str) and len(d) == 6 and d.isdigit() for d in divisions)
    ):
        r.error("divisions", "divisions 必须是6位区划代码列表", "divisions must be 6-digit codes")
        divisions = []
    specs = data.get("indicator")
    if not isinstance(specs, list) or not specs:
        errors.append(
            FieldError(
                "indicator", "至少需要一个 [[indicator]]", "at least one [[indicator]] is needed"
            )
        )
        specs = []
    parsed = [_indicator(f"indicator[{i}]", s, divisions, errors) for i, s in enumerate(specs)]
    keys = [p.key for p in parsed if p is not None]
    for dup in sorted({k for k in keys if keys.count(k) > 1}):
        errors.append(FieldError("indicator", f"指标 key 重复：{dup}", f"duplicate key {dup}"))
    if errors:
        raise IndicatorInputError(errors)
    return IndicatorSet(
        city, name_zh, name_en, tuple(divisions), tuple(p for p in parsed if p is not None)
    )


def load_set(text: str) -> IndicatorSet:
    """Parse and validate TOML text of an indicator set."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IndicatorInputError.one("toml", f"TOML 格式错误：{exc}", f"bad TOML: {exc}") from None
    return parse_set(data)


SHIPPED_SETS = ("yantai", "qingdao", "liaocheng", "hunchun")


def load_shipped(city: str) -> IndicatorSet:
    """One of the shipped sets (:data:`SHIPPED_SETS`), validated."""
    if city not in SHIPPED_SETS:
        raise IndicatorInputError.one(
            "city", f"没有 {city!r} 的指标集", f"no shipped indicator set {city!r}"
        )
    text = resources.files("safecity.indicators").joinpath(f"data/{city}.toml").read_text("utf-8")
    return load_set(text)
