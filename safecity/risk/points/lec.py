"""LEC method — 作业条件危险性分析法 (Graham–Kinney, 格雷厄姆-金尼法).

Pure domain logic: no I/O, no database, no clock.

    D = L × E × C

L — likelihood of the accident (事故发生的可能性), E — exposure frequency
(暴露于危险环境的频繁程度), C — consequence (发生事故产生的后果).  Only the
values of the standard tables are accepted (Graham & Kinney 1976, in the form
taught in Chinese safety-assessment practice):

* L: 10, 6, 3, 1, 0.5, 0.2, 0.1
* E: 10, 6, 3, 2, 1, 0.5
* C: 100, 40, 15, 7, 3, 1

D is computed with exact rational arithmetic (``fractions.Fraction`` of the
decimal inputs), so 0.2 × 3 × 1 is exactly 0.6 and band boundaries are never
missed by a rounding error; the float returned is the correctly rounded value.

Bands
-----
The classic LEC table has five bands::

    D > 320      极其危险，不能继续作业    (very high)
    160 – 320    高度危险，要立即整改      (high)
    70 – 160     显著危险，需要整改        (substantial)
    20 – 70      一般危险，需要注意        (possible)
    D < 20       稍有危险，可以接受        (slight)

SafeCity maps them onto the four colours (:data:`DEFAULT_LEC_BANDS`), the
common Chinese practice for 风险分级管控 — 极其危险 → 重大风险, 高度危险 →
较大风险, 显著危险 → 一般风险, and 一般危险 + 稍有危险 merged → 低风险::

    D > 320          重大风险  red
    160 < D ≤ 320    较大风险  orange
    70 < D ≤ 160     一般风险  yellow
    D ≤ 70           低风险    blue

Boundary convention.  The classic table writes ">320", "160~320", "70~160",
which does not say where a boundary value goes.  Published Chinese
implementations differ: many read it as above (a boundary value stays in the
lower band, ">320" taken literally — ``closed="right"``, the default here),
others use "D ≥ 320 重大, 160 ≤ D < 320 较大, 70 ≤ D < 160 一般, D < 70 低"
(``closed="left"``).  With the listed values D can never equal 160 or 320
(no product of the tables gives them), so the choice only matters at D = 70
(e.g. L=1, E=10, C=7) — and at D = 20 for the five-band label.  Both the
thresholds and the side are configurable per city (:meth:`LecBands.from_dict`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Literal, NamedTuple

from safecity.risk.points.matrix import RiskLevel

__all__ = [
    "CLASSIC_BANDS",
    "C_TABLE",
    "DEFAULT_LEC_BANDS",
    "E_TABLE",
    "L_TABLE",
    "LecBands",
    "LecInputError",
    "LecResult",
    "assess_lec",
    "classic_band",
]


class ScoreRow(NamedTuple):
    value: Fraction
    zh: str
    en: str


def _rows(*rows: tuple[str, str, str]) -> tuple[ScoreRow, ...]:
    return tuple(ScoreRow(Fraction(v), zh, en) for v, zh, en in rows)


L_TABLE = _rows(
    ("10", "完全可以预料", "might well be expected"),
    ("6", "相当可能", "quite possible"),
    ("3", "可能，但不经常", "unusual but possible"),
    ("1", "可能性小，完全意外", "only remotely possible"),
    ("0.5", "很不可能，可以设想", "conceivable but very unlikely"),
    ("0.2", "极不可能", "practically impossible"),
    ("0.1", "实际不可能", "virtually impossible"),
)
E_TABLE = _rows(
    ("10", "连续暴露", "continuous"),
    ("6", "每天工作时间内暴露", "daily, during working hours"),
    ("3", "每周一次或偶然暴露", "weekly or occasionally"),
    ("2", "每月一次暴露", "monthly"),
    ("1", "每年几次暴露", "a few times a year"),
    ("0.5", "非常罕见地暴露", "very rarely"),
)
C_TABLE = _rows(
    ("100", "大灾难，许多人死亡", "catastrophe, many fatalities"),
    ("40", "灾难，数人死亡", "disaster, several fatalities"),
    ("15", "非常严重，一人死亡", "very serious, one fatality"),
    ("7", "严重，重伤", "serious, serious injury"),
    ("3", "重大，致残", "important, disability"),
    ("1", "引人注目，需要救护", "noticeable, first aid"),
)

_TABLES = {"L": L_TABLE, "E": E_TABLE, "C": C_TABLE}
_FACTOR_ZH = {"L": "事故发生的可能性 L", "E": "暴露频繁程度 E", "C": "事故后果 C"}

Closed = Literal["right", "left"]


class LecFieldError(NamedTuple):
    field: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message_zh": self.message_zh, "message_en": self.message_en}


class LecInputError(ValueError):
    """A factor outside its table, a non-number, or a bad band configuration."""

    def __init__(self, errors: Sequence[LecFieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message_en}" for e in self.errors))

    def as_list(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]


def _exact(raw: Any) -> Fraction | None:
    """Exact value of a number as written in decimal (floats via their shortest repr)."""
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
            d = Decimal(raw.strip())
        except InvalidOperation:
            return None
        return Fraction(d) if d.is_finite() else None
    return None


def _fmt(v: Fraction) -> str:
    return format(float(v), "g")


@dataclass(frozen=True)
class LecBands:
    """Three ascending thresholds t1 < t2 < t3 separating blue | yellow | orange | red.

    ``closed="right"`` (default): intervals are (t, t'] — D ≤ t1 blue,
    t1 < D ≤ t2 yellow, t2 < D ≤ t3 orange, D > t3 red.
    ``closed="left"``: intervals are [t, t') — D < t1 blue, …, D ≥ t3 red.
    """

    thresholds: tuple[Fraction, Fraction, Fraction] = (Fraction(70), Fraction(160), Fraction(320))
    closed: Closed = "right"
    name: str = "default"
    source: str = (
        "LEC经典五档（>320极其危险、160~320高度危险、70~160显著危险、20~70一般危险、<20稍有危险）"
        "映射为四色：D>320重大、160<D≤320较大、70<D≤160一般、D≤70低（后两档合并）"
    )

    def __post_init__(self) -> None:
        errors: list[LecFieldError] = []
        raw = self.thresholds
        parsed = tuple(_exact(t) for t in raw) if isinstance(raw, Sequence) else ()
        th = tuple(t for t in parsed if t is not None)
        if len(th) == 3 and len(parsed) == 3:
            object.__setattr__(self, "thresholds", th)
        if len(parsed) != 3 or len(th) != 3:
            errors.append(
                LecFieldError(
                    "thresholds", "thresholds 必须是3个数值", "thresholds must be three numbers"
                )
            )
        elif not (0 < th[0] < th[1] < th[2]):
            errors.append(
                LecFieldError(
                    "thresholds",
                    "阈值必须为正且严格递增（一般<较大<重大）",
                    "thresholds must be positive and strictly increasing",
                )
            )
        if self.closed not in ("right", "left"):
            errors.append(
                LecFieldError(
                    "closed", "closed 只能是 'right' 或 'left'", "closed must be 'right' or 'left'"
                )
            )
        if errors:
            raise LecInputError(errors)

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any]) -> LecBands:
        """City configuration ``{"thresholds": [70, 160, 320], "closed": "right", "name": .., "source": ..}``."""
        if not isinstance(cfg, Mapping):
            raise LecInputError(
                [LecFieldError("bands", "配置必须是对象", "config must be an object")]
            )
        raw = cfg.get("thresholds", (70, 160, 320))
        if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != 3:
            raise LecInputError(
                [
                    LecFieldError(
                        "thresholds", "thresholds 必须是3个数值", "thresholds must be three numbers"
                    )
                ]
            )
        exact = [_exact(v) for v in raw]
        if any(v is None for v in exact):
            raise LecInputError(
                [
                    LecFieldError(
                        "thresholds", "thresholds 必须是3个数值", "thresholds must be three numbers"
                    )
                ]
            )
        return cls(
            thresholds=(exact[0], exact[1], exact[2]),  # type: ignore[arg-type]
            closed=cfg.get("closed", "right"),
            name=str(cfg.get("name", "custom")),
            source=str(cfg.get("source", "城市自定义LEC分级")),
        )

    def classify(self, d: Any) -> RiskLevel:
        value = d if isinstance(d, Fraction) else _exact(d)
        if value is None:
            raise LecInputError([LecFieldError("D", "D 必须是数值", "D must be a number")])
        t1, t2, t3 = self.thresholds

        def above(t: Fraction) -> bool:
            return value > t if self.closed == "right" else value >= t

        if above(t3):
            return RiskLevel.RED
        if above(t2):
            return RiskLevel.ORANGE
        if above(t1):
            return RiskLevel.YELLOW
        return RiskLevel.BLUE

    def describe(self) -> list[dict[str, Any]]:
        """The four bands as text, e.g. for a legend."""
        t1, t2, t3 = (_fmt(t) for t in self.thresholds)
        if self.closed == "right":
            rules = [f"D>{t3}", f"{t2}<D≤{t3}", f"{t1}<D≤{t2}", f"D≤{t1}"]
        else:
            rules = [f"D≥{t3}", f"{t2}≤D<{t3}", f"{t1}≤D<{t2}", f"D<{t1}"]
        levels = (RiskLevel.RED, RiskLevel.ORANGE, RiskLevel.YELLOW, RiskLevel.BLUE)
        return [{**lv.as_dict(), "rule": rule} for lv, rule in zip(levels, rules, strict=True)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "thresholds": [float(t) for t in self.thresholds],
            "closed": self.closed,
            "source": self.source,
            "bands": self.describe(),
        }


DEFAULT_LEC_BANDS = LecBands()


class ClassicBand(NamedTuple):
    key: str
    zh: str
    action_zh: str
    en: str


CLASSIC_BANDS = (
    ClassicBand("very_high", "极其危险", "不能继续作业", "very high risk, stop the work"),
    ClassicBand("high", "高度危险", "要立即整改", "high risk, immediate correction"),
    ClassicBand("substantial", "显著危险", "需要整改", "substantial risk, correction needed"),
    ClassicBand("possible", "一般危险", "需要注意", "possible risk, attention needed"),
    ClassicBand("slight", "稍有危险", "可以接受", "slight risk, acceptable"),
)
_CLASSIC_THRESHOLDS = (Fraction(320), Fraction(160), Fraction(70), Fraction(20))


def classic_band(d: Any, closed: Closed = "right") -> ClassicBand:
    """The classic five-band label of D (>320, 160–320, 70–160, 20–70, <20), same boundary rule."""
    value = d if isinstance(d, Fraction) else _exact(d)
    if value is None:
        raise LecInputError([LecFieldError("D", "D 必须是数值", "D must be a number")])
    for band, t in zip(CLASSIC_BANDS, _CLASSIC_THRESHOLDS, strict=False):
        if (value > t) if closed == "right" else (value >= t):
            return band
    return CLASSIC_BANDS[-1]


@dataclass(frozen=True)
class LecResult:
    l: Fraction  # noqa: E741 L of LEC, the standard's own letter
    e: Fraction
    c: Fraction
    d: Fraction
    level: RiskLevel
    bands: LecBands

    def as_dict(self) -> dict[str, Any]:
        def row(letter: str, v: Fraction) -> dict[str, Any]:
            r = next(x for x in _TABLES[letter] if x.value == v)
            return {"value": float(v), "zh": r.zh, "en": r.en}

        band = classic_band(self.d, self.bands.closed)
        return {
            "method": "LEC",
            "L": float(self.l),
            "E": float(self.e),
            "C": float(self.c),
            "D": float(self.d),
            "factors": {"L": row("L", self.l), "E": row("E", self.e), "C": row("C", self.c)},
            "level": self.level.as_dict(),
            "classic_band": band._asdict(),
            "bands": self.bands.as_dict(),
        }


def assess_lec(l: Any, e: Any, c: Any, bands: LecBands = DEFAULT_LEC_BANDS) -> LecResult:  # noqa: E741 L of LEC
    """D = L × E × C with only the listed values accepted, graded by ``bands``.

    Accepts ints, floats, Decimals, Fractions or numeric strings ("0.5");
    raises :class:`LecInputError` listing every bad factor.
    """
    errors: list[LecFieldError] = []
    exact: dict[str, Fraction] = {}
    for letter, raw in (("L", l), ("E", e), ("C", c)):
        allowed = _TABLES[letter]
        listed = "、".join(_fmt(r.value) for r in allowed)
        v = _exact(raw)
        if v is None:
            errors.append(
                LecFieldError(
                    letter,
                    f"{_FACTOR_ZH[letter]} 必须是数值，收到 {raw!r}",
                    f"{letter} must be a number, got {raw!r}",
                )
            )
        elif v not in {r.value for r in allowed}:
            errors.append(
                LecFieldError(
                    letter,
                    f"{_FACTOR_ZH[letter]} 只能取表列值（{listed}），收到 {raw!r}",
                    f"{letter} must be one of the listed values ({listed.replace('、', ', ')}), "
                    f"got {raw!r}",
                )
            )
        else:
            exact[letter] = v
    if errors:
        raise LecInputError(errors)
    d = exact["L"] * exact["E"] * exact["C"]
    return LecResult(exact["L"], exact["E"], exact["C"], d, bands.classify(d), bands)
