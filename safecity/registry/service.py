"""Registry use cases: scoped list/detail, validated create/edit/archive with audit and events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from safecity.core import audit, events, scope
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal, Shape, division_prefix
from safecity.core.sql import code_within
from safecity.core.validation import translate
from safecity.registry.kinds import DIVISION, ENTERPRISE, Kind
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.registry.rules import division_level, industry_section, parent_code

MAX_PAGE_SIZE = 500


@dataclass
class ListParams:
    q: str | None = None
    division: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    sort: str | None = None
    desc: bool = False
    page: int = 1
    size: int = 50
    include_archived: bool = False


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    size: int


# What the scope rule reads on each kind. Divisions are reference data (any reader of the
# division sees its names); grid cells and protected targets belong to no enterprise, so an
# enterprise safety officer sees none of them (their grid members' and contacts' phones).
SHAPES: dict[str, Shape] = {
    "division": Shape(division=Division.code, reference=True),
    "grid_cell": Shape(division=GridCell.division_code),
    "enterprise": Shape(
        division=Enterprise.division_code,
        enterprise=Enterprise.id,
        industry=Enterprise.industry_code,
    ),
    "protected_target": Shape(division=ProtectedTarget.division_code),
}
ENTERPRISE_INDUSTRY = Shape(
    division=Enterprise.division_code,
    enterprise=Enterprise.id,
    industry=Enterprise.industry_code,
    industry_via=Enterprise.id,
)


def scope_clause(kind: Kind, principal: Principal) -> Any:
    """The WHERE clause limiting a kind to what the caller may see."""
    return scope.clause(principal, SHAPES[kind.name])


def industry_shape(division: Any, enterprise: Any) -> Shape:
    """The Shape of a table whose industry is its enterprise's (sensors, alarms, tasks)."""
    return Shape(
        division=division,
        enterprise=enterprise,
        industry=Enterprise.industry_code,
        industry_via=Enterprise.id,
    )


def enterprise_industry(session: Session, enterprise_id: int | None) -> str | None:
    """The industry code of an enterprise, for one-object checks through ``industry_shape``."""
    if enterprise_id is None:
        return None
    return session.scalar(select(Enterprise.industry_code).where(Enterprise.id == enterprise_id))


def _filtered(kind: Kind, principal: Principal, params: ListParams) -> Select[Any]:
    model = kind.model
    stmt = select(model).where(scope_clause(kind, principal))
    if not params.include_archived:
        stmt = stmt.where(model.archived.is_(False))
    if params.division:
        column = model.code if kind is DIVISION else model.division_code
        stmt = stmt.where(code_within(column, division_prefix(params.division)))
    for name, raw in params.filters.items():
        if name in kind.exact_filters and raw not in ("", None):
            column = getattr(model, name)
            value: Any = raw.lower() in ("1", "true", "yes", "是") if name == "is_hazchem" else raw
            stmt = stmt.where(column == value)
    if params.q:
        needle = f"%{params.q.strip()}%"
        stmt = stmt.where(or_(*(getattr(model, c).ilike(needle) for c in kind.search)))
    return stmt


def list_objects(session: Session, principal: Principal, kind: Kind, params: ListParams) -> Page:
    size = max(1, min(params.size, MAX_PAGE_SIZE))
    page = max(1, params.page)
    stmt = _filtered(kind, principal, params)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    sort = params.sort if params.sort in kind.sortable else kind.default_sort
    column = getattr(kind.model, sort)
    key_col = getattr(kind.model, kind.key)
    order = (column.desc(), key_col.desc()) if params.desc else (column.asc(), key_col.asc())
    items = list(session.scalars(stmt.order_by(*order).limit(size).offset((page - 1) * size)))
    return Page(items=items, total=total, page=page, size=size)


def iter_objects(session: Session, principal: Principal, kind: Kind, params: ListParams) -> Any:
    """Every matching object (for export), streamed in key order."""
    stmt = _filtered(kind, principal, params).order_by(getattr(kind.model, kind.key))
    return session.scalars(stmt).yield_per(1000)


def get_object(session: Session, principal: Principal, kind: Kind, key: Any) -> Any:
    obj = _load(session, kind, key)
    # Objects outside scope are reported as missing so their existence is not revealed.
    if obj is None or not _visible(principal, kind, obj):
        raise NotFound(kind.zh, kind.en)
    return obj


def _load(session: Session, kind: Kind, key: Any) -> Any:
    if kind.key == "id":
        try:
            key = int(key)
        except (TypeError, ValueError):
            return None
    return session.get(kind.model, key)


def _visible(principal: Principal, kind: Kind, obj: Any) -> bool:
    if kind is DIVISION:
        return scope.sees(principal, SHAPES[kind.name], obj.code)
    return scope.sees(
        principal,
        SHAPES[kind.name],
        obj.division_code,
        enterprise_id=obj.id if kind is ENTERPRISE else None,
        industry_code=getattr(obj, "industry_code", None),
    )


def to_dict(kind: Kind, obj: Any, with_geometry: bool = False) -> dict[str, Any]:
    data = {c: getattr(obj, c) for c in kind.columns}
    data["archived"] = obj.archived
    if with_geometry and hasattr(obj, "geometry"):
        data["geometry"] = obj.geometry
    return data


def validate(kind: Kind, data: dict[str, Any], row: int | None = None) -> dict[str, Any]:
    """Validate against the kind's schema; raise Invalid with bilingual field messages."""
    try:
        parsed = kind.schema.model_validate(data)
    except ValidationError as exc:
        raise Invalid(translate(exc.errors(), _labels(kind), row=row)) from None
    return parsed.model_dump()


def _labels(kind: Kind) -> dict[str, tuple[str, str]]:
    return {c: kind.label(c) for c in kind.schema.model_fields}


def _derive(kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
    if kind is ENTERPRISE:
        values["industry_section"] = industry_section(values["industry_code"]) or "C"
    if kind is DIVISION:
        values["level"] = division_level(values["code"])
        values["parent_code"] = values.get("parent_code") or parent_code(values["code"])
    return values


def _check_write(principal: Principal, kind: Kind, values: dict[str, Any], obj: Any) -> None:
    """Role first (403), then where the new values put the object.

    An existing object outside scope never gets here: it was loaded with ``get_object`` and
    answered 404. Creating an object in, or moving one to, a division or industry outside the
    caller's scope is refused with 403 (the caller named it; nothing is revealed).
    """
    if not principal.can_write(kind.name):
        raise Forbidden("当前角色无权修改" + kind.zh, f"your role may not change {kind.en}")
    if kind is ENTERPRISE and principal.role == "enterprise_officer" and obj is None:
        raise Forbidden("企业安全员只能修改本企业信息", "you may only edit your own enterprise")
    code = values.get("code") if kind is DIVISION else values.get("division_code")
    # (An import row matching an existing object by natural key reaches here unloaded.)
    if not principal.covers(code) or (obj is not None and not _visible(principal, kind, obj)):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    liaison = principal.liaison_industry
    if (
        kind is ENTERPRISE
        and liaison
        and not scope.industry_matches(liaison, values["industry_code"])
    ):
        raise Forbidden("超出本行业部门的监管范围", "outside your department's industry")


def check_references(
    session: Session,
    kind: Kind,
    values: dict[str, Any],
    known: set[str] | None = None,
    row: int | None = None,
    exclude_id: Any = None,
) -> None:
    errors: list[FieldError] = []
    if kind is not DIVISION:
        code = values["division_code"]
        exists = code in known if known is not None else session.get(Division, code) is not None
        if not exists:
            errors.append(
                FieldError(
                    "division_code",
                    f"行政区划代码：{code} 不存在",
                    f"division code: {code} does not exist",
                    row,
                )
            )
    if kind.natural_key and kind is not DIVISION:
        col = getattr(kind.model, kind.natural_key)
        stmt = select(kind.model.id).where(col == values[kind.natural_key])
        if exclude_id is not None:
            stmt = stmt.where(kind.model.id != exclude_id)
        if session.scalar(stmt) is not None:
            zh, en = kind.label(kind.natural_key)
            errors.append(
                FieldError(kind.natural_key, f"{zh}：已存在", f"{en}: already exists", row)
            )
    if errors:
        raise Invalid(errors)


def create_object(
    session: Session,
    principal: Principal,
    kind: Kind,
    data: dict[str, Any],
    now: datetime,
) -> Any:
    values = _derive(kind, validate(kind, data))
    _check_write(principal, kind, values, None)
    if kind is DIVISION and session.get(Division, values["code"]) is not None:
        raise Invalid([FieldError("code", "代码：已存在", "code: already exists")])
    check_references(session, kind, values)
    obj = kind.model(**values, updated_at=now)
    if kind is ENTERPRISE:
        obj.created_at = now
    session.add(obj)
    session.flush()
    _audit(session, principal, kind, obj, "create", None, now)
    return obj


def update_object(
    session: Session,
    principal: Principal,
    kind: Kind,
    key: Any,
    patch: dict[str, Any],
    now: datetime,
) -> Any:
    obj = get_object(session, principal, kind, key)
    before = to_dict(kind, obj, with_geometry=True)
    current = {f: getattr(obj, f) for f in kind.schema.model_fields}
    if kind is DIVISION and patch.get("code", obj.code) != obj.code:
        raise Invalid([FieldError("code", "代码：不能修改", "code: cannot be changed")])
    values = _derive(kind, validate(kind, {**current, **patch}))
    _check_write(principal, kind, values, obj)
    check_references(session, kind, values, exclude_id=None if kind is DIVISION else obj.id)
    for name, value in values.items():
        setattr(obj, name, value)
    obj.updated_at = now
    session.flush()
    _audit(session, principal, kind, obj, "update", before, now)
    return obj


def archive_object(
    session: Session,
    principal: Principal,
    kind: Kind,
    key: Any,
    now: datetime,
    archived: bool = True,
) -> Any:
    obj = get_object(session, principal, kind, key)
    before = to_dict(kind, obj)
    values = {"code": getattr(obj, "code", None), "division_code": obj.division_code}
    if kind is ENTERPRISE:
        values |= {"industry_section": obj.industry_section, "industry_code": obj.industry_code}
    _check_write(principal, kind, values, obj)
    if obj.archived == archived:
        raise Conflict("对象已处于该状态", "object is already in that state")
    obj.archived = archived
    obj.updated_at = now
    session.flush()
    _audit(session, principal, kind, obj, "archive" if archived else "restore", before, now)
    return obj


def _audit(
    session: Session,
    principal: Principal,
    kind: Kind,
    obj: Any,
    action: str,
    before: dict[str, Any] | None,
    now: datetime,
) -> None:
    key = getattr(obj, kind.key)
    audit.record(
        session,
        actor=principal.username,
        action=action,
        object_type=kind.name,
        object_id=key,
        before=before,
        after=to_dict(kind, obj, with_geometry=True),
        now=now,
    )
    events.publish(events.ObjectChanged(now, kind.name, str(key), action, obj.division_code))
