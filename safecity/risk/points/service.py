"""Risk point use cases: the scoped register, assessments and their approval, the city's LEC
bands and matrix — scoped by the one rule and audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core import audit, events, scope
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal, Shape
from safecity.core.validation import translate
from safecity.registry.models import Enterprise, GridCell, ProtectedTarget
from safecity.risk.models import RiskAssessment, RiskPoint, RiskSetting
from safecity.risk.points import lec, matrix
from safecity.risk.points.schemas import LABELS, AssessmentIn, RiskPointIn

# Who may create/edit risk points and major hazard units (inside their scope); enterprise
# officers only for their own enterprise.
WRITERS = frozenset({"admin", "risk_analyst", "district_officer", "enterprise_officer"})
# Who approves assessments, overrides exposure and changes the city's grading settings.
ANALYSTS = frozenset({"admin", "risk_analyst"})
MAX_PAGE_SIZE = 500
LEVEL_ORDER = {"red": 1, "orange": 2, "yellow": 3, "blue": 4}
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


def check_writer(
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


def require_analyst(principal: Principal) -> None:
    if principal.role not in ANALYSTS:
        raise Forbidden(
            "仅风险管理员或系统管理员可执行此操作",
            "only risk analysts and administrators may do this",
        )


def invalid_input(exc: ValidationError, row: int | None = None) -> Invalid:
    return Invalid(translate(exc.errors(), LABELS, row=row))


# --------------------------------------------------------------------------- risk points


def get_point(session: Session, principal: Principal, point_id: Any) -> RiskPoint:
    try:
        point = session.get(RiskPoint, int(point_id))
    except (TypeError, ValueError):
        point = None
    # Points outside scope are reported as missing so their existence is not revealed.
    if point is None or not _sees_point(session, principal, point):
        raise NotFound("风险点", "risk point")
    return point


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
        raise invalid_input(exc, row) from None


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


def audit_change(
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
    require_analyst(principal)
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
        raise invalid_input(exc) from None
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
    point = get_point(session, principal, point_id)
    check_writer(principal, point.division_code, point.enterprise_id)
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
    audit_change(
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
        return row, get_point(session, principal, row.risk_point_id)
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
    require_analyst(principal)
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
    audit_change(
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
    audit_change(
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
