"""Judging a benchmark's figures against its targets: one verdict, every miss and error named.

Pure functions over plain figures (no database, no clock) so tests/bench can feed them crafted
numbers and see a wrong judge fail. BENCH_TARGET_SCALE multiplies every "at most" target and
divides every "at least" one: 0.001 makes every bench miss, so its `meets_target` can be seen
going false without slowing the machine down; 1 (the default) judges the product's own targets.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable
from typing import Any

# A check: (figure name, measured value or None when missing, operator, product target)
Check = tuple[str, Any, str, float]


def target_scale() -> float:
    scale = float(os.environ.get("BENCH_TARGET_SCALE", "1"))
    if not scale > 0 or not math.isfinite(scale):
        raise ValueError("BENCH_TARGET_SCALE must be a positive number")
    return scale


def scaled(op: str, target: float, scale: float) -> float:
    """The target in force: tighter for scale < 1 whichever way the figure points."""
    if op in ("<", "<="):
        return target * scale
    if op in (">", ">="):
        return target / scale
    return target  # "==" (counts such as lost readings) is never scaled


def passes(value: Any, op: str, limit: float) -> bool:
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False  # a figure that was not measured never passes
    if not math.isfinite(value):
        return False
    return {
        "<": value < limit,
        "<=": value <= limit,
        ">": value > limit,
        ">=": value >= limit,
        "==": value == limit,
    }[op]


def verdict(
    checks: Iterable[Check], errors: Iterable[str] = (), scale: float | None = None
) -> dict[str, Any]:
    """{"meets_target", "judged", "misses", "errors"}: true only with no error and no miss."""
    scale = target_scale() if scale is None else scale
    judged, misses = [], []
    for name, value, op, target in checks:
        limit = scaled(op, target, scale)
        line = f"{name} {op} {round(limit, 3):g}"
        judged.append(line)
        if not passes(value, op, limit):
            misses.append(f"{line}: measured {value}")
    errors = [str(e) for e in errors if e]
    return {
        "meets_target": not misses and not errors and bool(judged),
        "judged": judged,
        "misses": misses,
        "errors": errors,
        "target_scale": scale,
    }


def backend_errors(out: dict[str, Any], backends: Iterable[str]) -> list[str]:
    """An erroring or missing backend is an error, never a pass."""
    found = []
    for name in backends:
        part = out.get(name)
        if not isinstance(part, dict):
            found.append(f"{name}: not measured")
        elif "error" in part:
            found.append(f"{name}: {part['error']}")
    return found
