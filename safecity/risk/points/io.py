"""Risk point registers from XLSX/CSV (enterprises keep them in Excel): template, validated
all-or-nothing import with a row-by-row Chinese error report, reusing the registry's readers."""

from __future__ import annotations

import csv
import io as _io
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from safecity.core import audit, kinds_service, tabular
from safecity.core.errors import FieldError, Forbidden, Invalid
from safecity.core.kinds import Kind
from safecity.core.scope import Principal
from safecity.core.validation import SafeInput, translate
from safecity.registry.models import Enterprise, GridCell
from safecity.risk.models import RiskPoint
from safecity.risk.points import service
from safecity.risk.points.schemas import (
    ACCIDENT_TYPES,
    CONTROL_LEVELS,
    FACTOR_CATEGORIES,
    MEASURE_TYPES,
    OWNER_KINDS,
)

_IN_CHUNK = 500


class RiskPointRow(SafeInput):
    """One spreadsheet row as typed cells; the lists are written as text (see the template)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str | None = Field(None, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    owner_kind: str = "enterprise"
    enterprise_uscc: str | None = Field(None, max_length=18)
    grid_code: str | None = Field(None, max_length=32)
    facility_name: str = Field("", max_length=200)
    division_code: str | None = Field(None, max_length=12)
    lon: float | None = None
    lat: float | None = None
    description: str = Field("", max_length=4000)
    hazard_factors: str = Field("", max_length=4000)
    accident_types: str = Field("", max_length=1000)
    control_measures: str = Field("", max_length=8000)
    review_date: str | None = None


ROW_LABELS: dict[str, tuple[str, str]] = {
    "code": ("风险点编号", "register number"),
    "name": ("风险点名称", "risk point name"),
    "owner_kind": ("所属类型", "owner kind"),
    "enterprise_uscc": ("企业统一社会信用代码", "enterprise credit code"),
    "grid_code": ("网格编码", "grid cell code"),
    "facility_name": ("设施名称", "facility"),
    "division_code": ("行政区划代码", "division code"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "description": ("描述", "description"),
    "hazard_factors": ("危险有害因素", "hazard factors"),
    "accident_types": ("事故类型", "accident types"),
    "control_measures": ("管控措施", "control measures"),
    "review_date": ("复评日期", "review date"),
    "id": ("编号", "ID"),
}

NOTES: dict[str, str] = {
    "code": "企业自己的风险点编号，如 FX-001；同一企业已有该编号时更新该风险点",
    "name": "必填",
    "owner_kind": "可填：" + "、".join(zh for zh, _ in OWNER_KINDS.values()) + "；默认：企业",
    "enterprise_uscc": "18位统一社会信用代码；所属类型为企业时必填（企业安全员可不填，默认本企业）",
    "grid_code": "所属类型为区域时必填，如 370602-0001",
    "facility_name": "所属类型为设施时必填",
    "division_code": "GB/T 2260 代码；所属企业/网格时自动取其所在区划",
    "lon": "WGS-84 经度；不填时取所属企业或网格的位置",
    "lat": "WGS-84 纬度",
    "description": "",
    "hazard_factors": "按 GB/T 13861 分类，每项“类别：描述”，多项用“；”分隔。类别："
    + "、".join(zh for zh, _ in FACTOR_CATEGORIES.values())
    + "。例：物的因素：储罐腐蚀泄漏；人的因素：违章动火",
    "accident_types": "GB 6441 事故类别，多项用“、”分隔，可选："
    + "、".join(zh for zh, _ in ACCIDENT_TYPES.values()),
    "control_measures": "每项“类型：措施/管控层级/责任人”，多项用“；”分隔。类型："
    + "、".join(zh for zh, _ in MEASURE_TYPES.values())
    + "；层级："
    + "、".join(zh for zh, _ in CONTROL_LEVELS.values())
    + "。例：工程技术：设置可燃气体报警仪/车间级/王海",
    "review_date": "YYYY-MM-DD，如 2027-06-30",
}


KIND = Kind(
    prefix="risk",
    labels=ROW_LABELS,
    name="risk_point",
    plural="risk-points",
    model=RiskPoint,
    schema=RiskPointRow,
    zh="风险点",
    en="Risk point",
    key="id",
    natural_key="code",
    columns=tuple(RiskPointRow.model_fields),
)

_ITEM_SPLIT = re.compile(r"[；;\n]+")
_LIST_SPLIT = re.compile(r"[、,，;；/\s]+")
_LABEL_SPLIT = re.compile(r"[:：]")


def _date_text(value: str | None) -> str | None:
    # Excel date cells arrive as "2027-06-30T00:00:00"; the schema wants the date part.
    if value and re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00(:00)?", value):
        return value[:10]
    return value


def _parse_factors(text: str) -> list[dict[str, str]]:
    out = []
    for item in filter(None, (p.strip() for p in _ITEM_SPLIT.split(text))):
        parts = _LABEL_SPLIT.split(item, maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"“{item}”应写作“类别：描述”|{item!r} must read 'category: text'")
        out.append({"category": parts[0].strip(), "description": parts[1].strip()})
    return out


def _parse_measures(text: str) -> list[dict[str, str]]:
    out = []
    levels = {zh for zh, _ in CONTROL_LEVELS.values()} | set(CONTROL_LEVELS)
    for item in filter(None, (p.strip() for p in _ITEM_SPLIT.split(text))):
        parts = _LABEL_SPLIT.split(item, maxsplit=1)
        if len(parts) != 2:
            raise ValueError(
                f"“{item}”应写作“类型：措施/层级/责任人”"
                f"|{item!r} must read 'type: measure/level/person'"
            )
        body = [p.strip() for p in re.split(r"[|｜]", parts[1])]
        if len(body) == 1:
            pieces = [p.strip() for p in parts[1].rsplit("/", 2)]
            # "措施/层级/责任人" only when the middle piece really is a level name
            if len(pieces) == 3 and pieces[1] in levels:
                body = pieces
            elif len(pieces) >= 2 and pieces[-1] in levels:
                body = ["/".join(pieces[:-1]), pieces[-1]]
        measure = {"type": parts[0].strip(), "description": body[0]}
        if len(body) > 1 and body[1]:
            measure["level"] = body[1]
        if len(body) > 2:
            measure["person"] = body[2]
        out.append(measure)
    return out


@dataclass
class _Plan:
    row: int
    values: dict[str, Any]
    obj: RiskPoint | None


def _cells(row: Any, ftypes: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, raw in row.cells.items():
        if name not in RiskPointRow.model_fields or tabular.is_blank(raw):
            continue
        data[name] = tabular.convert(ftypes[name], raw)
    return data


def _row_input(
    typed: RiskPointRow, refs: dict[str, dict[str, Any]], principal: Principal, number: int
) -> dict[str, Any]:
    """A typed row → RiskPointIn data; references and text lists resolved or reported."""
    errors: list[FieldError] = []
    data: dict[str, Any] = {
        "code": typed.code,
        "name": typed.name,
        "owner_kind": typed.owner_kind,
        "facility_name": typed.facility_name,
        "division_code": typed.division_code,
        "lon": typed.lon,
        "lat": typed.lat,
        "description": typed.description,
        "review_date": _date_text(typed.review_date),
        "accident_types": [p for p in _LIST_SPLIT.split(typed.accident_types) if p],
    }
    for column, parser in (
        ("hazard_factors", _parse_factors),
        ("control_measures", _parse_measures),
    ):
        try:
            data[column] = parser(getattr(typed, column))
        except ValueError as exc:
            zh, _, en = str(exc).partition("|")
            label = ROW_LABELS[column]
            errors.append(FieldError(column, f"{label[0]}：{zh}", f"{label[1]}: {en}", number))
    uscc = (typed.enterprise_uscc or "").upper() or None
    if uscc:
        ent = refs["enterprise"].get(uscc)
        if ent is None:
            errors.append(
                FieldError(
                    "enterprise_uscc",
                    f"企业统一社会信用代码：{uscc} 不存在",
                    f"enterprise credit code: {uscc} does not exist",
                    number,
                )
            )
        else:
            data["enterprise_id"] = ent
    elif principal.role == "enterprise_officer":
        data["enterprise_id"] = principal.enterprise_id
    if typed.grid_code:
        cell = refs["grid"].get(typed.grid_code)
        if cell is None:
            errors.append(
                FieldError(
                    "grid_code",
                    f"网格编码：{typed.grid_code} 不存在",
                    f"grid cell code: {typed.grid_code} does not exist",
                    number,
                )
            )
        else:
            data["grid_cell_id"] = cell
    if errors:
        raise Invalid(errors)
    return data


_FIELD_TO_COLUMN = {"enterprise_id": "enterprise_uscc", "grid_cell_id": "grid_code", "body": ""}


def _as_row_errors(errors: list[FieldError], number: int) -> list[FieldError]:
    out = []
    for e in errors:
        head = e.field.split(".")[0]
        column = _FIELD_TO_COLUMN.get(head, head)
        zh, en = e.zh.removeprefix("body："), e.en.removeprefix("body: ")
        out.append(FieldError(column, zh, en, number))
    return out


def _references(session: Session, rows: list[Any]) -> dict[str, dict[str, Any]]:
    usccs = {
        str(r.cells.get("enterprise_uscc")).strip().upper()
        for r in rows
        if not tabular.is_blank(r.cells.get("enterprise_uscc"))
    }
    grids = {
        tabular.number_text(r.cells["grid_code"])
        if isinstance(r.cells.get("grid_code"), float)
        else str(r.cells.get("grid_code")).strip()
        for r in rows
        if not tabular.is_blank(r.cells.get("grid_code"))
    }
    refs: dict[str, dict[str, Any]] = {"enterprise": {}, "grid": {}}
    for model, column, key, values in (
        (Enterprise, Enterprise.uscc, "enterprise", usccs),
        (GridCell, GridCell.code, "grid", grids),
    ):
        ordered = sorted(values)
        for start in range(0, len(ordered), _IN_CHUNK):
            chunk = ordered[start : start + _IN_CHUNK]
            for ident, value in session.execute(select(model.id, column).where(column.in_(chunk))):
                refs[key][value] = ident
    return refs


def _existing(session: Session, plans: list[_Plan]) -> dict[tuple[Any, str], RiskPoint]:
    codes = sorted({p.values["code"] for p in plans if p.values.get("code")})
    found: dict[tuple[Any, str], RiskPoint] = {}
    for start in range(0, len(codes), _IN_CHUNK):
        chunk = codes[start : start + _IN_CHUNK]
        for obj in session.scalars(select(RiskPoint).where(RiskPoint.code.in_(chunk))):
            found[(_owner_key(obj.enterprise_id, obj.division_code), obj.code or "")] = obj
    return found


def _owner_key(enterprise_id: int | None, division_code: str) -> Any:
    # Register numbers are the owner's own: unique per enterprise, else per division.
    return enterprise_id if enterprise_id is not None else division_code


def _validate(
    session: Session, principal: Principal, rows: list[Any]
) -> tuple[list[_Plan], dict[int, list[FieldError]]]:
    ftypes = tabular.field_types(KIND)
    refs = _references(session, rows)
    errors: dict[int, list[FieldError]] = defaultdict(list)
    plans: list[_Plan] = []
    for row in rows:
        if row.errors:
            errors[row.number].extend(row.errors)
            continue
        try:
            typed = RiskPointRow.model_validate(_cells(row, ftypes))
        except ValidationError as exc:
            errors[row.number].extend(translate(exc.errors(), ROW_LABELS, row=row.number))
            continue
        try:
            data = _row_input(typed, refs, principal, row.number)
            values = service.resolve_owner(
                session, service.validate_point(data, row.number), row.number
            )
            service.check_writer(principal, values["division_code"], values.get("enterprise_id"))
        except Invalid as exc:
            errors[row.number].extend(_as_row_errors(exc.errors, row.number))
            continue
        except Forbidden as exc:
            column = "enterprise_uscc" if values.get("enterprise_id") else "division_code"
            errors[row.number].append(FieldError(column, exc.zh, exc.en, row.number))
            continue
        plans.append(_Plan(row.number, values, None))
    _match(session, plans, errors)
    return [p for p in plans if p.row not in errors], dict(errors)


def _match(session: Session, plans: list[_Plan], errors: dict[int, list[FieldError]]) -> None:
    existing = _existing(session, plans)
    groups: dict[tuple[Any, str], list[_Plan]] = defaultdict(list)
    for plan in plans:
        code = plan.values.get("code")
        if not code:
            continue
        key = (_owner_key(plan.values.get("enterprise_id"), plan.values["division_code"]), code)
        plan.obj = existing.get(key)
        groups[key].append(plan)
    for (_owner, code), group in groups.items():
        if len(group) < 2:
            continue
        numbers = "、".join(str(p.row) for p in group)
        for plan in group:
            errors[plan.row].append(
                FieldError(
                    "code",
                    f"风险点编号：{code} 在文件中重复出现（第{numbers}行）",
                    f"register number: {code} appears more than once (rows {numbers})",
                    plan.row,
                )
            )


def import_points(
    session: Session,
    principal: Principal,
    filename: str,
    content: bytes,
    now: datetime,
    *,
    valid_only: bool = False,
    dry_run: bool = False,
) -> tabular.ImportReport:
    """Create or update risk points from a file; any bad row writes nothing unless valid_only;
    dry_run writes nothing and reports what would happen (errors included, without raising)."""
    if principal.role not in service.WRITERS:
        raise Forbidden("当前角色无权导入风险点", "your role may not import risk points")
    _columns, rows = tabular.read_table(KIND, filename or "", content)
    if not rows:
        raise tabular.file_error("没有数据行", "no data rows")
    plans, errors = _validate(session, principal, rows)
    flat = [e for number in sorted(errors) for e in errors[number]]
    report = tabular.ImportReport(
        ok=not flat,
        total_rows=len(rows),
        skipped=len(errors),
        error_count=len(flat),
        dry_run=dry_run,
    )
    shown = flat[: tabular.MAX_REPORTED_ERRORS]
    report.errors = [
        {
            "row": e.row or 0,
            "column": e.field,
            "column_label": ROW_LABELS.get(e.field, ("", ""))[0],
            "message": e.zh,
            "message_en": e.en,
        }
        for e in shown
    ]
    if flat and not valid_only and not dry_run:
        raise Invalid(shown)  # nothing was added to the session
    if dry_run:
        report.created = sum(1 for p in plans if p.obj is None)
        report.updated = sum(
            1
            for p in plans
            if p.obj is not None and any(getattr(p.obj, k) != v for k, v in p.values.items())
        )
        report.unchanged = len(plans) - report.created - report.updated
        return report
    report.created, report.updated, report.unchanged = _write(session, principal, plans, now)
    return report


def _write(
    session: Session, principal: Principal, plans: list[_Plan], now: datetime
) -> tuple[int, int, int]:
    new_rows: list[dict[str, Any]] = []
    changes: list[audit.Change] = []
    unchanged = 0
    for plan in plans:
        if plan.obj is None:
            new_rows.append(
                {**plan.values, "archived": False, "created_at": now, "updated_at": now}
            )
            continue
        obj = plan.obj
        diff = {k: v for k, v in plan.values.items() if getattr(obj, k) != v}
        if not diff:
            unchanged += 1
            continue
        before = service.point_dict(obj)
        for name, value in diff.items():
            setattr(obj, name, value)
        obj.updated_at = now
        changes.append(audit.Change("risk_point", obj.id, "update", before, None))
    if new_rows:
        stmt = insert(RiskPoint).returning(RiskPoint.id, sort_by_parameter_order=True)
        ids = list(session.scalars(stmt, new_rows))
        for values, new_id in zip(new_rows, ids, strict=True):
            values["id"] = new_id
    session.flush()
    updated = [c for c in changes]
    by_id = {p.obj.id: p.obj for p in plans if p.obj is not None}
    final = [
        audit.Change(
            "risk_point", c.object_id, "update", c.before, service.point_dict(by_id[c.object_id])
        )
        for c in updated
    ]
    final += [
        audit.Change("risk_point", v["id"], "import", None, _inserted_dict(v)) for v in new_rows
    ]
    audit.record_many(session, principal.username, final, now)
    return len(new_rows), len(updated), unchanged


def _inserted_dict(values: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if k not in ("created_at", "updated_at")}
    if out.get("review_date") is not None:
        out["review_date"] = out["review_date"].isoformat()
    return out


def template() -> bytes:
    """An empty XLSX with the Chinese headers the import accepts and a sheet of instructions."""
    columns = list(RiskPointRow.model_fields)
    headers = [ROW_LABELS[c][0] for c in columns]
    notes = [["列名", "字段", "必填", "说明"]] + [
        [
            ROW_LABELS[c][0],
            c,
            "是" if RiskPointRow.model_fields[c].is_required() else "",
            NOTES.get(c, ""),
        ]
        for c in columns
    ]
    notes += [[], ["任何一行有错误时整个文件不写入，并按行、列列出原因；可选择“仅导入正确的行”。"]]
    widths = [max(10, min(40, len(h) * 2 + 4)) for h in headers]
    return tabular.xlsx(headers, [], widths, notes)


# --------------------------------------------------------------------------- export


def _label(options: dict[str, tuple[str, str]], key: str | None) -> str:
    return options.get(key or "", (key or "", ""))[0]


def _row_of(point: RiskPoint, usccs: dict[int, str], grids: dict[int, str]) -> list[Any]:
    factors = "；".join(
        f"{_label(FACTOR_CATEGORIES, f.get('category'))}：{f.get('description', '')}"
        for f in point.hazard_factors or []
    )
    measures = "；".join(
        f"{_label(MEASURE_TYPES, m.get('type'))}：{m.get('description', '')}"
        f"/{_label(CONTROL_LEVELS, m.get('level'))}/{m.get('person') or ''}".rstrip("/")
        for m in point.control_measures or []
    )
    return [
        point.code,
        point.name,
        _label(OWNER_KINDS, point.owner_kind).split("（")[0],
        usccs.get(point.enterprise_id or 0),
        grids.get(point.grid_cell_id or 0),
        point.facility_name,
        point.division_code,
        point.lon,
        point.lat,
        point.description,
        factors,
        "、".join(_label(ACCIDENT_TYPES, k) for k in point.accident_types or []),
        measures,
        point.review_date.isoformat() if point.review_date else None,
    ]


def export(
    session: Session,
    principal: Principal,
    kind: Kind,
    params: kinds_service.ListParams,
    fmt: str,
) -> tuple[bytes, str, str]:
    """The caller's matching risk points in the import layout (re-importable): XLSX, CSV, or
    GeoJSON with the same properties and the point's location."""
    stmt = kinds_service.filtered(kind, principal, params).order_by(
        RiskPoint.division_code, RiskPoint.id
    )
    points = list(session.scalars(stmt))
    ent_ids = {p.enterprise_id for p in points if p.enterprise_id}
    grid_ids = {p.grid_cell_id for p in points if p.grid_cell_id}
    usccs = _lookup(session, Enterprise.id, Enterprise.uscc, ent_ids)
    grids = _lookup(session, GridCell.id, GridCell.code, grid_ids)
    columns = list(RiskPointRow.model_fields)
    rows = [_row_of(p, usccs, grids) for p in points]
    if fmt == "geojson":
        features = [
            {
                "type": "Feature",
                "geometry": kinds_service.geometry_of(p),
                "properties": dict(zip(columns, row, strict=True)),
            }
            for p, row in zip(points, rows, strict=True)
        ]
        body = json.dumps(
            {"type": "FeatureCollection", "features": features}, ensure_ascii=False, default=str
        )
        return body.encode("utf-8"), tabular.GEOJSON_MEDIA, "risk-points.geojson"
    headers = [ROW_LABELS[c][0] for c in columns]
    if fmt == "csv":
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        return buf.getvalue().encode("utf-8-sig"), tabular.CSV_MEDIA, "risk-points.csv"
    widths = [max(10, min(40, len(h) * 2 + 4)) for h in headers]
    return tabular.xlsx(headers, rows, widths), tabular.XLSX_MEDIA, "risk-points.xlsx"


def _lookup(session: Session, key: Any, value: Any, ids: set[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        out.update(dict(session.execute(select(key, value).where(key.in_(chunk))).all()))
    return out
