"""The four lists (四张清单): major safety risks, major hidden dangers, major hazard installations
and vulnerable targets — scoped, filtered, summarised by level and district, exported as XLSX.

The hidden-danger list belongs to the hidden-danger capability: it fills it by calling
``register_provider("major-hidden-dangers", fn)``; until then the list is empty with a note.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.errors import FieldError, Invalid, NotFound
from safecity.core.scope import Principal
from safecity.registry.models import Division, Enterprise, ProtectedTarget
from safecity.registry.rules import INDUSTRY_DIVISIONS, INDUSTRY_SECTIONS, TARGET_TYPES
from safecity.registry.rules import industry_section as section_of
from safecity.risk.areas import layers
from safecity.risk.areas import service as area_service
from safecity.risk.areas.rules import GRADE_ZH, LEVELS
from safecity.risk.models import MajorHazard, RiskPoint

NAMES = ("major-risks", "major-hidden-dangers", "major-hazards", "vulnerable-targets")
TITLES = {
    "major-risks": ("重大安全风险清单", "Major safety risks"),
    "major-hidden-dangers": ("重大事故隐患清单", "Major hidden dangers"),
    "major-hazards": ("重大危险源清单", "Major hazard installations"),
    "vulnerable-targets": ("脆弱性目标清单", "Vulnerable targets"),
}
LEVEL_LABELS = {
    "red": ("红色（重大风险）", "Red (major)"),
    "orange": ("橙色（较大风险）", "Orange (significant)"),
    "yellow": ("黄色（一般风险）", "Yellow (general)"),
    "blue": ("蓝色（低风险）", "Blue (low)"),
}
GRADE_LABELS = {str(g): (f"{GRADE_ZH[g]}重大危险源", f"Grade {g}") for g in (1, 2, 3, 4)}
MEASURE_LEVELS = {"company": "公司级", "workshop": "车间级", "team": "班组级", "post": "岗位级"}
UNIT_KINDS = {"storage": "储存单元", "production": "生产单元"}
HIDDEN_DANGER_NOTE = (
    "重大事故隐患清单由隐患排查治理模块提供，该模块上线后自动填充。",
    "Filled by the hidden-danger capability once it is installed.",
)


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    width: int = 14


@dataclass
class ListFilters:
    division: str | None = None
    industry: str | None = None  # GB/T 4754 section letter or code prefix
    level: str | None = None
    kind: str | None = None  # major-risks only: point | area


@dataclass
class FourList:
    name: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    level_key: str  # the row field the by-level summary counts
    levels: dict[str, tuple[str, str]]  # its values in display order, with labels
    note: tuple[str, str] | None = None
    division_names: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> tuple[str, str]:
        return TITLES.get(self.name, (self.name, self.name))

    def summary(self) -> dict[str, Any]:
        by_level = Counter(str(r.get(self.level_key)) for r in self.rows)
        districts: dict[str, Counter[str]] = {}
        for r in self.rows:
            districts.setdefault(r.get("district_code") or "", Counter())[
                str(r.get(self.level_key))
            ] += 1
        return {
            "total": len(self.rows),
            "by_level": [
                {"key": k, "label_zh": zh, "label_en": en, "count": by_level.get(k, 0)}
                for k, (zh, en) in self.levels.items()
            ],
            "by_district": [
                {
                    "code": code,
                    "name": self.division_names.get(code, ""),
                    "count": sum(c.values()),
                    "by_level": {k: c.get(k, 0) for k in self.levels},
                }
                for code, c in sorted(districts.items())
            ],
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title[0],
            "title_en": self.title[1],
            "columns": [{"key": c.key, "label": c.zh, "label_en": c.en} for c in self.columns],
            "rows": self.rows,
            "summary": self.summary(),
            "note": self.note[0] if self.note else None,
            "note_en": self.note[1] if self.note else None,
        }


Provider = Callable[[Session, Principal, ListFilters], list[dict[str, Any]]]
_PROVIDERS: dict[str, Provider] = {}

HIDDEN_DANGER_COLUMNS = [
    Column("name", "隐患名称", "Hidden danger", 28),
    Column("enterprise", "企业", "Enterprise", 28),
    Column("division", "行政区划", "Division", 16),
    Column("industry", "行业", "Industry", 18),
    Column("description", "隐患描述", "Description", 36),
    Column("found_at", "发现日期", "Found", 12),
    Column("deadline", "整改期限", "Deadline", 12),
    Column("status", "整改状态", "Status", 12),
    Column("supervisor", "挂牌督办单位", "Supervised by", 18),
]


def register_provider(name: str, provider: Provider) -> None:
    """Let another capability fill a list (rows as dicts keyed like the list's columns plus
    ``division_code``; they must already be scoped to the principal — we filter again)."""
    if name not in NAMES:
        raise ValueError(f"unknown list {name!r}")
    _PROVIDERS[name] = provider


def unregister_provider(name: str) -> None:
    _PROVIDERS.pop(name, None)


_loaded = False


def load_providers() -> None:
    """Take the providers the plug-ins offer (safecity_list_providers), once."""
    global _loaded
    if not _loaded:
        _loaded = True
        from safecity.plugins import collect  # noqa: PLC0415 cycle: plug-ins import capabilities

        for name, fn in collect("safecity_list_providers"):
            _PROVIDERS.setdefault(name, fn)


def provider(name: str) -> Provider | None:
    load_providers()
    return _PROVIDERS.get(name)


# ---------------------------------------------------------------- entry point


def get_list(session: Session, principal: Principal, name: str, filters: ListFilters) -> FourList:
    area_service.check_reader(principal)
    if name not in NAMES:
        raise NotFound("清单", "list")
    _check_filters(name, filters)
    builder = {
        "major-risks": _major_risks,
        "major-hidden-dangers": _hidden_dangers,
        "major-hazards": _major_hazards,
        "vulnerable-targets": _vulnerable_targets,
    }[name]
    result = builder(session, principal, filters)
    _add_districts(session, result)
    return result


# The level filter of each list: colours for risks, GB 18218 grades for hazards, both for
# vulnerable targets (the grade of the hazard that reaches them, or the colour of their area).
GRADE_VALUES = ("1", "2", "3", "4", *GRADE_ZH.values())
LEVEL_VALUES: dict[str, tuple[str, ...]] = {
    "major-risks": LEVELS,
    "major-hazards": GRADE_VALUES,
    "vulnerable-targets": (*GRADE_VALUES, "red", "orange"),
}


def _check_filters(name: str, f: ListFilters) -> None:
    errors = []
    allowed = LEVEL_VALUES.get(name)
    if f.level and (len(f.level) > 32 or (allowed is not None and f.level not in allowed)):
        shown = "、".join(allowed or ())
        errors.append(
            FieldError(
                "level", f"等级：应为 {shown}", f"level: must be one of {', '.join(allowed or ())}"
            )
        )
    if f.industry and not (
        f.industry.isalpha() and f.industry.upper() in INDUSTRY_SECTIONS or f.industry.isdigit()
    ):
        errors.append(
            FieldError(
                "industry",
                "行业：应为国民经济行业门类字母或行业代码",
                "industry: a GB/T 4754 section letter or code",
            )
        )
    if f.division and not f.division.isdigit():
        errors.append(FieldError("division", "行政区划：应为数字代码", "division: digits only"))
    if f.kind and f.kind not in ("point", "area"):
        errors.append(FieldError("kind", "类型：应为 point 或 area", "kind: point or area"))
    if errors:
        raise Invalid(errors)


def _add_districts(session: Session, result: FourList) -> None:
    codes = {r.get("division_code") or "" for r in result.rows}
    for r in result.rows:
        r["district_code"] = (r.get("division_code") or "")[:6]
    codes |= {r["district_code"] for r in result.rows}
    names = (
        dict(
            session.execute(
                select(Division.code, Division.name).where(
                    Division.code.in_([c for c in codes if c])
                )
            ).all()
        )
        if codes
        else {}
    )
    result.division_names = names
    for r in result.rows:
        code = r.get("division_code") or ""
        r["division"] = f"{code} {names.get(code, '')}".strip()


def _industry_label(code: str | None) -> str:
    if not code:
        return ""
    name = INDUSTRY_DIVISIONS.get(code.lstrip("ABCDEFGHIJKLMNOPQRST")[:2])
    if name:
        return f"{code} {name}"
    section = section_of(code)
    return f"{code} {INDUSTRY_SECTIONS[section][0]}" if section else code


# ---------------------------------------------------------------- 重大安全风险清单


MAJOR_RISK_COLUMNS = [
    Column("kind_label", "类型", "Type", 10),
    Column("name", "名称", "Name", 30),
    Column("level_label", "风险等级", "Level", 16),
    Column("enterprise", "企业", "Enterprise", 28),
    Column("division", "行政区划", "Division", 16),
    Column("industry", "行业", "Industry", 22),
    Column("hazards", "主要危险因素 / 风险依据", "Hazards / basis", 40),
    Column("accident_types", "可能导致的事故类型", "Possible accidents", 22),
    Column("measures", "管控措施", "Control measures", 44),
    Column("responsible", "管控层级及责任人", "Responsible", 22),
    Column("lon", "经度", "Longitude", 11),
    Column("lat", "纬度", "Latitude", 11),
]


def _major_risks(session: Session, principal: Principal, f: ListFilters) -> FourList:
    rows: list[dict[str, Any]] = []
    if f.level in (None, "", "red"):
        if f.kind in (None, "", "point"):
            rows += _red_points(session, principal, f)
        # Areas have no industry, so an industry filter leaves only risk points.
        if f.kind in (None, "", "area") and not f.industry:
            rows += _red_areas(session, principal, f)
    return FourList(
        "major-risks",
        MAJOR_RISK_COLUMNS,
        rows,
        "kind",
        {"point": ("红色风险点", "Red risk points"), "area": ("红色区域", "Red areas")},
    )


def _red_points(session: Session, principal: Principal, f: ListFilters) -> list[dict[str, Any]]:
    clauses, _joined = area_service.point_filter(principal, f.division, f.industry)
    stmt = (
        select(RiskPoint, Enterprise.name, Enterprise.industry_code)
        .outerjoin(Enterprise, Enterprise.id == RiskPoint.enterprise_id)
        .where(*clauses, RiskPoint.level == "red")
        .order_by(RiskPoint.division_code, RiskPoint.name, RiskPoint.id)
    )
    rows = []
    for rp, ent_name, ent_industry in session.execute(stmt):
        measures = rp.control_measures or []
        rows.append(
            {
                "kind": "point",
                "kind_label": "风险点",
                "id": rp.id,
                "name": rp.name,
                "level": "red",
                "level_label": LEVEL_LABELS["red"][0],
                "enterprise_id": rp.enterprise_id,
                "enterprise": ent_name or rp.facility_name or "",
                "division_code": rp.division_code,
                "industry_code": rp.industry_code or ent_industry,
                "industry": _industry_label(rp.industry_code or ent_industry),
                "hazards": "；".join(
                    str(h.get("description", ""))
                    for h in rp.hazard_factors or []
                    if isinstance(h, dict)
                ),
                "accident_types": "、".join(map(str, rp.accident_types or [])),
                "measures": "；".join(
                    str(m.get("description", "")) for m in measures if isinstance(m, dict)
                ),
                "responsible": "；".join(
                    _responsible(m)
                    for m in measures
                    if isinstance(m, dict) and (m.get("level") or m.get("person"))
                ),
                "lon": rp.lon,
                "lat": rp.lat,
            }
        )
    return rows


def _responsible(m: dict[str, Any]) -> str:
    level = MEASURE_LEVELS.get(str(m.get("level")), str(m.get("level") or ""))
    return f"{level} {m.get('person') or ''}".strip()


def _red_areas(session: Session, principal: Principal, f: ListFilters) -> list[dict[str, Any]]:
    layer = _area_layer(session, principal, f.division)
    if layer is None:
        return []
    a, g = layer.areas, layer.grades
    unit_zh = area_service.UNIT_ZH[a.unit]
    rows = []
    for i in np.flatnonzero(g.level == 0):
        explain = layers.area_basis(layer, int(i))
        centre = a.shapes[i].centroid if len(a.shapes) and a.shapes[i] is not None else None
        rows.append(
            {
                "kind": "area",
                "kind_label": f"区域（{unit_zh}）",
                "id": a.keys[i],
                "unit": a.unit,
                "name": a.names[i],
                "level": "red",
                "level_label": LEVEL_LABELS["red"][0],
                "enterprise": "",
                "division_code": a.division_codes[i],
                "industry": "",
                "hazards": explain,
                "accident_types": "",
                "score": float(g.score[i]),
                "measures": "纳入重点管控区域，落实网格化巡查和监测预警",
                "responsible": "",
                "lon": round(centre.x, 6) if centre else None,
                "lat": round(centre.y, 6) if centre else None,
            }
        )
    return rows


# While overview() builds the four lists, the graded layers they share (major risks' red areas
# and the areas vulnerable targets stand in) are computed once, not once per list.
_SHARED_LAYERS: ContextVar[dict[tuple[str, str | None], layers.Layer] | None] = ContextVar(
    "risk_lists_shared_layers", default=None
)


def _layer(session: Session, principal: Principal, unit: str, division: str | None) -> layers.Layer:
    shared = _SHARED_LAYERS.get()
    if shared is None:
        return layers.compute_layer(session, principal, unit, division=division)
    if (unit, division) not in shared:
        shared[unit, division] = layers.compute_layer(session, principal, unit, division=division)
    return shared[unit, division]


def _area_layer(
    session: Session, principal: Principal, division: str | None
) -> layers.Layer | None:
    """Grid cells when the city has them, else districts (the finest unit with geometry)."""
    for unit in ("grid", "district"):
        layer = _layer(session, principal, unit, division)
        if len(layer.areas):
            return layer
    return None


# ---------------------------------------------------------------- 重大事故隐患清单


def _hidden_dangers(session: Session, principal: Principal, f: ListFilters) -> FourList:
    found = provider("major-hidden-dangers")
    rows = (
        [
            r
            for r in found(session, principal, f)
            if principal.covers(r.get("division_code"))
            and (not f.level or str(r.get("status")) == f.level)
        ]
        if found
        else []
    )
    statuses = {s: (s, s) for s in dict.fromkeys(str(r.get("status")) for r in rows)}
    return FourList(
        "major-hidden-dangers",
        HIDDEN_DANGER_COLUMNS,
        rows,
        "status",
        statuses,
        note=None if found else HIDDEN_DANGER_NOTE,
    )


# ---------------------------------------------------------------- 重大危险源清单


MAJOR_HAZARD_COLUMNS = [
    Column("name", "重大危险源（单元）名称", "Installation", 28),
    Column("unit_kind_label", "单元类型", "Unit", 10),
    Column("level_label", "等级", "Grade", 14),
    Column("r_value", "R 值", "R", 8),
    Column("s_value", "S 值", "S", 8),
    Column("substances", "主要危险化学品及数量", "Substances", 40),
    Column("enterprise", "企业", "Enterprise", 28),
    Column("industry", "行业", "Industry", 22),
    Column("division", "行政区划", "Division", 16),
    Column("exposed_population", "500 m 内暴露人数", "Exposed within 500 m", 12),
    Column("lon", "经度", "Longitude", 11),
    Column("lat", "纬度", "Latitude", 11),
]


def _level_grade(level: str | None) -> int | None:
    if not level:
        return None
    for g, zh in GRADE_ZH.items():
        if level in (str(g), zh):
            return g
    return -1  # a level that is not a grade matches nothing


def _major_hazards(session: Session, principal: Principal, f: ListFilters) -> FourList:
    stmt = (
        select(MajorHazard, Enterprise.name, Enterprise.industry_code)
        .select_from(MajorHazard)
        .outerjoin(Enterprise, Enterprise.id == MajorHazard.enterprise_id)
        .where(*area_service.hazard_filter(principal, f.division, f.industry))
        .order_by(MajorHazard.level, MajorHazard.r_value.desc(), MajorHazard.id)
    )
    grade = _level_grade(f.level)
    if grade is not None:
        stmt = stmt.where(MajorHazard.level == grade)
    rows = [_hazard_row(h, ent, ind) for h, ent, ind in session.execute(stmt)]
    return FourList(
        "major-hazards",
        MAJOR_HAZARD_COLUMNS,
        rows,
        "level",
        {str(g): GRADE_LABELS[str(g)] for g in (1, 2, 3, 4)},
    )


def _hazard_row(h: MajorHazard, enterprise: str | None, industry: str | None) -> dict[str, Any]:
    return {
        "id": h.id,
        "name": h.name,
        "unit_kind": h.unit_kind,
        "unit_kind_label": UNIT_KINDS.get(h.unit_kind, h.unit_kind),
        "level": str(h.level),
        "level_label": GRADE_LABELS[str(h.level)][0],
        "r_value": _round(h.r_value),
        "s_value": _round(h.s_value),
        "substances": _substances(h.substances),
        "enterprise_id": h.enterprise_id,
        "enterprise": enterprise or "",
        "industry_code": industry,
        "industry": _industry_label(industry),
        "division_code": h.division_code,
        "exposed_population": h.exposed_population,
        "lon": h.lon,
        "lat": h.lat,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _substances(items: Iterable[Any]) -> str:
    parts = []
    for s in items or []:
        if isinstance(s, dict):
            name = s.get("name") or s.get("cas") or ""
            q = s.get("quantity_t")
            parts.append(f"{name} {q:g} t" if isinstance(q, int | float) else str(name))
    return "；".join(parts)


# ---------------------------------------------------------------- 脆弱性目标清单


VULNERABLE_COLUMNS = [
    Column("name", "目标名称", "Target", 28),
    Column("target_type_label", "类型", "Type", 12),
    Column("capacity", "容纳人数", "Capacity", 10),
    Column("division", "行政区划", "Division", 16),
    Column("address", "地址", "Address", 28),
    Column("reason", "列入原因", "Reason", 30),
    Column("hazard", "最近重大危险源", "Nearest major hazard", 28),
    Column("hazard_enterprise", "危险源企业", "Hazard enterprise", 28),
    Column("hazard_level_label", "危险源等级", "Hazard grade", 14),
    Column("distance_m", "距离（米）", "Distance (m)", 10),
    Column("radius_m", "影响半径（米）", "Influence radius (m)", 10),
    Column("area_level_label", "所在区域风险等级", "Area level", 16),
    Column("lon", "经度", "Longitude", 11),
    Column("lat", "纬度", "Latitude", 11),
]


def _vulnerable_targets(session: Session, principal: Principal, f: ListFilters) -> FourList:
    layer = _layer(session, principal, "grid", f.division)
    rule = layer.rule
    targets = area_service.load_targets(session, principal, "grid", f.division)
    # Hazards are not limited by the division filter: one across the border still reaches.
    hazards = area_service.load_hazards(session, principal, "grid", None, f.industry)
    near, dist = area_service.vulnerable_flags(targets, hazards, rule)
    area_level = _target_area_levels(session, principal, layer, targets, f)
    # An industry filter or an enterprise officer's view has no complete area picture, so
    # only the distance to (their) major hazards counts there.
    partial = bool(f.industry) or principal.role == "enterprise_officer"
    hot = (area_level >= 0) & (area_level <= 1) if not partial else np.zeros(len(targets), bool)
    keep = np.flatnonzero((near >= 0) | hot)
    rows = _target_rows(session, targets, keep, near, dist, hazards, area_level, hot, rule)
    if f.level:
        grade = _level_grade(f.level)
        rows = [
            r
            for r in rows
            if (r["level"] == f.level) or (grade and grade > 0 and r["hazard_level"] == grade)
        ]
    rows.sort(key=lambda r: (r["distance_m"] is None, r["distance_m"] or 0, r["name"]))
    levels = {str(g): GRADE_LABELS[str(g)] for g in (1, 2, 3, 4)}
    levels |= {
        lv: (f"{LEVEL_LABELS[lv][0][:2]}区域内", f"In {lv} area") for lv in ("red", "orange")
    }
    return FourList("vulnerable-targets", VULNERABLE_COLUMNS, rows, "level", levels)


def _target_area_levels(
    session: Session,
    principal: Principal,
    layer: layers.Layer,
    targets: area_service.Items,
    f: ListFilters,
) -> np.ndarray:
    if not len(layer.areas):
        layer = layers.compute_layer(session, principal, "district", division=f.division)
    if not len(layer.areas) or not len(targets):
        return np.full(len(targets), -1, dtype=np.int64)
    idx = layers.assign(layer.areas, targets)
    return np.where(idx >= 0, layer.grades.level[np.maximum(idx, 0)], -1)


def _target_rows(
    session: Session,
    targets: area_service.Items,
    keep: np.ndarray,
    near: np.ndarray,
    dist: np.ndarray,
    hazards: area_service.Items,
    area_level: np.ndarray,
    hot: np.ndarray,
    rule: Any,
) -> list[dict[str, Any]]:
    ids = [int(targets.ids[k]) for k in keep]
    objs = (
        {
            t.id: t
            for t in session.scalars(select(ProtectedTarget).where(ProtectedTarget.id.in_(ids)))
        }
        if ids
        else {}
    )
    hazard_ids = sorted({int(hazards.ids[near[k]]) for k in keep if near[k] >= 0})
    hz = (
        {
            h.id: (h, name)
            for h, name in session.execute(
                select(MajorHazard, Enterprise.name)
                .outerjoin(Enterprise, Enterprise.id == MajorHazard.enterprise_id)
                .where(MajorHazard.id.in_(hazard_ids))
            )
        }
        if hazard_ids
        else {}
    )
    rows = []
    for k in keep:
        t = objs.get(int(targets.ids[k]))
        if t is None:
            continue
        h, h_ent = hz.get(int(hazards.ids[near[k]]), (None, None)) if near[k] >= 0 else (None, None)
        alevel = LEVELS[int(area_level[k])] if area_level[k] >= 0 else None
        reasons = []
        if h is not None:
            reasons.append(
                f"位于{GRADE_ZH[h.level]}重大危险源影响范围（{rule.radius_of(h.level):g} 米）内"
            )
        if hot[k]:
            reasons.append(f"位于{LEVEL_LABELS[alevel][0][:2]}风险区域内")
        rows.append(
            {
                "id": t.id,
                "name": t.name,
                "target_type": t.target_type,
                "target_type_label": TARGET_TYPES.get(t.target_type, (t.target_type,))[0],
                "capacity": t.capacity,
                "division_code": t.division_code,
                "address": t.address,
                "reason": "；".join(reasons),
                "hazard_id": h.id if h else None,
                "hazard": h.name if h else "",
                "hazard_enterprise": h_ent or "",
                "hazard_level": h.level if h else None,
                "hazard_level_label": GRADE_LABELS[str(h.level)][0] if h else "",
                "distance_m": round(float(dist[k]), 1) if h is not None else None,
                "radius_m": rule.radius_of(h.level) if h else None,
                "area_level": alevel,
                "area_level_label": LEVEL_LABELS[alevel][0] if alevel else "",
                "level": str(h.level) if h is not None else alevel,
                "lon": t.lon,
                "lat": t.lat,
            }
        )
    return rows


# ---------------------------------------------------------------- XLSX


def export_xlsx(result: FourList) -> bytes:
    """The list as a workbook: the rows under Chinese headers, then a summary sheet."""
    from openpyxl import Workbook  # noqa: PLC0415 openpyxl loaded only when a workbook is read or written
    from openpyxl.styles import Font  # noqa: PLC0415 openpyxl loaded only when a workbook is read or written
    from openpyxl.utils import get_column_letter  # noqa: PLC0415 openpyxl loaded only when a workbook is read or written

    wb = Workbook()
    ws = wb.active
    ws.title = result.title[0]
    ws.append(["序号", *(c.zh for c in result.columns)])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, row in enumerate(result.rows, start=1):
        ws.append([i, *(_cell(row.get(c.key)) for c in result.columns)])
    ws.freeze_panes = "A2"
    for j, width in enumerate([6, *(c.width for c in result.columns)], start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    _summary_sheet(wb.create_sheet("汇总"), result)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(value: Any) -> Any:
    # Text that starts like a formula stays text, so a crafted name cannot run in Excel.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _summary_sheet(ws: Any, result: FourList) -> None:
    summary = result.summary()
    ws.append([result.title[0], f"合计 {summary['total']} 项"])
    if result.note:
        ws.append([result.note[0]])
    ws.append([])
    ws.append(["按等级/类别", "数量"])
    for item in summary["by_level"]:
        ws.append([item["label_zh"], item["count"]])
    ws.append([])
    ws.append(["区县代码", "区县", "数量", *(zh for zh, _en in result.levels.values())])
    for d in summary["by_district"]:
        ws.append([d["code"], d["name"], d["count"], *(d["by_level"][k] for k in result.levels)])
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 16


def overview(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The four lists with their totals (the tab bar and the API index)."""
    out = []
    shared = _SHARED_LAYERS.set({})
    try:
        for name in NAMES:
            result = get_list(session, principal, name, ListFilters())
            out.append(
                {
                    "name": name,
                    "title": result.title[0],
                    "title_en": result.title[1],
                    "total": len(result.rows),
                    "note": result.note[0] if result.note else None,
                }
            )
    finally:
        _SHARED_LAYERS.reset(shared)
    return out


def filters_from(
    division: str | None, industry: str | None, level: str | None, kind: str | None = None
) -> ListFilters:
    def clean(v: str | None) -> str | None:
        return v.strip() if v and v.strip() else None

    return ListFilters(clean(division), clean(industry), clean(level), clean(kind))


def page_rows(rows: Sequence[dict[str, Any]], page: int, size: int) -> list[dict[str, Any]]:
    start = (max(1, page) - 1) * size
    return list(rows[start : start + size])
