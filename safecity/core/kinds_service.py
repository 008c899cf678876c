"""Use cases every kind shares: scoped list/detail, validated create/edit/archive, audit, events.

The scope rule comes from ``core.scope`` through the kind's ``Shape``: a list is filtered by
its SQL clause, one object by ``sees``; an object outside scope answers 404 for reads and
writes alike, a role that may not write the kind 403, and creating or moving an object into a
division outside the caller's scope 403 (the caller named it, nothing is revealed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, column, func, or_, select, table
from sqlalchemy.orm import Session

from safecity.core import audit, events, scope
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from safecity.core.kinds import Kind, Saving
from safecity.core.scope import Principal, division_prefix
from safecity.core.sql import code_within
from safecity.core.validation import translate

MAX_PAGE_SIZE = 500
# The registry's division table, read as plain SQL: core imports no capability's models.
DIVISIONS = table("divisions", column("code"))


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


_TRUE = ("1", "true", "yes", "是")


def scope_clause(kind: Kind, who: Principal) -> Any:
    """The WHERE clause limiting a kind to what the caller may see."""
    return kind.scope_clause(who)


def _column_is_bool(kind: Kind, name: str) -> bool:
    return column_type(kind, name) is bool


def column_type(kind: Kind, name: str) -> type | None:
    col = getattr(kind.model, name, None)
    try:
        return col.type.python_type if col is not None else None  # type: ignore[no-any-return]
    except (AttributeError, NotImplementedError):
        return None


def filter_value(kind: Kind, name: str, raw: str) -> Any:
    """A filter's query text as its column's type (PostgreSQL compares no integer with text);
    ``list_params`` has already refused a number filter that is not a number."""
    ctype = column_type(kind, name)
    if ctype is bool:
        return raw.lower() in _TRUE
    if ctype is int:
        return int(raw)
    if ctype is float:
        return float(raw)
    return raw


def filtered(kind: Kind, who: Principal, params: ListParams) -> Select[Any]:
    """SELECT of the kind's objects the caller sees, narrowed by the list parameters."""
    model = kind.model
    stmt = select(model).where(scope_clause(kind, who))
    if kind.has_archive and not params.include_archived:
        stmt = stmt.where(model.archived.is_(False))  # type: ignore[attr-defined]
    if params.division:
        stmt = stmt.where(code_within(kind.scope_shape.division, division_prefix(params.division)))
    for name, raw in params.filters.items():
        if raw in ("", None):
            continue
        if name in kind.query_filters:
            stmt = stmt.where(kind.query_filters[name].where(raw))
        elif name in kind.exact_filters:
            stmt = stmt.where(getattr(model, name) == filter_value(kind, name, raw))
    if params.q and kind.search:
        needle = f"%{params.q.strip()}%"
        stmt = stmt.where(or_(*(getattr(model, c).ilike(needle) for c in kind.search)))
    return stmt


def list_objects(session: Session, who: Principal, kind: Kind, params: ListParams) -> Page:
    size = max(1, min(params.size, MAX_PAGE_SIZE))
    page = max(1, params.page)
    stmt = filtered(kind, who, params)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    key_col = getattr(kind.model, kind.key)
    order: tuple[Any, ...]
    if params.sort is None and kind.default_order:
        order = (*kind.default_order, key_col.asc())
    else:
        sort = params.sort if params.sort in kind.sortable else kind.default_sort
        col = kind.sort_expressions.get(sort)
        if col is None:
            col = getattr(kind.model, sort)
        order = (col.desc(), key_col.desc()) if params.desc else (col.asc(), key_col.asc())
    items = list(session.scalars(stmt.order_by(*order).limit(size).offset((page - 1) * size)))
    return Page(items=items, total=total, page=page, size=size)


def iter_objects(session: Session, who: Principal, kind: Kind, params: ListParams) -> Any:
    """Every matching object (for export), streamed in key order."""
    stmt = filtered(kind, who, params).order_by(getattr(kind.model, kind.key))
    return session.scalars(stmt).yield_per(1000)


def load(session: Session, kind: Kind, key: Any) -> Any:
    """The object with this URL key, unscoped (None when absent or the key is malformed)."""
    if kind.key == "id":
        try:
            key = int(key)
        except (TypeError, ValueError):
            return None
    return session.get(kind.model, key)


def visible(who: Principal, kind: Kind, obj: Any, session: Session | None = None) -> bool:
    """The scope rule's one-object check, reading the same Shape as the list clause."""
    if kind.scope_sees is not None and (own := kind.scope_sees(who, obj)) is not None:
        return own
    shape = kind.scope_shape
    enterprise_id = getattr(obj, shape.enterprise.key) if shape.enterprise is not None else None
    industry = None
    if shape.industry is not None:
        if shape.industry_via is None and getattr(shape.industry, "key", None):
            industry = getattr(obj, shape.industry.key)
        elif shape.industry_via is None:
            # An industry computed over the row (its own code, else its enterprise's): read
            # by key, and only for the one role the rule reads it for.
            if who.liaison_industry and session is not None:
                key_col = getattr(kind.model, kind.key)
                industry = session.scalar(
                    select(shape.industry).where(key_col == getattr(obj, kind.key))
                )
        elif session is not None and enterprise_id is not None:
            industry = session.scalar(
                select(shape.industry).where(shape.industry_via == enterprise_id)
            )
    return scope.sees(
        who, shape, obj.division_code, enterprise_id=enterprise_id, industry_code=industry
    )


def get_object(session: Session, who: Principal, kind: Kind, key: Any) -> Any:
    obj = load(session, kind, key)
    # Objects outside scope are reported as missing so their existence is not revealed.
    if obj is None or not visible(who, kind, obj, session):
        raise NotFound(kind.zh, kind.en)
    return obj


def to_dict(kind: Kind, obj: Any, with_geometry: bool = False) -> dict[str, Any]:
    data = {c: getattr(obj, c) for c in kind.columns}
    if kind.has_archive:
        data["archived"] = obj.archived
    if with_geometry and hasattr(obj, "geometry"):
        data["geometry"] = obj.geometry
    return data


def snapshot(kind: Kind, obj: Any) -> dict[str, Any]:
    """The object as the audit log keeps it: its API answer where the kind shapes one."""
    if kind.as_answer is not None:
        return kind.as_answer(obj)
    return to_dict(kind, obj, with_geometry=True)


def extras_of(session: Session, kind: Kind, objs: list[Any]) -> dict[Any, dict[str, Any]]:
    """The kind's computed values for these objects, by key ({} for a kind without any)."""
    if kind.extras is None or not objs:
        return {}
    return kind.extras(session, objs)


def answer(
    kind: Kind,
    obj: Any,
    extras: dict[Any, dict[str, Any]] | None = None,
    with_geometry: bool = False,
) -> dict[str, Any]:
    """One object as the API answers it: stored columns (or the kind's own answer) plus the
    declared computed fields."""
    data = kind.as_answer(obj) if kind.as_answer is not None else to_dict(kind, obj, with_geometry)
    if kind.extra_fields:
        mine = (extras or {}).get(getattr(obj, kind.key), {})
        data.update({name: mine.get(name) for name in kind.extra_fields})
    return data


def labels(kind: Kind) -> dict[str, tuple[str, str]]:
    return {c: kind.label(c) for c in kind.schema.model_fields}


def validate(kind: Kind, data: dict[str, Any], row: int | None = None) -> dict[str, Any]:
    """Validate against the kind's schema; raise Invalid with bilingual field messages."""
    try:
        parsed = kind.schema.model_validate(data)
    except ValidationError as exc:
        raise Invalid(translate(exc.errors(), labels(kind), row=row)) from None
    return parsed.model_dump()


def derive(kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
    return kind.derive(values) if kind.derive is not None else values


def prepare(kind: Kind, values: dict[str, Any], saving: Saving) -> dict[str, Any]:
    """The stored values: the pure ``derive`` first, then the kind's ``prepare`` (database)."""
    values = derive(kind, values)
    return kind.prepare(values, saving) if kind.prepare is not None else values


def check_write(
    who: Principal,
    kind: Kind,
    values: dict[str, Any],
    obj: Any,
    session: Session | None = None,
) -> None:
    """Role first (403), then where the new values put the object, then the kind's own rules.

    An existing object outside scope never gets here: it was loaded with ``get_object`` and
    answered 404 (an import row matching an existing object by natural key reaches here
    unloaded, hence the second visibility check).
    """
    if not kind.may_write(who):
        raise Forbidden("当前角色无权修改" + kind.zh, f"your role may not change {kind.en}")
    if (obj is not None and not visible(who, kind, obj, session)) or not placed_visible(
        who, kind, values, obj, session
    ):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    if kind.check_write is not None:
        kind.check_write(who, values, obj)


def placed_visible(
    who: Principal,
    kind: Kind,
    values: dict[str, Any],
    obj: Any = None,
    session: Session | None = None,
) -> bool:
    """Whether the caller would see the object where ``values`` put it: the same rule as
    ``visible`` (division, enterprise officer's own enterprise, liaison's industry), read from
    the new values (an update's unchanged columns from the object)."""
    shape = kind.scope_shape

    def value(col: Any) -> Any:
        name = col.key
        return values[name] if name in values else getattr(obj, name, None)

    enterprise_id = value(shape.enterprise) if shape.enterprise is not None else None
    industry = None
    if shape.industry is not None and who.liaison_industry:
        if shape.industry_via is None:
            industry = value(shape.industry)
        elif session is not None and enterprise_id is not None:
            industry = session.scalar(
                select(shape.industry).where(shape.industry_via == enterprise_id)
            )
    return scope.sees(
        who,
        shape,
        values.get(kind.division_field),
        enterprise_id=enterprise_id,
        industry_code=industry,
    )


def division_codes(session: Session) -> set[str]:
    return set(session.scalars(select(DIVISIONS.c.code)))


def check_references(
    session: Session,
    kind: Kind,
    values: dict[str, Any],
    known: set[str] | None = None,
    row: int | None = None,
    exclude: Any = None,
) -> None:
    """The division exists; the natural key is not taken by another object."""
    errors: list[FieldError] = []
    if kind.division_must_exist:
        code = values.get(kind.division_field)
        if known is not None:
            exists = code in known
        else:
            exists = (
                session.scalar(select(DIVISIONS.c.code).where(DIVISIONS.c.code == code)) is not None
            )
        if not exists:
            zh, en = kind.label(kind.division_field)
            errors.append(
                FieldError(
                    kind.division_field, f"{zh}：{code} 不存在", f"{en}: {code} does not exist", row
                )
            )
    if kind.natural_key and kind.natural_key != kind.key:
        key_col = getattr(kind.model, kind.key)
        stmt = select(key_col).where(
            getattr(kind.model, kind.natural_key) == values[kind.natural_key]
        )
        if exclude is not None:
            stmt = stmt.where(key_col != exclude)
        if session.scalar(stmt) is not None:
            zh, en = kind.label(kind.natural_key)
            errors.append(
                FieldError(kind.natural_key, f"{zh}：已存在", f"{en}: already exists", row)
            )
    if kind.check_references is not None:
        errors.extend(kind.check_references(session, values, row))
    if errors:
        raise Invalid(errors)


def _stamp(kind: Kind, obj: Any, now: datetime, created: bool) -> None:
    if hasattr(kind.model, "updated_at"):
        obj.updated_at = now
    if created and hasattr(kind.model, "created_at"):
        obj.created_at = now


def create_object(
    session: Session,
    who: Principal,
    kind: Kind,
    data: dict[str, Any],
    now: datetime,
    issued: dict[str, str] | None = None,
) -> Any:
    """A new object; a kind with a ``credential`` puts the secret (shown once) in ``issued``."""
    if not kind.may_write(who):  # the role first: 403 before anything is looked up
        raise Forbidden("当前角色无权修改" + kind.zh, f"your role may not change {kind.en}")
    values = prepare(kind, validate(kind, data), Saving(session, who, None, now))
    check_write(who, kind, values, None, session)
    if kind.key != "id" and load(session, kind, values.get(kind.key)) is not None:
        zh, en = kind.label(kind.key)
        raise Invalid([FieldError(kind.key, f"{zh}：已存在", f"{en}: already exists")])
    check_references(session, kind, values)
    obj = kind.model(**values)
    if kind.credential is not None:
        stored, secret = kind.credential.issue()
        for name, value in stored.items():
            setattr(obj, name, value)
        if issued is not None:
            issued[kind.credential.field] = secret
    _stamp(kind, obj, now, created=True)
    session.add(obj)
    session.flush()
    record(session, who, kind, obj, "create", None, now)
    return obj


def update_object(
    session: Session,
    who: Principal,
    kind: Kind,
    key: Any,
    patch: dict[str, Any],
    now: datetime,
) -> Any:
    obj = get_object(session, who, kind, key)
    before = snapshot(kind, obj)
    if kind.key != "id" and kind.key in patch and patch[kind.key] != getattr(obj, kind.key):
        zh, en = kind.label(kind.key)
        raise Invalid([FieldError(kind.key, f"{zh}：不能修改", f"{en}: cannot be changed")])
    current = {f: getattr(obj, f) for f in kind.schema.model_fields}
    if not kind.may_write(who):
        raise Forbidden("当前角色无权修改" + kind.zh, f"your role may not change {kind.en}")
    values = prepare(kind, validate(kind, {**current, **patch}), Saving(session, who, obj, now))
    check_write(who, kind, values, obj, session)
    check_references(
        session, kind, values, exclude=getattr(obj, kind.key) if kind.key == "id" else None
    )
    for name, value in values.items():
        setattr(obj, name, value)
    _stamp(kind, obj, now, created=False)
    session.flush()
    record(session, who, kind, obj, "update", before, now)
    return obj


def archive_object(
    session: Session,
    who: Principal,
    kind: Kind,
    key: Any,
    now: datetime,
    archived: bool = True,
) -> Any:
    obj = get_object(session, who, kind, key)
    if not kind.has_archive:
        raise Conflict("该类型不能归档", "this kind cannot be archived")
    before = snapshot(kind, obj) if kind.as_answer is not None else to_dict(kind, obj)
    values = {f: getattr(obj, f, None) for f in kind.schema.model_fields}
    values[kind.division_field] = getattr(obj, kind.division_field, None)
    check_write(who, kind, values, obj, session)
    if obj.archived == archived:
        raise Conflict("对象已处于该状态", "object is already in that state")
    obj.archived = archived
    _stamp(kind, obj, now, created=False)
    session.flush()
    record(session, who, kind, obj, "archive" if archived else "restore", before, now)
    return obj


def record(
    session: Session,
    who: Principal,
    kind: Kind,
    obj: Any,
    action: str,
    before: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Audit one write and tell the other capabilities (``ObjectChanged``)."""
    key = getattr(obj, kind.key)
    audit.record(
        session,
        actor=who.username,
        action=action,
        object_type=kind.name,
        object_id=key,
        before=before,
        after=snapshot(kind, obj),
        now=now,
    )
    events.publish(events.ObjectChanged(now, kind.name, str(key), action, obj.division_code))


def layer(
    session: Session, who: Principal, kind: Kind, division: str | None = None
) -> dict[str, Any]:
    """The kind's map layer: a GeoJSON FeatureCollection of the caller's live objects."""
    if not kind.map_props:
        raise NotFound("图层", "layer")
    stmt = filtered(kind, who, ListParams(division=division, filters=dict(kind.layer_filters)))
    features = []
    objs = list(session.scalars(stmt))
    extras = extras_of(session, kind, objs)
    moved = kind.layer_point(session, objs) if kind.layer_point is not None and objs else {}
    for obj in objs:
        key = getattr(obj, kind.key)
        point = moved.get(key)
        geom = {"type": "Point", "coordinates": list(point)} if point else geometry_of(obj, kind)
        if geom is not None:
            mine = extras.get(key, {})
            props = {
                p: mine.get(p) if p in kind.extra_fields else getattr(obj, p)
                for p in kind.map_props
            }
            props["url"] = kind.detail_url(obj)  # the map's popup links to the detail page
            features.append({"type": "Feature", "geometry": geom, "properties": props})
    return {"type": "FeatureCollection", "layer": kind.plural, "features": features}


def geometry_of(obj: Any, kind: Kind | None = None) -> dict[str, Any] | None:
    """The object's geometry as its kind draws it, else the stored one, else its point."""
    if kind is not None and kind.shape_of is not None:
        return kind.shape_of(obj)
    geom = getattr(obj, "geometry", None)
    if geom:
        return geom  # type: ignore[no-any-return]
    lon, lat = getattr(obj, "lon", None), getattr(obj, "lat", None)
    if lon is None or lat is None:
        return None
    return {"type": "Point", "coordinates": [lon, lat]}
