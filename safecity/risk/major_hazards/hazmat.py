"""GB 18218-2018 《危险化学品重大危险源辨识》 — identification and grading.

Pure domain logic: no I/O beyond reading the packaged data file
``safecity/risk/major_hazards/data/gb18218.json``, no database, no clock.  Nothing here
imports ``safecity.core``; errors are plain exceptions so the API layer can map
them (to a 422 naming the row) and the CLI can print them.

Clauses and tables implemented
------------------------------
* 4.1.1  production units and storage units are identified separately
  (``kind``: ``production`` 生产单元 / ``storage`` 储存单元).
* 4.1.2 a) a substance named in **Table 1** (85 rows) takes its critical
  quantity Q from Table 1; b) any other substance takes Q from **Table 2** by
  hazard category (``category``: J1–J5, W1.1–W11), and a substance with
  several hazards (``category`` given as a list) takes the *lowest* Q.
* 4.2.1  S = Σ qᵢ/Qᵢ; the unit is a major hazard installation when S ≥ 1.
  A single substance with q ≥ Q is a major hazard by itself; that is implied by
  S ≥ 1 (every term is ≥ 0) and is reported in ``exceeding`` (quantities of
  the same substance listed on several rows of one unit are added up first).
* 4.2.2  q is the *design maximum* quantity — the caller's responsibility.
* 4.2.3  mixtures: ``"mixture": "same_category"`` — the mixture belongs to the
  same hazard category as its pure substance and is treated as the pure
  substance, counting the whole mixture quantity; ``"mixture": "new_category"``
  — it belongs to another category, and Q (Table 2) and β (Table 4) come from
  the ``category`` given for the mixture.
* 4.3  R = α · Σ βᵢ · qᵢ/Qᵢ, computed only for major units.  β from
  **Table 3** for the 14 named toxic gases, otherwise from **Table 4** by hazard
  category; α from **Table 5** by the number of people exposed (the standard:
  resident population within 500 m outside the plant boundary, 厂区边界向外
  扩展500 m); level from **Table 6**: 一级 R ≥ 100, 二级 50 ≤ R < 100,
  三级 10 ≤ R < 50, 四级 R < 10.

β for a Table 1 substance that is not in Table 3 needs its hazard category,
which Table 1 does not give.  The data file carries a ``beta_default`` rule
for the rows whose Table 4 β is unambiguous (e.g. flammable gases → W2,
β = 1.5; explosives → β = 2 whatever the division; liquids boiling above 35 ℃
and solids → β = 1); it is SafeCity's classification, flagged as such in the
term's ``beta_source``.  A ``category`` on the row overrides it (e.g. W5.1 for
a flammable liquid worked above its boiling point).  When neither exists and
the unit is major, the row is rejected asking for ``category``.  When several
categories are given, β is the largest of their Table 4 values (a SafeCity
convention — the standard states the lowest-Q rule for Q only).

Arithmetic
----------
Quantities are converted to exact fractions of the decimals as written
(``Fraction(repr(float))``), and S, R and every comparison are done exactly,
so q = Q gives S = 1 exactly and R = 10, 50, 100 land in the right grade even
where binary floating point would give 9.999999999999998.  No tolerance is
needed or used.  The JSON output carries the correctly rounded floats.

Input shape (``identify``)::

    {"units": [{"name": "罐区A", "kind": "storage",
                "substances": [{"name": "液氯", "quantity_t": 12.5},
                               {"cas": "7664-41-7", "quantity_t": 3},
                               {"name": "某易燃气体", "category": "W2", "quantity_t": 2}]}],
     "exposed_population": 120}

``alpha`` (one of the Table 5 values) with an optional ``alpha_reason`` may
replace or override ``exposed_population``.  Indices in errors are 0-based;
messages number rows from 1 for people.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

__all__ = [
    "GB18218",
    "HazmatFieldError",
    "HazmatInputError",
    "SubstanceLookupError",
    "alpha_for_population",
    "identify",
    "load_standard",
    "lookup_substance",
    "major_hazard_level",
    "normalize_cas",
    "normalize_name",
]

STANDARD = "GB 18218-2018"
KINDS = {"storage": ("储存单元", "storage unit"), "production": ("生产单元", "production unit")}
MIXTURE_MODES = ("same_category", "new_category")


# --------------------------------------------------------------------------- errors


class HazmatFieldError(NamedTuple):
    """One rejected field: ``unit_index``/``substance_index`` are 0-based, None above that level."""

    unit_index: int | None
    substance_index: int | None
    field: str
    message_zh: str
    message_en: str

    @property
    def path(self) -> str:
        p = ""
        if self.unit_index is not None:
            p = f"units[{self.unit_index}]"
            if self.substance_index is not None:
                p += f".substances[{self.substance_index}]"
        return f"{p}.{self.field}" if p else self.field

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit_index": self.unit_index,
            "substance_index": self.substance_index,
            "field": self.field,
            "path": self.path,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


class HazmatInputError(ValueError):
    """The payload cannot be identified; ``errors`` names every bad row and field."""

    def __init__(self, errors: Sequence[HazmatFieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.path}: {e.message_en}" for e in self.errors))

    def as_list(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]


class SubstanceLookupError(LookupError):
    """``reason`` is 'unknown', 'ambiguous', 'conflict' or 'invalid_cas'."""

    def __init__(self, reason: str, zh: str, en: str, candidates: Sequence[str] = ()) -> None:
        super().__init__(en)
        self.reason = reason
        self.zh = zh
        self.en = en
        self.candidates = list(candidates)


# --------------------------------------------------------------------------- normalisation

_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−﹣"), "-")
_CAS_RE = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")
_QUALIFIED = re.compile(r"^([^(\[]+?)[(\[].*[)\]]$")


def normalize_name(text: str) -> str:
    """NFKC (full-width → half-width, ₂ → 2), unify dashes, drop all whitespace, casefold."""
    s = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return "".join(s.split()).casefold()


def normalize_cas(text: str) -> str:
    """Normalised CAS 'NNNNNNN-NN-N' (whitespace removed); raises ValueError if malformed
    or if the check digit is wrong."""
    s = "".join(unicodedata.normalize("NFKC", text).translate(_DASHES).split())
    m = _CAS_RE.match(s)
    if not m:
        raise ValueError(f"malformed CAS number: {text!r}")
    digits = (m.group(1) + m.group(2))[::-1]
    if sum((i + 1) * int(d) for i, d in enumerate(digits)) % 10 != int(m.group(3)):
        raise ValueError(f"CAS check digit does not match: {text!r}")
    return f"{int(m.group(1))}-{m.group(2)}-{m.group(3)}"


def _base_name(normalized: str) -> str | None:
    m = _QUALIFIED.match(normalized)
    return m.group(1) if m else None


def _exact(raw: Any) -> Fraction | None:
    """Exact value of a finite number as written in decimal; None for anything else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | Fraction):
        return Fraction(raw)
    if isinstance(raw, float):
        return Fraction(repr(raw)) if math.isfinite(raw) else None
    if isinstance(raw, Decimal):
        return Fraction(raw) if raw.is_finite() else None
    return None


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class BetaRule:
    key: str
    beta: Fraction
    categories: tuple[str, ...]
    basis_zh: str
    basis_en: str


@dataclass(frozen=True)
class NamedSubstance:
    """A Table 1 row."""

    no: int
    name: str
    aliases: tuple[str, ...]
    cas: tuple[str, ...]
    critical_t: Fraction
    source: str
    extra_names: tuple[str, ...] = ()
    extra_cas: tuple[str, ...] = ()
    qualifier_zh: str | None = None
    qualifier_en: str | None = None
    note_zh: str | None = None
    note_en: str | None = None
    beta_default: BetaRule | None = None


@dataclass(frozen=True)
class HazardCategory:
    """A Table 2 row with its Table 4 β."""

    key: str
    group_zh: str
    group_en: str
    description_zh: str
    description_en: str
    critical_t: Fraction
    beta: Fraction
    source: str
    beta_source: str


@dataclass(frozen=True)
class ToxicGasBeta:
    """A Table 3 row."""

    name: str
    beta: Fraction
    table1_no: int
    source: str
    match_names: tuple[str, ...] = ()
    match_cas: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlphaBand:
    """A Table 5 row."""

    min: int
    max: int | None
    alpha: Fraction
    label_zh: str
    label_en: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "min": self.min,
            "max": self.max,
            "alpha": float(self.alpha),
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "source": self.source,
        }


@dataclass(frozen=True)
class SubstanceMatch:
    substance: NamedSubstance
    matched_by: str  # 'name' | 'alias' | 'extra_name' | 'base_name' | 'cas' | 'extra_cas'
    table3: ToxicGasBeta | None


def _q(v: Any) -> Fraction:
    return Fraction(str(v))


class GB18218:
    """The standard's data with lookups; build with :func:`load_standard`."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.clauses: Mapping[str, Any] = raw["clauses"]
        rules = {
            k: BetaRule(k, _q(v["beta"]), tuple(v["categories"]), v["basis_zh"], v["basis_en"])
            for k, v in raw["beta_defaults"].items()
        }
        self.beta_rules = rules
        self.table1: tuple[NamedSubstance, ...] = tuple(
            NamedSubstance(
                no=e["no"],
                name=e["name"],
                aliases=tuple(e["aliases"]),
                cas=tuple(e["cas"]),
                critical_t=_q(e["critical_t"]),
                source=e["source"],
                extra_names=tuple(e.get("extra_names", ())),
                extra_cas=tuple(e.get("extra_cas", ())),
                qualifier_zh=e.get("qualifier_zh"),
                qualifier_en=e.get("qualifier_en"),
                note_zh=e.get("note_zh"),
                note_en=e.get("note_en"),
                beta_default=rules[e["beta_default"]] if e.get("beta_default") else None,
            )
            for e in raw["table1"]
        )
        self.by_no = {s.no: s for s in self.table1}
        betas = {e["key"]: e for e in raw["table4"]}
        self.categories: dict[str, HazardCategory] = {
            e["key"]: HazardCategory(
                key=e["key"],
                group_zh=e["group_zh"],
                group_en=e["group_en"],
                description_zh=e["description_zh"],
                description_en=e["description_en"],
                critical_t=_q(e["critical_t"]),
                beta=_q(betas[e["key"]]["beta"]),
                source=e["source"],
                beta_source=betas[e["key"]]["source"],
            )
            for e in raw["table2"]
        }
        self.table3: tuple[ToxicGasBeta, ...] = tuple(
            ToxicGasBeta(
                name=e["name"],
                beta=_q(e["beta"]),
                table1_no=e["table1_no"],
                source=e["source"],
                match_names=tuple(normalize_name(n) for n in e.get("match_names", ())),
                match_cas=tuple(e.get("match_cas", ())),
            )
            for e in raw["table3"]
        )
        self.alpha_bands: tuple[AlphaBand, ...] = tuple(
            AlphaBand(e["min"], e["max"], _q(e["alpha"]), e["label_zh"], e["label_en"], e["source"])
            for e in raw["table5"]
        )
        self.grades = tuple(raw["table6"])
        self._build_index()

    # ---------------------------------------------------------------- lookups

    def _build_index(self) -> None:
        exact: dict[str, dict[int, str]] = {}
        base: dict[str, set[int]] = {}
        cas: dict[str, dict[int, str]] = {}
        for s in self.table1:
            for kind, names in (
                ("name", (s.name,)),
                ("alias", s.aliases),
                ("extra_name", s.extra_names),
            ):
                for n in names:
                    exact.setdefault(normalize_name(n), {}).setdefault(s.no, kind)
            b = _base_name(normalize_name(s.name))
            if b:
                base.setdefault(b, set()).add(s.no)
            for kind, numbers in (("cas", s.cas), ("extra_cas", s.extra_cas)):
                for c in numbers:
                    cas.setdefault(c, {}).setdefault(s.no, kind)
        self._exact_index = exact
        self._base_index = {k: v for k, v in base.items() if k not in exact}
        self._cas_index = cas

    def _rows_for_name(self, name: str) -> tuple[dict[int, str], bool]:
        """(row number → how matched, matched-by-base-name?)"""
        key = normalize_name(name)
        if key in self._exact_index:
            return self._exact_index[key], False
        if key in self._base_index:
            return {no: "base_name" for no in self._base_index[key]}, True
        return {}, False

    def lookup(self, name: str | None = None, cas: str | None = None) -> SubstanceMatch:
        """Find the Table 1 row for a Chinese name, alias or CAS number.

        The name wins when both resolve to the same row; when they resolve to
        different rows the lookup fails ('conflict'); an unresolved name with a
        resolving CAS uses the CAS (the name is then just a label).
        """
        by_name: dict[int, str] = {}
        if name is not None and name.strip():
            by_name, _ = self._rows_for_name(name)
        by_cas: dict[int, str] = {}
        cas_norm: str | None = None
        if cas is not None and cas.strip():
            try:
                cas_norm = normalize_cas(cas)
            except ValueError as exc:
                raise SubstanceLookupError(
                    "invalid_cas", f"CAS号“{cas}”格式或校验位不正确", str(exc)
                ) from None
            by_cas = self._cas_index.get(cas_norm, {})
        if by_name and by_cas:
            common = set(by_name) & set(by_cas)
            if not common:
                cands = [self.by_no[n].name for n in sorted(set(by_name) | set(by_cas))]
                raise SubstanceLookupError(
                    "conflict",
                    f"名称“{name}”与CAS号“{cas}”对应表1中不同的物质",
                    f"name {name!r} and CAS {cas!r} match different Table 1 rows",
                    cands,
                )
            rows = {n: by_name[n] for n in common}
        else:
            rows = by_name or by_cas
        if not rows:
            label = name if name and name.strip() else cas
            raise SubstanceLookupError(
                "unknown",
                f"“{label}”不在GB 18218-2018表1中",
                f"{label!r} is not named in GB 18218-2018 Table 1",
            )
        if len(rows) > 1:
            cands = [self.by_no[n].name for n in sorted(rows)]
            label = name if name and name.strip() else cas
            raise SubstanceLookupError(
                "ambiguous",
                f"“{label}”对应表1中多行（{'；'.join(cands)}），请写明完整名称",
                f"{label!r} matches several Table 1 rows ({'; '.join(cands)}); give the full name",
                cands,
            )
        ((no, how),) = rows.items()
        sub = self.by_no[no]
        return SubstanceMatch(sub, how, self._table3_for(sub, name, cas_norm))

    def _table3_for(
        self, sub: NamedSubstance, name: str | None, cas_norm: str | None
    ) -> ToxicGasBeta | None:
        for t3 in self.table3:
            if t3.table1_no != sub.no:
                continue
            if not (t3.match_names or t3.match_cas):
                return t3
            if name and normalize_name(name) in t3.match_names:
                return t3
            if cas_norm and cas_norm in t3.match_cas:
                return t3
        return None

    def category(self, key: str) -> HazardCategory:
        k = normalize_name(key).upper()
        if k not in self.categories:
            raise KeyError(key)
        return self.categories[k]

    def alpha_band(self, population: int) -> AlphaBand:
        for band in self.alpha_bands:
            if population >= band.min and (band.max is None or population <= band.max):
                return band
        raise ValueError(f"no Table 5 band for {population!r}")

    def alpha_band_for_value(self, alpha: Fraction) -> AlphaBand | None:
        return next((b for b in self.alpha_bands if b.alpha == alpha), None)

    def level_for_r(self, r: Fraction) -> int:
        """Table 6: 1 (R ≥ 100), 2 (50 ≤ R < 100), 3 (10 ≤ R < 50), 4 (R < 10)."""
        for g in self.grades:
            lo = g["r_min"]
            if lo is None or r >= _q(lo):
                return int(g["level"])
        raise AssertionError("Table 6 has an open lower band")  # pragma: no cover

    def grade_zh(self, level: int) -> str:
        return str(next(g["zh"] for g in self.grades if g["level"] == level))


@lru_cache(maxsize=1)
def load_standard() -> GB18218:
    """The packaged GB 18218-2018 data (cached)."""
    text = (
        resources.files("safecity.risk.major_hazards")
        .joinpath("data/gb18218.json")
        .read_text(encoding="utf-8")
    )
    return GB18218(json.loads(text))


def lookup_substance(name: str | None = None, cas: str | None = None) -> SubstanceMatch:
    """Table 1 lookup by Chinese name, alias or CAS (see :meth:`GB18218.lookup`)."""
    return load_standard().lookup(name, cas)


def alpha_for_population(population: int) -> AlphaBand:
    """Table 5 band for the number of people exposed (int ≥ 0)."""
    if isinstance(population, bool) or not isinstance(population, int) or population < 0:
        raise ValueError("population must be an integer ≥ 0")
    return load_standard().alpha_band(population)


def major_hazard_level(r: Any) -> int:
    """Table 6 grade (1–4) of R, compared exactly on the decimal value of ``r``."""
    exact = r if isinstance(r, Fraction) else _exact(r)
    if exact is None:
        raise ValueError("R must be a finite number")
    return load_standard().level_for_r(exact)


# --------------------------------------------------------------------------- identification


@dataclass
class _Term:
    index: int
    input_name: str | None
    input_cas: str | None
    name: str
    cas: tuple[str, ...]
    table1_no: int | None
    category: str | None  # the Table 2 key that gave Q
    categories: tuple[str, ...]
    mixture: str | None
    q: Fraction
    big_q: Fraction
    q_source: str
    beta: Fraction | None
    beta_category: str | None
    beta_source: str | None
    group_key: tuple[Any, ...]
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        ratio = self.q / self.big_q
        return {
            "index": self.index,
            "name": self.name,
            "input_name": self.input_name,
            "input_cas": self.input_cas,
            "cas": list(self.cas),
            "table1_no": self.table1_no,
            "source_table": "表1" if self.table1_no is not None else "表2",
            "category": self.category,
            "categories": list(self.categories),
            "mixture": self.mixture,
            "q": float(self.q),
            "Q": float(self.big_q),
            "q_over_Q": float(ratio),
            "beta": None if self.beta is None else float(self.beta),
            "beta_q_over_Q": None if self.beta is None else float(self.beta * ratio),
            "Q_source": self.q_source,
            "beta_category": self.beta_category,
            "beta_source": self.beta_source,
            "note": self.note,
        }


class _Ctx:
    def __init__(self, std: GB18218) -> None:
        self.std = std
        self.errors: list[HazmatFieldError] = []

    def err(self, u: int | None, s: int | None, field: str, zh: str, en: str) -> None:
        self.errors.append(HazmatFieldError(u, s, field, zh, en))


def _row_label(
    u: int, unit_name: Any, s: int | None = None, sub_label: str | None = None
) -> tuple[str, str]:
    uname = f"“{unit_name}”" if isinstance(unit_name, str) and unit_name.strip() else ""
    zh = f"第{u + 1}个单元{uname}"
    en = f"unit {u + 1}" + (f" ({unit_name!r})" if uname else "")
    if s is not None:
        zh += f"第{s + 1}种物质" + (f"“{sub_label}”" if sub_label else "")
        en += f", substance {s + 1}" + (f" ({sub_label!r})" if sub_label else "")
    return zh, en


def _categories(
    ctx: _Ctx, raw: Any, u: int, s: int, zh: str, en: str
) -> list[HazardCategory] | None:
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else raw
    if (
        not isinstance(items, list | tuple)
        or not items
        or not all(isinstance(k, str) for k in items)
    ):
        ctx.err(
            u,
            s,
            "category",
            f"{zh}：category 必须是表2符号（如 W2）或其列表",
            f"{en}: category must be a Table 2 key (e.g. W2) or a list of keys",
        )
        return None
    out: list[HazardCategory] = []
    for k in items:
        try:
            out.append(ctx.std.category(k))
        except KeyError:
            keys = "、".join(ctx.std.categories)
            ctx.err(
                u,
                s,
                "category",
                f"{zh}：未知的危险性类别“{k}”（表2符号：{keys}）",
                f"{en}: unknown hazard category {k!r} (Table 2 keys: {keys.replace('、', ', ')})",
            )
            return None
    return out


def _quantity(
    ctx: _Ctx, sub: Mapping[str, Any], u: int, s: int, zh: str, en: str
) -> Fraction | None:
    if "quantity_t" not in sub or sub["quantity_t"] is None:
        ctx.err(
            u,
            s,
            "quantity_t",
            f"{zh}：缺少数量 quantity_t（吨）",
            f"{en}: quantity_t (tonnes) is missing",
        )
        return None
    raw = sub["quantity_t"]
    q = _exact(raw)
    if q is None:
        ctx.err(
            u,
            s,
            "quantity_t",
            f"{zh}：数量 quantity_t 必须是数值（吨），收到 {raw!r}",
            f"{en}: quantity_t must be a number (tonnes), got {raw!r}",
        )
        return None
    if q < 0:
        ctx.err(
            u,
            s,
            "quantity_t",
            f"{zh}：数量 quantity_t 不能为负数，收到 {raw!r}",
            f"{en}: quantity_t must not be negative, got {raw!r}",
        )
        return None
    return q


def _pick_q(cats: Sequence[HazardCategory]) -> HazardCategory:
    """4.1.2 b): with several hazards, the lowest critical quantity."""
    return min(cats, key=lambda c: c.critical_t)


def _pick_beta(cats: Sequence[HazardCategory]) -> HazardCategory:
    """Largest Table 4 β among the categories given (SafeCity convention)."""
    return max(cats, key=lambda c: c.beta)


def _term(
    ctx: _Ctx, u: int, unit_name: Any, s: int, sub: Any, warnings: list[dict[str, Any]]
) -> _Term | None:
    """Resolve one substance row; identity errors are reported even when the quantity is bad."""
    before = len(ctx.errors)
    term = _term_inner(ctx, u, unit_name, s, sub, warnings)
    if any(e.field == "quantity_t" for e in ctx.errors[before:]):
        return None
    return term


def _term_inner(
    ctx: _Ctx, u: int, unit_name: Any, s: int, sub: Any, warnings: list[dict[str, Any]]
) -> _Term | None:
    if not isinstance(sub, Mapping):
        zh, en = _row_label(u, unit_name, s)
        ctx.err(u, s, "substances", f"{zh}：必须是对象", f"{en}: must be an object")
        return None
    name, cas = sub.get("name"), sub.get("cas")
    label = (
        name if isinstance(name, str) and name.strip() else cas if isinstance(cas, str) else None
    )
    zh, en = _row_label(u, unit_name, s, label)
    before = len(ctx.errors)
    for fname, val in (("name", name), ("cas", cas)):
        if val is not None and not isinstance(val, str):
            ctx.err(u, s, fname, f"{zh}：{fname} 必须是字符串", f"{en}: {fname} must be a string")
    has_name = isinstance(name, str) and bool(name.strip())
    has_cas = isinstance(cas, str) and bool(cas.strip())
    if not has_name and not has_cas and len(ctx.errors) == before:
        ctx.err(
            u,
            s,
            "name",
            f"{zh}：必须给出物质名称 name 或 CAS号 cas",
            f"{en}: give the substance name or its CAS number",
        )
    cas_norm: str | None = None
    if has_cas:
        try:
            cas_norm = normalize_cas(str(cas))  # a str: has_cas
        except ValueError:
            ctx.err(
                u,
                s,
                "cas",
                f"{zh}：CAS号“{cas}”格式或校验位不正确",
                f"{en}: CAS number {cas!r} is malformed or fails its check digit",
            )
    q = _quantity(ctx, sub, u, s, zh, en)
    cats = _categories(ctx, sub.get("category"), u, s, zh, en)
    mixture = sub.get("mixture")
    if mixture is not None and mixture not in MIXTURE_MODES:
        ctx.err(
            u,
            s,
            "mixture",
            f"{zh}：mixture 只能是 same_category 或 new_category，收到 {mixture!r}",
            f"{en}: mixture must be 'same_category' or 'new_category', got {mixture!r}",
        )
    if mixture == "new_category" and cats is not None and not cats:
        ctx.err(
            u,
            s,
            "category",
            f"{zh}：混合物与其纯物质不属于相同危险类别时（4.2.3），必须给出其新的危险性类别 category",
            f"{en}: a mixture in a different hazard category from its pure substance (clause 4.2.3) "
            "needs its category",
        )
    if any(e.field != "quantity_t" for e in ctx.errors[before:]) or cats is None:
        return None
    if q is None:  # reported already; keep resolving so the row's other problems show too
        q = Fraction(0)

    display = str(name).strip() if has_name else cas_norm or ""
    input_name = name if has_name else None
    input_cas = cas if has_cas else None

    if mixture == "new_category":
        qc, bc = _pick_q(cats), _pick_beta(cats)
        keys = tuple(c.key for c in cats)
        return _Term(
            s,
            input_name,
            input_cas,
            display,
            (cas_norm,) if cas_norm else (),
            None,
            qc.key,
            keys,
            mixture,
            q,
            qc.critical_t,
            f"{qc.source}（4.2.3 混合物按新危险类别）",
            bc.beta,
            bc.key,
            f"{bc.beta_source}（4.2.3 混合物按新危险类别）",
            ("cat", qc.key, normalize_name(display)),
            "按4.2.3，混合物与其纯物质不属于相同危险类别，按新危险类别确定临界量和β",
        )

    try:
        match = ctx.std.lookup(name if has_name else None, cas_norm)
    except SubstanceLookupError as exc:
        if exc.reason == "unknown" and cats:
            qc, bc = _pick_q(cats), _pick_beta(cats)
            keys = tuple(c.key for c in cats)
            q_src = qc.source + ("（4.1.2 b) 多种危险性取最低临界量）" if len(cats) > 1 else "")
            return _Term(
                s,
                input_name,
                input_cas,
                display,
                (cas_norm,) if cas_norm else (),
                None,
                qc.key,
                keys,
                mixture,
                q,
                qc.critical_t,
                q_src,
                bc.beta,
                bc.key,
                bc.beta_source,
                ("cat", qc.key, normalize_name(display)),
                "未在表1中列名，按4.1.2 b) 依其危险性按表2确定临界量"
                + (
                    "；按4.2.3，混合物与其纯物质属于相同危险类别，按混合物整体数量计算"
                    if mixture == "same_category"
                    else ""
                ),
            )
        field = (
            "cas"
            if exc.reason == "invalid_cas" or (exc.reason == "unknown" and not has_name)
            else "name"
        )
        if exc.reason == "unknown":
            ctx.err(
                u,
                s,
                field,
                f"{zh}：未知物质——不在GB 18218-2018表1中；未列名的危险化学品须给出表2危险性类别 category",
                f"{en}: unknown substance — not named in GB 18218-2018 Table 1; for an unnamed "
                "hazardous chemical give its Table 2 hazard category",
            )
        else:
            ctx.err(u, s, field, f"{zh}：{exc.zh}", f"{en}: {exc.en}")
        return None

    row = match.substance
    beta: Fraction | None
    if match.table3 is not None:
        beta, beta_cat, beta_src = match.table3.beta, None, match.table3.source
        if cats:
            warnings.append(
                _warn(
                    s,
                    f"{display}在表3中，β按表3取值，所给 category 不用于β",
                    f"{display} is in Table 3; beta comes from Table 3, category ignored",
                )
            )
    elif cats:
        bc = _pick_beta(cats)
        beta, beta_cat, beta_src = bc.beta, bc.key, f"{bc.beta_source}（按输入的危险性类别）"
    elif row.beta_default is not None:
        rule = row.beta_default
        beta = rule.beta
        beta_cat = "/".join(rule.categories) or None
        beta_src = f"{STANDARD} 表4（SafeCity默认分类：{rule.basis_zh}）"
    else:
        beta, beta_cat, beta_src = None, None, None
    notes = [n for n in (row.note_zh,) if n]
    if mixture == "same_category":
        notes.insert(
            0, "按4.2.3，混合物与其纯物质属于相同危险类别，视为纯物质，按混合物整体数量计算"
        )
    if match.matched_by == "base_name" and row.qualifier_zh:
        warnings.append(
            _warn(
                s,
                f"“{display}”按表1序号{row.no}“{row.name}”匹配。{row.qualifier_zh}",
                f"{display!r} matched Table 1 row {row.no}. {row.qualifier_en}",
            )
        )
    shown_cas = row.cas or (
        (cas_norm,) if cas_norm else match.table3.match_cas if match.table3 else ()
    )
    return _Term(
        s,
        input_name,
        input_cas,
        row.name,
        shown_cas,
        row.no,
        None,
        tuple(c.key for c in cats),
        mixture,
        q,
        row.critical_t,
        row.source,
        beta,
        beta_cat,
        beta_src,
        ("t1", row.no),
        "；".join(notes) or None,
    )


def _warn(s: int, zh: str, en: str) -> dict[str, Any]:
    return {"substance_index": s, "message_zh": zh, "message_en": en}


def _exposure(
    ctx: _Ctx, payload: Mapping[str, Any]
) -> tuple[AlphaBand | None, Fraction | None, bool, Any]:
    """(band, alpha, overridden?, population)"""
    std = ctx.std
    pop_raw = payload.get("exposed_population")
    alpha_raw = payload.get("alpha")
    band: AlphaBand | None = None
    pop: int | None = None
    if pop_raw is not None:
        v = _exact(pop_raw)
        if v is None or v.denominator != 1 or v < 0:
            ctx.err(
                None,
                None,
                "exposed_population",
                f"暴露人数 exposed_population 必须是不小于0的整数，收到 {pop_raw!r}",
                f"exposed_population must be an integer ≥ 0, got {pop_raw!r}",
            )
        else:
            pop = int(v)
            band = std.alpha_band(pop)
    if alpha_raw is not None:
        a = _exact(alpha_raw)
        override = std.alpha_band_for_value(a) if a is not None else None
        if override is None:
            vals = "、".join(format(float(b.alpha), "g") for b in std.alpha_bands)
            ctx.err(
                None,
                None,
                "alpha",
                f"α 只能取表5中的值（{vals}），收到 {alpha_raw!r}",
                f"alpha must be a Table 5 value ({vals.replace('、', ', ')}), got {alpha_raw!r}",
            )
            return None, None, False, pop
        return override, override.alpha, True, pop
    if pop_raw is None:
        ctx.err(
            None,
            None,
            "exposed_population",
            "缺少暴露人数 exposed_population（厂区边界外500 m范围内常住人口）或 α",
            "exposed_population (resident population within 500 m of the boundary) or alpha is missing",
        )
        return None, None, False, None
    return band, (band.alpha if band else None), False, pop


def _exceeding(terms: Iterable[_Term]) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[_Term]] = {}
    for t in terms:
        groups.setdefault(t.group_key, []).append(t)
    out = []
    for members in groups.values():
        total = sum((t.q for t in members), Fraction(0))
        first = members[0]
        if total >= first.big_q:
            out.append(
                {
                    "name": first.name,
                    "table1_no": first.table1_no,
                    "category": first.category,
                    "q_total": float(total),
                    "Q": float(first.big_q),
                    "term_indices": [t.index for t in members],
                }
            )
    return out


def identify(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Identify and grade every unit of ``payload`` (shape in the module docstring).

    Returns a JSON-serialisable dict ``{"standard", "exposed_population", "alpha",
    "alpha_band", "alpha_overridden", "alpha_reason", "units": [...]}``, each unit
    ``{"name", "kind", "kind_zh", "S", "is_major", "exceeding", "R", "level",
    "level_zh", "alpha", "alpha_band", "terms": [...], "warnings": [...]}``.
    ``R``/``level`` are None unless the unit is major.  Raises
    :class:`HazmatInputError` listing every bad row; nothing is returned then.
    """
    std = load_standard()
    ctx = _Ctx(std)
    if not isinstance(payload, Mapping):
        raise HazmatInputError(
            [
                HazmatFieldError(
                    None, None, "payload", "请求体必须是对象", "payload must be an object"
                )
            ]
        )
    band, alpha, overridden, pop = _exposure(ctx, payload)
    reason = payload.get("alpha_reason")
    units = payload.get("units")
    if not isinstance(units, list) or not units:
        ctx.err(None, None, "units", "units 必须是非空数组", "units must be a non-empty list")
        raise HazmatInputError(ctx.errors)

    results: list[dict[str, Any]] = []
    for u, unit in enumerate(units):
        if not isinstance(unit, Mapping):
            ctx.err(
                u, None, "units", f"第{u + 1}个单元必须是对象", f"unit {u + 1} must be an object"
            )
            continue
        uname = unit.get("name")
        zh, en = _row_label(u, uname)
        if not isinstance(uname, str) or not uname.strip():
            ctx.err(u, None, "name", f"{zh}：缺少单元名称 name", f"{en}: the unit name is missing")
        kind = unit.get("kind")
        # a JSON object or list as kind is unhashable: test the type before the lookup
        known_kind: str | None = kind if isinstance(kind, str) and kind in KINDS else None
        if known_kind is None:
            ctx.err(
                u,
                None,
                "kind",
                f"{zh}：kind 只能是 storage（储存单元）或 production（生产单元），收到 {kind!r}",
                f"{en}: kind must be 'storage' or 'production', got {kind!r}",
            )
        subs = unit.get("substances")
        if not isinstance(subs, list) or not subs:
            ctx.err(
                u,
                None,
                "substances",
                f"{zh}：substances 必须是非空数组",
                f"{en}: substances must be a non-empty list",
            )
            continue
        warnings: list[dict[str, Any]] = []
        before = len(ctx.errors)
        terms = [
            t
            for s, sub in enumerate(subs)
            if (t := _term(ctx, u, uname, s, sub, warnings)) is not None
        ]
        if len(ctx.errors) > before or known_kind is None:
            continue
        s_exact = sum((t.q / t.big_q for t in terms), Fraction(0))
        is_major = s_exact >= 1
        r_exact: Fraction | None = None
        level: int | None = None
        if is_major:
            missing = [t for t in terms if t.beta is None]
            for t in missing:
                tzh, ten = _row_label(u, uname, t.index, t.name)
                ctx.err(
                    u,
                    t.index,
                    "category",
                    f"{tzh}：单元构成重大危险源需分级，但该物质不在表3中、也无法确定其危险性类别，"
                    "请给出 category（表4符号，如 W2、J1）以确定β",
                    f"{ten}: the unit is a major hazard and must be graded, but this substance is not "
                    "in Table 3 and its hazard category is unknown; give category (a Table 4 key such "
                    "as W2 or J1) to fix beta",
                )
            if missing or alpha is None:
                continue
            r_exact = alpha * sum((t.beta * t.q / t.big_q for t in terms), Fraction(0))  # type: ignore[operator]
            level = std.level_for_r(r_exact)
        results.append(
            {
                "name": uname,
                "kind": kind,
                "kind_zh": KINDS[known_kind][0],
                "S": float(s_exact),
                "is_major": is_major,
                "exceeding": _exceeding(terms),
                "R": None if r_exact is None else float(r_exact),
                "level": level,
                "level_zh": None if level is None else std.grade_zh(level),
                "alpha": None if alpha is None else float(alpha),
                "alpha_band": None if band is None else band.as_dict(),
                "terms": [t.as_dict() for t in terms],
                "warnings": warnings,
            }
        )
    if ctx.errors:
        raise HazmatInputError(ctx.errors)
    return {
        "standard": STANDARD,
        "exposed_population": pop,
        "alpha": None if alpha is None else float(alpha),
        "alpha_band": None if band is None else band.as_dict(),
        "alpha_overridden": overridden,
        "alpha_reason": reason if overridden else None,
        "units": results,
    }
