"""Area risk use cases: the city's area rule (read, change, audited), the scope clauses of the
map's items, and the loaders of scoped risk points, major hazards, targets and signals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy import (
    Integer,
    case,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session, aliased

from safecity.core import audit, scope
from safecity.core.errors import FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal, Shape, division_prefix
from safecity.core.sql import code_within
from safecity.registry.models import Enterprise, ProtectedTarget
from safecity.risk.areas import rules as areas
from safecity.risk.areas.rules import LEVELS, AreaRule
from safecity.risk.major_hazards import service as hazard_service
from safecity.risk.models import MajorHazard, RiskPoint, RiskSetting, RiskSignal
from safecity.risk.points import service as point_service

UNITS = ("grid", "street", "district", "h3")
AGGREGATE_UNITS = ("street", "district")  # graded from their grid cells (areas rule, step 5)
UNIT_ZH = {"grid": "网格", "street": "街道（乡镇）", "district": "区县", "h3": "H3 六边形"}
COLOURS = {"red": "#d7191c", "orange": "#fd8d3c", "yellow": "#fed976", "blue": "#2c7bb6"}
SETTING_KEY = "area_rule"


# ---------------------------------------------------------------- per-city rule


def load_rule(session: Session, division_code: str | None) -> AreaRule:
    """The area rule of the city the code belongs to (then its province), else the default.

    The city's setting wins over a district's so that a district officer and the city analyst
    see the same colour for the same area.
    """
    code = (division_code or "").ljust(6, "0")[:6]
    candidates = [code[:4] + "00", code[:2] + "0000"]
    rows = {
        r.division_code: r.value
        for r in session.scalars(
            select(RiskSetting).where(
                RiskSetting.key == SETTING_KEY, RiskSetting.division_code.in_(candidates)
            )
        )
    }
    for c in candidates:
        if c in rows:
            try:
                return AreaRule.from_dict(rows[c])
            except areas.AreaRuleError as exc:
                raise Invalid([FieldError(f, zh, en) for f, zh, en in exc.errors]) from None
    return areas.DEFAULT_RULE


RULE_WRITERS = frozenset({"admin", "risk_analyst"})


def city_of(division_code: str) -> str:
    """The city (地级市) a division code belongs to: the level the area rule is kept at."""
    code = (division_code or "").ljust(6, "0")[:6]
    return code[:4] + "00"


def rule_setting(
    session: Session, principal: Principal, division: str | None = None
) -> dict[str, Any]:
    """The area rule in force for a city, whether it is the city's own, and the default."""
    check_reader(principal)
    city = _rule_city(principal, division)
    row = session.get(RiskSetting, (city, SETTING_KEY))
    rule = load_rule(session, city)
    return {
        "division_code": city,
        "custom": row is not None,
        "rule": rule.as_dict(),
        "default": areas.DEFAULT_RULE.as_dict(),
        "updated_by": row.updated_by if row else None,
        "updated_at": row.updated_at.isoformat() if row and row.updated_at else None,
    }


def save_rule(
    session: Session, principal: Principal, value: Any, now: Any, division: str | None = None
) -> dict[str, Any]:
    """Replace a city's area rule (admin and risk analyst of that city); audited.

    ``value`` is validated whole before anything is written; an empty object returns the
    city to the default rule.
    """

    if principal.role not in RULE_WRITERS:
        raise Forbidden(
            "仅系统管理员和风险管理员可修改区域风险规则",
            "only administrators and risk analysts may change the area rule",
        )
    city = _rule_city(principal, division)
    if not principal.covers(city) or len(principal.prefix) > 4:
        raise Forbidden(
            "区域风险规则按城市设置，超出您的管辖范围",
            "the area rule is set per city, outside your jurisdiction",
        )
    try:
        rule = AreaRule.from_dict(value)
    except areas.AreaRuleError as exc:
        raise Invalid([FieldError(f, zh, en) for f, zh, en in exc.errors]) from None
    row = session.get(RiskSetting, (city, SETTING_KEY))
    before = dict(row.value) if row else None
    stored = rule.as_dict() if value else None
    if stored is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(
            RiskSetting(
                division_code=city,
                key=SETTING_KEY,
                value=stored,
                updated_by=principal.username,
                updated_at=now,
            )
        )
    else:
        row.value, row.updated_by, row.updated_at = stored, principal.username, now
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="update",
        object_type="risk_setting",
        object_id=f"{city}:{SETTING_KEY}",
        before=before,
        after=stored,
        now=now,
    )
    return rule_setting(session, principal, city)


def _rule_city(principal: Principal, division: str | None) -> str:
    code = (division or principal.division_code or "").strip()
    if not code.isdigit() or len(code) not in (6, 9, 12):
        raise Invalid(
            [
                FieldError(
                    "division", "行政区划：应为 6 位数字代码", "division: a 6-digit division code"
                )
            ]
        )
    city = city_of(code)
    # A district user reads the rule of their own city; a foreign city is not revealed.
    if not (principal.covers(city) or city_of(principal.division_code) == city):
        raise NotFound("行政区划", "division")
    return city


# ---------------------------------------------------------------- scope


def check_reader(principal: Principal) -> None:
    if not principal.can_read():
        raise Forbidden("当前角色无权查看风险数据", "your role may not view risk data")


def _scan_column(column: Any, principal: Principal, division: str | None) -> Any:
    """The division column, wrapped when the range is city-wide.

    A city-wide range selects nearly every row, yet SQLite would still walk the division
    index row by row (twice as slow as a scan); wrapping the column leaves the scan as the
    only plan. Narrower (district) ranges keep the index.
    """
    prefixes = [principal.prefix] + ([division_prefix(division)] if division else [])
    return column.concat("") if len(max(prefixes, key=len)) <= 4 else column


def scoped(principal: Principal, shape: Shape, division: str | None) -> list[Any]:
    """The one scope rule on ``shape``, then the division the caller picked."""
    column = _scan_column(shape.division, principal, division)
    clauses = [scope.clause(principal, replace(shape, division=column))]
    if division:
        clauses.append(code_within(column, division_prefix(division)))
    return clauses


def point_filter(
    principal: Principal, division: str | None = None, industry: str | None = None
) -> tuple[list[Any], bool]:
    """WHERE clauses for the risk points the caller may see; True when Enterprise is joined."""
    clauses = [
        RiskPoint.archived.is_(False),
        RiskPoint.level.is_not(None),
        *scoped(principal, point_service.POINT_SHAPE, division),
    ]
    if not industry:
        return clauses, False
    # The industry picked as a filter: a point without its own code takes its enterprise's.
    column = func.coalesce(RiskPoint.industry_code, Enterprise.industry_code)
    return [*clauses, scope.industry_clause(column, industry)], True


def hazard_filter(
    principal: Principal, division: str | None = None, industry: str | None = None
) -> list[Any]:
    """WHERE clauses for the graded major hazards visible to the caller (Enterprise joined)."""
    clauses = [
        MajorHazard.archived.is_(False),
        MajorHazard.is_major.is_(True),
        MajorHazard.level.is_not(None),
        *scoped(principal, hazard_service.HAZARD_SHAPE, division),
    ]
    if industry:
        clauses.append(scope.industry_clause(Enterprise.industry_code, industry))
    return clauses


# Targets are counted and listed beside the caller's own hazards and graded areas (an
# enterprise officer sees the school near their tank farm), so the map reads them as frame.
TARGET_SHAPE = Shape(division=ProtectedTarget.division_code, reference=True)
# A signal's industry is its enterprise's (signals without one are no liaison's).
SIGNAL_SHAPE = Shape(
    division=RiskSignal.division_code,
    enterprise=RiskSignal.enterprise_id,
    industry=Enterprise.industry_code,
    industry_via=Enterprise.id,
)


def target_filter(principal: Principal, division: str | None = None) -> list[Any]:
    return [ProtectedTarget.archived.is_(False), *scoped(principal, TARGET_SHAPE, division)]


def signal_filter(principal: Principal, division: str | None = None) -> list[Any]:
    return [RiskSignal.active.is_(True), *scoped(principal, SIGNAL_SHAPE, division)]


# ---------------------------------------------------------------- items


@dataclass
class Items:
    """One kind of located thing as columns: id, class (level / grade−1), key, lon, lat."""

    ids: np.ndarray
    cls: np.ndarray
    key: np.ndarray  # grid cell id / division code as int / −1
    lon: np.ndarray
    lat: np.ndarray
    extra: np.ndarray  # raise steps for signals, zeros otherwise

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, mask: np.ndarray) -> Items:
        return Items(
            self.ids[mask],
            self.cls[mask],
            self.key[mask],
            self.lon[mask],
            self.lat[mask],
            self.extra[mask],
        )


def key_column(unit: str, division_col: Any, grid_col: Any | None) -> Any:
    if unit == "grid":
        return func.coalesce(grid_col, -1) if grid_col is not None else literal_column("-1")
    if unit == "district":
        return cast(func.substr(division_col, 1, 6), Integer)
    if unit == "street":
        # A street code when the row has one; else its grid cell as −(id + 2), which
        # assign() resolves through the street holding the cell (see _cell_streets).
        by_cell = -(grid_col + 2) if grid_col is not None else -1
        return case(
            (func.length(division_col) >= 9, cast(func.substr(division_col, 1, 9), Integer)),
            else_=func.coalesce(by_cell, -1) if grid_col is not None else -1,
        )
    return literal_column("-1")


def _to_items(rows: Sequence[Any]) -> Items:
    # All six columns are numeric, so one float array holds them (None → NaN) and is split.
    data = np.array(rows, dtype=np.float64).reshape(-1, 6)
    ints = np.nan_to_num(data[:, [0, 1, 2, 5]], nan=-1).astype(np.int64)
    return Items(ints[:, 0], ints[:, 1], ints[:, 2], data[:, 3], data[:, 4], ints[:, 3])


def fetch_rows(session: Session, stmt: Any) -> list[Any]:
    """Rows as plain DBAPI tuples, inside the session's transaction.

    Building SQLAlchemy Row objects for 10⁵ numeric rows costs more than the query itself, and
    these statements bind only strings and integers, which need no type processing.
    """
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args: Any = (
        tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _enterprise_column(name: str) -> Any:
    """The point's enterprise's `name` column, looked up by primary key per point. A lookup,
    not a join: the scope rule's clause (a subquery per row) makes PostgreSQL expect a handful
    of points and nest-loop the join over every enterprise (0.6 s for a liaison's 2,800 points
    on the demo city, 5 ms as lookups); COALESCE reads it only for points without their own."""
    owner = aliased(Enterprise)
    column = getattr(owner, name)
    return (
        select(column)
        .where(owner.id == RiskPoint.enterprise_id)
        .correlate(RiskPoint)
        .scalar_subquery()
    )


# A point without coordinates stands where its enterprise does.
POINT_LON = func.coalesce(RiskPoint.lon, _enterprise_column("lon"))
POINT_LAT = func.coalesce(RiskPoint.lat, _enterprise_column("lat"))
LEVEL_INDEX = case({lv: i for i, lv in enumerate(LEVELS)}, value=RiskPoint.level, else_=3)


def load_points(
    session: Session,
    principal: Principal,
    unit: str,
    division: str | None = None,
    industry: str | None = None,
    extra: Sequence[Any] = (),
) -> Items:
    clauses, joined = point_filter(principal, division, industry)
    # A point without coordinates stands where its enterprise does (POINT_LON/LAT), so an area
    # is never less severe than the enterprises located in it.
    stmt = (
        select(
            RiskPoint.id,
            LEVEL_INDEX,
            key_column(unit, RiskPoint.division_code, RiskPoint.grid_cell_id),
            POINT_LON,
            POINT_LAT,
            literal_column("0"),
        )
        .select_from(RiskPoint)
        .where(*clauses, *extra)
    )
    if joined:  # the industry filter reads the enterprise's code
        stmt = stmt.outerjoin(Enterprise, Enterprise.id == RiskPoint.enterprise_id)
    return _to_items(fetch_rows(session, stmt))


def load_hazards(
    session: Session,
    principal: Principal,
    unit: str,
    division: str | None = None,
    industry: str | None = None,
    extra: Sequence[Any] = (),
) -> Items:
    stmt = (
        select(
            MajorHazard.id,
            MajorHazard.level - 1,
            key_column(unit, MajorHazard.division_code, None),
            MajorHazard.lon,
            MajorHazard.lat,
            literal_column("0"),
        )
        .select_from(MajorHazard)
        .outerjoin(Enterprise, Enterprise.id == MajorHazard.enterprise_id)
        .where(*hazard_filter(principal, division, industry), *extra)
    )
    return _to_items(fetch_rows(session, stmt))


def load_targets(
    session: Session,
    principal: Principal,
    unit: str,
    division: str | None = None,
    extra: Sequence[Any] = (),
) -> Items:
    stmt = select(
        ProtectedTarget.id,
        literal_column("0"),
        key_column(unit, ProtectedTarget.division_code, None),
        ProtectedTarget.lon,
        ProtectedTarget.lat,
        literal_column("0"),
    ).where(*target_filter(principal, division), *extra)
    return _to_items(fetch_rows(session, stmt))


def load_signals(
    session: Session,
    principal: Principal,
    unit: str,
    division: str | None = None,
    extra: Sequence[Any] = (),
) -> Items:
    stmt = select(
        RiskSignal.id,
        literal_column("0"),
        key_column(unit, RiskSignal.division_code, RiskSignal.grid_cell_id),
        RiskSignal.lon,
        RiskSignal.lat,
        RiskSignal.raise_steps,
    ).where(*signal_filter(principal, division), *extra)
    return _to_items(fetch_rows(session, stmt))


def vulnerable_flags(
    targets: Items, hazards: Items, rule: AreaRule
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest major hazard (index into ``hazards``) whose influence radius reaches each target."""
    if not len(targets) or not len(hazards):
        return np.full(len(targets), -1, dtype=np.int64), np.full(len(targets), np.nan)
    t_ok = ~(np.isnan(targets.lon) | np.isnan(targets.lat))
    h_ok = np.flatnonzero(~(np.isnan(hazards.lon) | np.isnan(hazards.lat)))
    radius = np.array([rule.radius_of(int(c) + 1) for c in hazards.cls[h_ok]])
    best = np.full(len(targets), -1, dtype=np.int64)
    dist = np.full(len(targets), np.nan)
    b, d = areas.nearest_within(
        np.column_stack([targets.lon[t_ok], targets.lat[t_ok]]),
        np.column_stack([hazards.lon[h_ok], hazards.lat[h_ok]]),
        radius,
    )
    best[t_ok] = np.where(b >= 0, h_ok[np.maximum(b, 0)], -1) if len(h_ok) else -1
    dist[t_ok] = d
    return best, dist
