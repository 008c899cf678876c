"""双随机一公开 — a reproducible, verifiable random draw of targets and inspectors.

Pure domain logic: no I/O, no clock (the caller passes the draw date ``on``).

Commit, draw, reveal
--------------------
1. The caller makes a seed (:func:`new_seed`, 32 random bytes) and writes
   :func:`commitment` (SHA-256 of the seed, hex) into the audit log *before* the draw.
2. :func:`draw` runs.  Its result carries the commitment and the fingerprint of the canonical
   pools, so the pools cannot be edited afterwards without verification failing.
3. The seed is published with the result; anyone re-runs :func:`verify` and gets pass/fail with
   the first difference.

Why HMAC-SHA256 and not Python's ``random``: ``random.Random`` (Mersenne Twister) and its
``shuffle``/``sample`` algorithms are CPython implementation details that have changed between
versions (seeding from str/bytes, ``randrange`` in 3.2, ``sample`` in 3.11) and are awkward to
reproduce in another language.  HMAC-SHA256 (RFC 2104, FIPS 180-4) is specified byte for byte,
so a citizen can re-run the draw in a spreadsheet macro, JavaScript or Go.

The algorithm (normative — :func:`verify` re-runs exactly this)
---------------------------------------------------------------
* Key units (重点单位) are all selected: they are inspected in full and are NOT counted toward
  the random share (otherwise a pool full of key units would need no random pick at all, which
  defeats the point of 双随机).
* Random targets: among the non-key targets, ``ceil(share × n_non_key)`` are picked, exact
  rational arithmetic (5 % of 20 is exactly 1, not 1.0000000000000002).  Each non-key target's
  rank is ``HMAC-SHA256(seed, "target\\x1f" + id)``; lowest digests (bytewise) win, ties
  impossible in practice and broken by id.
* Inspectors: for each selected target, in target-id order, the k-th candidate (k = 0, 1, …) is
  ``eligible_sorted[int(HMAC-SHA256(seed, "inspector\\x1f" + target_id + "\\x1f" + k)[:8]) mod n]``
  where ``eligible_sorted`` are the inspectors whose certificate is valid on ``on``, sorted by
  id; a candidate already chosen or conflicted is skipped, until ``per_target`` are chosen.  If
  :data:`MAX_TRIES` candidates do not suffice (a target most inspectors are conflicted with), the
  remaining eligible inspectors are ranked by ``HMAC-SHA256(seed, "fallback\\x1f" + target_id +
  "\\x1f" + inspector_id)`` and taken from the lowest.  (The 64-bit modulo bias is < n/2⁶⁴.)
* Conflicts: declared relations and former employers (enterprise ids on the inspector), and the
  same inspector on the same target in the previous draw.
* A certificate expiring on ``on`` is still valid that day; expired ones are excluded and counted.
* The pool fingerprint is SHA-256 of the canonical JSON of (targets sorted by id, inspectors
  sorted by id with sorted id lists, previous assignments sorted, parameters); pool order never
  matters.  Canonical JSON: UTF-8, keys sorted, no spaces, non-ASCII unescaped; targets as
  ``[id, division, industry, class, key_unit]``, inspectors as ``[id, office, expiry ISO date,
  [related ids], [former employer ids]]``, share as ``"numerator/denominator"``.  Ids must be unique,
  non-empty and free of the separator \\x1f.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from safecity.enforcement.errors import EnforcementInputError, FieldError

__all__ = [
    "DEFAULT_MIN_SHARE",
    "DrawResult",
    "Inspector",
    "Target",
    "Verification",
    "commitment",
    "draw",
    "fingerprint",
    "new_seed",
    "verify",
]

DEFAULT_MIN_SHARE = Fraction(1, 20)  # 5 % where no local rule sets another minimum
MIN_PER_TARGET = 2  # 双随机: at least two law-enforcement officers per inspection
MIN_SEED_BYTES = 16
MAX_TRIES = 64
SEP = "\x1f"


@dataclass(frozen=True)
class Target:
    id: str
    division: str
    industry: str
    supervision_class: str
    key_unit: bool = False


@dataclass(frozen=True)
class Inspector:
    id: str
    office: str
    certificate_expires: date
    related_ids: frozenset[str] = frozenset()  # declared relations (enterprise ids)
    former_employer_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DrawResult:
    commitment: str
    fingerprint: str
    on: date
    share: str
    per_target: int
    key_targets: tuple[str, ...]
    random_targets: tuple[str, ...]  # in rank order
    assignments: tuple[tuple[str, tuple[str, ...]], ...]  # (target, inspectors) by target id
    expired_excluded: int
    explanation_zh: str = field(default="")
    explanation_en: str = field(default="")

    def as_dict(self) -> dict[str, Any]:
        return {
            "commitment": self.commitment,
            "fingerprint": self.fingerprint,
            "on": self.on.isoformat(),
            "share": self.share,
            "per_target": self.per_target,
            "key_targets": list(self.key_targets),
            "random_targets": list(self.random_targets),
            "assignments": {t: list(i) for t, i in self.assignments},
            "expired_excluded": self.expired_excluded,
            "explanation_zh": self.explanation_zh,
            "explanation_en": self.explanation_en,
        }


@dataclass(frozen=True)
class Verification:
    ok: bool
    first_difference: str | None
    explanation_zh: str
    explanation_en: str


def new_seed() -> bytes:
    return secrets.token_bytes(32)


def commitment(seed: bytes) -> str:
    """Published before the draw; revealing ``seed`` later proves it was not chosen after."""
    return hashlib.sha256(seed).hexdigest()


class _Mac:
    """HMAC-SHA256 under one key with the padded key states hashed once (RFC 2104 §2).

    Byte-identical to ``hmac.digest(seed, msg, "sha256")`` (a test checks it) but ~3× faster:
    a draw over 100,000 targets computes 100,000 of them.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __call__(self, *parts: str) -> bytes:
        return self.prefixed(parts[0])(SEP.join(parts[1:]))

    def prefixed(self, label: str) -> Callable[[str], bytes]:
        """HMAC of ``label + SEP + rest`` with the label hashed once (the hot loop's form)."""
        start = self._inner.copy()
        start.update((label + SEP).encode())
        inner_copy, outer_copy = start.copy, self._outer.copy  # bound once: the loop is hot

        def mac(rest: str) -> bytes:
            inner = inner_copy()
            inner.update(rest.encode())
            outer = outer_copy()
            outer.update(inner.digest())
            return outer.digest()

        return mac


# --------------------------------------------------------------------------- validation


def _parse_share(raw: Any, minimum: Fraction, errors: list[FieldError]) -> Fraction | None:
    try:
        share = Fraction(Decimal(str(raw))) if not isinstance(raw, Fraction) else raw
    except (InvalidOperation, ValueError, OverflowError):  # "x", NaN, ∞
        errors.append(FieldError("share", "抽查比例必须是数", "share must be a number"))
        return None
    if isinstance(raw, bool) or not minimum <= share <= 1:
        errors.append(
            FieldError(
                "share",
                f"抽查比例必须在 {float(minimum):.0%} 与 100% 之间",
                f"share must be between {float(minimum):.0%} and 100%",
            )
        )
        return None
    return share


def _check_ids(kind: str, ids: Sequence[str], errors: list[FieldError]) -> None:
    if len(set(ids)) == len(ids) and all(isinstance(v, str) and v and SEP not in v for v in ids):
        return  # the common case, checked fast; the loop below names the bad entries
    seen: set[str] = set()
    for i, v in enumerate(ids):
        if not isinstance(v, str) or not v or SEP in v:
            errors.append(
                FieldError(
                    f"{kind}[{i}].id",
                    "编号必须是非空字符串",
                    "id must be a non-empty string without \\x1f",
                )
            )
        elif v in seen:
            errors.append(FieldError(f"{kind}[{i}].id", f"编号 {v} 重复", f"duplicate id {v}"))
        seen.add(v)


def _validate(
    targets: Sequence[Target],
    inspectors: Sequence[Inspector],
    seed: bytes,
    per_target: int,
    share: Any,
    min_share: Fraction,
    on: date,
) -> Fraction:
    errors: list[FieldError] = []
    if not targets:
        errors.append(FieldError("targets", "检查对象库为空", "the target pool is empty"))
    if not inspectors:
        errors.append(FieldError("inspectors", "执法人员库为空", "the inspector pool is empty"))
    _check_ids("targets", [t.id for t in targets], errors)
    _check_ids("inspectors", [i.id for i in inspectors], errors)
    if not isinstance(seed, bytes) or len(seed) < MIN_SEED_BYTES:
        errors.append(
            FieldError(
                "seed",
                f"随机种子至少 {MIN_SEED_BYTES} 字节",
                f"seed must be at least {MIN_SEED_BYTES} bytes",
            )
        )
    if (
        isinstance(per_target, bool)
        or not isinstance(per_target, int)
        or per_target < MIN_PER_TARGET
    ):
        errors.append(
            FieldError(
                "per_target",
                f"每个对象至少 {MIN_PER_TARGET} 名执法人员",
                f"at least {MIN_PER_TARGET} inspectors per target",
            )
        )
    if not isinstance(on, date):
        errors.append(FieldError("on", "抽取日期必须是日期", "on must be a date"))
    parsed = _parse_share(share, min_share, errors)
    if errors or parsed is None:
        raise EnforcementInputError(errors)
    return parsed


# --------------------------------------------------------------------------- canonical form


def fingerprint(
    targets: Iterable[Target],
    inspectors: Iterable[Inspector],
    previous: Mapping[str, Iterable[str]],
    on: date,
    share: Fraction,
    per_target: int,
) -> str:
    """SHA-256 of the canonical pools and parameters: order-free, any edit changes it."""
    doc = {
        "targets": sorted(
            [t.id, t.division, t.industry, t.supervision_class, t.key_unit] for t in targets
        ),
        "inspectors": sorted(
            [
                i.id,
                i.office,
                i.certificate_expires.isoformat(),
                sorted(i.related_ids),
                sorted(i.former_employer_ids),
            ]
            for i in inspectors
        ),
        "previous": sorted([t, sorted(ids)] for t, ids in previous.items()),
        "on": on.isoformat(),
        "share": f"{share.numerator}/{share.denominator}",
        "per_target": per_target,
    }
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- the draw


def _conflicts(
    inspectors: Sequence[Inspector], previous: Mapping[str, Iterable[str]]
) -> dict[str, set[str]]:
    """target id → inspector ids excluded for it (sparse: built once, not per pair)."""
    out: dict[str, set[str]] = {}
    for ins in inspectors:
        for t in ins.related_ids | ins.former_employer_ids:
            out.setdefault(t, set()).add(ins.id)
    for t, ids in previous.items():
        out.setdefault(t, set()).update(ids)
    return out


def _assign(
    mac: _Mac, target: str, pool: Sequence[str], excluded: set[str], per_target: int
) -> tuple[str, ...]:
    chosen: list[str] = []
    n = len(pool)
    for k in range(MAX_TRIES):
        pick = pool[int.from_bytes(mac("inspector", target, str(k))[:8], "big") % n]
        if pick not in excluded and pick not in chosen:
            chosen.append(pick)
            if len(chosen) == per_target:
                return tuple(chosen)
    rest = sorted(
        (i for i in pool if i not in excluded and i not in chosen),
        key=lambda i: (mac("fallback", target, i), i),
    )
    return tuple(chosen + rest[: per_target - len(chosen)])


def draw(
    targets: Sequence[Target],
    inspectors: Sequence[Inspector],
    seed: bytes,
    on: date,
    share: Any = DEFAULT_MIN_SHARE,
    per_target: int = MIN_PER_TARGET,
    previous: Mapping[str, Iterable[str]] | None = None,
    min_share: Fraction = DEFAULT_MIN_SHARE,
) -> DrawResult:
    """Pick key units + ``ceil(share × non-key)`` random targets, ≥ 2 inspectors each."""
    prev = {t: frozenset(ids) for t, ids in (previous or {}).items()}
    frac = _validate(targets, inspectors, seed, per_target, share, min_share, on)
    valid = sorted(i.id for i in inspectors if i.certificate_expires >= on)
    expired = len(inspectors) - len(valid)
    valid_set = set(valid)
    mac = _Mac(seed)
    key = sorted(t.id for t in targets if t.key_unit)
    others = [t.id for t in targets if not t.key_unit]
    want = math.ceil(frac * len(others))
    rank = mac.prefixed("target")
    ranked = [t for _, t in heapq.nsmallest(want, [(rank(t), t) for t in others])]
    selected = sorted(key + ranked)
    conflicts = _conflicts(inspectors, prev)
    free = {t: len(valid_set) - len(conflicts.get(t, set()) & valid_set) for t in selected}
    short = [(t, n) for t, n in free.items() if n < per_target]
    if short:
        raise EnforcementInputError(
            [
                FieldError(
                    f"targets[{t}]",
                    f"对象 {t} 可用执法人员仅 {n} 名（少于 {per_target} 名；"
                    f"已排除证件过期 {expired} 名及回避人员）",
                    f"target {t} has only {n} eligible inspectors (< {per_target}; {expired} expired "
                    "certificates and conflicted inspectors excluded)",
                )
                for t, n in short
            ]
        )
    assignments = tuple(
        (t, _assign(mac, t, valid, conflicts.get(t, set()), per_target)) for t in selected
    )
    share_s = f"{frac.numerator}/{frac.denominator}"
    return DrawResult(
        commitment(seed),
        fingerprint(targets, inspectors, prev, on, frac, per_target),
        on,
        share_s,
        per_target,
        tuple(key),
        tuple(ranked),
        assignments,
        expired,
        f"重点单位 {len(key)} 家全部检查（不计入随机比例）；其余 {len(others)} 家按 {share_s} "
        f"向上取整随机抽取 {want} 家；每家 {per_target} 名执法人员；证件过期排除 {expired} 名",
        f"{len(key)} key units inspected in full (not counted in the share); {want} of "
        f"{len(others)} others drawn at {share_s} rounded up; {per_target} inspectors each; "
        f"{expired} expired certificates excluded",
    )


def verify(
    result: DrawResult,
    seed: bytes,
    targets: Sequence[Target],
    inspectors: Sequence[Inspector],
    previous: Mapping[str, Iterable[str]] | None = None,
) -> Verification:
    """Re-run the draw from the revealed seed and the pools; pass or the first difference."""

    def fail(what: str, zh: str, en: str) -> Verification:
        return Verification(False, what, f"验证未通过：{zh}", f"verification failed: {en}")

    if commitment(seed) != result.commitment:
        return fail(
            "commitment",
            "种子与抽取前公布的承诺值不符",
            "the seed does not match the commitment published before the draw",
        )
    try:
        again = draw(
            targets,
            inspectors,
            seed,
            result.on,
            Fraction(result.share),
            result.per_target,
            previous,
            min_share=Fraction(0),
        )
    except EnforcementInputError as exc:
        return fail("input", f"无法重新抽取：{exc.message()}", f"cannot re-run: {exc}")
    if again.fingerprint != result.fingerprint:
        return fail(
            "fingerprint",
            "对象库/人员库/上次抽取结果与抽取时不同（指纹不符）",
            "the pools or previous assignments differ from those drawn (fingerprint)",
        )
    for (t1, i1), (t2, i2) in zip(result.assignments, again.assignments, strict=False):
        if (t1, i1) != (t2, i2):
            return fail(
                f"assignments[{t1}]",
                f"对象 {t1} 的结果不同（重算为 {t2}: {i2}）",
                f"target {t1} differs (re-run gives {t2}: {', '.join(i2)})",
            )
    if (
        len(result.assignments) != len(again.assignments)
        or result.random_targets != again.random_targets
    ):
        return fail("targets", "抽中对象数量或顺序不同", "the drawn targets differ")
    return Verification(
        True,
        None,
        "验证通过：重新抽取结果完全一致",
        "verified: the re-run reproduces the draw exactly",
    )
