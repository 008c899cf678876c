"""Risk grading use cases: risk points, their assessments and approval, per-city LEC/matrix
settings, enterprise inherent level, major hazard units (GB 18218) with exposure — scoped and
audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, case, func, nulls_last, or_, select
from sqlalchemy.orm import Session

from safecity.core import audit, events, scope
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal, Shape, division_prefix
from safecity.core.sql import code_within
from safecity.core.validation import translate
from safecity.registry import service as registry
from safecity.registry.kinds import ENTERPRISE
from safecity.registry.models import Enterprise, GridCell, ProtectedTarget
from safecity.risk import exposure as exposure_rules
from safecity.risk import hazmat, lec, matrix
from safecity.risk.models import MajorHazard, RiskAssessment, RiskPoint, RiskSetting
from safecity.risk.schemas import (
    LABELS,
    AssessmentIn,
    ExposureOverrideIn,
    MajorHazardIn,
    RiskPointIn,
)

# Who may create/edit risk points and major hazard units (inside their scope); enterprise
# officers only for their own enterprise.
WRITERS = frozenset({"admin", "risk_analyst", "district_officer", "enterprise_officer"})
# Who approves assessments, overrides exposure and changes the city's grading settings.
ANALYSTS = frozenset({"admin", "risk_analyst"})
MAX_PAGE_SIZE = 500
LEVEL_ORDER = {"red": 1, "orange": 2, "yellow": 3, "blue": 4}
# Enterprise inherent level from its major hazards: grade 1/2 → red, 3 → orange, 4 → yellow.
HAZARD_GRADE_LEVEL = {1: "red", 2: "red", 3: "orange", 4: "yellow"}
LEC_KEY, MATRIX_KEY = "lec_bands", "risk_matrix"
SORTABLE = ("name", "code", "level", "review_date", "division_code", "updated_at", "id")


# --------------------------------------------------------------------------- scope


# A risk point's industry is its own code, else its enterprise's.
POINT_INDUSTRY = func.coalesce(
    RiskPoint.industry_code,
    select(Enterprise.industry_code)
    .where(Enterprise.id == RiskPoint.enterprise_id)
    .correlate(RiskPoint)
    .scalar_subquery(),
)
POINT_SHAPE = Shape(
    division=RiskPoint.division_code, enterprise=RiskPoint.enterprise_id, industry=POINT_INDUSTRY
)
# A major hazard installation's industry is its enterprise's.
HAZARD_SHAPE = Shape(
    division=MajorHazard.division_code,
    enterprise=MajorHazard.enterprise_id,
    industry=Enterprise.industry_code,
    industry_via=Enterprise.id,
)


def point_scope(principal: Principal) -> Any:
    """WHERE clause: the risk points the caller may see."""
    return scope.clause(principal, POINT_SHAPE)


def _sees_point(session: Session, principal: Principal, point: RiskPoint) -> bool:
    industry = point.industry_code
    if industry is None and point.enterprise_id is not None and principal.liaison_industry:
        industry = session.scalar(
            select(Enterprise.industry_code).where(Enterprise.id == point.enterprise_id)
        )
    return scope.sees(
        principal,
        POINT_SHAPE,
        point.division_code,
        enterprise_id=point.enterprise_id,
        industry_code=industry,
    )


def _check_writer(
    principal: Principal, division_code: str | None, enterprise_id: int | None
) -> None:
    if principal.role not in WRITERS:
        raise Forbidden("当前角色无权修改风险数据", "your role may not change risk data")
    if not principal.covers(division_code):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    if principal.role == "enterprise_officer" and (
        enterprise_id is None or enterprise_id != principal.enterprise_id
    ):
        raise Forbidden(
            "企业安全员只能维护本企业的风险数据",
            "you may only change your own enterprise's risk data",
        )


def _require_analyst(principal: Principal) -> None:
    if principal.role not in ANALYSTS:
        raise Forbidden(
            "仅风险管理员或系统管理员可执行此操作",
            "only risk analysts and administrators may do this",
        )


def _invalid(exc: ValidationError, row: int | None = None) -> Invalid:
    return Invalid(translate(exc.errors(), LABELS, row=row))


# --------------------------------------------------------------------------- risk points


@dataclass
class PointQuery:
    q: str | None = None
    division: str | None = None
    enterprise_id: int | None = None
    industry: str | None = None
    level: str | None = None  # red|orange|yellow|blue|none
    owner_kind: str | None = None
    overdue: bool = False
    include_archived: bool = False
    sort: str = "name"
    desc: bool = False
    page: int = 1
    size: int = 50
    today: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    size: int


def _filtered_points(principal: Principal, query: PointQuery) -> Select[Any]:
    stmt = select(RiskPoint).where(point_scope(principal))
    if not query.include_archived:
        stmt = stmt.where(RiskPoint.archived.is_(False))
    if query.division:
        stmt = stmt.where(code_within(RiskPoint.division_code, division_prefix(query.division)))
    if query.enterprise_id is not None:
        stmt = stmt.where(RiskPoint.enterprise_id == query.enterprise_id)
    if query.industry:
        stmt = stmt.where(scope.industry_clause(RiskPoint.industry_code, query.industry))
    if query.level == "none":
        stmt = stmt.where(RiskPoint.level.is_(None))
    elif query.level:
        stmt = stmt.where(RiskPoint.level == query.level)
    if query.owner_kind:
        stmt = stmt.where(RiskPoint.owner_kind == query.owner_kind)
    if query.overdue and query.today is not None:
        stmt = stmt.where(RiskPoint.review_date.is_not(None), RiskPoint.review_date < query.today)
    if query.q:
        needle = f"%{query.q.strip()}%"
        stmt = stmt.where(
            or_(
                RiskPoint.name.ilike(needle),
                RiskPoint.code.ilike(needle),
                RiskPoint.facility_name.ilike(needle),
            )
        )
    return stmt


def list_points(session: Session, principal: Principal, query: PointQuery) -> Page:
    size = max(1, min(query.size, MAX_PAGE_SIZE))
    page = max(1, query.page)
    stmt = _filtered_points(principal, query)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    sort = query.sort if query.sort in SORTABLE else "name"
    column = getattr(RiskPoint, sort)
    if sort == "level":
        # Severity order (red first), not the alphabetical order of the keys.
        column = case(LEVEL_ORDER, value=RiskPoint.level, else_=5)
    order = (
        (column.desc(), RiskPoint.id.desc()) if query.desc else (column.asc(), RiskPoint.id.asc())
    )
    items = list(session.scalars(stmt.order_by(*order).limit(size).offset((page - 1) * size)))
    return Page(items, total, page, size)


def get_point(session: Session, principal: Principal, point_id: Any) -> RiskPoint:
    try:
        point = session.get(RiskPoint, int(point_id))
    except (TypeError, ValueError):
        point = None
    # Points outside scope are reported as missing so their existence is not revealed.
    if point is None or not _sees_point(session, principal, point):
        raise NotFound("风险点", "risk point")
    return point


def _point_for_write(session: Session, principal: Principal, point_id: Any) -> RiskPoint:
    """A write to a point outside the caller's scope is 404, as a read (existence hidden)."""
    return get_point(session, principal, point_id)


def point_dict(point: RiskPoint) -> dict[str, Any]:
    return {
        "id": point.id,
        "code": point.code,
        "name": point.name,
        "owner_kind": point.owner_kind,
        "enterprise_id": point.enterprise_id,
        "grid_cell_id": point.grid_cell_id,
        "protected_target_id": point.protected_target_id,
        "facility_name": point.facility_name,
        "division_code": point.division_code,
        "industry_code": point.industry_code,
        "lon": point.lon,
        "lat": point.lat,
        "description": point.description,
        "hazard_factors": point.hazard_factors,
        "accident_types": point.accident_types,
        "control_measures": point.control_measures,
        "review_date": point.review_date.isoformat() if point.review_date else None,
        "level": point.level,
        "level_assessment_id": point.level_assessment_id,
        "archived": point.archived,
        "created_at": point.created_at.isoformat() if point.created_at else None,
        "updated_at": point.updated_at.isoformat() if point.updated_at else None,
    }


def validate_point(data: dict[str, Any], row: int | None = None) -> dict[str, Any]:
    try:
        return RiskPointIn.model_validate(data).model_dump(mode="python")
    except ValidationError as exc:
        raise _invalid(exc, row) from None


def _owner_error(field_name: str, zh: str, en: str, row: int | None) -> Invalid:
    return Invalid([FieldError(field_name, zh, en, row)])


def resolve_owner(
    session: Session, values: dict[str, Any], row: int | None = None
) -> dict[str, Any]:
    """Fill division, industry and location from the owner; unknown references → 422."""
    kind = values["owner_kind"]
    enterprise = None
    if values.get("enterprise_id") is not None:
        enterprise = session.get(Enterprise, values["enterprise_id"])
        if enterprise is None:
            raise _owner_error(
                "enterprise_id",
                f"企业：编号 {values['enterprise_id']} 不存在",
                f"enterprise: {values['enterprise_id']} does not exist",
                row,
            )
    owner: Any = enterprise
    if kind == "area":
        owner = session.get(GridCell, values["grid_cell_id"])
        if owner is None:
            raise _owner_error(
                "grid_cell_id",
                f"网格：编号 {values['grid_cell_id']} 不存在",
                f"grid cell: {values['grid_cell_id']} does not exist",
                row,
            )
    elif kind == "public_place":
        owner = session.get(ProtectedTarget, values["protected_target_id"])
        if owner is None:
            raise _owner_error(
                "protected_target_id",
                f"公共场所：编号 {values['protected_target_id']} 不存在",
                f"public place: {values['protected_target_id']} does not exist",
                row,
            )
    if owner is not None:
        values["division_code"] = owner.division_code
        if values.get("lon") is None and owner.lon is not None:
            values["lon"], values["lat"] = owner.lon, owner.lat
    if not values.get("division_code"):
        raise _owner_error(
            "division_code",
            "行政区划代码：设施类风险点须填写所在行政区划",
            "division code: required for a facility risk point",
            row,
        )
    values["industry_code"] = enterprise.industry_code if enterprise is not None else None
    return values


def _audit(
    session: Session,
    principal: Principal,
    object_type: str,
    object_id: Any,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
    division_code: str | None,
) -> None:
    audit.record(
        session,
        actor=principal.username,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        now=now,
    )
    events.publish(events.ObjectChanged(now, object_type, str(object_id), action, division_code))


def create_point(
    session: Session, principal: Principal, data: dict[str, Any], now: datetime
) -> RiskPoint:
    if principal.role not in WRITERS:
        raise Forbidden("当前角色无权修改风险数据", "your role may not change risk data")
    values = resolve_owner(session, validate_point(data))
    _check_writer(principal, values["division_code"], values.get("enterprise_id"))
    point = RiskPoint(**values, created_at=now, updated_at=now, archived=False)
    session.add(point)
    session.flush()
    _audit(
        session,
        principal,
        "risk_point",
        point.id,
        "create",
        None,
        point_dict(point),
        now,
        point.division_code,
    )
    return point


def _input_values(point: RiskPoint) -> dict[str, Any]:
    out = {f: getattr(point, f) for f in RiskPointIn.model_fields}
    return out


def update_point(
    session: Session, principal: Principal, point_id: Any, patch: dict[str, Any], now: datetime
) -> RiskPoint:
    point = _point_for_write(session, principal, point_id)
    _check_writer(principal, point.division_code, point.enterprise_id)
    before = point_dict(point)
    values = resolve_owner(session, validate_point({**_input_values(point), **patch}))
    _check_writer(principal, values["division_code"], values.get("enterprise_id"))
    for name, value in values.items():
        setattr(point, name, value)
    point.updated_at = now
    session.flush()
    _audit(
        session,
        principal,
        "risk_point",
        point.id,
        "update",
        before,
        point_dict(point),
        now,
        point.division_code,
    )
    return point


def archive_point(
    session: Session, principal: Principal, point_id: Any, now: datetime, archived: bool = True
) -> RiskPoint:
    point = _point_for_write(session, principal, point_id)
    _check_writer(principal, point.division_code, point.enterprise_id)
    if point.archived == archived:
        raise Conflict("风险点已处于该状态", "the risk point is already in that state")
    before = point_dict(point)
    point.archived, point.updated_at = archived, now
    session.flush()
    _audit(
        session,
        principal,
        "risk_point",
        point.id,
        "archive" if archived else "restore",
        before,
        point_dict(point),
        now,
        point.division_code,
    )
    return point


# --------------------------------------------------------------------------- settings


def city_code(division_code: str) -> str:
    """The city (地级市) a division belongs to: settings are kept per city."""
    return division_code[:4] + "00"


def _setting(session: Session, division_code: str, key: str) -> RiskSetting | None:
    candidates = [city_code(division_code), division_code[:2] + "0000"]
    rows = {
        r.division_code: r
        for r in session.scalars(
            select(RiskSetting).where(
                RiskSetting.key == key, RiskSetting.division_code.in_(candidates)
            )
        )
    }
    return next((rows[c] for c in candidates if c in rows), None)


def lec_bands(session: Session, division_code: str) -> lec.LecBands:
    row = _setting(session, division_code, LEC_KEY)
    return lec.LecBands.from_dict(row.value) if row else lec.DEFAULT_LEC_BANDS


def risk_matrix(session: Session, division_code: str) -> matrix.RiskMatrix:
    row = _setting(session, division_code, MATRIX_KEY)
    return matrix.RiskMatrix.from_dict(row.value) if row else matrix.DEFAULT_MATRIX


def settings_view(session: Session, principal: Principal) -> dict[str, Any]:
    """The caller's city's LEC bands and matrix, each with its source and whether it is default."""
    if not principal.can_read():
        raise Forbidden()
    code = city_code(principal.division_code)
    bands, table = lec_bands(session, code), risk_matrix(session, code)
    lec_row, matrix_row = _setting(session, code, LEC_KEY), _setting(session, code, MATRIX_KEY)
    return {
        "city": code,
        LEC_KEY: {
            **bands.as_dict(),
            "is_default": lec_row is None,
            "default": lec.DEFAULT_LEC_BANDS.as_dict(),
            "updated_by": lec_row.updated_by if lec_row else None,
        },
        MATRIX_KEY: {
            **table.as_dict(),
            "is_default": matrix_row is None,
            "default": matrix.DEFAULT_MATRIX.as_dict(),
            "updated_by": matrix_row.updated_by if matrix_row else None,
        },
    }


def _config_errors(exc: lec.LecInputError | matrix.MatrixInputError, key: str) -> Invalid:
    return Invalid([FieldError(f"{key}.{e.field}", e.message_zh, e.message_en) for e in exc.errors])


def set_setting(
    session: Session,
    principal: Principal,
    key: str,
    value: Any,
    now: datetime,
) -> dict[str, Any]:
    """Validate and store the city's LEC bands or matrix; value None restores the default."""
    _require_analyst(principal)
    if key not in (LEC_KEY, MATRIX_KEY):
        raise NotFound("配置项", "setting")
    if len(principal.prefix) > 4:
        raise Forbidden(
            "仅市级用户可修改全市分级配置",
            "only city-level users change the city's grading settings",
        )
    if value is not None:
        try:
            parsed: Any = (
                lec.LecBands.from_dict(value)
                if key == LEC_KEY
                else matrix.RiskMatrix.from_dict(value)
            )
        except (lec.LecInputError, matrix.MatrixInputError) as exc:
            raise _config_errors(exc, key) from None
        stored = _stored_config(key, parsed)
    code = city_code(principal.division_code)
    row = session.get(RiskSetting, (code, key))
    before = row.value if row else None
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(
            RiskSetting(
                division_code=code,
                key=key,
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
        object_id=f"{code}:{key}",
        before=before,
        after=stored if value is not None else None,
        now=now,
    )
    return settings_view(session, principal)


def _stored_config(key: str, parsed: Any) -> dict[str, Any]:
    if key == LEC_KEY:
        return {
            "thresholds": [float(t) for t in parsed.thresholds],
            "closed": parsed.closed,
            "name": parsed.name,
            "source": parsed.source,
        }
    return {
        "levels": [[lv.key for lv in row] for row in parsed.levels],
        "name": parsed.name,
        "source": parsed.source,
    }


# --------------------------------------------------------------------------- assessments


def evaluate(
    session: Session, division_code: str, data: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], float, str]:
    """(inputs, explained result, score, level key) of an LEC or matrix assessment."""
    try:
        parsed = AssessmentIn.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None
    try:
        if parsed.method == "lec":
            res = lec.assess_lec(parsed.L, parsed.E, parsed.C, lec_bands(session, division_code))
            inputs = {"L": float(res.l), "E": float(res.e), "C": float(res.c)}
            return inputs, res.as_dict(), float(res.d), res.level.key
        table = risk_matrix(session, division_code)
        mres = matrix.assess_matrix(parsed.L, parsed.S, table)
        result = {**mres.as_dict(), "levels": table.as_dict()["levels"]}
        return {"L": mres.likelihood, "S": mres.severity}, result, float(mres.r), mres.level.key
    except (lec.LecInputError, matrix.MatrixInputError) as exc:
        raise Invalid(
            [FieldError(e.field, e.message_zh, e.message_en) for e in exc.errors]
        ) from None


def assessment_dict(a: RiskAssessment) -> dict[str, Any]:
    return {
        "id": a.id,
        "risk_point_id": a.risk_point_id,
        "method": a.method,
        "inputs": a.inputs,
        "result": a.result,
        "score": a.score,
        "level": a.level,
        "status": a.status,
        "assessed_by": a.assessed_by,
        "assessed_at": a.assessed_at.isoformat() if a.assessed_at else None,
        "approved_by": a.approved_by,
        "approved_at": a.approved_at.isoformat() if a.approved_at else None,
        "note": a.note,
    }


def assess(
    session: Session, principal: Principal, point_id: Any, data: dict[str, Any], now: datetime
) -> RiskAssessment:
    """Record a draft assessment; it grades the point only once approved."""
    point = _point_for_write(session, principal, point_id)
    _check_writer(principal, point.division_code, point.enterprise_id)
    if point.archived:
        raise Conflict("已归档的风险点不能评价", "an archived risk point cannot be assessed")
    method = str(data.get("method", "")).lower() if isinstance(data, dict) else ""
    inputs, result, score, level = evaluate(
        session, point.division_code, {**data, "method": method} if method else data
    )
    row = RiskAssessment(
        risk_point_id=point.id,
        method=method,
        inputs=inputs,
        result=result,
        score=score,
        level=level,
        status="draft",
        assessed_by=principal.username,
        assessed_at=now,
        note=str(data.get("note") or ""),
    )
    session.add(row)
    session.flush()
    _audit(
        session,
        principal,
        "risk_assessment",
        row.id,
        "create",
        None,
        assessment_dict(row),
        now,
        point.division_code,
    )
    return row


def list_assessments(session: Session, principal: Principal, point_id: Any) -> list[RiskAssessment]:
    point = get_point(session, principal, point_id)
    stmt = select(RiskAssessment).where(RiskAssessment.risk_point_id == point.id)
    return list(
        session.scalars(stmt.order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc()))
    )


def get_assessment(
    session: Session, principal: Principal, assessment_id: Any, for_write: bool = False
) -> tuple[RiskAssessment, RiskPoint]:
    try:
        # a decision locks the row so two analysts cannot both approve the same draft
        row = session.get(RiskAssessment, int(assessment_id), with_for_update=for_write)
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFound("评价记录", "assessment")
    if for_write:
        return row, _point_for_write(session, principal, row.risk_point_id)
    try:
        point = get_point(session, principal, row.risk_point_id)
    except NotFound:
        raise NotFound("评价记录", "assessment") from None
    return row, point


def decide(
    session: Session,
    principal: Principal,
    assessment_id: Any,
    approve: bool,
    now: datetime,
    note: str = "",
) -> RiskAssessment:
    """Approve or reject a draft; approval makes it the point's level when it is the latest."""
    row, point = get_assessment(session, principal, assessment_id, for_write=True)
    _require_analyst(principal)
    if not principal.covers(point.division_code):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    if row.status != "draft":
        raise Conflict(
            f"该评价已{'通过' if row.status == 'approved' else '驳回'}，不能再次审核",
            f"the assessment is already {row.status}",
        )
    before = assessment_dict(row)
    row.status = "approved" if approve else "rejected"
    row.approved_by, row.approved_at = principal.username, now
    if note:
        row.note = (row.note + "\n" if row.note else "") + note
    session.flush()
    _audit(
        session,
        principal,
        "risk_assessment",
        row.id,
        "approve" if approve else "reject",
        before,
        assessment_dict(row),
        now,
        point.division_code,
    )
    refresh_level(session, principal, point, now)
    return row


def latest_approved(session: Session, point_id: int) -> RiskAssessment | None:
    stmt = (
        select(RiskAssessment)
        .where(RiskAssessment.risk_point_id == point_id, RiskAssessment.status == "approved")
        .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def refresh_level(session: Session, principal: Principal, point: RiskPoint, now: datetime) -> None:
    """The point's level is its latest approved assessment's (by assessment time); audited."""
    latest = latest_approved(session, point.id)
    level = latest.level if latest else None
    ref = latest.id if latest else None
    if (level, ref) == (point.level, point.level_assessment_id):
        return
    before = {"level": point.level, "level_assessment_id": point.level_assessment_id}
    point.level, point.level_assessment_id, point.updated_at = level, ref, now
    session.flush()
    _audit(
        session,
        principal,
        "risk_point",
        point.id,
        "level",
        before,
        {"level": level, "level_assessment_id": ref},
        now,
        point.division_code,
    )


# --------------------------------------------------------------------------- enterprise level

ENTERPRISE_LEVEL_RULE = (
    (
        "企业固有风险等级取以下各项中最严重者：各风险点最新经审核的评价等级；重大危险源一级、二级→重大风险（红），"
        "三级→较大风险（橙），四级→一般风险（黄）。无任何已评价风险点和重大危险源时为未评定。"
    ),
    (
        "An enterprise's inherent level is the most severe of: its risk points' latest approved "
        "levels; its major hazards, grade 1 or 2 → red, grade 3 → orange, grade 4 → yellow. "
        "With neither it is not graded."
    ),
)


def enterprise_level(session: Session, principal: Principal, enterprise_id: Any) -> dict[str, Any]:

    ent = registry.get_object(session, principal, ENTERPRISE, enterprise_id)
    point_counts = dict(
        session.execute(
            select(RiskPoint.level, func.count())
            .where(
                RiskPoint.enterprise_id == ent.id,
                RiskPoint.archived.is_(False),
                RiskPoint.level.is_not(None),
            )
            .group_by(RiskPoint.level)
        ).all()
    )
    grade_counts = dict(
        session.execute(
            select(MajorHazard.level, func.count())
            .where(
                MajorHazard.enterprise_id == ent.id,
                MajorHazard.archived.is_(False),
                MajorHazard.is_major.is_(True),
                MajorHazard.level.is_not(None),
            )
            .group_by(MajorHazard.level)
        ).all()
    )
    level = inherent_level(point_counts, grade_counts)
    return {
        "enterprise_id": ent.id,
        "name": ent.name,
        "level": level,
        "risk_points_by_level": {k: point_counts.get(k, 0) for k in LEVEL_ORDER},
        "major_hazards_by_grade": {str(g): grade_counts.get(g, 0) for g in (1, 2, 3, 4)},
        "rule": ENTERPRISE_LEVEL_RULE[0],
        "rule_en": ENTERPRISE_LEVEL_RULE[1],
    }


def inherent_level(point_levels: dict[str, int], hazard_grades: dict[int, int]) -> str | None:
    """Pure rule: the most severe of the points' levels and the hazards' mapped grades."""
    found = [lv for lv, n in point_levels.items() if n and lv in LEVEL_ORDER]
    found += [
        HAZARD_GRADE_LEVEL[g] for g, n in hazard_grades.items() if n and g in HAZARD_GRADE_LEVEL
    ]
    return min(found, key=LEVEL_ORDER.__getitem__) if found else None


# --------------------------------------------------------------------------- major hazards


def hazard_scope(principal: Principal) -> Any:
    return scope.clause(principal, HAZARD_SHAPE)


def _sees_hazard(session: Session, principal: Principal, hazard: MajorHazard) -> bool:
    industry = (
        session.scalar(
            select(Enterprise.industry_code).where(Enterprise.id == hazard.enterprise_id)
        )
        if principal.liaison_industry
        else None
    )
    return scope.sees(
        principal,
        HAZARD_SHAPE,
        hazard.division_code,
        enterprise_id=hazard.enterprise_id,
        industry_code=industry,
    )


@dataclass
class HazardQuery:
    q: str | None = None
    division: str | None = None
    enterprise_id: int | None = None
    level: int | None = None
    major_only: bool = False
    include_archived: bool = False
    page: int = 1
    size: int = 50


def list_hazards(session: Session, principal: Principal, query: HazardQuery) -> Page:
    stmt = select(MajorHazard).where(hazard_scope(principal))
    if not query.include_archived:
        stmt = stmt.where(MajorHazard.archived.is_(False))
    if query.division:
        stmt = stmt.where(code_within(MajorHazard.division_code, division_prefix(query.division)))
    if query.enterprise_id is not None:
        stmt = stmt.where(MajorHazard.enterprise_id == query.enterprise_id)
    if query.level is not None:
        stmt = stmt.where(MajorHazard.level == query.level)
    if query.major_only:
        stmt = stmt.where(MajorHazard.is_major.is_(True))
    if query.q:
        stmt = stmt.where(MajorHazard.name.ilike(f"%{query.q.strip()}%"))
    size, page = max(1, min(query.size, MAX_PAGE_SIZE)), max(1, query.page)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0

    items = list(
        session.scalars(
            stmt.order_by(
                nulls_last(MajorHazard.level.asc()), MajorHazard.r_value.desc(), MajorHazard.id
            )
            .limit(size)
            .offset((page - 1) * size)
        )
    )
    return Page(items, total, page, size)


def get_hazard(session: Session, principal: Principal, hazard_id: Any) -> MajorHazard:
    try:
        hazard = session.get(MajorHazard, int(hazard_id))
    except (TypeError, ValueError):
        hazard = None
    if hazard is None or not _sees_hazard(session, principal, hazard):
        raise NotFound("重大危险源", "major hazard installation")
    return hazard


def _hazard_for_write(session: Session, principal: Principal, hazard_id: Any) -> MajorHazard:
    """A write outside the caller's scope is 404, as a read (existence hidden)."""
    return get_hazard(session, principal, hazard_id)


def hazard_dict(h: MajorHazard) -> dict[str, Any]:
    return {
        "id": h.id,
        "enterprise_id": h.enterprise_id,
        "name": h.name,
        "unit_kind": h.unit_kind,
        "substances": h.substances,
        "division_code": h.division_code,
        "lon": h.lon,
        "lat": h.lat,
        "boundary": h.boundary,
        "S": h.s_value,
        "is_major": h.is_major,
        "R": h.r_value,
        "level": h.level,
        "alpha": h.alpha,
        "exposed_population": h.exposed_population,
        "exposed_population_computed": h.exposed_population_computed,
        "exposed_override_reason": h.exposed_override_reason,
        "exposure": h.exposure,
        "result": h.result,
        "assessed_at": h.assessed_at.isoformat() if h.assessed_at else None,
        "archived": h.archived,
    }


def hazmat_errors(exc: hazmat.HazmatInputError, unit_prefix: bool = False) -> Invalid:
    """GB 18218 input errors as 422 field errors naming the substance row (1-based)."""
    out = []
    for e in exc.errors:
        if unit_prefix:
            name, row = e.path, (e.substance_index + 1 if e.substance_index is not None else None)
        elif e.substance_index is not None:
            name, row = f"substances[{e.substance_index}].{e.field}", e.substance_index + 1
        else:
            name, row = e.field, None
        out.append(FieldError(name, e.message_zh, e.message_en, row))
    return Invalid(out)


def identify_payload(payload: Any) -> dict[str, Any]:
    """POST /hazmat/identify: exactly the calculation of `safecity calc hazmat`."""
    try:
        return hazmat.identify(payload)
    except hazmat.HazmatInputError as exc:
        raise hazmat_errors(exc, unit_prefix=True) from None


def compute_exposure(
    session: Session, lon: float | None, lat: float | None, boundary: dict[str, Any] | None
) -> exposure_rules.Exposure | None:
    """People within 500 m from grid-cell population and protected targets (exposure.py)."""
    unit = exposure_rules.unit_geometry(lon, lat, boundary)
    if unit is None:
        return None
    x0, y0, x1, y1 = exposure_rules.search_bounds(unit)
    cells = [
        exposure_rules.Cell(*row)
        for row in session.execute(
            select(
                GridCell.id,
                GridCell.population,
                GridCell.geometry,
                GridCell.lon,
                GridCell.lat,
                GridCell.name,
            ).where(
                GridCell.archived.is_(False),
                GridCell.lon.between(x0, x1),
                GridCell.lat.between(y0, y1),
            )
        )
    ]
    targets = [
        exposure_rules.Target(
            tid, name, lon, lat, occupancy if occupancy is not None else capacity or 0, kind
        )
        for tid, name, lon, lat, occupancy, capacity, kind in session.execute(
            select(
                ProtectedTarget.id,
                ProtectedTarget.name,
                ProtectedTarget.lon,
                ProtectedTarget.lat,
                ProtectedTarget.occupancy,
                ProtectedTarget.capacity,
                ProtectedTarget.target_type,
            ).where(
                ProtectedTarget.archived.is_(False),
                ProtectedTarget.lon.between(x0, x1),
                ProtectedTarget.lat.between(y0, y1),
            )
        )
    ]
    return exposure_rules.compute(unit, cells, targets)


def _grade(values: dict[str, Any], population: int) -> dict[str, Any]:
    payload = {
        "units": [
            {
                "name": values["name"],
                "kind": values["unit_kind"],
                "substances": values["substances"],
            }
        ],
        "exposed_population": population,
    }
    try:
        return hazmat.identify(payload)
    except hazmat.HazmatInputError as exc:
        raise hazmat_errors(exc) from None


def _apply_result(hazard: MajorHazard, result: dict[str, Any], now: datetime) -> None:
    unit = result["units"][0]
    hazard.s_value, hazard.is_major = unit["S"], unit["is_major"]
    hazard.r_value, hazard.level = unit["R"], unit["level"]
    hazard.alpha = result["alpha"]
    hazard.result = {
        **unit,
        "alpha_band": result["alpha_band"],
        "exposed_population": result["exposed_population"],
        "standard": result["standard"],
    }
    hazard.assessed_at = now


def _hazard_values(
    session: Session, principal: Principal, data: dict[str, Any]
) -> tuple[dict[str, Any], Enterprise]:
    try:
        values = MajorHazardIn.model_validate(data).model_dump()
    except ValidationError as exc:
        raise _invalid(exc) from None
    ent = session.get(Enterprise, values["enterprise_id"])
    if ent is None:
        raise Invalid(
            [
                FieldError(
                    "enterprise_id",
                    f"企业：编号 {values['enterprise_id']} 不存在",
                    f"enterprise: {values['enterprise_id']} does not exist",
                )
            ]
        )
    _check_writer(principal, ent.division_code, ent.id)
    if values["lon"] is None and ent.lon is not None:
        values["lon"], values["lat"] = ent.lon, ent.lat
    values["division_code"] = ent.division_code
    return values, ent


def _exposure_of(session: Session, values: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    found = compute_exposure(session, values["lon"], values["lat"], values["boundary"])
    return (found.total, found.as_dict()) if found else (0, None)


def create_hazard(
    session: Session, principal: Principal, data: dict[str, Any], now: datetime
) -> MajorHazard:
    if principal.role not in WRITERS:
        raise Forbidden("当前角色无权修改风险数据", "your role may not change risk data")
    values, _ent = _hazard_values(session, principal, data)
    computed, detail = _exposure_of(session, values)
    result = _grade(values, computed)
    hazard = MajorHazard(
        **values,
        exposed_population=computed,
        exposed_population_computed=computed,
        exposure=detail,
        archived=False,
    )
    _apply_result(hazard, result, now)
    session.add(hazard)
    session.flush()
    _audit(
        session,
        principal,
        "major_hazard",
        hazard.id,
        "create",
        None,
        hazard_dict(hazard),
        now,
        hazard.division_code,
    )
    return hazard


def update_hazard(
    session: Session, principal: Principal, hazard_id: Any, patch: dict[str, Any], now: datetime
) -> MajorHazard:
    hazard = _hazard_for_write(session, principal, hazard_id)
    _check_writer(principal, hazard.division_code, hazard.enterprise_id)
    before = hazard_dict(hazard)
    current = {f: getattr(hazard, f) for f in MajorHazardIn.model_fields}
    if "lon" in patch or "lat" in patch or "enterprise_id" in patch:
        current.update({"lon": None, "lat": None})
    values, _ent = _hazard_values(session, principal, {**current, **patch})
    computed, detail = _exposure_of(session, values)
    used = hazard.exposed_population if hazard.exposed_override_reason else computed
    result = _grade(values, used)
    for name, value in values.items():
        setattr(hazard, name, value)
    hazard.exposed_population_computed, hazard.exposure = computed, detail
    hazard.exposed_population = used
    _apply_result(hazard, result, now)
    session.flush()
    _audit(
        session,
        principal,
        "major_hazard",
        hazard.id,
        "update",
        before,
        hazard_dict(hazard),
        now,
        hazard.division_code,
    )
    return hazard


def override_exposure(
    session: Session, principal: Principal, hazard_id: Any, data: dict[str, Any], now: datetime
) -> MajorHazard:
    """An analyst replaces the computed exposed population (reason required), or clears it."""
    hazard = _hazard_for_write(session, principal, hazard_id)
    _require_analyst(principal)
    if not principal.covers(hazard.division_code):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    try:
        parsed = ExposureOverrideIn.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None
    before = hazard_dict(hazard)
    if parsed.exposed_population is None:
        used, reason = hazard.exposed_population_computed, None
    else:
        used, reason = parsed.exposed_population, parsed.reason
    values = {"name": hazard.name, "unit_kind": hazard.unit_kind, "substances": hazard.substances}
    result = _grade(values, used)
    hazard.exposed_population, hazard.exposed_override_reason = used, reason
    _apply_result(hazard, result, now)
    session.flush()
    _audit(
        session,
        principal,
        "major_hazard",
        hazard.id,
        "override_exposure",
        before,
        hazard_dict(hazard),
        now,
        hazard.division_code,
    )
    return hazard


def archive_hazard(
    session: Session, principal: Principal, hazard_id: Any, now: datetime, archived: bool = True
) -> MajorHazard:
    hazard = _hazard_for_write(session, principal, hazard_id)
    _check_writer(principal, hazard.division_code, hazard.enterprise_id)
    if hazard.archived == archived:
        raise Conflict("重大危险源已处于该状态", "the installation is already in that state")
    before = hazard_dict(hazard)
    hazard.archived = archived
    session.flush()
    _audit(
        session,
        principal,
        "major_hazard",
        hazard.id,
        "archive" if archived else "restore",
        before,
        hazard_dict(hazard),
        now,
        hazard.division_code,
    )
    return hazard
