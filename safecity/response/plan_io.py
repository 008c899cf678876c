"""A plan exported and imported whole: JSON (lossless) or one XLSX sheet a person can read,
one row per fact (the plan's fields, each level's trigger condition, each group, each task).

Import gives a PlanIn payload; the service validates it and adds it as a new draft.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any
from urllib.parse import quote

from safecity.core import tabular
from safecity.core.errors import FieldError, Invalid, NotFound

FORMAT = "safecity.plan/1"
FIELDS = ("name", "tier", "owner_kind", "owner_name", "enterprise_id", "division_code")
SECTION_PLAN, SECTION_TYPES, SECTION_TRIGGER, SECTION_GROUP, SECTION_TASK = (
    "预案",
    "适用类型",
    "启动条件",
    "工作组",
    "任务",
)
HEADERS = [
    "部分 section",
    "项 key",
    "值 value",
    "部门 department",
    "联系方式 contact",
    "成员 members",
]
MAX_BYTES = 5 * 1024 * 1024


def payload(plan: dict[str, Any]) -> dict[str, Any]:
    """What PlanIn takes, from a plan as ``command.plan_dict`` gives it."""
    return {
        **{k: plan.get(k) for k in FIELDS},
        "types": list(plan.get("types") or []),
        "triggers": plan.get("triggers") or {},
        "groups": [
            {
                k: g.get(k, "" if k != "members" else [])
                for k in ("key", "name", "department", "contact", "members")
            }
            for g in plan.get("groups") or []
        ],
        "tasks": [
            {k: t.get(k) for k in ("group", "levels", "title", "due_minutes")}
            for t in plan.get("tasks") or []
        ],
    }


def to_json(plan: dict[str, Any]) -> bytes:
    doc = {"format": FORMAT, "version": plan.get("version"), "plan": payload(plan)}
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def to_xlsx(plan: dict[str, Any]) -> bytes:
    p = payload(plan)
    rows: list[list[Any]] = [[SECTION_PLAN, k, p[k] if p[k] is not None else ""] for k in FIELDS]
    rows += [[SECTION_TYPES, t, ""] for t in p["types"]]
    for item in (p["triggers"] or {}).get("levels", []):
        rows.append(
            [SECTION_TRIGGER, item.get("level"), json.dumps(item.get("when"), ensure_ascii=False)]
        )
    for g in p["groups"]:
        rows.append(
            [
                SECTION_GROUP,
                g["key"],
                g["name"],
                g["department"],
                g["contact"],
                "、".join(g["members"]),
            ]
        )
    for t in p["tasks"]:
        rows.append(
            [
                SECTION_TASK,
                t["group"],
                t["title"],
                "、".join(t["levels"] or []),
                "" if t["due_minutes"] is None else t["due_minutes"],
            ]
        )
    return tabular.xlsx(HEADERS, rows, [12, 26, 60, 22, 18, 30])


def _bad(zh: str, en: str) -> Invalid:
    return Invalid([FieldError("file", zh, en)])


def from_json(content: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise _bad("文件：不是有效的 JSON", "file: not valid JSON") from None
    if isinstance(doc, dict) and isinstance(doc.get("plan"), dict):
        doc = doc["plan"]
    if not isinstance(doc, dict):
        raise _bad("文件：应为一个预案对象", "file: a plan object expected")
    return doc


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def from_rows(rows: list[list[Any]]) -> dict[str, Any]:
    """The sheet of :func:`to_xlsx` (header row first) back into a PlanIn payload."""
    out: dict[str, Any] = {"types": [], "triggers": {"levels": []}, "groups": [], "tasks": []}
    errors: list[FieldError] = []
    for n, raw in enumerate(rows[1:], start=2):
        cells = [_text(c) for c in raw] + [""] * 6
        section, key, value = cells[0], cells[1], cells[2]
        if not section:
            continue
        if section == SECTION_PLAN and key in FIELDS:
            out[key] = (
                (int(value) if value.isdigit() else value) if key == "enterprise_id" else value
            )
            if key == "enterprise_id" and not value:
                out[key] = None
        elif section == SECTION_TYPES:
            out["types"].append(key)
        elif section == SECTION_TRIGGER:
            try:
                when = json.loads(value)
            except ValueError:
                errors.append(
                    FieldError(
                        "file",
                        f"第 {n} 行：启动条件不是有效的 JSON",
                        f"row {n}: the trigger condition is not valid JSON",
                    )
                )
                continue
            out["triggers"]["levels"].append({"level": key, "when": when})
        elif section == SECTION_GROUP:
            members = [m for m in cells[5].replace(",", "、").split("、") if m.strip()]
            out["groups"].append(
                {
                    "key": key,
                    "name": value,
                    "department": cells[3],
                    "contact": cells[4],
                    "members": members,
                }
            )
        elif section == SECTION_TASK:
            levels = [lv for lv in cells[3].replace(",", "、").split("、") if lv.strip()]
            due = cells[4]
            out["tasks"].append(
                {
                    "group": key,
                    "title": value,
                    "levels": levels,
                    "due_minutes": int(due) if due.isdigit() else (due or None),
                }
            )
        else:
            errors.append(
                FieldError(
                    "file",
                    f"第 {n} 行：无法识别「{section}」",
                    f"row {n}: unknown section {section!r}",
                )
            )
    if errors:
        raise Invalid(errors)
    return out


def from_xlsx(content: bytes) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            size = sum(m.file_size for m in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _bad("文件：不是有效的 Excel (.xlsx)", "file: not a valid .xlsx") from None
    if size > tabular.MAX_XLSX_UNCOMPRESSED:
        raise _bad("文件：解压后过大", "file: too large uncompressed")
    from openpyxl import load_workbook  # noqa: PLC0415 openpyxl loaded only when a workbook is read

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            sheet = wb.worksheets[0]
            sheet.reset_dimensions()
            rows = [list(r) for r in sheet.iter_rows(values_only=True, max_row=2000)]
        finally:
            wb.close()
    except Exception:  # noqa: BLE001 openpyxl raises many kinds of errors on a damaged file
        raise _bad("文件：Excel 已损坏", "file: the workbook is damaged") from None
    return from_rows(rows)


def read(filename: str, content: bytes) -> dict[str, Any]:
    if len(content) > MAX_BYTES:
        raise _bad("文件：超过 5 MB", "file: larger than 5 MB")
    name = filename.lower()
    if name.endswith(".json"):
        return from_json(content)
    if name.endswith(".xlsx"):
        return from_xlsx(content)
    raise _bad("文件：应为 .json 或 .xlsx", "file: .json or .xlsx expected")


def export(plan: dict[str, Any], fmt: str) -> tuple[bytes, str, str]:
    """(bytes, media type, URL-quoted file name) of the plan as ``json`` or ``xlsx``."""
    if fmt == "json":
        body, media = to_json(plan), "application/json"
    elif fmt == "xlsx":
        body, media = to_xlsx(plan), tabular.XLSX_MEDIA
    else:
        raise NotFound("导出格式", "export format")
    return body, media, quote(f"预案-{plan['name']}-v{plan['version']}.{fmt}")
