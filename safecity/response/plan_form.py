"""The plan form of the web UI: a plan as rows a person fills in (trigger conditions per level,
working groups, tasks) and back, and the validation errors placed on the row they concern.

Pure: no database, no HTTP. Rows left blank are dropped; the row numbers a person sees are kept
so that an error on the third task lands under the third task even when the second was blank.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from safecity.core.errors import FieldError
from safecity.response.levels import FIELDS, LEVELS

CONDITION_SLOTS = 3  # conditions per level in the form (joined by 或 / 且)
BLANK_GROUPS = 2
BLANK_TASKS = 3
MAX_GROUP_ROWS, MAX_TASK_ROWS = 60, 510  # a little above PlanIn's limits (50 and 500)
_SPLIT = re.compile(r"[,，、;；\s]+")


def _clean(value: Any) -> str:
    return str(value if value is not None else "").strip()


def _number(raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw  # the trigger rules refuse it with a message naming the field


def _leaf_ok(node: Any) -> bool:
    return isinstance(node, dict) and {"field", "op", "value"} <= set(node)


def simple_triggers(triggers: Any) -> dict[str, dict[str, Any]] | None:
    """The rules as rows (per level: mode and up to CONDITION_SLOTS conditions), or None
    when they nest deeper than the form shows (then the form offers them as JSON)."""
    out: dict[str, dict[str, Any]] = {lv: {"mode": "any", "conds": []} for lv in LEVELS}
    if not triggers:
        return out
    if not isinstance(triggers, dict) or not isinstance(triggers.get("levels"), list):
        return None
    for item in triggers["levels"]:
        if not isinstance(item, dict) or item.get("level") not in LEVELS:
            return None
        when = item.get("when")
        if _leaf_ok(when):
            mode, conds = "any", [when]
        elif isinstance(when, dict) and len(when) == 1 and next(iter(when)) in ("any", "all"):
            mode = next(iter(when))
            conds = when[mode]
            if not isinstance(conds, list) or not all(_leaf_ok(c) for c in conds):
                return None
        else:
            return None
        if len(conds) > CONDITION_SLOTS or out[item["level"]]["conds"]:
            return None
        out[item["level"]] = {"mode": mode, "conds": list(conds)}
    return out


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return "" if value is None else str(value)


def values_of(plan: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """What the form shows for a plan (or a new one with ``defaults``)."""
    p = plan or {}
    triggers = simple_triggers(p.get("triggers"))
    rows: dict[str, Any] = {}
    if triggers is not None:
        for lv, spec in triggers.items():
            rows[f"t-{lv}-mode"] = spec["mode"]
            for i, c in enumerate(spec["conds"]):
                rows[f"t-{lv}-{i}-field"] = c["field"]
                rows[f"t-{lv}-{i}-op"] = c["op"]
                rows[f"t-{lv}-{i}-value"] = _value_text(c["value"])
    groups = list(p.get("groups") or [])
    tasks = list(p.get("tasks") or [])
    for i, g in enumerate(groups):
        for k in ("key", "name", "department", "contact"):
            rows[f"g-{i}-{k}"] = g.get(k) or ""
        rows[f"g-{i}-members"] = "、".join(g.get("members") or [])
    for i, t in enumerate(tasks):
        rows[f"k-{i}-group"] = t.get("group", "")
        rows[f"k-{i}-title"] = t.get("title", "")
        rows[f"k-{i}-due"] = "" if t.get("due_minutes") is None else str(t["due_minutes"])
        rows[f"k-{i}-levels"] = list(t.get("levels") or [])
    return {
        "tier": "special",
        "owner_kind": "department",
        **defaults,
        **{
            k: p[k] for k in ("name", "tier", "owner_kind", "owner_name", "division_code") if k in p
        },
        "enterprise_id": "" if p.get("enterprise_id") is None else str(p["enterprise_id"]),
        "types": list(p.get("types") or defaults.get("types") or []),
        "advanced": triggers is None,
        "triggers_json": json.dumps(p.get("triggers") or {}, ensure_ascii=False, indent=1)
        if triggers is None
        else "",
        "group_rows": len(groups) + BLANK_GROUPS,
        "task_rows": len(tasks) + BLANK_TASKS,
        **rows,
    }


def form_values(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The submitted form as the template reads it again after a refusal."""
    out: dict[str, Any] = {"types": []}
    groups = tasks = 0
    for k, v in items:
        if k == "csrf":
            continue
        if k == "types" or k.endswith("-levels"):
            out.setdefault(k, []).append(_clean(v))
            continue
        out[k] = _clean(v)
        parts = k.split("-")
        if len(parts) == 3 and parts[1].isdigit():
            n = int(parts[1]) + 1
            if parts[0] == "g" and n <= MAX_GROUP_ROWS:
                groups = max(groups, n)
            elif parts[0] == "k" and n <= MAX_TASK_ROWS:
                tasks = max(tasks, n)
    out["group_rows"], out["task_rows"] = groups or BLANK_GROUPS, tasks or BLANK_TASKS
    out["advanced"] = bool(out.get("triggers_json"))
    return out


class Parsed:
    """The PlanIn payload and where each list item came from in the form."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.group_rows: list[int] = []
        self.task_rows: list[int] = []
        self.trigger_levels: list[str] = []
        self.errors: list[FieldError] = []


def parse(values: dict[str, Any]) -> Parsed:
    """Form values (from :func:`form_values`) → a PlanIn payload; malformed JSON and rows
    that cannot be read are errors on their field."""
    out = Parsed()
    get = values.get
    data: dict[str, Any] = {
        k: _clean(get(k)) for k in ("name", "tier", "owner_kind", "owner_name", "division_code")
    }
    ent = _clean(get("enterprise_id"))
    data["enterprise_id"] = None
    if ent:
        if ent.isdigit():
            data["enterprise_id"] = int(ent)
        else:
            out.errors.append(FieldError("enterprise_id", "企业：应为编号", "enterprise: an id"))
    data["types"] = [t for t in get("types") or [] if t]
    raw_json = _clean(get("triggers_json"))
    if raw_json:
        try:
            data["triggers"] = json.loads(raw_json)
        except ValueError as exc:
            out.errors.append(
                FieldError(
                    "triggers",
                    f"启动条件（JSON）：格式错误，第 {getattr(exc, 'lineno', '?')} 行",
                    f"trigger rules (JSON): malformed at line {getattr(exc, 'lineno', '?')}",
                )
            )
            data["triggers"] = {}
    else:
        levels = []
        for lv in LEVELS:
            conds = []
            for i in range(CONDITION_SLOTS):
                field = _clean(get(f"t-{lv}-{i}-field"))
                op = _clean(get(f"t-{lv}-{i}-op"))
                raw = _clean(get(f"t-{lv}-{i}-value"))
                if not field and not raw:
                    continue
                kind = FIELDS[field][2] if field in FIELDS else ""
                value: Any
                if op == "in":
                    value = [_number(v) if kind == "number" else v for v in _SPLIT.split(raw) if v]
                else:
                    value = _number(raw) if kind == "number" else raw
                conds.append({"field": field, "op": op, "value": value})
            if not conds:
                continue
            mode = "all" if get(f"t-{lv}-mode") == "all" else "any"
            when = conds[0] if len(conds) == 1 else {mode: conds}
            levels.append({"level": lv, "when": when})
            out.trigger_levels.append(lv)
        data["triggers"] = {"levels": levels}
    groups = []
    for i in range(int(get("group_rows") or 0)):
        row = {k: _clean(get(f"g-{i}-{k}")) for k in ("key", "name", "department", "contact")}
        members = [m for m in _SPLIT.split(_clean(get(f"g-{i}-members"))) if m]
        if not any(row.values()) and not members:
            continue
        groups.append({**row, "members": members})
        out.group_rows.append(i)
    data["groups"] = groups
    tasks = []
    for i in range(int(get("task_rows") or 0)):
        group, title = _clean(get(f"k-{i}-group")), _clean(get(f"k-{i}-title"))
        due = _clean(get(f"k-{i}-due"))
        lvs = [lv for lv in get(f"k-{i}-levels") or [] if lv]
        if not group and not title and not due and not lvs:
            continue
        task: dict[str, Any] = {"group": group, "levels": lvs, "title": title}
        if due:
            task["due_minutes"] = int(due) if due.isdigit() else due
        tasks.append(task)
        out.task_rows.append(i)
    data["tasks"] = tasks
    out.data = data
    return out


_LIST_INDEX = re.compile(r"^(groups|tasks)\.(\d+)(?:\.(\w+))?")
_TRIGGER_INDEX = re.compile(r"^triggers\.levels\[(\d+)\]")


def place(errors: Iterable[FieldError], parsed: Parsed) -> dict[str, list[FieldError]]:
    """Each error under the form field it concerns: ``g-2-key``, ``k-0-title``, ``t-III``,
    ``triggers``, ``groups``, ``tasks`` or a top-level name."""
    out: dict[str, list[FieldError]] = {}
    for e in errors:
        key = e.field
        m = _LIST_INDEX.match(e.field)
        t = _TRIGGER_INDEX.match(e.field)
        if m:
            rows = parsed.group_rows if m.group(1) == "groups" else parsed.task_rows
            n = int(m.group(2))
            prefix = "g" if m.group(1) == "groups" else "k"
            if n < len(rows):
                sub = m.group(3) or ""
                sub = {"due_minutes": "due"}.get(sub, sub)
                key = f"{prefix}-{rows[n]}" + (f"-{sub}" if sub else "")
            else:
                key = m.group(1)
        elif t:
            n = int(t.group(1))
            lvs = parsed.trigger_levels
            key = f"t-{lvs[n]}" if n < len(lvs) else "triggers"
        elif e.field.startswith("triggers"):
            key = "triggers"
        else:
            key = e.field.split(".")[0]
        out.setdefault(key, []).append(e)
    return out
