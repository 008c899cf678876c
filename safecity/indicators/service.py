"""Use cases of the indicators capability: import and edit indicator sets, record statistical
inputs (versioned), compute every indicator per division and year from statistics and the
platform's records, explain a figure by the records behind it.

Scope (core.scope, the one rule): readers are staff off the front line (admin, analysts,
commanders, duty officers, inspectors, district officers); each sees the divisions inside their
own (a district officer their district, an analyst of the city every district). A set none of
whose divisions the reader covers is 404; a write outside the writer's division is 403. Every
write is audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.core.clock import BEIJING
from safecity.core.errors import FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal, code_within, division_prefix
from safecity.indicators import adapters, sources
from safecity.indicators.definitions import INPUTS, Indicator, IndicatorSet, load_set, parse_set
from safecity.indicators.errors import IndicatorInputError
from safecity.indicators.formula import exact
from safecity.indicators.models import IndicatorRow, IndicatorSetRow, Statistic
from safecity.indicators.progress import Flag, Progress, assess, check_series
from safecity.registry.models import Division

adapters.connect()  # accident and resource sources, where those capabilities are installed

READERS = frozenset(
    {"admin", "risk_analyst", "commander", "duty_officer", "district_officer", "inspector"}
)
SET_EDITORS = frozenset({"admin", "risk_analyst"})
STAT_WRITERS = frozenset({"admin", "risk_analyst", "district_officer"})
MAX_YEARS = 30


# =========================================================================== helpers


def current_year(now: datetime) -> int:
    return now.astimezone(BEIJING).year


def _num(v: Fraction | None) -> str | None:
    """Exact decimal text of a Fraction read from decimal input (never a rounded float)."""
    if v is None:
        return None
    d = v.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:  # not a terminating decimal (e.g. 1/3): 15 significant digits
        return f"{float(v):.15g}"
    with localcontext() as ctx:
        ctx.prec = 80
        text = format(Decimal(v.numerator) / Decimal(v.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _invalid(exc: IndicatorInputError, strip: str = "") -> Invalid:
    return Invalid(
        [FieldError(e.field.removeprefix(strip), e.message_zh, e.message_en) for e in exc.errors]
    )


def check_reader(who: Principal) -> None:
    if who.role not in READERS:
        raise Forbidden("当前角色无权查看规划指标", "your role may not read plan indicators")


def _check_set_editor(who: Principal, row: IndicatorSetRow | None, division: str) -> None:
    if who.role not in SET_EDITORS:
        raise Forbidden(
            "只有管理员和风险管理员可以维护指标", "only admins and analysts edit indicators"
        )
    if not who.covers(division):
        raise Forbidden(
            f"指标集所属区划 {division} 不在您的管辖范围内",
            f"the set's division {division} is outside your scope",
        )


def may_edit_set(who: Principal, row: IndicatorSetRow) -> bool:
    """Whether the set's indicators are this user's to edit (the pages show the button)."""
    return who.role in SET_EDITORS and who.covers(row.division_code)


def check_set_editor(who: Principal, row: IndicatorSetRow) -> None:
    _check_set_editor(who, row, row.division_code)


def visible_divisions(who: Principal, codes: Iterable[str]) -> list[str]:
    return [c for c in codes if who.covers(c)]


# =========================================================================== sets


def _spec(row: IndicatorRow) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if row.base_year is not None:
        base["year"] = row.base_year
    if row.base_value is not None:
        base["value"] = row.base_value
    target: dict[str, Any] = {"strict": bool(row.target_strict)}
    if row.target_value is not None:
        target["value"] = row.target_value
    if row.target_change_percent is not None:
        target["change_percent"] = row.target_change_percent
    spec: dict[str, Any] = {
        "key": row.key,
        "name_zh": row.name_zh,
        "name_en": row.name_en,
        "unit": row.unit,
        "source": row.source,
        "formula": row.formula,
        "direction": row.direction,
        "period": {"start": row.period_start, "end": row.period_end},
        "base": base,
        "target": target,
        # a PATCH may send divisions: null; the validator below names that field, not a 500
        "divisions": None if row.divisions is None else list(row.divisions),
    }
    if row.binding is not None:
        spec["binding"] = row.binding
    return spec


def _head(row: IndicatorSetRow) -> dict[str, Any]:
    return {
        "city": row.city,
        "name_zh": row.name_zh,
        "name_en": row.name_en,
        "divisions": list(row.divisions),
    }


def indicator_rows(session: Session, set_id: int) -> list[IndicatorRow]:
    stmt = select(IndicatorRow).where(IndicatorRow.set_id == set_id)
    return list(session.scalars(stmt.order_by(IndicatorRow.position, IndicatorRow.id)))


def definitions(session: Session, row: IndicatorSetRow) -> IndicatorSet:
    """The stored set as the pure rules see it (validated again: a stored row is data too)."""
    rows = indicator_rows(session, row.id)
    try:
        return parse_set({"set": _head(row), "indicator": [_spec(r) for r in rows]})
    except IndicatorInputError as exc:
        raise _invalid(exc) from None


def list_sets(session: Session, who: Principal) -> list[IndicatorSetRow]:
    check_reader(who)
    rows = session.scalars(select(IndicatorSetRow).order_by(IndicatorSetRow.id))
    return [r for r in rows if visible_divisions(who, r.divisions)]


def get_set(session: Session, who: Principal, set_id: int) -> IndicatorSetRow:
    check_reader(who)
    row = session.get(IndicatorSetRow, set_id)
    if row is None or not visible_divisions(who, row.divisions):
        raise NotFound("指标集", "indicator set")
    return row


def default_set(session: Session, who: Principal) -> IndicatorSetRow | None:
    """The set of the reader's own city (the first whose divisions they cover)."""
    sets = list_sets(session, who)
    own = [s for s in sets if who.covers(s.division_code) or s.division_code.startswith(who.prefix)]
    return (own or sets or [None])[0]


def _row_values(ind: Indicator) -> dict[str, Any]:
    return {
        "key": ind.key,
        "name_zh": ind.name_zh,
        "name_en": ind.name_en,
        "unit": ind.unit,
        "source": ind.source,
        "formula": ind.formula.text,
        "direction": ind.direction,
        "period_start": ind.period_start,
        "period_end": ind.period_end,
        "base_year": ind.base_year,
        "base_value": _num(ind.base_value),
        "target_value": _num(ind.target.value),
        "target_change_percent": _num(ind.target.change_percent),
        "target_strict": ind.target.strict,
        "binding": ind.binding,
        "divisions": list(ind.divisions),
    }


@dataclass
class SetImport:
    set: IndicatorSetRow
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def import_set(session: Session, who: Principal, text: str, now: datetime) -> SetImport:
    """Create or replace a city's set from TOML text; every error named, nothing half-written."""
    try:
        parsed = load_set(text)
    except IndicatorInputError as exc:
        raise _invalid(exc) from None
    city_code = parsed.divisions[0]
    existing = session.scalar(select(IndicatorSetRow).where(IndicatorSetRow.city == parsed.city))
    _check_set_editor(who, existing, city_code)
    if existing is None:
        existing = IndicatorSetRow(
            city=parsed.city,
            imported_at=now,
            imported_by=who.username,
        )
        session.add(existing)
    before_head = _head(existing) if existing.id else None
    existing.name_zh, existing.name_en = parsed.name_zh, parsed.name_en
    existing.division_code, existing.divisions = city_code, list(parsed.divisions)
    existing.imported_at, existing.imported_by, existing.updated_at = now, who.username, now
    session.flush()
    result = SetImport(existing)
    old = {r.key: r for r in indicator_rows(session, existing.id)}
    changes: list[audit.Change] = []
    for pos, ind in enumerate(parsed.indicators):
        values = _row_values(ind)
        row = old.pop(ind.key, None)
        if row is None:
            row = IndicatorRow(set_id=existing.id, **values)
            session.add(row)
            result.created.append(ind.key)
            before = None
        else:
            before = _row_values_of(row)
            if before == values and row.position == pos:
                result.unchanged.append(ind.key)
                continue
            for k, v in values.items():
                setattr(row, k, v)
            result.updated.append(ind.key)
        row.position, row.updated_at, row.updated_by = pos, now, who.username
        changes.append(
            audit.Change("indicator", f"{parsed.city}/{ind.key}", "import", before, values)
        )
    for key, row in old.items():
        changes.append(
            audit.Change("indicator", f"{parsed.city}/{key}", "delete", _row_values_of(row), None)
        )
        session.delete(row)
        result.removed.append(key)
    changes.append(
        audit.Change("indicator_set", parsed.city, "import", before_head, _head(existing))
    )
    session.flush()
    audit.record_many(session, who.username, changes, now)
    return result


def _row_values_of(row: IndicatorRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "name_zh": row.name_zh,
        "name_en": row.name_en,
        "unit": row.unit,
        "source": row.source,
        "formula": row.formula,
        "direction": row.direction,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "base_year": row.base_year,
        "base_value": row.base_value,
        "target_value": row.target_value,
        "target_change_percent": row.target_change_percent,
        "target_strict": row.target_strict,
        "binding": row.binding,
        "divisions": list(row.divisions),
    }


EDITABLE = (
    "name_zh",
    "name_en",
    "unit",
    "source",
    "formula",
    "direction",
    "period_start",
    "period_end",
    "base_year",
    "base_value",
    "target_value",
    "target_change_percent",
    "target_strict",
    "binding",
    "divisions",
)


def get_indicator(session: Session, who: Principal, set_id: int, key: str) -> IndicatorRow:
    s = get_set(session, who, set_id)
    row = session.scalar(
        select(IndicatorRow).where(IndicatorRow.set_id == s.id, IndicatorRow.key == key)
    )
    if row is None:
        raise NotFound("指标", "indicator")
    return row


def update_indicator(
    session: Session,
    who: Principal,
    set_id: int,
    key: str,
    changes: Mapping[str, Any],
    now: datetime,
) -> IndicatorRow:
    """Edit one indicator; the edited definition is validated as the TOML would be."""
    s = get_set(session, who, set_id)
    _check_set_editor(who, s, s.division_code)
    row = get_indicator(session, who, set_id, key)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid(
            [FieldError(k, "该字段不可修改", "this field cannot be edited") for k in unknown]
        )
    before = _row_values_of(row)
    merged = {**before, **changes}
    probe = IndicatorRow(**{k: merged[k] for k in before})
    try:
        parsed = parse_set({"set": _head(s), "indicator": [_spec(probe)]})
    except IndicatorInputError as exc:
        raise _invalid(exc, "indicator[0].") from None
    values = _row_values(parsed.indicators[0])
    for k, v in values.items():
        setattr(row, k, v)
    row.updated_at, row.updated_by = now, who.username
    audit.record(
        session,
        actor=who.username,
        action="update",
        object_type="indicator",
        object_id=f"{s.city}/{key}",
        before=before,
        after=values,
        now=now,
    )
    session.flush()
    return row


# =========================================================================== statistics


def current_statistics(
    session: Session,
    inputs: Iterable[str],
    divisions: Iterable[str],
    years: Iterable[int],
) -> dict[tuple[str, str, int], Statistic]:
    stmt = select(Statistic).where(
        Statistic.input.in_(list(inputs)),
        Statistic.division_code.in_(list(divisions)),
        Statistic.year.in_(list(years)),
        Statistic.superseded_at.is_(None),
    )
    return {(s.input, s.division_code, s.year): s for s in session.scalars(stmt)}


@dataclass
class StatIn:
    division_code: str
    year: int
    input: str
    value: Any
    source: str = ""
    note: str = ""
    row: int | None = None


@dataclass
class StatImport:
    created: int = 0
    corrected: int = 0
    unchanged: int = 0
    flags: list[Flag] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "corrected": self.corrected,
            "unchanged": self.unchanged,
            "flags": [f.as_dict() for f in self.flags],
        }


DENOMINATORS = frozenset(
    {
        "resident_population",
        "gdp_100m_yuan",
        "vehicles_10k",
        "industry_mining_trade_workers",
        "forest_area_ha",
    }
)


def _validate_stats(
    session: Session, who: Principal, items: Sequence[StatIn], now: datetime
) -> list[tuple[StatIn, Fraction]]:
    if who.role not in STAT_WRITERS:
        raise Forbidden("当前角色无权录入统计数据", "your role may not record statistics")
    errors: list[FieldError] = []
    known = set(session.scalars(select(Division.code)))
    out: list[tuple[StatIn, Fraction]] = []
    seen: set[tuple[str, int, str]] = set()
    for it in items:

        def err(f: str, zh: str, en: str, it: StatIn = it) -> None:
            errors.append(FieldError(f, zh, en, it.row))

        if it.input not in INPUTS:
            err("input", f"未知输入 {it.input!r}", f"unknown input {it.input!r}")
            continue
        if it.division_code not in known:
            err(
                "division_code",
                f"区划代码 {it.division_code} 不存在",
                f"division {it.division_code} does not exist",
            )
            continue
        if not who.covers(it.division_code):
            raise Forbidden(
                f"区划 {it.division_code} 不在您的管辖范围内",
                f"division {it.division_code} is outside your scope",
            )
        if isinstance(it.year, bool) or not isinstance(it.year, int) or not 1949 <= it.year <= 2100:
            err("year", f"年份无效：{it.year!r}", f"invalid year {it.year!r}")
            continue
        if it.year > current_year(now):
            err("year", f"{it.year} 年尚未到来", f"{it.year} is in the future")
            continue
        label = INPUTS[it.input].zh
        v = exact(it.value)
        if v is None:
            err("value", f"{label}：不是数值（{it.value!r}）", f"{it.input}: not a number")
            continue
        if v < 0:
            err("value", f"{label}：不能为负数", f"{it.input}: cannot be negative")
            continue
        if v == 0 and it.input in DENOMINATORS:
            err("value", f"{label}：为零，不能作分母", f"{it.input}: zero cannot be a denominator")
            continue
        if not it.source.strip():
            err("source", "必须注明数据来源", "the source is required")
            continue
        key = (it.division_code, it.year, it.input)
        if key in seen:
            err("input", f"{label} 在同一文件中重复", f"{it.input} given twice for this year")
            continue
        seen.add(key)
        out.append((it, v))
    if errors:
        raise Invalid(errors)
    return out


def record_statistics(
    session: Session,
    who: Principal,
    items: Sequence[StatIn],
    now: datetime,
    demo: bool = False,
) -> StatImport:
    """Record values; a different value for a division, year and input is a correction (a new
    version, the old one kept and stamped). Implausible series are flagged with the reason."""
    checked = _validate_stats(session, who, items, now)
    report = StatImport()
    current = current_statistics(
        session,
        {it.input for it, _ in checked},
        {it.division_code for it, _ in checked},
        {it.year for it, _ in checked},
    )
    changes: list[audit.Change] = []
    for it, v in checked:
        old = current.get((it.input, it.division_code, it.year))
        text = _num(v) or "0"
        if old is not None and exact(old.value) == v:
            report.unchanged += 1
            continue
        version = 1
        before = None
        if old is not None:
            old.superseded_at, old.superseded_by = now, who.username
            version = old.version + 1
            before = {"value": old.value, "version": old.version, "source": old.source}
            report.corrected += 1
        else:
            report.created += 1
        session.add(
            Statistic(
                division_code=it.division_code,
                year=it.year,
                input=it.input,
                value=text,
                version=version,
                source=it.source.strip(),
                note=it.note,
                demo=demo,
                recorded_at=now,
                recorded_by=who.username,
            )
        )
        changes.append(
            audit.Change(
                "statistic",
                f"{it.division_code}/{it.year}/{it.input}",
                "correct" if old is not None else "record",
                before,
                {"value": text, "version": version, "source": it.source.strip()},
            )
        )
    session.flush()
    audit.record_many(session, who.username, changes, now)
    for d, name in sorted({(it.division_code, it.input) for it, _ in checked}):
        report.flags += series_flags(session, d, name)
    return report


def series_flags(session: Session, division: str, name: str) -> list[Flag]:
    if INPUTS[name].kind != "statistic" and name not in DENOMINATORS:
        return []
    rows = session.scalars(
        select(Statistic).where(
            Statistic.division_code == division,
            Statistic.input == name,
            Statistic.superseded_at.is_(None),
        )
    )
    return [
        Flag(f.input, f.year, f"{division} {f.reason_zh}", f"{division} {f.reason_en}")
        for f in check_series(name, {r.year: r.value for r in rows})
    ]


HEADERS = {
    "division_code": "division_code",
    "区划代码": "division_code",
    "行政区划代码": "division_code",
    "year": "year",
    "年份": "year",
    "source": "source",
    "来源": "source",
    "数据来源": "source",
    "note": "note",
    "备注": "note",
}


def parse_statistics_xlsx(content: bytes, default_source: str = "") -> list[StatIn]:
    """Rows of an XLSX sheet: 区划代码, 年份, one column per input (key or Chinese name),
    optional 来源 / 备注. Unknown columns are refused by name."""
    import io  # noqa: PLC0415 kept beside its one use

    from openpyxl import load_workbook  # noqa: PLC0415 openpyxl loaded only for an import

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 any unreadable file is the same answer
        raise Invalid(
            [FieldError("file", "不是有效的 XLSX 文件", "not a valid XLSX file")]
        ) from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if not header:
        raise Invalid([FieldError("file", "文件为空", "the file is empty")])
    by_zh = {spec.zh: k for k, spec in INPUTS.items()}
    cols: list[str | None] = []
    errors: list[FieldError] = []
    for h in header:
        name = str(h).strip() if h is not None else ""
        if not name:
            cols.append(None)
        elif name in HEADERS:
            cols.append(HEADERS[name])
        elif name in INPUTS:
            cols.append(name)
        elif name.split("（")[0].split("(")[0].strip() in by_zh:
            cols.append(by_zh[name.split("（")[0].split("(")[0].strip()])
        else:
            errors.append(FieldError(name, f"未知的列：{name}", f"unknown column: {name}", 1))
            cols.append(None)
    for need in ("division_code", "year"):
        if need not in cols:
            errors.append(FieldError(need, f"缺少列 {need}", f"column {need} is missing", 1))
    if errors:
        raise Invalid(errors)
    out: list[StatIn] = []
    for n, values in enumerate(rows, start=2):
        rec = {c: v for c, v in zip(cols, values, strict=False) if c}
        if all(v in (None, "") for v in rec.values()):
            continue
        division = str(rec.get("division_code") or "").strip()
        year_raw = rec.get("year")
        try:
            year = int(str(year_raw).strip().removesuffix("年"))
        except ValueError:
            year = year_raw  # refused with the row number by _validate_stats
        source = str(rec.get("source") or default_source or "").strip()
        note = str(rec.get("note") or "").strip()
        for c, v in rec.items():
            if c in INPUTS and v not in (None, ""):
                out.append(StatIn(division, year, c, v, source, note, n))  # type: ignore[arg-type]
    return out


def statistic_history(
    session: Session, who: Principal, division: str, year: int, name: str
) -> list[Statistic]:
    check_reader(who)
    if not who.covers(division):
        raise NotFound("统计数据", "statistic")
    stmt = select(Statistic).where(
        Statistic.division_code == division, Statistic.year == year, Statistic.input == name
    )
    return list(session.scalars(stmt.order_by(Statistic.version.desc())))


def _statistics_query(
    who: Principal, division: str | None, year: int | None, input_name: str | None = None
) -> Any:
    stmt = select(Statistic).where(
        Statistic.superseded_at.is_(None), code_within(Statistic.division_code, who.prefix)
    )
    if division:
        stmt = stmt.where(Statistic.division_code == division)
    if year:
        stmt = stmt.where(Statistic.year == year)
    if input_name:
        stmt = stmt.where(Statistic.input == input_name)
    return stmt


STAT_PAGE_SIZE = 50


@dataclass
class StatPage:
    items: list[Statistic]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def page_statistics(
    session: Session,
    who: Principal,
    *,
    division: str | None = None,
    within: str | None = None,
    year: int | None = None,
    input_name: str | None = None,
    page: int = 1,
    size: int = STAT_PAGE_SIZE,
) -> StatPage:
    """One page of the statistics in force in the reader's scope, newest year first; filtered
    by a division (``within``: it and the divisions inside it), a year and an input. An
    unknown input is 422; a page past the last shows the last."""
    check_reader(who)
    if input_name and input_name not in INPUTS:
        raise Invalid(
            [FieldError("input", f"未知输入 {input_name!r}", f"unknown input {input_name!r}")]
        )
    stmt = _statistics_query(who, division, year, input_name)
    if within:
        stmt = stmt.where(code_within(Statistic.division_code, division_prefix(within)))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    size = max(1, min(int(size), 500))
    last = max(1, -(-total // size))
    page = min(max(1, int(page)), last)
    items = session.scalars(
        stmt.order_by(Statistic.year.desc(), Statistic.division_code, Statistic.input)
        .offset((page - 1) * size)
        .limit(size)
    )
    return StatPage(list(items), total, page, size)


# =========================================================================== computing


@dataclass(frozen=True)
class InputUse:
    """One input of one figure: its value and where it came from, or why it is missing."""

    name: str
    value: Fraction | None
    origin: str  # statistic | records | missing
    note_zh: str
    note_en: str
    statistic_id: int | None = None
    version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        spec = INPUTS[self.name]
        return {
            "name": self.name,
            "label_zh": spec.zh,
            "label_en": spec.en,
            "unit": spec.unit,
            "value": None if self.value is None else float(self.value),
            "origin": self.origin,
            "note_zh": self.note_zh,
            "note_en": self.note_en,
            "version": self.version,
        }


@dataclass
class Cell:
    indicator: Indicator
    division: str
    year: int
    progress: Progress
    inputs: list[InputUse]
    base_value: Fraction | None
    flags: list[Flag] = field(default_factory=list)

    @property
    def missing(self) -> list[InputUse]:
        return [u for u in self.inputs if u.value is None]

    def as_dict(self) -> dict[str, Any]:
        p = self.progress.as_dict()
        zh, en = p["explanation_zh"], p["explanation_en"]
        if self.missing:
            zh = "无法计算：缺少 " + "；".join(
                f"{INPUTS[u.name].zh}（{u.note_zh}）" for u in self.missing
            )
            en = "cannot compute: missing " + "; ".join(
                f"{u.name} ({u.note_en})" for u in self.missing
            )
        return {
            **p,
            "division": self.division,
            "explanation_zh": zh,
            "explanation_en": en,
            "base_value": None if self.base_value is None else float(self.base_value),
            "inputs": [u.as_dict() for u in self.inputs],
            "missing": [u.name for u in self.missing],
            "flags": [f.as_dict() for f in self.flags],
        }


@dataclass
class Evaluation:
    set: IndicatorSetRow
    definitions: IndicatorSet
    divisions: list[str]
    years: list[int]
    cells: dict[tuple[str, str, int], Cell]
    division_names: dict[str, str]

    def cell(self, key: str, division: str, year: int) -> Cell | None:
        return self.cells.get((key, division, year))


class Inputs:
    """Every input value needed, fetched in bulk: statistics first, then the record sources."""

    def __init__(
        self,
        session: Session,
        names: set[str],
        divisions: Sequence[str],
        years: Sequence[int],
        now: datetime,
    ) -> None:
        self.now = now
        self.this_year = current_year(now)
        self.stats = current_statistics(session, names, divisions, years)
        self.platform: dict[tuple[str, str, int], Fraction] = {}
        self.sources: dict[str, sources.Source | None] = {}
        wanted: dict[str, sources.Source] = {}
        for n in names:
            src = sources.source_for(n) if INPUTS[n].kind == "platform" else None
            self.sources[n] = src
            if src is not None and src.available():
                wanted[src.name] = src
        self.failed: dict[str, str] = {}
        for src in wanted.values():
            try:
                with session.begin_nested():  # a failing source must not abort the rest
                    self.platform.update(src.values(session, divisions, years, now))
            except SQLAlchemyError as exc:
                self.failed[src.name] = type(exc).__name__
        self._exact: dict[int, Fraction | None] = {}
        self._uses: dict[tuple[str, str, int], InputUse] = {}
        self.flags: dict[tuple[str, str], list[Flag]] = {}
        by_series: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
        for (i, dd, y), st in self.stats.items():
            by_series[i, dd][y] = st.value
        for n in names:
            if INPUTS[n].kind != "statistic":
                continue
            for d in divisions:
                series = by_series.get((n, d))
                self.flags[n, d] = (
                    [f for f in check_series(n, series) if f.year in years] if series else []
                )

    def use(self, name: str, division: str, year: int) -> InputUse:
        """The input's value for one division and year, and where it came from (built once:
        indicators sharing an input share the answer)."""
        key = (name, division, year)
        found = self._uses.get(key)
        if found is None:
            found = self._uses[key] = self._use(name, division, year)
        return found

    def _use(self, name: str, division: str, year: int) -> InputUse:
        st = self.stats.get((name, division, year))
        label = INPUTS[name].zh
        if st is not None:
            value = self._exact.get(st.id)
            if value is None:  # parsed once, not for every figure that reads it
                value = self._exact[st.id] = exact(st.value)
            return InputUse(
                name,
                value,
                "statistic",
                f"统计录入 v{st.version}，来源：{st.source}" + ("（演示数据）" if st.demo else ""),
                f"recorded statistic v{st.version}, source: {st.source}"
                + (" (demo data)" if st.demo else ""),
                st.id,
                st.version,
            )
        if INPUTS[name].kind == "statistic":
            return InputUse(
                name,
                None,
                "missing",
                f"{division} {year}年{label}未录入",
                f"{name} of {division} for {year} not recorded",
            )
        src = self.sources.get(name)
        if src is None or not src.available():
            zh, en = (src.why_unavailable if src else ("", "")) or ("", "")
            return InputUse(
                name,
                None,
                "missing",
                f"来源未接入：{src.zh if src else '无'}" + (f"；{zh}" if zh else ""),
                f"source not connected: {src.en if src else 'none'}" + (f"; {en}" if en else ""),
            )
        if src.name in self.failed:
            return InputUse(
                name,
                None,
                "missing",
                f"来源读取失败：{src.zh}（{self.failed[src.name]}，数据表可能尚未迁移）",
                f"source failed: {src.en} ({self.failed[src.name]}; tables may not be migrated)",
            )
        if src.stock and year != self.this_year:
            return InputUse(
                name,
                None,
                "missing",
                f"平台只有当前（{self.this_year}年）数据，{year}年须录入统计值",
                f"the platform knows only the present ({self.this_year}); record {year} as a "
                "statistic",
            )
        v = self.platform.get((name, division, year))
        if v is None:
            return InputUse(
                name, None, "missing", f"{src.zh}无{year}年数据", f"{src.en} has no {year} data"
            )
        return InputUse(name, v, "records", f"平台记录：{src.zh}", f"platform records: {src.en}")


def _evaluate_one(
    ind: Indicator, division: str, year: int, data: Inputs, base_value: Fraction | None
) -> Cell:
    uses = [data.use(n, division, year) for n in sorted(ind.formula.inputs)]
    values = {u.name: u.value for u in uses if u.value is not None}
    computed = ind.formula.evaluate(values)
    progress = assess(ind, computed, year, base_value=base_value)
    flags = [
        f for n in ind.formula.inputs for f in data.flags.get((n, division), []) if f.year == year
    ]
    return Cell(ind, division, year, progress, uses, base_value, flags)


def _base(ind: Indicator, division: str, data: Inputs) -> Fraction | None:
    if ind.base_value is not None:
        return ind.base_value
    if ind.base_year is None:
        return None
    uses = [data.use(n, division, ind.base_year) for n in ind.formula.inputs]
    return ind.formula.evaluate({u.name: u.value for u in uses if u.value is not None}).value


def parse_years(years: Sequence[int] | None, defs: IndicatorSet, now: datetime) -> list[int]:
    if years:
        ys = sorted(set(years))
        if len(ys) > MAX_YEARS or ys[0] < 1949 or ys[-1] > 2100:
            raise Invalid(
                [
                    FieldError(
                        "year", "年份范围无效", f"years must be 1949–2100, at most {MAX_YEARS}"
                    )
                ]
            )
        return ys
    start = min((i.base_year or i.period_start) for i in defs) if defs.indicators else 2020
    end = max(max(i.period_end for i in defs) if defs.indicators else 2025, current_year(now))
    return list(range(start, min(end, current_year(now)) + 1))


def evaluate(
    session: Session,
    who: Principal,
    set_id: int,
    now: datetime,
    years: Sequence[int] | None = None,
    division: str | None = None,
    keys: Sequence[str] | None = None,
    with_names: bool = True,
) -> Evaluation:
    """Every indicator of the set for every division the reader covers (or one) and year
    (``with_names``: with the divisions' names, which the wall does not show)."""
    row = get_set(session, who, set_id)
    defs = definitions(session, row)
    divisions = visible_divisions(who, row.divisions)
    if division:
        if division not in row.divisions:
            raise Invalid(
                [FieldError("division", "该区划不在指标集内", "division not in this set")]
            )
        if division not in divisions:
            raise NotFound("区划", "division")
        divisions = [division]
    ys = parse_years(years, defs, now)
    inds = [i for i in defs if not keys or i.key in keys]
    base_years = {i.base_year for i in inds if i.base_year is not None}
    names = {n for i in inds for n in i.formula.inputs}
    data = Inputs(session, names, divisions, sorted(set(ys) | base_years), now)
    cells: dict[tuple[str, str, int], Cell] = {}
    for ind in inds:
        for d in divisions:
            if not ind.applies_to(d):
                continue
            base = _base(ind, d, data)
            for y in ys:
                cells[ind.key, d, y] = _evaluate_one(ind, d, y, data, base)
    names_map = (
        {
            code: name
            for code, name in session.execute(
                select(Division.code, Division.name).where(Division.code.in_(row.divisions))
            )
        }
        if with_names
        else {}
    )
    return Evaluation(row, defs, divisions, ys, cells, names_map)


@dataclass
class Drill:
    cell: Cell
    records: dict[str, list[sources.Record]]
    history: dict[str, list[Statistic]]


def drill_down(
    session: Session,
    who: Principal,
    set_id: int,
    key: str,
    division: str,
    year: int,
    now: datetime,
) -> Drill:
    """One figure and the records (or statistic versions) behind each of its inputs."""
    ev = evaluate(session, who, set_id, now, years=[year], division=division, keys=[key])
    cell = ev.cell(key, division, year)
    if cell is None:
        raise NotFound("指标", "indicator")
    records: dict[str, list[sources.Record]] = {}
    history: dict[str, list[Statistic]] = {}
    for u in cell.inputs:
        if u.origin == "records":
            src = sources.source_for(u.name)
            records[u.name] = src.records(session, u.name, division, year, now) if src else []
        elif u.origin == "statistic":
            history[u.name] = statistic_history(session, who, division, year, u.name)
    return Drill(cell, records, history)


def summary(ev: Evaluation, year: int) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for (_, _, y), c in ev.cells.items():
        if y == year:
            out[c.progress.status] += 1
    return dict(out)


def scope_label(session: Session, code: str) -> str:
    d = session.get(Division, code)
    return f"{code} {d.name}" if d else code


def prefix_of(code: str) -> str:
    return division_prefix(code)
