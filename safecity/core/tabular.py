"""Tabular exchange for every kind: import XLSX/CSV/GeoJSON (validated, all-or-nothing), export.

Public helpers (``read_table``, ``convert``, ``field_types``, ``xlsx`` …) are what capabilities
with their own import shapes (risk points, sensors) build on.
"""

from __future__ import annotations

import csv
import io as _io
import json
import re
import types
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, Union, get_args, get_origin

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from safecity.core import audit, events
from safecity.core import kinds_service as service
from safecity.core.clock import BEIJING
from safecity.core.errors import FieldError, Forbidden, Invalid
from safecity.core.kinds import Kind, Saving
from safecity.core.scope import Principal
from safecity.core.sql import refresh_statistics

MAX_ROWS = 200_000
MAX_COLUMNS = 200
MAX_HEADER_CHARS = 200
MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_XLSX_MEMBERS = 10_000
MAX_REPORTED_ERRORS = 1000
_IN_CHUNK = 500  # keys per IN (...) query when loading existing objects
_ANALYZE_AFTER = 1000  # rows inserted at once after which PostgreSQL statistics are refreshed

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA = "text/csv; charset=utf-8"
GEOJSON_MEDIA = "application/geo+json"

# Bookkeeping columns accepted on import and ignored, like the kind's derived export columns
# (id where matching is by natural key, industry_section, level).
_IGNORED_COLUMNS = ("archived", "updated_at", "created_at")
_TRUE = {"是", "true", "1", "yes", "y", "t", "√", "✓", "对"}
_FALSE = {"否", "false", "0", "no", "n", "f", "×", "✗", "错"}
# Spreadsheet-formula prefixes neutralised on CSV export with a leading apostrophe (OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_WGS84_CRS = ("crs84", "4326", "4490", "wgs84", "wgs 84")


@dataclass
class ImportReport:
    ok: bool
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    dry_run: bool = False
    credentials: list[dict[str, Any]] = field(default_factory=list)  # shown this once

    def as_dict(self) -> dict[str, Any]:
        return {
            "credentials": list(self.credentials),
            "ok": self.ok,
            "total_rows": self.total_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "error_count": self.error_count,
            "dry_run": self.dry_run,
            "errors": list(self.errors),
        }


def file_error(zh: str, en: str) -> Invalid:
    return Invalid([FieldError("file", f"文件：{zh}", f"file: {en}")])


# ---------------------------------------------------------------------------------------------
# Columns and cell values
# ---------------------------------------------------------------------------------------------


def norm_header(text: str) -> str:
    text = text.replace("\ufeff", "").replace("（", "(").replace("）", ")").strip()
    text = text.rstrip("*＊").strip()
    return re.sub(r"\s+", " ", text).lower()


def field_types(kind: Kind) -> dict[str, str]:
    """Input field → "str" | "int" | "float" | "bool" | "dict" | "list", from the Pydantic
    schema; a nested list (a unit's substances) is one cell of JSON text."""
    out: dict[str, str] = {}
    for name, info in kind.schema.model_fields.items():
        ann: Any = info.annotation
        if get_origin(ann) in (Union, types.UnionType):
            ann = next((a for a in get_args(ann) if a is not type(None)), str)
        if get_origin(ann) is dict or ann is dict:
            out[name] = "dict"
        elif get_origin(ann) is list or ann is list:
            out[name] = "list"
        elif ann in (bool, int, float):
            out[name] = ann.__name__
        else:
            out[name] = "str"
    return out


def header_map(kind: Kind) -> dict[str, str]:
    """Every accepted spelling of a header (key, Chinese label, English label) → column."""
    names = list(kind.schema.model_fields) + [
        c for c in kind.columns if c not in kind.schema.model_fields
    ]
    names += [c for c in _IGNORED_COLUMNS if c not in names]
    out: dict[str, str] = {}
    for name in names:
        zh, en = kind.label(name)
        for spelling in (name, zh, en):
            out.setdefault(norm_header(spelling), name)
    return out


def _map_headers(kind: Kind, headers: list[Any]) -> list[str | None]:
    """Header cells → column names (None for blank headers); unknown/duplicate → file error."""
    if len([h for h in headers if h not in (None, "")]) > MAX_COLUMNS:
        raise file_error(f"列数超过 {MAX_COLUMNS} 列上限", f"more than {MAX_COLUMNS} columns")
    known = header_map(kind)
    has_geometry = "geometry" in kind.schema.model_fields
    out: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for raw in headers:
        text = "" if raw is None else str(raw)
        if not text.strip():
            out.append(None)
            continue
        name = known.get(norm_header(text[:MAX_HEADER_CHARS]))
        if name is None or (name == "geometry" and not has_geometry):
            unknown.append(text.strip()[:50])
            out.append(None)
            continue
        if name in seen:
            raise file_error(
                f"表头“{seen[name]}”与“{text.strip()}”重复",
                f"headers {seen[name]!r} and {text.strip()!r} are the same column",
            )
        seen[name] = text.strip()
        out.append(name)
    if unknown:
        accepted = "、".join(kind.label(c)[0] for c in template_columns(kind))
        raise file_error(
            f"无法识别的表头：{'、'.join(unknown[:10])}（可用的列：{accepted}）",
            f"unknown headers: {', '.join(unknown[:10])}",
        )
    if not any(out):
        raise file_error("第1行应为表头", "row 1 must hold the column headers")
    return out


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets turn codes into floats: 370602.0 → "370602"
    return repr(value) if isinstance(value, float) else str(value)


def convert(ftype: str, value: Any) -> Any:
    """One cell → the value handed to the schema (which reports what is still wrong)."""
    if isinstance(value, str):
        value = value.strip()
    if ftype == "str":
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, int | float):
            return number_text(value)
        if isinstance(value, datetime | date | time):
            return value.isoformat()
        return value  # str, or a JSON object/list the schema rejects as "应为文本"
    if ftype == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+\.0*", value):
            return int(float(value))
        return value
    if ftype == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return value  # the schema answers "应为是/否"
    if ftype in ("dict", "list") and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # the schema answers "格式应为对象"
    return value


# ---------------------------------------------------------------------------------------------
# Readers: each yields (row number as the user sees it, {column: raw value})
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    number: int
    cells: dict[str, Any]
    errors: list[FieldError] = field(default_factory=list)


def _tabular_rows(
    kind: Kind, rows: Iterable[tuple[Any, ...] | list[Any]], *, unquote: bool
) -> tuple[list[str], list[Row]]:
    """Header in row 1, data from row 2; numbers are the sheet's own, blank rows skipped.

    Tolerated before the header: blank rows and one title row (a single cell such as
    "2026年企业名单"), as government spreadsheets often have.
    """
    header: list[str | None] | None = None
    title_allowed = True
    known = header_map(kind)
    out: list[Row] = []
    number = 0
    for raw in rows:
        number += 1
        if header is None:
            filled = [v for v in raw if not is_blank(v)]
            if not filled:
                continue
            if (
                len(filled) == 1
                and title_allowed
                and norm_header(str(filled[0])[:MAX_HEADER_CHARS]) not in known
            ):
                title_allowed = False
                continue
            header = _map_headers(kind, list(raw))
            continue
        if all(is_blank(v) for v in raw):
            continue
        if len(out) >= MAX_ROWS:
            raise file_error(f"数据行超过 {MAX_ROWS} 行上限", f"more than {MAX_ROWS} data rows")
        row = Row(number, {})
        for i, value in enumerate(raw):
            name = header[i] if i < len(header) else None
            if name is None:
                if not is_blank(value):
                    row.errors.append(
                        FieldError(
                            "",
                            f"第{i + 1}列有数据但没有表头",
                            f"column {i + 1} has data but no header",
                            number,
                        )
                    )
                continue
            if (
                unquote
                and isinstance(value, str)
                and value[:1] == "'"
                and value[1:2] in _FORMULA_START
            ):
                value = value[1:]  # undo the formula guard our CSV export adds
            row.cells[name] = value
        out.append(row)
    if header is None:
        raise file_error("文件为空或没有表头行", "the file is empty or has no header row")
    return [h for h in header if h], out


def _read_xlsx(kind: Kind, content: bytes) -> tuple[list[str], list[Row]]:
    try:
        with zipfile.ZipFile(_io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise file_error("不是有效的 Excel (.xlsx) 文件", "not a valid Excel .xlsx file") from None
    if len(members) > MAX_XLSX_MEMBERS or sum(m.file_size for m in members) > MAX_XLSX_UNCOMPRESSED:
        raise file_error("解压后超过 200 MB，拒绝处理", "larger than 200 MB uncompressed; refused")
    from openpyxl import load_workbook  # noqa: PLC0415 openpyxl loaded only when a workbook is read or written

    workbook = None
    try:
        workbook = load_workbook(_io.BytesIO(content), read_only=True, data_only=True)
        sheets = workbook.worksheets
        if not sheets:
            raise file_error("工作簿中没有工作表", "the workbook has no worksheet")
        sheet = sheets[0]
        sheet.reset_dimensions()  # the stored dimension may be wrong or absurdly large
        return _tabular_rows(kind, sheet.iter_rows(values_only=True), unquote=False)
    except Invalid:
        raise
    except Exception:  # noqa: BLE001  # openpyxl raises KeyError, ValueError, XML errors… on junk
        raise file_error(
            "不是有效的 Excel (.xlsx) 文件或文件已损坏",
            "not a valid Excel .xlsx file or it is damaged",
        ) from None
    finally:
        if workbook is not None:
            workbook.close()


def _decode_text(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Chinese Excel saves CSV in the ANSI code page, GBK, which GB18030 contains.
    return content.decode("gb18030")


def _read_csv(kind: Kind, content: bytes) -> tuple[list[str], list[Row]]:
    try:
        text = _decode_text(content)
    except UnicodeError:
        raise file_error(
            "无法识别的文本编码（应为 UTF-8 或 GB18030）",
            "unknown text encoding (expected UTF-8 or GB18030)",
        ) from None
    first = text.split("\n", 1)[0]
    delimiter = "," if "," in first else "\t" if "\t" in first else ";" if ";" in first else ","
    try:
        reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter)
        return _tabular_rows(kind, reader, unquote=True)
    except csv.Error as exc:
        raise file_error(f"CSV 格式错误（{exc}）", f"malformed CSV ({exc})") from None


def _read_geojson(kind: Kind, content: bytes) -> tuple[list[str], list[Row]]:
    try:
        data = json.loads(_decode_text(content))
    except (UnicodeError, ValueError, RecursionError):
        raise file_error("不是有效的 GeoJSON", "not valid GeoJSON") from None
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise file_error(
            "GeoJSON 顶层应为 FeatureCollection", "GeoJSON must be a FeatureCollection"
        )
    crs = data.get("crs")
    if isinstance(crs, dict):
        name = str((crs.get("properties") or {}).get("name", "")).lower()
        if name and not any(tag in name for tag in _WGS84_CRS):
            raise file_error(
                f"坐标系应为 WGS-84 经纬度，而不是 {name[:60]}",
                f"coordinates must be WGS-84 longitude/latitude, not {name[:60]}",
            )
    features = data["features"]
    if len(features) > MAX_ROWS:
        raise file_error(f"要素超过 {MAX_ROWS} 个上限", f"more than {MAX_ROWS} features")
    names: list[str] = []
    seen: set[str] = set()
    for feature in features:
        props = feature.get("properties") if isinstance(feature, dict) else None
        if isinstance(props, dict):
            for key in props:
                if key not in seen:
                    seen.add(key)
                    names.append(key)
    mapped = dict(zip(names, _map_headers(kind, names) if names else [], strict=True))
    has_geometry = "geometry" in kind.schema.model_fields
    columns = [v for v in mapped.values() if v]
    out: list[Row] = []
    for number, feature in enumerate(features, start=1):
        row = Row(number, {})
        out.append(row)
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            row.errors.append(
                FieldError("", "不是有效的 GeoJSON Feature", "not a GeoJSON Feature", number)
            )
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            row.errors.append(
                FieldError("", "properties 应为对象", "properties must be an object", number)
            )
            continue
        for key, value in props.items():
            if mapped.get(key):
                row.cells[mapped[key]] = value
        geometry = feature.get("geometry")
        if geometry is None:
            continue
        gtype = geometry.get("type") if isinstance(geometry, dict) else None
        if gtype == "Point":
            coords = geometry.get("coordinates")
            if (
                isinstance(coords, list)
                and len(coords) in (2, 3)
                and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
            ):
                row.cells["lon"], row.cells["lat"] = coords[0], coords[1]
                if "lon" not in columns:
                    columns += ["lon", "lat"]
            else:
                row.errors.append(
                    FieldError(
                        "geometry",
                        "几何图形：点坐标无效",
                        "geometry: invalid point coordinates",
                        number,
                    )
                )
        elif has_geometry:
            row.cells["geometry"] = geometry  # the schema checks type, validity and range
            if "geometry" not in columns:
                columns.append("geometry")
        else:
            row.errors.append(
                FieldError(
                    "geometry",
                    f"几何图形：{kind.zh}只接受点(Point)几何",
                    f"geometry: {kind.en.lower()} accepts Point geometry only",
                    number,
                )
            )
    return list(dict.fromkeys(columns)), out


def read_table(kind: Kind, filename: str, content: bytes) -> tuple[list[str], list[Row]]:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext == "xlsx":
        return _read_xlsx(kind, content)
    if ext == "csv":
        return _read_csv(kind, content)
    if ext in ("geojson", "json"):
        return _read_geojson(kind, content)
    if ext in ("xls", "et", "wps"):
        raise file_error(
            "不支持旧版 .xls 格式，请在 Excel/WPS 中另存为 .xlsx",
            "old .xls is not supported; save as .xlsx",
        )
    raise file_error("格式应为 .xlsx、.csv 或 .geojson", "format must be .xlsx, .csv or .geojson")


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    row: int
    values: dict[str, Any]
    obj: Any  # existing object to update, or None to create


def _match_key(kind: Kind) -> str | None:
    """Which column identifies an existing object: the natural key, else the id."""
    if kind.natural_key:
        return kind.natural_key
    return "id" if kind.key == "id" else None


def _normal_key(kind: Kind, column: str, value: Any) -> Any:
    if is_blank(value):
        return None
    if column == "id":
        try:
            return int(number_text(value) if isinstance(value, float) else str(value).strip())
        except ValueError:
            return None
    text = number_text(value) if isinstance(value, int | float) else str(value).strip()
    if column == kind.division_field and text.endswith(".0"):
        text = text[:-2]
    return text


def _load_existing(session: Session, kind: Kind, column: str, keys: set[Any]) -> dict[Any, Any]:
    """Existing objects (archived included) whose key appears in the file, in few queries."""
    found: dict[Any, Any] = {}
    col = getattr(kind.model, column)
    ordered = sorted(keys, key=str)
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        for obj in session.scalars(select(kind.model).where(col.in_(chunk))):
            found[getattr(obj, column)] = obj
    return found


def row_errors(errors: list[FieldError], row: int) -> list[FieldError]:
    out = []
    for e in errors:
        zh, en, name = e.zh, e.en, e.field
        if name == "body":  # model-level checks (e.g. lon/lat together) have no field
            zh, en, name = zh.removeprefix("body："), en.removeprefix("body: "), ""
        out.append(FieldError(name, zh, en, row))
    return out


def _validate_rows(
    session: Session,
    principal: Principal,
    kind: Kind,
    columns: list[str],
    rows: list[Row],
    now: datetime,
) -> tuple[list[_Plan], dict[int, list[FieldError]]]:
    """Everything short of writing: schema, references, scope, duplicates. No side effects."""
    ftypes = field_types(kind)
    fields = kind.schema.model_fields
    present = [c for c in dict.fromkeys(columns) if c in fields]
    match = _match_key(kind)
    errors: dict[int, list[FieldError]] = defaultdict(list)
    for row in rows:
        if row.errors:
            errors[row.number].extend(row.errors)

    keys = {k for r in rows if match and (k := _normal_key(kind, match, r.cells.get(match)))}
    existing = _load_existing(session, kind, match, keys) if match and keys else {}
    known = service.division_codes(session) if kind.division_must_exist else None

    def prepare(row: Row, obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = {}
        blank_required: list[str] = []
        for name in present:
            raw = row.cells.get(name)
            if is_blank(raw):
                if fields[name].is_required():
                    blank_required.append(name)
                else:
                    data[name] = fields[name].get_default(call_default_factory=True)
            else:
                data[name] = convert(ftypes[name], raw)
        # Columns absent from the file keep their stored values; blank cells mean "empty".
        merged = {f: getattr(obj, f) for f in fields} if obj is not None else {}
        merged.update(data)
        for name in blank_required:
            merged.pop(name, None)  # so the schema says "为必填项" even on an update
        valid = service.validate(kind, merged, row=row.number)
        try:
            return service.prepare(kind, valid, Saving(session, principal, obj, now))
        except Invalid as exc:  # the kind's own checks name the row too
            raise Invalid([replace(e, row=row.number) for e in exc.errors]) from None

    plans: list[_Plan] = []
    for row in rows:
        if row.errors:
            continue
        obj = None
        guess = _normal_key(kind, match, row.cells.get(match)) if match else None
        if match == "id" and not is_blank(row.cells.get("id")):
            obj = existing.get(guess) if guess is not None else None
            if obj is None or not service.visible(principal, kind, obj, session):
                shown = row.cells.get("id")
                errors[row.number].append(
                    FieldError(
                        "id",
                        f"编号：{shown} 不存在或不在您的管辖范围内",
                        f"id: {shown} does not exist or is outside your jurisdiction",
                        row.number,
                    )
                )
                continue
        elif kind.natural_key and guess is not None:
            obj = existing.get(guess)
        try:
            values = prepare(row, obj)
            if kind.natural_key and obj is None:
                key = values[kind.natural_key]
                if key != guess and key not in existing:
                    # the schema normalised the key otherwise than our guess: look it up once
                    existing.update(_load_existing(session, kind, kind.natural_key, {key}))
                obj = existing.get(key)
                if obj is not None:
                    values = prepare(row, obj)
        except Invalid as exc:
            errors[row.number].extend(row_errors(exc.errors, row.number))
            continue
        if known is not None and values.get(kind.division_field) not in known:
            code = values.get(kind.division_field)
            zh, en = kind.label(kind.division_field)
            errors[row.number].append(
                FieldError(
                    kind.division_field,
                    f"{zh}：{code} 不存在",
                    f"{en}: {code} does not exist",
                    row.number,
                )
            )
            continue
        if kind.check_references is not None:
            found = kind.check_references(session, values, row.number)
            if found:
                errors[row.number].extend(row_errors(found, row.number))
                continue
        try:
            service.check_write(principal, kind, values, obj, session)
        except Forbidden as exc:
            column = kind.division_field
            errors[row.number].append(FieldError(column, exc.zh, exc.en, row.number))
            continue
        plans.append(_Plan(row.number, values, obj))

    # The same object twice in one file: which row should win is unknowable, so neither does.
    if kind.natural_key or match:
        groups: dict[Any, list[_Plan]] = defaultdict(list)
        for plan in plans:
            ident = plan.values[kind.natural_key] if kind.natural_key else plan.obj and plan.obj.id
            if ident is not None:
                groups[ident].append(plan)
        dup_rows: set[int] = set()
        column = kind.natural_key or "id"
        zh_label, en_label = kind.label(column)
        for ident, group in groups.items():
            if len(group) < 2:
                continue
            numbers = "、".join(str(p.row) for p in group)
            for plan in group:
                dup_rows.add(plan.row)
                errors[plan.row].append(
                    FieldError(
                        column,
                        f"{zh_label}：{ident} 在文件中重复出现（第{numbers}行）",
                        f"{en_label}: {ident} appears more than once in the file (rows {numbers})",
                        plan.row,
                    )
                )
        plans = [p for p in plans if p.row not in dup_rows]
    return plans, dict(errors)


class _Inserted:
    """Attribute view of a row just bulk-inserted, so service.to_dict describes it as stored."""

    def __init__(self, kind: Kind, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        if "division_code" not in values:
            self.division_code = values.get(kind.division_field)


def _write(
    session: Session,
    principal: Principal,
    kind: Kind,
    plans: list[_Plan],
    now: datetime,
    credentials: list[dict[str, Any]] | None = None,
) -> tuple[int, int, int]:
    """Insert new objects in batches, update changed ones, audit both; unchanged rows untouched.

    A kind with a ``credential`` gets one per new object, appended to ``credentials``.
    """
    new_rows: list[dict[str, Any]] = []
    secrets: list[str] = []
    updates: list[tuple[Any, str, dict[str, Any] | None]] = []
    unchanged = 0
    for plan in plans:
        if plan.obj is None:
            values = dict(plan.values)
            for name, value in (("archived", False), ("updated_at", now), ("created_at", now)):
                if hasattr(kind.model, name):
                    values[name] = value
            if kind.credential is not None:
                stored, secret = kind.credential.issue()
                values.update(stored)
                secrets.append(secret)
            new_rows.append(values)
            continue
        obj = plan.obj
        changed = {k: v for k, v in plan.values.items() if getattr(obj, k) != v}
        if not changed:
            unchanged += 1
            continue
        before = service.snapshot(kind, obj)
        for name, value in changed.items():
            setattr(obj, name, value)
        if hasattr(kind.model, "updated_at"):
            obj.updated_at = now
        updates.append((obj, "update", before))
    created: list[tuple[Any, str, dict[str, Any] | None]] = []
    if new_rows:
        if kind.key == "id" and kind.natural_key:
            # Multi-row INSERT … RETURNING in batches; ids matched back by the unique natural
            # key, which spares the row-at-a-time fallback strict ordering needs on SQLite.
            nk = kind.natural_key
            stmt = insert(kind.model).returning(kind.model.id, getattr(kind.model, nk))
            ids = {key: new_id for new_id, key in session.execute(stmt, new_rows)}
            for values in new_rows:
                values["id"] = ids[values[nk]]
        elif kind.key == "id":
            stmt = insert(kind.model).returning(kind.model.id, sort_by_parameter_order=True)
            ids_in_order = list(session.scalars(stmt, new_rows))
            for values, new_id in zip(new_rows, ids_in_order, strict=True):
                values["id"] = new_id
        else:
            session.execute(insert(kind.model), new_rows)
        created = [(_Inserted(kind, values), "create", None) for values in new_rows]
        if kind.credential is not None and credentials is not None:
            ident = kind.natural_key or kind.key
            credentials.extend(
                {ident: values[ident], kind.credential.field: secret}
                for values, secret in zip(new_rows, secrets, strict=True)
            )
        if len(new_rows) >= _ANALYZE_AFTER:
            # After a bulk load the planner still believes the table small: PostgreSQL then
            # seq-scans the next import's key lookups (15 s per 20k-row re-import) and SQLite
            # pages through the name index instead of the division range.
            refresh_statistics(session, kind.model.__tablename__)
    session.flush()
    _audit_many(session, principal, kind, created + updates, now)
    return len(created), len(updates), unchanged


def _audit_many(
    session: Session,
    principal: Principal,
    kind: Kind,
    changes: list[tuple[Any, str, dict[str, Any] | None]],
    now: datetime,
) -> None:
    """What service.record does per object, with one audit-chain head update for all."""
    if not changes:
        return
    audit.record_many(
        session,
        principal.username,
        [
            audit.Change(
                kind.name,
                getattr(obj, kind.key),
                action,
                before,
                service.snapshot(kind, obj),
            )
            for obj, action, before in changes
        ],
        now,
    )
    for obj, action, _before in changes:
        events.publish(
            events.ObjectChanged(
                now, kind.name, str(getattr(obj, kind.key)), action, obj.division_code
            )
        )


def import_file(
    session: Session,
    principal: Principal,
    kind: Kind,
    filename: str,
    content: bytes,
    now: datetime,
    *,
    valid_only: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Create or update objects from an uploaded file.

    All-or-nothing unless valid_only: any row error raises Invalid with every row's errors
    and nothing is written. valid_only writes the valid rows and reports the rest; dry_run
    writes nothing and reports what would happen (errors included, without raising).
    File-level problems always raise Invalid on field "file".
    """
    if not kind.may_write(principal):
        raise Forbidden("当前角色无权导入" + kind.zh, f"your role may not import {kind.en}")
    if kind.exchange is not None:
        return kind.exchange.import_file(  # type: ignore[no-any-return]
            session, principal, filename, content, now, valid_only=valid_only, dry_run=dry_run
        )
    columns, rows = read_table(kind, filename or "", content)
    if not rows:
        raise file_error("没有数据行", "no data rows")
    plans, errors = _validate_rows(session, principal, kind, columns, rows, now)
    flat = [e for number in sorted(errors) for e in errors[number]]
    report = ImportReport(
        ok=not flat,
        total_rows=len(rows),
        skipped=len(errors),
        error_count=len(flat),
        dry_run=dry_run,
    )
    shown = flat[:MAX_REPORTED_ERRORS]
    if len(flat) > len(shown):
        more = len(flat) - len(shown)
        shown.append(
            FieldError("file", f"另有 {more} 个错误未列出", f"{more} more errors not shown", 0)
        )
    report.errors = [
        {
            "row": e.row if e.row is not None else 0,
            "column": e.field,
            "message": e.zh,
            "message_en": e.en,
        }
        for e in shown
    ]
    if flat and not valid_only and not dry_run:
        raise Invalid(shown)  # nothing was added to the session: no pending writes
    if dry_run:
        report.created = sum(1 for p in plans if p.obj is None)
        changed = sum(
            1
            for p in plans
            if p.obj is not None and any(getattr(p.obj, k) != v for k, v in p.values.items())
        )
        report.updated = changed
        report.unchanged = len(plans) - report.created - changed
        return report
    report.created, report.updated, report.unchanged = _write(
        session, principal, kind, plans, now, report.credentials
    )
    return report


# ---------------------------------------------------------------------------------------------
# Export and template
# ---------------------------------------------------------------------------------------------


def _flat_columns(kind: Kind) -> list[str]:
    return list(kind.columns)


def template_columns(kind: Kind) -> list[str]:
    fields = kind.schema.model_fields
    cols = [c for c in kind.columns if c in fields]
    return cols + [f for f in fields if f not in cols and f != "geometry"]


def xlsx_safe(value: Any) -> Any:
    """A stored text without the control characters XML 1.0 (so XLSX) cannot hold: an export
    never fails on what was stored, however it got there."""
    return _ILLEGAL_XML.sub("", value) if isinstance(value, str) else value


def _cell_value(value: Any) -> Any:
    if isinstance(value, dict | list):  # nested values travel as JSON text (see convert)
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(BEIJING).replace(tzinfo=None)  # Excel has no time zones
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return _ILLEGAL_XML.sub("", value)
    return value


def xlsx(
    headers: list[str],
    rows: Iterable[list[Any]],
    widths: list[int],
    notes: list[list[str]] | None = None,
) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 openpyxl loaded only when a workbook is read or written
    from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415 openpyxl loaded only when a workbook is read or written
    from openpyxl.styles import Font  # noqa: PLC0415 openpyxl loaded only when a workbook is read or written
    from openpyxl.utils import get_column_letter  # noqa: PLC0415 openpyxl loaded only when a workbook is read or written

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("数据")
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for text in headers:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    for values in rows:
        cells = [_cell_value(v) for v in values]
        for i, value in enumerate(cells):
            if isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(ws, value=value)
                cell.data_type = "s"  # text that looks like a formula stays text
                cells[i] = cell
        ws.append(cells)
    if notes:
        sheet = wb.create_sheet("填写说明")
        sheet.column_dimensions["A"].width = 22
        sheet.column_dimensions["B"].width = 24
        sheet.column_dimensions["C"].width = 8
        sheet.column_dimensions["D"].width = 70
        for line in notes:
            sheet.append(line)
    buf = _io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _csv_value(value: Any) -> str:
    value = _cell_value(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text  # Excel would run it as a formula; import strips the apostrophe
    return text


def export(
    session: Session,
    principal: Principal,
    kind: Kind,
    params: service.ListParams,
    fmt: str,
) -> tuple[bytes, str, str]:
    """The caller's matching objects as XLSX, CSV (UTF-8 with BOM) or GeoJSON; re-importable."""
    if kind.exchange is not None:
        return kind.exchange.export(session, principal, kind, params, fmt)
    columns = _flat_columns(kind)
    objects = service.iter_objects(session, principal, kind, params)
    if fmt == "geojson":
        features = [
            {
                "type": "Feature",
                "geometry": service.geometry_of(obj, kind),
                "properties": {c: getattr(obj, c) for c in columns},
            }
            for obj in objects
        ]
        body = json.dumps(
            {"type": "FeatureCollection", "features": features},
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )
        return body.encode("utf-8"), GEOJSON_MEDIA, f"{kind.plural}.geojson"
    headers = [kind.label(c)[0] for c in columns]
    rows: Iterator[list[Any]] = ([getattr(obj, c) for c in columns] for obj in objects)
    if fmt == "csv":
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(headers)
        for values in rows:
            writer.writerow([_csv_value(v) for v in values])
        # The BOM makes Excel read the file as UTF-8 instead of the ANSI code page.
        return buf.getvalue().encode("utf-8-sig"), CSV_MEDIA, f"{kind.plural}.csv"
    if fmt == "xlsx":
        widths = [max(10, min(40, len(h) * 2 + 4)) for h in headers]
        return xlsx(headers, rows, widths), XLSX_MEDIA, f"{kind.plural}.xlsx"
    raise Invalid(
        [
            FieldError(
                "format", "格式：应为 xlsx、csv 或 geojson", "format: must be xlsx, csv or geojson"
            )
        ]
    )


def _describe(kind: Kind, column: str) -> str:
    info = kind.schema.model_fields[column]
    parts: list[str] = []
    options = kind.choices.get(column)
    if options:
        parts.append("可填：" + "、".join(f"{zh}（{key}）" for key, (zh, _en) in options.items()))
    ftype = field_types(kind)[column]
    if ftype == "bool":
        parts.append("填“是”或“否”")
    elif ftype == "int":
        parts.append("整数")
    elif ftype == "float":
        parts.append("数字")
    if column in ("division_code", "parent_code", kind.division_field):
        parts.append("GB/T 2260 行政区划代码（6、9或12位），如 370602")
    if column in ("lon", "lat"):
        parts.append("WGS-84 经纬度，经度和纬度须同时填写")
    if column in kind.hints:
        parts.append(kind.hints[column])
    if not info.is_required() and info.default not in (None, ""):
        default = (
            options[info.default][0]
            if options and info.default in options
            else ("是" if info.default is True else "否" if info.default is False else info.default)
        )
        parts.append(f"默认：{default}")
    return "；".join(parts)


def template_of(kind: Kind) -> bytes:
    """The import template: the kind's own layout (``exchange``), else the generated one."""
    return kind.exchange.template() if kind.exchange is not None else template(kind)


def template(kind: Kind) -> bytes:
    """An empty XLSX whose header row (Chinese labels) the import accepts, plus instructions."""
    columns = template_columns(kind)
    fields = kind.schema.model_fields
    headers = [kind.label(c)[0] for c in columns]
    notes = [["列名", "字段", "必填", "说明"]] + [
        [kind.label(c)[0], c, "是" if fields[c].is_required() else "", _describe(kind, c)]
        for c in columns
    ]
    if kind.natural_key:
        zh = kind.label(kind.natural_key)[0]
        notes.append([])
        notes.append([f"导入时按“{zh}”匹配：已存在的记录将被更新，其余新建。"])
    widths = [max(10, min(40, len(h) * 2 + 4)) for h in headers]
    return xlsx(headers, [], widths, notes)
