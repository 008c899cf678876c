"""White paper inputs: the request's year, format and division, and small records loaded from
each table with the caller's scope inside the paper's division."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.errors import FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal, division_prefix, is_valid_division_code
from safecity.registry import service as registry
from safecity.registry.kinds import ENTERPRISE
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.risk.areas import service as area_service
from safecity.risk.lists import service as lists
from safecity.risk.major_hazards import service as hazard_service
from safecity.risk.models import MajorHazard, RiskAssessment, RiskPoint
from safecity.risk.points import service as point_service

MIN_YEAR = 2000
FORMATS = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
LEVELS = ("red", "orange", "yellow", "blue")
LEVEL_ZH = {"red": "重大风险", "orange": "较大风险", "yellow": "一般风险", "blue": "低风险"}
COLOUR_ZH = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"}
LEVEL_HEX = {"red": "#E53935", "orange": "#FB8C00", "yellow": "#FDD835", "blue": "#1E88E5"}
GRADE_ZH = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
GRADES = (1, 2, 3, 4)
# Area colour when no area-level service is available: a GB 18218 grade lifts the area it stands
# in like a risk point of this level (一级/二级 are the ones provincial plans call red).
HAZARD_GRADE_LEVEL = {1: "red", 2: "red", 3: "orange", 4: "yellow"}
# A protected target this close to a major hazard is on the vulnerable-target list: the same
# 500 m that GB 18218-2018 §4.2.3 (Table 5) uses to count the exposed population for α.
INFLUENCE_RADIUS_M = 500.0
MAX_HAZARD_ROWS = 500
NON_ENTERPRISE = "非企业（公共场所、区域等）"
UNKNOWN_INDUSTRY = "行业未登记"
NO_BOUNDARIES = "暂无区域边界数据"

KM_PER_DEG_LON = 111.32  # km per degree of longitude at the equator
KM_PER_DEG_LAT = 110.57  # km per degree of latitude


# =========================================================================== input and scope


def parse_year(value: Any, now: datetime) -> int:
    """A four-digit year between 2000 and the current year (Beijing time)."""
    text = str(value).strip() if value is not None else ""
    this_year = now.astimezone(BEIJING).year
    if not re.fullmatch(r"\d{4}", text):
        raise Invalid(
            [
                FieldError(
                    "year",
                    f"年度：请填写四位数字年份，如 {this_year - 1}",
                    f"year: give a four-digit year such as {this_year - 1}",
                )
            ]
        )
    year = int(text)
    if not MIN_YEAR <= year <= this_year:
        raise Invalid(
            [
                FieldError(
                    "year",
                    f"年度：须在 {MIN_YEAR}–{this_year} 之间",
                    f"year: must be between {MIN_YEAR} and {this_year}",
                )
            ]
        )
    return year


def parse_format(value: Any) -> str:
    fmt = str(value or "").strip().lower()
    if fmt not in FORMATS:
        raise Invalid(
            [FieldError("format", "格式：只能是 pdf 或 docx", "format: must be pdf or docx")]
        )
    return fmt


def parse_division(value: Any) -> str:
    code = str(value or "").strip()
    if not is_valid_division_code(code):
        raise Invalid(
            [
                FieldError(
                    "division",
                    "行政区划：请填写 6 位行政区划代码，如 370600",
                    "division: give a 6-digit division code such as 370600",
                )
            ]
        )
    return code


def resolve_division(session: Session, principal: Principal, division_code: str) -> Division:
    """The division the paper covers: the one asked for, narrowed to the caller's own scope.

    A district officer asking for the whole city gets their district; asking for a division
    outside their scope altogether is not found (404, as every read outside scope).
    """
    if not principal.can_read():
        raise Forbidden("当前角色无权查看风险白皮书", "your role may not read the risk white paper")
    if principal.covers(division_code):
        target = division_code
    elif principal.division_code.startswith(division_prefix(division_code)):
        target = principal.division_code
    else:
        raise NotFound("行政区划", "division")
    division = session.get(Division, target)
    if division is None or division.archived:
        raise NotFound("行政区划", "division")
    return division


def year_cutoff(year: int, now: datetime) -> tuple[datetime, bool]:
    """The instant the year's snapshot is taken (exclusive) and whether the year is still running."""
    end = datetime(year + 1, 1, 1, tzinfo=BEIJING)
    return (now, True) if now < end else (end, False)


# =========================================================================== data sources
#
# Each loader below reads one table with the caller's scope applied by the one rule
# (safecity.core.scope, through each capability's scope clause) inside the paper's division;
# grid cells and divisions are the paper's frame. They return small records.


@dataclass
class RP:
    id: int
    name: str
    division_code: str
    industry: str | None
    enterprise_id: int | None
    grid_cell_id: int | None
    lon: float | None
    lat: float | None
    created_at: datetime | None
    review_date: date | None
    level: str | None  # current level (latest approved assessment)
    history: list[tuple[datetime, str]] = field(default_factory=list)

    def level_at(self, cutoff: datetime) -> str | None:
        """The level of the latest approved assessment before ``cutoff``.

        Points that never had an assessment recorded (imported with a level) keep their level.
        """
        if not self.history:
            return self.level
        level = None
        for when, lvl in self.history:
            if when < cutoff:
                level = lvl
        return level


@dataclass
class MH:
    id: int
    enterprise_id: int
    enterprise: str
    industry: str | None
    name: str
    unit_kind: str
    division_code: str
    lon: float | None
    lat: float | None
    r_value: float | None
    level: int | None
    substances: list[str]
    assessed_at: datetime | None


@dataclass
class Ent:
    id: int
    name: str
    industry: str
    category: str
    is_hazchem: bool
    division_code: str
    created_at: datetime | None


@dataclass
class Target:
    id: int
    name: str
    target_type: str
    capacity: int
    division_code: str
    lon: float | None
    lat: float | None


@dataclass
class Area:
    """One polygon of the four-colour map: a grid cell, or a district when there are no cells."""

    key: str
    name: str
    division_code: str
    geometry: Any  # shapely geometry in lon/lat
    level: str
    reasons: list[str] = field(default_factory=list)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _prefix_clause(column: Any, prefix: str) -> Any:
    return column.startswith(prefix, autoescape=True) if prefix else True


def _enterprise_clause(principal: Principal, prefix: str) -> Any:
    return and_(
        registry.scope_clause(ENTERPRISE, principal),
        _prefix_clause(Enterprise.division_code, prefix),
    )


def load_risk_points(session: Session, principal: Principal, prefix: str) -> list[RP]:
    clause = and_(
        _prefix_clause(RiskPoint.division_code, prefix),
        RiskPoint.archived.is_(False),
        point_service.point_scope(principal),
    )
    stmt = (
        select(
            RiskPoint.id,
            RiskPoint.name,
            RiskPoint.division_code,
            RiskPoint.industry_code,
            Enterprise.industry_code,
            RiskPoint.enterprise_id,
            RiskPoint.grid_cell_id,
            RiskPoint.lon,
            RiskPoint.lat,
            RiskPoint.created_at,
            RiskPoint.review_date,
            RiskPoint.level,
        )
        .outerjoin(Enterprise, Enterprise.id == RiskPoint.enterprise_id)
        .where(clause)
        .order_by(RiskPoint.id)
    )
    points = {
        r[0]: RP(
            id=r[0],
            name=r[1],
            division_code=r[2],
            industry=r[3] or r[4],
            enterprise_id=r[5],
            grid_cell_id=r[6],
            lon=r[7],
            lat=r[8],
            created_at=_aware(r[9]),
            review_date=r[10],
            level=r[11],
        )
        for r in session.execute(stmt)
    }
    history = (
        select(
            RiskAssessment.risk_point_id,
            RiskAssessment.level,
            RiskAssessment.approved_at,
            RiskAssessment.assessed_at,
        )
        .join(RiskPoint, RiskPoint.id == RiskAssessment.risk_point_id)
        .where(clause, RiskAssessment.status == "approved")
    )
    for rp_id, level, approved_at, assessed_at in session.execute(history):
        when = _aware(approved_at or assessed_at)
        if rp_id in points and when is not None:
            points[rp_id].history.append((when, level))
    for rp in points.values():
        rp.history.sort(key=lambda item: item[0])
    return list(points.values())


def _substance_names(hazard: MajorHazard) -> list[str]:
    result = hazard.result if isinstance(hazard.result, dict) else {}
    terms = result.get("terms") or []
    if terms:
        ranked = sorted(terms, key=lambda t: -(t.get("q_over_Q") or 0))
        names = [
            str(t.get("name") or t.get("input_name") or t.get("input_cas") or "") for t in ranked
        ]
    else:
        names = [
            str(s.get("name") or s.get("cas") or "")
            for s in (hazard.substances or [])
            if isinstance(s, dict)
        ]
    seen: list[str] = []
    for name in names:
        if name and name not in seen:
            seen.append(name)
    return seen


def load_major_hazards(session: Session, principal: Principal, prefix: str) -> list[MH]:
    clause = and_(
        _prefix_clause(MajorHazard.division_code, prefix),
        MajorHazard.archived.is_(False),
        MajorHazard.is_major.is_(True),
        hazard_service.hazard_scope(principal),
    )
    stmt = (
        select(MajorHazard, Enterprise.name, Enterprise.industry_code)
        .outerjoin(Enterprise, Enterprise.id == MajorHazard.enterprise_id)
        .where(clause)
        .order_by(MajorHazard.id)
    )
    return [
        MH(
            id=h.id,
            enterprise_id=h.enterprise_id,
            enterprise=ent_name or f"企业#{h.enterprise_id}",
            industry=industry,
            name=h.name,
            unit_kind=h.unit_kind,
            division_code=h.division_code,
            lon=h.lon,
            lat=h.lat,
            r_value=h.r_value,
            level=h.level,
            substances=_substance_names(h),
            assessed_at=_aware(h.assessed_at),
        )
        for h, ent_name, industry in session.execute(stmt)
    ]


def load_enterprises(session: Session, principal: Principal, prefix: str) -> list[Ent]:
    stmt = select(
        Enterprise.id,
        Enterprise.name,
        Enterprise.industry_code,
        Enterprise.supervision_category,
        Enterprise.is_hazchem,
        Enterprise.division_code,
        Enterprise.created_at,
    ).where(_enterprise_clause(principal, prefix), Enterprise.archived.is_(False))
    return [
        Ent(r[0], r[1], r[2], r[3], bool(r[4]), r[5], _aware(r[6])) for r in session.execute(stmt)
    ]


def load_targets(session: Session, principal: Principal, prefix: str) -> list[Target]:
    stmt = (
        select(
            ProtectedTarget.id,
            ProtectedTarget.name,
            ProtectedTarget.target_type,
            ProtectedTarget.capacity,
            ProtectedTarget.division_code,
            ProtectedTarget.lon,
            ProtectedTarget.lat,
        )
        .where(
            _prefix_clause(ProtectedTarget.division_code, prefix),
            *area_service.target_filter(principal),
            ProtectedTarget.archived.is_(False),
        )
        .order_by(ProtectedTarget.id)
    )
    return [Target(*r) for r in session.execute(stmt)]


def load_grid_cells(session: Session, prefix: str) -> list[GridCell]:
    stmt = (
        select(GridCell)
        .where(_prefix_clause(GridCell.division_code, prefix), GridCell.archived.is_(False))
        .order_by(GridCell.code)
    )
    return list(session.scalars(stmt))


def load_divisions(session: Session, division: Division) -> list[Division]:
    prefix = division_prefix(division.code)
    stmt = (
        select(Division)
        .where(_prefix_clause(Division.code, prefix), Division.archived.is_(False))
        .order_by(Division.code)
    )
    return list(session.scalars(stmt))


def load_major_hidden_dangers(
    session: Session, principal: Principal, prefix: str, cutoff: datetime
) -> list[dict[str, Any]] | None:
    """Open 重大事故隐患 found by ``cutoff``, from the provider the hidden-danger capability
    registers for the four lists; None while no capability provides them."""

    provider = lists.provider("major-hidden-dangers")
    if provider is None:
        return None
    rows = provider(session, principal, lists.ListFilters(division=prefix or None))
    # The provider lists what is open now; a past year's paper keeps those found by its end.
    last_day = cutoff.date().isoformat()
    out = []
    for row in rows:
        if str(row.get("found_at") or "") > last_day:
            continue
        industry = str(row.get("industry") or "").split(" ")[0]
        out.append({**row, "industry_code": industry or None})
    return out
