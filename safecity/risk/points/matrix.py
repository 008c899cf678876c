"""Four-colour risk levels and the 5 × 5 risk matrix (风险矩阵法, LS).

Pure domain logic: no I/O, no database, no clock.

``RiskLevel``
    The four levels every SafeCity risk grade ends in (重大/较大/一般/低 →
    red/orange/yellow/blue).  ``order`` is 1 for the most severe (red) and 4 for
    the least (blue); use :func:`most_severe` to aggregate.  It lives here
    because the matrix is the simplest producer of a level; ``lec`` and the
    area aggregation import it from this module.

``RiskMatrix``
    R = L × S with likelihood L and severity S integers 1–5 and a
    configurable 5 × 5 table of levels (one per city if needed).

Default level matrix (:data:`DEFAULT_MATRIX`)
---------------------------------------------
R = L × S, then

=========  ==========  ======
R          level       colour
=========  ==========  ======
20–25      重大风险     red
15–16      较大风险     orange
9–12       一般风险     yellow
1–8        低风险       blue
=========  ==========  ======

Source: the "风险矩阵分析法（LS）安全风险等级判定准则" widely used in Chinese
dual-prevention (双重预防机制) practice, which grades R = L × S as
20–25 A/1级 重大风险, 15–16 B/2级 较大风险, 9–12 C/3级 一般风险 and
1–8 D/4级 低风险 (in its five-level form 4–8 D/4级 低风险 and 1–3 E/5级
轻微风险, merged here into 低风险 because SafeCity uses four colours).  This
is a practice convention reproduced in provincial guidance and enterprise
manuals, not a national standard; other published variants exist (e.g.
20–25 / 10–16 / 4–9 / 1–3, or 20–25 / 9–16 / 4–8 / 1–3), so a city can
configure its own thresholds or a full level table.

With integer L, S ∈ 1..5 the product only takes the values
1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 20, 25, so the thresholds
"R ≥ 20 red, R ≥ 15 orange, R ≥ 9 yellow" reproduce the bands above exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_MATRIX",
    "MatrixInputError",
    "MatrixResult",
    "RiskLevel",
    "RiskMatrix",
    "assess_matrix",
    "most_severe",
]


class RiskLevel(Enum):
    """The four SafeCity risk levels; ``order`` 1 is the most severe."""

    RED = ("red", "重大风险", "major", 1, "红", "重大")
    ORANGE = ("orange", "较大风险", "significant", 2, "橙", "较大")
    YELLOW = ("yellow", "一般风险", "general", 3, "黄", "一般")
    BLUE = ("blue", "低风险", "low", 4, "蓝", "低")

    def __init__(
        self, key: str, zh: str, en: str, order: int, colour_zh: str, short_zh: str
    ) -> None:
        self.key = key
        self.zh = zh
        self.en = en
        self.order = order
        self.colour_zh = colour_zh
        self.short_zh = short_zh

    @classmethod
    def from_key(cls, key: str) -> RiskLevel:
        """Accept 'red'/'orange'/'yellow'/'blue' (any case) or the Chinese names."""
        if isinstance(key, RiskLevel):
            return key
        if not isinstance(key, str):
            raise TypeError(f"not a risk level: {key!r}")
        k = key.strip()
        for level in cls:
            if k.lower() == level.key or k in (level.zh, level.short_zh, level.colour_zh):
                return level
            if k.lower() == level.en:
                return level
        raise ValueError(f"not a risk level: {key!r}")

    def more_severe_than(self, other: RiskLevel) -> bool:
        return self.order < other.order

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "zh": self.zh, "en": self.en, "order": self.order}


def most_severe(levels: Iterable[RiskLevel]) -> RiskLevel | None:
    """The most severe of ``levels`` (None for an empty iterable)."""
    best: RiskLevel | None = None
    for level in levels:
        if best is None or level.order < best.order:
            best = level
    return best


class MatrixFieldError(NamedTuple):
    field: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message_zh": self.message_zh, "message_en": self.message_en}


class MatrixInputError(ValueError):
    """Bad likelihood/severity or a bad matrix configuration."""

    def __init__(self, errors: Sequence[MatrixFieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message_en}" for e in self.errors))

    def as_list(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]


SCALE = (1, 2, 3, 4, 5)


def _default_levels() -> tuple[tuple[RiskLevel, ...], ...]:
    return tuple(tuple(_level_for_product(lk * sv, 20, 15, 9) for sv in SCALE) for lk in SCALE)


def _level_for_product(r: int, red_min: int, orange_min: int, yellow_min: int) -> RiskLevel:
    if r >= red_min:
        return RiskLevel.RED
    if r >= orange_min:
        return RiskLevel.ORANGE
    if r >= yellow_min:
        return RiskLevel.YELLOW
    return RiskLevel.BLUE


@dataclass(frozen=True)
class RiskMatrix:
    """A 5 × 5 level table: ``levels[L-1][S-1]`` is the level of likelihood L, severity S.

    The table must be monotone: raising L or S never lowers the level.
    """

    levels: tuple[tuple[RiskLevel, ...], ...] = field(default_factory=_default_levels)
    name: str = "default"
    source: str = (
        "风险矩阵分析法（LS）安全风险等级判定准则（双重预防机制通行做法）："
        "R=L×S，20–25重大、15–16较大、9–12一般、1–8低"
    )

    def __post_init__(self) -> None:
        errors = _check_levels(self.levels)
        if errors:
            raise MatrixInputError(errors)

    @classmethod
    def from_thresholds(
        cls,
        red_min: int = 20,
        orange_min: int = 15,
        yellow_min: int = 9,
        *,
        name: str = "custom",
        source: str = "",
    ) -> RiskMatrix:
        """Build the table from R = L × S thresholds (R ≥ red_min is red, …)."""
        bad = [
            MatrixFieldError(k, f"{k} 必须是1–25之间的整数", f"{k} must be an integer 1–25")
            for k, v in (
                ("red_min", red_min),
                ("orange_min", orange_min),
                ("yellow_min", yellow_min),
            )
            if not _is_int(v) or not 1 <= v <= 25
        ]
        if not bad and not yellow_min <= orange_min <= red_min:
            bad.append(
                MatrixFieldError(
                    "thresholds",
                    "阈值须满足 yellow_min ≤ orange_min ≤ red_min",
                    "thresholds must satisfy yellow_min ≤ orange_min ≤ red_min",
                )
            )
        if bad:
            raise MatrixInputError(bad)
        levels = tuple(
            tuple(_level_for_product(lk * sv, red_min, orange_min, yellow_min) for sv in SCALE)
            for lk in SCALE
        )
        return cls(
            levels=levels,
            name=name,
            source=source
            or f"R=L×S；R≥{red_min}重大、R≥{orange_min}较大、R≥{yellow_min}一般、其余低",
        )

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any]) -> RiskMatrix:
        """City configuration: ``{"thresholds": {"red_min":..,"orange_min":..,"yellow_min":..}}``
        or ``{"levels": [[5 level keys] × 5 rows, row = likelihood 1..5]}``;
        optional ``name`` and ``source``."""
        if not isinstance(cfg, Mapping):
            raise MatrixInputError(
                [MatrixFieldError("matrix", "配置必须是对象", "config must be an object")]
            )
        name = str(cfg.get("name", "custom"))
        source = str(cfg.get("source", ""))
        if "levels" in cfg:
            rows = cfg["levels"]
            if (
                not isinstance(rows, Sequence)
                or isinstance(rows, str)
                or len(rows) != 5
                or any(
                    not isinstance(r, Sequence) or isinstance(r, str) or len(r) != 5 for r in rows
                )
            ):
                raise MatrixInputError(
                    [
                        MatrixFieldError(
                            "levels", "levels 必须是5×5的等级表", "levels must be a 5 × 5 table"
                        )
                    ]
                )
            try:
                levels = tuple(tuple(RiskLevel.from_key(k) for k in row) for row in rows)
            except (ValueError, TypeError) as exc:
                raise MatrixInputError(
                    [
                        MatrixFieldError(
                            "levels", f"无效的风险等级：{exc}", f"invalid risk level: {exc}"
                        )
                    ]
                ) from None
            return cls(levels=levels, name=name, source=source or "城市自定义等级表")
        th = cfg.get("thresholds", {})
        if not isinstance(th, Mapping):
            raise MatrixInputError(
                [
                    MatrixFieldError(
                        "thresholds", "thresholds 必须是对象", "thresholds must be an object"
                    )
                ]
            )
        return cls.from_thresholds(
            th.get("red_min", 20),
            th.get("orange_min", 15),
            th.get("yellow_min", 9),
            name=name,
            source=source,
        )

    def level(self, likelihood: int, severity: int) -> RiskLevel:
        return self.levels[likelihood - 1][severity - 1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "levels": [[lv.key for lv in row] for row in self.levels],
        }


def _check_levels(levels: Any) -> list[MatrixFieldError]:
    shape_ok = (
        isinstance(levels, tuple)
        and len(levels) == 5
        and all(isinstance(r, tuple) and len(r) == 5 for r in levels)
        and all(isinstance(c, RiskLevel) for r in levels for c in r)
    )
    if not shape_ok:
        return [
            MatrixFieldError(
                "levels", "levels 必须是5×5的 RiskLevel 表", "levels must be 5 × 5 RiskLevel"
            )
        ]
    for i in range(5):
        for j in range(5):
            here = levels[i][j]
            for ni, nj in ((i + 1, j), (i, j + 1)):
                if ni < 5 and nj < 5 and levels[ni][nj].order > here.order:
                    return [
                        MatrixFieldError(
                            "levels",
                            f"等级表不单调：L={ni + 1}、S={nj + 1} 的等级低于 L={i + 1}、S={j + 1}",
                            f"level table is not monotone: L={ni + 1}, S={nj + 1} is less severe "
                            f"than L={i + 1}, S={j + 1}",
                        )
                    ]
    return []


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


DEFAULT_MATRIX = RiskMatrix()


@dataclass(frozen=True)
class MatrixResult:
    likelihood: int
    severity: int
    r: int
    level: RiskLevel
    matrix: RiskMatrix

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": "LS",
            "L": self.likelihood,
            "S": self.severity,
            "R": self.r,
            "level": self.level.as_dict(),
            "matrix": self.matrix.name,
            "source": self.matrix.source,
        }


def assess_matrix(
    likelihood: Any, severity: Any, matrix: RiskMatrix = DEFAULT_MATRIX
) -> MatrixResult:
    """Risk matrix assessment: R = L × S and its level from ``matrix``.

    ``likelihood`` and ``severity`` must be integers 1–5 (bools and non-integral
    numbers are rejected; an integral float such as 3.0 is accepted).
    """
    errors: list[MatrixFieldError] = []
    values: dict[str, int] = {}
    for fname, zh, raw in (("L", "可能性", likelihood), ("S", "严重性", severity)):
        v = _as_scale(raw)
        if v is None:
            errors.append(
                MatrixFieldError(
                    fname,
                    f"{zh} {fname} 必须是1–5的整数，收到 {raw!r}",
                    f"{fname} must be an integer 1–5, got {raw!r}",
                )
            )
        else:
            values[fname] = v
    if errors:
        raise MatrixInputError(errors)
    lk, sv = values["L"], values["S"]
    return MatrixResult(lk, sv, lk * sv, matrix.level(lk, sv), matrix)


def _as_scale(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        v = raw
    elif isinstance(raw, float) and raw.is_integer():
        v = int(raw)
    else:
        return None
    return v if 1 <= v <= 5 else None
