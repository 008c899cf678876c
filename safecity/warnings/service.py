"""Warning use cases: scoped reads, the draft → issue → update/cancel workflow, CAP import/export,
targeting and coverage. Every write checks scope and role and is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from shapely.geometry import Point, mapping, shape
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from safecity.core import audit, events, scope
from safecity.core.config import get_settings, public_base_url
from safecity.core.errors import FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import SYSTEM, Principal, Shape, division_prefix
from safecity.core.sql import code_within
from safecity.core.validation import translate
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.warnings import cap, channels, rules, targeting
from safecity.warnings.models import Delivery, Warning
from safecity.warnings.schemas import LABELS, WarningIn
from safecity.warnings.settings import WarningSettings, get_warning_settings

OBJECT = "warning"
IMPORT_ROLES = frozenset({"admin", "commander", "duty_officer"})
ISSUE_ROLES = frozenset({"admin", "commander", "duty_officer"})
CONTENT_FIELDS = (
    "event_type",
    "level",
    "headline",
    "description",
    "instruction",
    "headline_en",
    "description_en",
    "instruction_en",
    "areas",
    "division_code",
    "effective",
    "onset",
    "expires",
    "alarm_id",
    "incident_id",
    "risk_id",
)


# ---------------------------------------------------------------- reading


# Warnings have no enterprise or industry: staff of the division see them, an enterprise
# officer none (issued warnings are public, at /public/warnings, for everyone).
SHAPE = Shape(division=Warning.division_code)


def _visible(who: Principal, w: Warning) -> bool:
    return scope.sees(who, SHAPE, w.division_code)


def scope_clause(who: Principal) -> Any:
    return scope.clause(who, SHAPE)


def get_warning(session: Session, who: Principal, warning_id: Any) -> Warning:
    try:
        w = session.get(Warning, int(warning_id))
    except (TypeError, ValueError):
        w = None
    if w is None or not _visible(who, w):
        raise NotFound("预警", "warning")
    return w


def in_force(session: Session, who: Principal, now: datetime, limit: int = 200) -> list[Warning]:
    """Issued (or received) warnings in force that the caller may see: the newest ``limit``,
    most severe first, then newest first (the city's vital signs)."""
    stmt = (
        select(Warning)
        .where(
            scope_clause(who),
            Warning.status.in_(("issued", "external")),
            (Warning.expires.is_(None)) | (Warning.expires > now),
        )
        .order_by(Warning.issued_at.desc())
    )
    items = list(session.scalars(stmt.limit(limit)))
    rank = {lv: i for i, lv in enumerate(("red", "orange", "yellow", "blue"))}
    items.sort(key=lambda w: (rank.get(w.level, 9), -(_aware(w.issued_at) or now).timestamp()))
    return items


def current_public(session: Session, division: str | None, now: datetime) -> list[Warning]:
    """Issued and imported warnings in force now for a division (no login needed).

    A district sees its own warnings, those of its streets and those of the city above it.
    """
    stmt = select(Warning).where(
        Warning.status.in_(("issued", "external")),
        Warning.msg_type != "Cancel",
        or_(Warning.expires.is_(None), Warning.expires > now),
    )
    if division:
        stmt = stmt.where(
            or_(
                code_within(Warning.division_code, division_prefix(division)),
                Warning.division_code.in_(_ancestors(division)),
            )
        )
    rows = session.scalars(stmt.order_by(Warning.sent.desc().nulls_last(), Warning.id.desc()))
    return list(rows)


def public_geojson(session: Session, division: str | None, now: datetime) -> dict[str, Any]:
    """Warnings in force as GeoJSON features for the public page and the map."""
    features = []
    for w in current_public(session, division, now):
        geom = geometry_of(session, rules.areas_from_json(w.areas))
        zh, en, _cat = rules.EVENT_TYPES.get(w.event_type, rules.EVENT_TYPES["other"])
        features.append(
            {
                "type": "Feature",
                "geometry": None if geom.is_empty else mapping(geom),
                "properties": {
                    "id": w.id,
                    "kind": w.kind,
                    "level": w.level,
                    "msg_type": w.msg_type,
                    "headline": w.headline,
                    "headline_en": w.headline_en,
                    "description": w.description,
                    "instruction": w.instruction,
                    "event": zh,
                    "event_en": en,
                    "sender_name": w.sender_name,
                    "sent": w.sent,
                    "expires": w.expires,
                    "areas": [a.get("desc") for a in w.areas],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def covering(
    session: Session, who: Principal, lon: float, lat: float, now: datetime, limit: int = 50
) -> list[dict[str, Any]]:
    """Warnings in force whose area covers the point, most severe first: those the caller may
    see, and — as the public page shows them to everyone there — those the divisions above the
    caller's issued. Each with its area as GeoJSON (simplified for a map)."""
    if not who.can_read():
        return []
    visible = or_(
        scope_clause(who),
        Warning.division_code.in_(_ancestors(who.division_code) or [""]),
    )
    stmt = select(Warning).where(
        visible,
        Warning.status.in_(("issued", "external")),
        Warning.msg_type != "Cancel",
        or_(Warning.expires.is_(None), Warning.expires > now),
    )
    point = Point(lon, lat)
    rank = {lv: i for i, lv in enumerate(("red", "orange", "yellow", "blue"))}
    out = []
    for w in session.scalars(stmt.order_by(Warning.id.desc()).limit(500)):
        geom = geometry_of(session, rules.areas_from_json(w.areas))
        if geom.is_empty or not geom.covers(point):
            continue
        zh, en, _cat = rules.EVENT_TYPES.get(w.event_type, rules.EVENT_TYPES["other"])
        out.append(
            {
                "kind": "warning",
                "id": w.id,
                "name": w.headline,
                "lon": lon,
                "lat": lat,
                "distance_m": 0,
                "detail": {
                    "level": w.level,
                    "event_zh": zh,
                    "event_en": en,
                    "headline_en": w.headline_en,
                    "division_code": w.division_code,
                    "sent": _iso(w.sent or w.issued_at),
                    "expires": _iso(w.expires),
                    "areas": [a.get("desc") for a in w.areas],
                },
                "geometry": mapping(geom.simplify(0.0005, preserve_topology=True)),
                "href": f"/warnings/{w.id}" if _visible(who, w) else f"/public/warnings/{w.id}",
            }
        )
    out.sort(key=lambda i: (rank.get(i["detail"]["level"], 9), -i["id"]))
    return out[:limit]


def _iso(value: datetime | None) -> str | None:
    aware = _aware(value)
    return aware.isoformat() if aware else None


def _ancestors(code: str) -> list[str]:
    code = code.strip()
    out = []
    if len(code) > 6:
        out.append(code[:6])
    if len(code) >= 6:
        out += [code[:4] + "00", code[:2] + "0000"]
    return [c for c in dict.fromkeys(out) if c != code]


def to_dict(w: Warning) -> dict[str, Any]:
    data = {
        c: getattr(w, c)
        for c in (
            "id",
            "kind",
            "status",
            "msg_type",
            "identifier",
            "sender",
            "sender_name",
            "sent",
            "references",
            "previous_id",
            "event_type",
            "level",
            "headline",
            "description",
            "instruction",
            "headline_en",
            "description_en",
            "instruction_en",
            "areas",
            "division_code",
            "effective",
            "onset",
            "expires",
            "alarm_id",
            "incident_id",
            "risk_id",
            "auto",
            "created_by",
            "created_at",
            "updated_at",
            "submitted_by",
            "approved_by",
            "approved_at",
            "issued_by",
            "issued_at",
            "closed_at",
            "targeting",
        )
    }
    data["cap_url"] = f"/api/v1/warnings/{w.id}/cap.xml" if w.cap_xml else None
    return data


def content(w: Warning) -> rules.Content:
    links = tuple(
        (k, v)
        for k, v in (("alarm", w.alarm_id), ("incident", w.incident_id), ("risk", w.risk_id))
        if v
    )
    return rules.Content(
        event_type=w.event_type,
        level=w.level,
        headline=w.headline,
        description=w.description,
        instruction=w.instruction,
        headline_en=w.headline_en,
        description_en=w.description_en,
        instruction_en=w.instruction_en,
        areas=rules.areas_from_json(w.areas),
        effective=_aware(w.effective),
        onset=_aware(w.onset),
        expires=_aware(w.expires),
        links=links,
    )


def _field(w: Warning, name: str) -> Any:
    value = getattr(w, name)
    return _aware(value) if isinstance(value, datetime) else value


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # SQLite hands back naive UTC


# ---------------------------------------------------------------- drafting


def _validate(data: dict[str, Any]) -> dict[str, Any]:
    try:
        values = WarningIn.model_validate(data).model_dump()
    except ValidationError as exc:
        raise Invalid(translate(exc.errors(), LABELS)) from None
    errors = rules.check_areas(values["areas"])
    if errors:
        raise Invalid(errors)
    values["areas"] = rules.areas_to_json(rules.areas_from_json(values["areas"]))
    for name in ("effective", "onset", "expires"):
        values[name] = _utc(values[name])
    return values


def _utc(value: datetime | None) -> datetime | None:
    """Store instants in UTC: SQLite keeps the wall time and drops the offset."""
    return value.astimezone(UTC) if value is not None and value.tzinfo else value


def _check_area_scope(session: Session, values: dict[str, Any]) -> None:
    if session.get(Division, values["division_code"]) is None:
        raise Invalid([FieldError("division_code", "发布区划：不存在", "division: does not exist")])
    prefix = division_prefix(values["division_code"])
    for i, area in enumerate(values["areas"]):
        for code in area["divisions"]:
            if not code.startswith(prefix):
                raise Invalid(
                    [
                        FieldError(
                            f"areas.{i}",
                            f"预警区域 {i + 1}：区划 {code} 不在发布区划内",
                            f"area {i + 1}: division {code} is outside the warning's",
                        )
                    ]
                )


def _can_draft(who: Principal, division_code: str) -> None:
    if who.role not in rules.DRAFTER_ROLES:
        raise Forbidden("当前角色无权起草预警", "your role may not draft warnings")
    if not who.covers(division_code):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")


def create_warning(
    session: Session, who: Principal, data: dict[str, Any], now: datetime, *, auto: bool = False
) -> Warning:
    data = {"division_code": who.division_code, **data}
    values = _validate(data)
    _can_draft(who, values["division_code"])
    _check_area_scope(session, values)
    w = Warning(
        **values,
        kind="local",
        status="draft",
        msg_type="Alert",
        auto=auto,
        created_by=who.username,
        created_at=now,
        updated_at=now,
    )
    session.add(w)
    session.flush()
    _audit(session, who, w, "create", None, now)
    return w


def edit_warning(
    session: Session, who: Principal, warning_id: Any, patch: dict[str, Any], now: datetime
) -> Warning:
    w = get_warning(session, who, warning_id)
    rules.next_status(w.status, "edit")
    current = {f: _field(w, f) for f in CONTENT_FIELDS}
    values = _validate({**current, **patch})
    _can_draft(who, values["division_code"])
    _can_draft(who, w.division_code)
    _check_area_scope(session, values)
    before = to_dict(w)
    for name, value in values.items():
        setattr(w, name, value)
    w.updated_at = now
    session.flush()
    _audit(session, who, w, "edit", before, now)
    return w


# ---------------------------------------------------------------- workflow


def _approvers(w: Warning, settings: WarningSettings) -> frozenset[str]:
    return rules.approvers(w.level, settings.approval_roles)


def submit(session: Session, who: Principal, warning_id: Any, now: datetime) -> Warning:
    w = get_warning(session, who, warning_id)
    _can_draft(who, w.division_code)
    before = to_dict(w)
    w.status = rules.next_status(w.status, "submit")
    w.submitted_by, w.updated_at = who.username, now
    settings = get_warning_settings()
    if not rules.needs_approval(w.level, settings.approval_roles):
        # The city lets this level go out without a second person (yellow/blue only).
        w.status = rules.next_status(w.status, "approve")
        w.approved_by, w.approved_at = "(无需审批 no approval required)", now
    session.flush()
    _audit(session, who, w, "submit", before, now)
    return w


def _can_approve(who: Principal, w: Warning) -> None:
    roles = _approvers(w, get_warning_settings())
    if who.role not in roles:
        names = "、".join(sorted(roles))
        raise Forbidden(
            f"{rules.cap.LEVEL_NAMES[w.level][0]}预警须由以下角色审批：{names}",
            f"a {w.level} warning must be approved by: {', '.join(sorted(roles))}",
        )
    if not who.covers(w.division_code):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    conflict = approval_conflict(who, w)
    if conflict:
        raise Forbidden(*conflict)


def approval_conflict(who: Principal, w: Warning) -> tuple[str, str] | None:
    """Separation of duties for this approver (None when the city has turned it off)."""
    if not get_settings().separation_of_duties:
        return None
    return rules.duty_conflict(w.level, {w.created_by, w.submitted_by or ""}, who.username)


def approve(
    session: Session, who: Principal, warning_id: Any, now: datetime, reject: bool = False
) -> Warning:
    w = get_warning(session, who, warning_id)
    before = to_dict(w)
    target = rules.next_status(w.status, "reject" if reject else "approve")
    _can_approve(who, w)
    w.status, w.updated_at = target, now
    if not reject:
        w.approved_by, w.approved_at = who.username, now
    session.flush()
    _audit(session, who, w, "reject" if reject else "approve", before, now)
    return w


def identifier_for(settings: WarningSettings, w: Warning, sent: datetime) -> str:
    city = settings.sender.split("@")[-1] or "000000"
    return f"CN-{city}-SC-{cap.cap_time(sent)[:10].replace('-', '')}-{w.id:06d}"


def _reference_chain(session: Session, w: Warning) -> tuple[str, ...]:
    if w.previous_id is None:
        return ()
    prev = session.get(Warning, w.previous_id)
    if prev is None or prev.identifier is None or prev.sent is None:
        return ()
    earlier = tuple(prev.references.split()) if prev.references else ()
    return earlier + (cap.reference(prev.sender, prev.identifier, _aware(prev.sent)),)


def _public_base(settings: WarningSettings) -> str:
    return settings.public_base_url.rstrip("/") or public_base_url()


def _serialise(session: Session, w: Warning, sent: datetime, settings: WarningSettings) -> None:
    # The en-US block falls back to the Chinese text; store what is sent so it round-trips.
    for name in ("headline", "description", "instruction"):
        if not getattr(w, f"{name}_en"):
            setattr(w, f"{name}_en", getattr(w, name))
    w.sender, w.sent = settings.sender, sent
    w.sender_name = settings.sender_name
    w.identifier = identifier_for(settings, w, sent)
    refs = _reference_chain(session, w)
    w.references = " ".join(refs)
    alert = rules.build_alert(
        content(w),
        identifier=w.identifier,
        sender=w.sender,
        sent=sent,
        msg_type=w.msg_type,
        references=refs,
        sender_names=(settings.sender_name, settings.sender_name_en),
        table=settings.level_table,
        web=f"{_public_base(settings)}/public/warnings/{w.id}",
    )
    xml = cap.to_xml(alert)
    errors = cap.validate_xml(xml)
    if errors:  # a bug of ours or a bad city table: never send an invalid alert
        raise Invalid(errors)
    w.cap_xml = xml.decode("utf-8")


def issue(
    session: Session, who: Principal, warning_id: Any, now: datetime, *, system: bool = False
) -> tuple[Warning, bool]:
    """Issue an approved warning; (warning, False) when it was already issued (idempotent)."""
    w = get_warning(session, who, warning_id)
    if session.get_bind().dialect.name == "postgresql":
        # Two clicks on "issue" at once: the second waits here and then sees it issued.
        session.refresh(w, with_for_update=True)
    if w.status in ("issued", "updated", "cancelled", "expired") and w.issued_at is not None:
        return w, False
    if not system:
        if who.role not in ISSUE_ROLES | _approvers(w, get_warning_settings()):
            raise Forbidden("当前角色无权发布预警", "your role may not issue warnings")
        if not who.covers(w.division_code):
            raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    before = to_dict(w)
    w.status = rules.next_status(w.status, "auto_issue" if system else "issue")
    _publish(session, who, w, now)
    session.flush()
    _audit(session, who, w, "auto_issue" if system else "issue", before, now)
    return w, True


def _publish(session: Session, who: Principal, w: Warning, now: datetime) -> None:
    settings = get_warning_settings()
    w.targeting = compute_targeting(session, w)
    _serialise(session, w, now, settings)
    w.issued_by, w.issued_at, w.updated_at = who.username, now, now
    channels.plan_deliveries(session, w, settings, now)
    if w.previous_id is not None and w.msg_type == "Update":
        prev = session.get(Warning, w.previous_id)
        if prev is not None and prev.status == "issued":
            before = to_dict(prev)
            prev.status, prev.closed_at, prev.updated_at = "updated", now, now
            _audit(session, who, prev, "supersede", before, now)


def start_update(
    session: Session,
    who: Principal,
    warning_id: Any,
    now: datetime,
    patch: dict[str, Any] | None = None,
) -> Warning:
    """A new draft (msgType Update) that will replace an issued warning once issued."""
    prev = get_warning(session, who, warning_id)
    rules.next_status(prev.status, "supersede")
    data = {f: _field(prev, f) for f in CONTENT_FIELDS} | (patch or {})
    w = create_warning(session, who, data, now)
    w.msg_type, w.previous_id = "Update", prev.id
    session.flush()
    return w


def cancel(
    session: Session, who: Principal, warning_id: Any, now: datetime, note: str = ""
) -> Warning:
    """Lift an issued warning: a Cancel message referencing it goes to every channel."""
    prev = get_warning(session, who, warning_id)
    target = rules.next_status(prev.status, "cancel")
    if who.role not in ISSUE_ROLES | _approvers(prev, get_warning_settings()):
        raise Forbidden("当前角色无权解除预警", "your role may not cancel warnings")
    before = to_dict(prev)
    data = {f: getattr(prev, f) for f in CONTENT_FIELDS}
    msg = Warning(
        **data,
        kind="local",
        status="issued",
        msg_type="Cancel",
        previous_id=prev.id,
        created_by=who.username,
        created_at=now,
        updated_at=now,
        approved_by=who.username,
        approved_at=now,
    )
    msg.headline = f"解除：{prev.headline}"[:300]
    msg.headline_en = f"Cancelled: {prev.headline_en or prev.headline}"[:300]
    if note:
        msg.description = note
    session.add(msg)
    session.flush()
    _publish(session, who, msg, now)
    prev.status, prev.closed_at, prev.updated_at = target, now, now
    session.flush()
    _audit(session, who, prev, "cancel", before, now)
    _audit(session, who, msg, "issue", None, now)
    return msg


def expire_due(session: Session, now: datetime) -> int:
    """Mark issued warnings whose expiry passed as expired (run by the dispatcher loop)."""
    rows = list(
        session.scalars(
            select(Warning).where(
                Warning.status == "issued",
                Warning.msg_type != "Cancel",
                Warning.expires.is_not(None),
                Warning.expires <= now,
            )
        )
    )
    for w in rows:
        before = to_dict(w)
        w.status, w.closed_at, w.updated_at = rules.next_status(w.status, "expire"), now, now
        _audit(session, SYSTEM, w, "expire", before, now)
    session.flush()
    return len(rows)


def retry_failed(session: Session, who: Principal, warning_id: Any, now: datetime) -> int:
    """Put failed deliveries of an issued message back in the queue (operator's retry)."""
    w = get_warning(session, who, warning_id)
    if who.role not in ISSUE_ROLES | _approvers(w, get_warning_settings()):
        raise Forbidden("当前角色无权重发预警", "your role may not resend warnings")
    rows = list(
        session.scalars(
            select(Delivery).where(Delivery.warning_id == w.id, Delivery.status == "failed")
        )
    )
    for d in rows:
        d.status, d.attempts, d.next_attempt_at, d.updated_at = "pending", 0, None, now
    if rows:
        session.flush()
        audit.record(
            session,
            actor=who.username,
            action="retry",
            object_type=OBJECT,
            object_id=w.id,
            before=None,
            after={"deliveries": [d.id for d in rows]},
            now=now,
        )
    return len(rows)


# ---------------------------------------------------------------- targeting


@dataclass
class _Cached:
    key: tuple[Any, ...]
    layer: Any


_layer_cache: dict[tuple[str, str], _Cached] = {}


def _cached(session: Session, name: str, model: Any, build: Any) -> Any:
    """A layer rebuilt only when its table changes (row count, last edit or highest id)."""
    url = str(session.get_bind().url)
    key = tuple(
        session.execute(
            select(func.count(model.id), func.max(model.updated_at), func.max(model.id)).where(
                model.archived.is_(False)
            )
        ).one()
    )
    hit = _layer_cache.get((url, name))
    if hit is not None and hit.key == key:
        return hit.layer
    layer = build(session)
    _layer_cache[(url, name)] = _Cached(key, layer)
    return layer


def _build_grid(session: Session) -> targeting.GridLayer:
    rows = session.execute(
        select(GridCell.id, GridCell.geometry, GridCell.population, GridCell.division_code).where(
            GridCell.archived.is_(False), GridCell.geometry.is_not(None)
        )
    )
    ids, geoms, pops, divs = [], [], [], []
    for cid, geom, pop, div in rows:
        if not geom:  # a JSON null passes "IS NOT NULL" on SQLite: no shape, no coverage
            continue
        ids.append(cid)
        geoms.append(geom)
        pops.append(pop or 0)
        divs.append(div)
    return targeting.GridLayer.build(ids, geoms, pops, divs)


def grid_layer(session: Session) -> targeting.GridLayer:
    """Grid cells as an STRtree, cached per database until the cells change."""
    return _cached(session, "grid", GridCell, _build_grid)


def _build_targets(session: Session) -> targeting.PointLayer:
    rows = session.execute(
        select(
            ProtectedTarget.id,
            ProtectedTarget.lon,
            ProtectedTarget.lat,
            ProtectedTarget.target_type,
            ProtectedTarget.capacity,
        ).where(
            ProtectedTarget.archived.is_(False),
            ProtectedTarget.lon.is_not(None),
            ProtectedTarget.lat.is_not(None),
        )
    )
    return targeting.PointLayer.build([(i, x, y, k, c or 0) for i, x, y, k, c in rows])


def _build_enterprises(session: Session) -> targeting.PointLayer:
    rows = session.execute(
        select(Enterprise.id, Enterprise.lon, Enterprise.lat, Enterprise.is_hazchem).where(
            Enterprise.archived.is_(False), Enterprise.lon.is_not(None), Enterprise.lat.is_not(None)
        )
    )
    return targeting.PointLayer.build(
        [(i, x, y, "hazchem" if h else "other", 1) for i, x, y, h in rows]
    )


def geometry_of(session: Session, areas: tuple[rules.WarningArea, ...]) -> Any:
    codes = {d for a in areas for d in a.divisions}
    shapes = {}
    if codes:
        for code, geom in session.execute(
            select(Division.code, Division.geometry).where(Division.code.in_(codes))
        ):
            if geom:
                shapes[code] = shape(geom)
    return targeting.area_geometry(areas, shapes)


def compute_targeting(session: Session, w: Warning) -> dict[str, Any]:
    geom = geometry_of(session, rules.areas_from_json(w.areas))
    return targeting.compute(
        geom,
        grid_layer(session),
        _cached(session, "targets", ProtectedTarget, _build_targets),
        _cached(session, "enterprises", Enterprise, _build_enterprises),
    )


def preview_targeting(session: Session, who: Principal, warning_id: Any) -> dict[str, Any]:
    w = get_warning(session, who, warning_id)
    return compute_targeting(session, w)


# ---------------------------------------------------------------- coverage


PUBLIC_CHANNELS = ("web", "sms", "broadcast", "siren", "email")


def coverage_of(session: Session, w: Warning) -> dict[str, Any]:
    rows = list(
        session.scalars(select(Delivery).where(Delivery.warning_id == w.id).order_by(Delivery.id))
    )
    population = int((w.targeting or {}).get("population", 0))
    confirmed: dict[str, int] = {}
    simulated: dict[str, int] = {}
    for d in rows:
        if d.status == "sent":
            confirmed[d.channel] = confirmed.get(d.channel, 0) + d.reached
        if d.status in ("sent", "logged"):
            simulated[d.channel] = simulated.get(d.channel, 0) + d.reached
    # The same people get the SMS, hear the siren and see the page: take the best channel,
    # never the sum, so coverage cannot exceed the people actually in the area. Channels that
    # only log (no gateway yet) count as "simulated", never as confirmed reach.
    best = max([confirmed.get(c, 0) for c in PUBLIC_CHANNELS] + [0])
    best_sim = max([simulated.get(c, 0) for c in PUBLIC_CHANNELS] + [0])
    return {
        "population": population,
        "reached": simulated,
        "confirmed": confirmed,
        "best_reached": best,
        "coverage": targeting.coverage(best, population),
        "best_simulated": best_sim,
        "coverage_simulated": targeting.coverage(best_sim, population),
        "deliveries": [delivery_dict(d) for d in rows],
    }


def delivery_dict(d: Delivery) -> dict[str, Any]:
    return {
        c: getattr(d, c)
        for c in (
            "id",
            "channel",
            "target",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "reached",
            "sent_at",
            "updated_at",
        )
    }


def monthly_coverage(
    session: Session, who: Principal, now: datetime, months: int = 12
) -> list[dict[str, Any]]:
    """Per month: warnings issued, people in their areas, people reached, coverage rate."""
    since = now - timedelta(days=31 * months)
    stmt = select(Warning).where(
        scope_clause(who),
        Warning.kind == "local",
        Warning.msg_type != "Cancel",
        Warning.issued_at.is_not(None),
        Warning.issued_at >= since,
    )
    buckets: dict[str, dict[str, Any]] = {}
    for w in session.scalars(stmt):
        month = cap.cap_time(_aware(w.issued_at))[:7]  # Beijing calendar month
        cov = coverage_of(session, w)
        b = buckets.setdefault(
            month,
            {
                "month": month,
                "warnings": 0,
                "population": 0,
                "reached": 0,
                "simulated": 0,
                "major": 0,
            },
        )
        b["warnings"] += 1
        b["major"] += w.level in ("red", "orange")
        b["population"] += cov["population"]
        b["reached"] += min(cov["best_reached"], cov["population"])
        b["simulated"] += min(cov["best_simulated"], cov["population"])
    out = sorted(buckets.values(), key=lambda b: b["month"], reverse=True)
    for b in out:
        b["coverage"] = targeting.coverage(b["reached"], b["population"])
        b["coverage_simulated"] = targeting.coverage(b["simulated"], b["population"])
    return out


# ---------------------------------------------------------------- import


@dataclass
class ImportReport:
    created: list[int] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)  # held warnings a Cancel lifted
    superseded: list[int] = field(default_factory=list)  # held warnings an Update replaced
    recorded: list[int] = field(default_factory=list)  # Ack/Error messages, kept as records
    unknown_references: list[str] = field(default_factory=list)
    not_applied: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "unchanged": self.unchanged,
            "referenced": self.cancelled + self.superseded,
            "cancelled": self.cancelled,
            "superseded": self.superseded,
            "recorded": self.recorded,
            "unknown_references": self.unknown_references,
            "not_applied": self.not_applied,
        }


def import_cap(
    session: Session, who: Principal, data: bytes, now: datetime, city_code: str | None = None
) -> ImportReport:
    """Store CAP alerts (or a feed of them) from another agency as external warnings.

    All or nothing: any invalid alert in a feed rejects the whole file before anything is written.
    Update and Cancel messages supersede or lift the held warnings their <references> name;
    Ack and Error are kept as records. References to messages we do not hold are reported.
    """
    if who.role not in IMPORT_ROLES:
        raise Forbidden("当前角色无权导入外部预警", "your role may not import warnings")
    alerts = cap.parse(data)

    city = city_code or get_settings().city_code
    report = ImportReport()
    # Feeds list the newest first; oldest first lets a Cancel find the Alert it names.
    for alert in sorted(alerts, key=lambda a: a.sent):
        _import_one(session, who, alert, city, now, report)
    session.flush()
    return report


def _key(sender: str, identifier: str) -> str:
    return f"{sender}|{identifier}"[:200]


def _held(session: Session, ref: cap.Reference) -> Warning | None:
    """The message a reference names: an imported one, or one SafeCity issued itself."""
    return session.scalar(
        select(Warning).where(
            or_(
                Warning.identifier == _key(ref.sender, ref.identifier),
                and_(
                    Warning.kind == "local",
                    Warning.sender == ref.sender,
                    Warning.identifier == ref.identifier,
                ),
            )
        )
    )


def _status_of(alert: cap.Alert, has_content: bool) -> str:
    if alert.msg_type == "Cancel":
        return "cancelled"
    if alert.msg_type in ("Ack", "Error") or not has_content:
        return "recorded"  # never on the public map
    return "external"


def _import_one(
    session: Session,
    who: Principal,
    alert: cap.Alert,
    city: str,
    now: datetime,
    report: ImportReport,
) -> None:
    key = _key(alert.sender, alert.identifier)
    if session.scalar(select(Warning.id).where(Warning.identifier == key)) is not None:
        report.unchanged.append(alert.identifier)
        return
    refs, malformed = cap.parse_references(alert.references)
    held = [(ref, _held(session, ref)) for ref in refs]
    first = next((old for _ref, old in held if old is not None), None)
    c = rules.message_content(alert, content(first) if first is not None else None)
    w = Warning(
        kind="external",
        status=_status_of(alert, bool(alert.infos) or first is not None),
        msg_type=alert.msg_type if alert.msg_type in cap.MSG_TYPES else "Alert",
        identifier=key,
        sender=alert.sender[:200],
        sender_name=(alert.infos[0].sender_name if alert.infos else "")[:200],
        sent=_utc(alert.sent),
        references=" ".join(alert.references),
        event_type=c.event_type,
        level=c.level,
        headline=c.headline[:300] or alert.identifier,
        description=c.description,
        instruction=c.instruction,
        headline_en=c.headline_en[:300],
        description_en=c.description_en,
        instruction_en=c.instruction_en,
        areas=rules.areas_to_json(c.areas),
        division_code=_division_for(session, who, c, city),
        effective=_utc(c.effective),
        onset=_utc(c.onset),
        expires=_utc(c.expires),
        cap_xml=cap.to_xml(alert).decode("utf-8") if alert.version == "1.2" else None,
        previous_id=first.id if first is not None else None,
        created_by=who.username,
        created_at=now,
        updated_at=now,
        issued_at=now,
    )
    session.add(w)
    session.flush()
    _audit(session, who, w, "import", None, now)
    report.created.append(w.id)
    if alert.msg_type in ("Ack", "Error"):
        report.recorded.append(w.id)
    effect = cap.EFFECTS.get(alert.msg_type)
    for ref, old in held:
        if old is None:
            report.unknown_references.append(ref.text)
        elif effect is not None:
            _apply(session, who, effect, old, ref.text, now, report)
    report.unknown_references.extend(malformed)
    _apply_earlier(session, who, alert, w, now, report)


def _apply(
    session: Session,
    who: Principal,
    effect: str,
    old: Warning,
    ref: str,
    now: datetime,
    report: ImportReport,
) -> None:
    """Cancel or supersede one held external warning; SafeCity's own warnings are never touched."""
    if old.kind != "external":
        report.not_applied.append(
            {
                "reference": ref,
                "reason": "本系统发布的预警只能由本系统解除或更新",
                "reason_en": "a warning SafeCity issued is updated or cancelled only through SafeCity",
            }
        )
        return
    if old.status != "external":
        zh, en = rules.STATUSES.get(old.status, (old.status, old.status))
        report.not_applied.append(
            {
                "reference": ref,
                "reason": f"该预警已是“{zh}”状态",
                "reason_en": f"that warning is already {en.lower()}",
            }
        )
        return
    before = to_dict(old)
    old.status = "cancelled" if effect == "cancel" else "updated"
    old.closed_at, old.updated_at = now, now
    _audit(session, who, old, effect, before, now)
    (report.cancelled if effect == "cancel" else report.superseded).append(old.id)


def _apply_earlier(
    session: Session,
    who: Principal,
    alert: cap.Alert,
    w: Warning,
    now: datetime,
    report: ImportReport,
) -> None:
    """A Cancel or Update imported before the message it names takes effect when that arrives."""
    needle = f"{alert.sender},{alert.identifier},"
    rows = session.scalars(
        select(Warning)
        .where(
            Warning.kind == "external",
            Warning.msg_type.in_(("Update", "Cancel")),
            Warning.id != w.id,
            Warning.references.contains(needle, autoescape=True),
        )
        .order_by(Warning.id)
    )
    for later in rows:
        refs, _bad = cap.parse_references(tuple(later.references.split()))
        match = next(
            (r for r in refs if (r.sender, r.identifier) == (alert.sender, alert.identifier)), None
        )
        if match is not None and w.status == "external":
            later.previous_id = later.previous_id or w.id
            _apply(session, who, str(cap.EFFECTS[later.msg_type]), w, match.text, now, report)


def _division_for(session: Session, who: Principal, c: rules.Content, city: str) -> str:
    """The most specific known division the alert names inside the importer's scope."""
    codes = [d for a in c.areas for d in a.divisions]
    known = [d for d in codes if who.covers(d) and session.get(Division, d) is not None]
    if known:
        return known[0] if len(set(known)) == 1 else city if who.covers(city) else known[0]
    return city if who.covers(city) else who.division_code


# ---------------------------------------------------------------- audit


def _audit(
    session: Session,
    who: Principal,
    w: Warning,
    action: str,
    before: dict[str, Any] | None,
    now: datetime,
) -> None:
    after = to_dict(w)
    audit.record(
        session,
        actor=who.username,
        action=action,
        object_type=OBJECT,
        object_id=w.id,
        before=before,
        after=after,
        now=now,
    )
    # After commit only: a dry-run import or a refused request rolls back and announces nothing.
    events.publish_after_commit(
        session, events.ObjectChanged(now, OBJECT, str(w.id), action, w.division_code)
    )
