"""Use cases of the emergency resources capability: the registers, the stock log and transfer
requests, and the travel-time questions (nearest, reach, coverage, evacuation, gaps) asked of the
in-memory road network. Every query is scoped (core.scope), every write audited (core.audit)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import shapely
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.core.clock import utcnow
from safecity.core.errors import Conflict, Forbidden, Invalid, NotFound, invalid
from safecity.core.scope import Principal, Shape, clause, division_prefix, sees
from safecity.core.validation import translate
from safecity.registry.models import Division, GridCell
from safecity.resources import evacuation as evac
from safecity.resources import network, routing
from safecity.resources import settings as targets
from safecity.resources import stock as rules
from safecity.resources.models import (
    Equipment,
    Expert,
    Item,
    MinimumStock,
    RescueTeam,
    Shelter,
    StockMovement,
    TransferRequest,
    Warehouse,
)
from safecity.resources.roads import haversine_m
from safecity.resources.schemas import (
    EQUIPMENT_TYPES,
    EXPERT_FIELDS,
    SHELTER_STATUS,
    EquipmentIn,
    EvacuationIn,
    ExpertIn,
    ItemIn,
    MinimumIn,
    MovementIn,
    PlacedIn,
    RequestIn,
    RescueTeamIn,
    ShelterIn,
    WarehouseIn,
)

WRITERS = frozenset({"admin", "commander", "duty_officer", "district_officer"})
SNAP_LIMIT_M = 500.0


@dataclass(frozen=True)
class Register:
    model: type[Any]
    schema: type[PlacedIn]
    zh: str
    en: str
    object_type: str


REGISTERS: dict[str, Register] = {
    "rescue-teams": Register(RescueTeam, RescueTeamIn, "救援队伍", "Rescue teams", "rescue_team"),
    "warehouses": Register(Warehouse, WarehouseIn, "物资储备库", "Warehouses", "warehouse"),
    "shelters": Register(Shelter, ShelterIn, "避难场所", "Shelters", "shelter"),
    "experts": Register(Expert, ExpertIn, "专家", "Experts", "expert"),
    "equipment": Register(Equipment, EquipmentIn, "装备", "Equipment", "equipment"),
}
ROUTABLE = ("rescue-teams", "warehouses", "shelters", "equipment", "experts")
# Who travels: forces, goods and experts go to the incident; people go from where they are to
# shelter.
DEFAULT_DIRECTION = {
    "rescue-teams": routing.TO_POINT,
    "warehouses": routing.TO_POINT,
    "equipment": routing.TO_POINT,
    "experts": routing.TO_POINT,
    "shelters": routing.FROM_POINT,
}
# What "available only" means per kind: the column and the value that is usable now.
AVAILABLE = {
    "rescue-teams": ("readiness", "ready"),
    "shelters": ("status", "open"),
    "equipment": ("status", "available"),
}


def register(kind: str) -> Register:
    found = REGISTERS.get(kind)
    if found is None:
        raise invalid(
            "kind",
            f"资源类型应为：{'、'.join(REGISTERS)}",
            f"kind must be one of: {', '.join(REGISTERS)}",
        )
    return found


def shape(model: type[Any]) -> Shape:
    return Shape(division=model.division_code)


def area_per_person_m2() -> float:
    """Living area per sheltered person (GB 21734: > 1.5 m²): the city's setting."""
    return float(targets.loaded().value("shelter_area_per_person_m2"))


def require_staff(who: Principal) -> None:
    """Analyses are for staff who read through the scope rule (not the public)."""
    if not who.can_read():
        raise Forbidden("无权查看应急资源", "not allowed to see emergency resources")


def _require_writer(who: Principal) -> None:
    if who.role not in WRITERS:
        raise Forbidden("无权维护应急资源", "not allowed to change emergency resources")


def _visible(who: Principal, model: type[Any], obj: Any, what: tuple[str, str]) -> Any:
    if obj is None or not sees(who, shape(model), obj.division_code):
        raise NotFound(*what)
    return obj


def _validate(schema: type[Any], data: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise Invalid(translate(exc.errors())) from None


# ---------------------------------------------------------------- registers


def resource_dict(obj: Any) -> dict[str, Any]:
    cols = obj.__table__.columns.keys()
    out = {c: getattr(obj, c) for c in cols}
    if out.get("updated_at") is not None:
        out["updated_at"] = out["updated_at"].isoformat()
    return out


def create_resource(
    session: Session, who: Principal, kind: str, data: dict[str, Any], now: datetime
) -> Any:
    reg = register(kind)
    _require_writer(who)
    values = _validate(reg.schema, data).model_dump()
    if not who.covers(values["division_code"]):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    if reg.model is Shelter and values.get("capacity") is None:
        values["capacity"] = int(values["effective_area_m2"] // area_per_person_m2())
    if reg.model is Equipment and values.get("team_id") is not None:
        get_resource(session, who, "rescue-teams", values["team_id"])
    obj = reg.model(**values, updated_at=now)
    session.add(obj)
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="create",
        object_type=reg.object_type,
        object_id=obj.id,
        before=None,
        after=resource_dict(obj),
        now=now,
    )
    return obj


def update_resource(
    session: Session, who: Principal, kind: str, obj_id: int, data: dict[str, Any], now: datetime
) -> Any:
    reg = register(kind)
    obj = get_resource(session, who, kind, obj_id)
    _require_writer(who)
    before = resource_dict(obj)
    merged = {k: v for k, v in before.items() if k in reg.schema.model_fields} | data
    values = _validate(reg.schema, merged).model_dump()
    if not who.covers(values["division_code"]):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    if reg.model is Shelter and values.get("capacity") is None:
        values["capacity"] = int(values["effective_area_m2"] // area_per_person_m2())
    for key, value in values.items():
        setattr(obj, key, value)
    obj.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="update",
        object_type=reg.object_type,
        object_id=obj.id,
        before=before,
        after=resource_dict(obj),
        now=now,
    )
    return obj


def set_shelter_status(
    session: Session, who: Principal, shelter_id: int, status: str, now: datetime
) -> Shelter:
    """Open, close or mark a shelter full (evacuation plans use open shelters only)."""
    if status not in SHELTER_STATUS:
        raise invalid(
            "status",
            f"状态应为：{'、'.join(v[0] for v in SHELTER_STATUS.values())}",
            f"status must be one of: {', '.join(SHELTER_STATUS)}",
        )
    obj = get_resource(session, who, "shelters", shelter_id)
    if obj.status == status:
        _require_writer(who)
        return obj  # nothing changes, nothing to audit
    return update_resource(session, who, "shelters", shelter_id, {"status": status}, now)


def get_resource(session: Session, who: Principal, kind: str, obj_id: int) -> Any:
    reg = register(kind)
    return _visible(who, reg.model, session.get(reg.model, obj_id), (reg.zh, reg.en))


def list_resources(
    session: Session,
    who: Principal,
    kind: str,
    *,
    q: str | None = None,
    division: str | None = None,
    limit: int | None = None,
) -> list[Any]:
    reg = register(kind)
    model = reg.model
    stmt = select(model).where(clause(who, shape(model)), model.archived.is_(False))
    if q:
        stmt = stmt.where(model.name.contains(q))
    if division:
        stmt = stmt.where(model.division_code.startswith(division_prefix(division)))
    stmt = stmt.order_by(model.division_code, model.name, model.id)
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- items and stock


def create_item(session: Session, who: Principal, data: dict[str, Any], now: datetime) -> Item:
    _require_writer(who)
    values = _validate(ItemIn, data)
    code = rules.check_item_code(values.code)
    if session.scalar(select(Item.id).where(Item.code == code)):
        raise invalid("code", "物资编码：已存在", "code: already exists")
    item = Item(**values.model_dump() | {"code": code})
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="create",
        object_type="item",
        object_id=item.id,
        before=None,
        after=values.model_dump() | {"code": code},
        now=now,
    )
    return item


def items(session: Session) -> list[Item]:
    return list(session.scalars(select(Item).order_by(Item.code)))


def _item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise invalid("item_id", "物资：不存在", "item: not found")
    return item


def _warehouse_for_write(session: Session, who: Principal, warehouse_id: int) -> Warehouse:
    wh = get_resource(session, who, "warehouses", warehouse_id)
    _require_writer(who)
    if session.get_bind().dialect.name == "postgresql":
        # one writer per warehouse at a time: two issues cannot both pass the stock check
        session.execute(select(Warehouse.id).where(Warehouse.id == wh.id).with_for_update())
    return wh


def batches(session: Session, warehouse_id: int, item_id: int) -> dict[str, rules.Batch]:
    rows = session.execute(
        select(StockMovement.batch, StockMovement.expiry, StockMovement.quantity)
        .where(StockMovement.warehouse_id == warehouse_id, StockMovement.item_id == item_id)
        .order_by(StockMovement.id)
    )
    return rules.balances((b, e, q) for b, e, q in rows)


def _write(
    session: Session,
    who: Principal,
    wh: Warehouse,
    item: Item,
    kind: str,
    changes: dict[str, int],
    expiries: dict[str, date | None],
    now: datetime,
    *,
    note: str = "",
    request_id: int | None = None,
    counterpart: int | None = None,
) -> list[StockMovement]:
    """Append signed movements per batch after checking no batch goes below zero."""
    on_hand = {b: v.quantity for b, v in batches(session, wh.id, item.id).items()}
    rules.check_not_negative(on_hand, changes)
    rows = [
        StockMovement(
            warehouse_id=wh.id,
            item_id=item.id,
            batch=batch,
            expiry=expiries.get(batch),
            kind=kind,
            quantity=qty,
            division_code=wh.division_code,
            request_id=request_id,
            counterpart_warehouse_id=counterpart,
            note=note,
            actor=who.username,
            at=now,
        )
        for batch, qty in changes.items()
        if qty != 0
    ]
    session.add_all(rows)
    session.flush()
    audit.record_many(
        session,
        who.username,
        [
            audit.Change(
                "stock_movement",
                r.id,
                kind,
                None,
                {
                    "warehouse_id": wh.id,
                    "item_id": item.id,
                    "batch": r.batch,
                    "quantity": r.quantity,
                    "request_id": request_id,
                },
            )
            for r in rows
        ],
        now,
    )
    return rows


def _take(
    session: Session,
    wh: Warehouse,
    item: Item,
    quantity: int,
    batch: str,
    today: date,
) -> tuple[dict[str, int], dict[str, date | None]]:
    """Negative changes per batch for taking ``quantity`` out: the named batch, or FEFO."""
    held = batches(session, wh.id, item.id)
    if batch:
        return {batch: -quantity}, {batch: held[batch].expiry if batch in held else None}
    taken = rules.allocate_fefo(held.values(), quantity, today)
    return {b: -q for b, q in taken.items()}, {b: held[b].expiry for b in taken}


def record_movement(
    session: Session, who: Principal, warehouse_id: int, data: dict[str, Any], now: datetime
) -> list[StockMovement]:
    """Receive, issue (FEFO when no batch is named), transfer (a pair), adjust or scrap."""
    values = _validate(MovementIn, data)
    wh = _warehouse_for_write(session, who, warehouse_id)
    item = _item(session, values.item_id)
    today = now.date()
    if values.kind == "receive":
        qty = rules.signed("receive", values.quantity)
        expiry = values.expiry
        if expiry is None and item.shelf_life_days:
            expiry = today + timedelta(days=item.shelf_life_days)
        return _write(
            session,
            who,
            wh,
            item,
            "receive",
            {values.batch: qty},
            {values.batch: expiry},
            now,
            note=values.note,
        )
    if values.kind == "adjust":
        qty = rules.signed("adjust", values.quantity)
        held = batches(session, wh.id, item.id)
        expiry = held[values.batch].expiry if values.batch in held else values.expiry
        return _write(
            session,
            who,
            wh,
            item,
            "adjust",
            {values.batch: qty},
            {values.batch: expiry},
            now,
            note=values.note,
        )
    rules.signed("issue", values.quantity)  # a positive whole number
    if values.kind == "transfer":
        assert values.to_warehouse_id is not None  # the schema requires it
        if values.to_warehouse_id == wh.id:
            raise invalid("to_warehouse_id", "接收仓库不能是本仓库", "cannot transfer to itself")
        target = _warehouse_for_write(session, who, values.to_warehouse_id)
        changes, expiries = _take(session, wh, item, values.quantity, values.batch, today)
        out = _write(
            session,
            who,
            wh,
            item,
            "transfer_out",
            changes,
            expiries,
            now,
            note=values.note,
            counterpart=target.id,
        )
        return out + _write(
            session,
            who,
            target,
            item,
            "transfer_in",
            {b: -q for b, q in changes.items()},
            expiries,
            now,
            note=values.note,
            counterpart=wh.id,
        )
    changes, expiries = _take(session, wh, item, values.quantity, values.batch, today)
    if values.kind == "issue":
        available = available_quantity(session, wh.id, item.id, today)
        if values.quantity > available:
            raise Conflict(
                f"库存不足：可用 {available}（已扣除调拨承诺的数量），需要 {values.quantity}",
                f"not enough stock: {available} available after committed transfers, "
                f"{values.quantity} needed",
            )
    return _write(session, who, wh, item, values.kind, changes, expiries, now, note=values.note)


def reserved(session: Session, warehouse_id: int, item_id: int) -> int:
    """Quantity committed transfer requests hold back at a source warehouse."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(TransferRequest.quantity), 0)).where(
                TransferRequest.source_warehouse_id == warehouse_id,
                TransferRequest.item_id == item_id,
                TransferRequest.status.in_(rules.RESERVING),
            )
        )
        or 0
    )


def available_quantity(session: Session, warehouse_id: int, item_id: int, today: date) -> int:
    usable = sum(
        b.quantity
        for b in batches(session, warehouse_id, item_id).values()
        if b.quantity > 0 and (b.expiry is None or b.expiry >= today)
    )
    return usable - reserved(session, warehouse_id, item_id)


def warehouse_stock(
    session: Session, who: Principal, warehouse_id: int, today: date
) -> dict[str, Any]:
    """Per item and batch: the sum of the log (batches at zero left out), with totals."""
    wh = get_resource(session, who, "warehouses", warehouse_id)
    rows = session.execute(
        select(
            StockMovement.item_id,
            StockMovement.batch,
            func.min(StockMovement.expiry),
            func.sum(StockMovement.quantity),
        )
        .where(StockMovement.warehouse_id == wh.id)
        .group_by(StockMovement.item_id, StockMovement.batch)
    ).all()
    catalogue = {i.id: i for i in session.scalars(select(Item))}
    lines = []
    totals: dict[str, int] = defaultdict(int)
    for item_id, batch, expiry, qty in sorted(rows, key=lambda r: (catalogue[r[0]].code, r[1])):
        if not qty:
            continue
        item = catalogue[item_id]
        lines.append(
            {
                "item_id": item_id,
                "code": item.code,
                "name": item.name,
                "unit": item.unit,
                "batch": batch,
                "expiry": expiry,
                "quantity": int(qty),
                "expired": expiry is not None and expiry < today,
            }
        )
        totals[item.code] += int(qty)
    return {"warehouse_id": wh.id, "lines": lines, "totals": dict(totals)}


def movements(
    session: Session, who: Principal, warehouse_id: int, limit: int = 200
) -> list[StockMovement]:
    wh = get_resource(session, who, "warehouses", warehouse_id)
    return list(
        session.scalars(
            select(StockMovement)
            .where(StockMovement.warehouse_id == wh.id)
            .order_by(StockMovement.id.desc())
            .limit(limit)
        )
    )


def set_minimum(
    session: Session, who: Principal, warehouse_id: int, data: dict[str, Any], now: datetime
) -> MinimumStock:
    values = _validate(MinimumIn, data)
    wh = _warehouse_for_write(session, who, warehouse_id)
    _item(session, values.item_id)
    row = session.scalar(
        select(MinimumStock).where(
            MinimumStock.warehouse_id == wh.id, MinimumStock.item_id == values.item_id
        )
    )
    before = {"minimum": row.minimum} if row else None
    if row is None:
        row = MinimumStock(warehouse_id=wh.id, item_id=values.item_id, minimum=values.minimum)
        session.add(row)
    else:
        row.minimum = values.minimum
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="set_minimum",
        object_type="minimum_stock",
        object_id=row.id,
        before=before,
        after={"warehouse_id": wh.id, "item_id": values.item_id, "minimum": values.minimum},
        now=now,
    )
    return row


def minimums(session: Session, who: Principal, warehouse_id: int) -> dict[int, int]:
    """item id → the least quantity the warehouse must hold."""
    wh = get_resource(session, who, "warehouses", warehouse_id)
    return {
        m.item_id: m.minimum
        for m in session.scalars(select(MinimumStock).where(MinimumStock.warehouse_id == wh.id))
    }


def item_levels(
    session: Session, who: Principal, warehouse_id: int, today: date
) -> list[dict[str, Any]]:
    """Per catalogue item: held (sum of the log), usable now (unexpired, less what committed
    transfers hold back), the minimum and whether usable stock is below it."""
    wh = get_resource(session, who, "warehouses", warehouse_id)
    least = minimums(session, who, wh.id)
    out = []
    for item in items(session):
        held = batches(session, wh.id, item.id)
        total = sum(b.quantity for b in held.values())
        usable = available_quantity(session, wh.id, item.id, today) if held else 0
        minimum = least.get(item.id)
        if not total and minimum is None:
            out.append({"item": item, "held": 0, "usable": 0, "minimum": None, "below": False})
            continue
        unexpired = sum(b.quantity for b in held.values() if b.expiry is None or b.expiry >= today)
        out.append(
            {
                "item": item,
                "held": total,
                "usable": usable,
                "minimum": minimum,
                "below": minimum is not None and unexpired < minimum,
            }
        )
    return out


def stock_alerts(
    session: Session,
    who: Principal,
    today: date,
    *,
    warehouse_id: int | None = None,
    near_days: int = rules.NEAR_EXPIRY_DAYS,
) -> list[dict[str, Any]]:
    """Below-minimum items and expired / near-expiry batches in the caller's warehouses."""
    whs = {
        w.id: w
        for w in list_resources(session, who, "warehouses")
        if warehouse_id is None or w.id == warehouse_id
    }
    if warehouse_id is not None and warehouse_id not in whs:
        raise NotFound("物资储备库", "warehouse")
    ids = list(whs)
    stock: dict[tuple[int, int], dict[str, rules.Batch]] = defaultdict(dict)
    for wh_id, item_id, batch, expiry, qty in session.execute(
        select(
            StockMovement.warehouse_id,
            StockMovement.item_id,
            StockMovement.batch,
            func.min(StockMovement.expiry),
            func.sum(StockMovement.quantity),
        )
        .where(StockMovement.warehouse_id.in_(ids))
        .group_by(StockMovement.warehouse_id, StockMovement.item_id, StockMovement.batch)
    ):
        stock[(wh_id, item_id)][batch] = rules.Batch(batch, expiry, int(qty))
    minimums = {
        (m.warehouse_id, m.item_id): m.minimum
        for m in session.scalars(select(MinimumStock).where(MinimumStock.warehouse_id.in_(ids)))
    }
    catalogue = {i.id: i for i in session.scalars(select(Item))}
    return [
        {
            "kind": a.kind,
            "warehouse_id": a.warehouse_id,
            "warehouse": whs[a.warehouse_id].name,
            "item_id": a.item_id,
            "item": catalogue[a.item_id].name,
            "unit": catalogue[a.item_id].unit,
            "batch": a.batch,
            "quantity": a.quantity,
            "minimum": a.minimum,
            "expiry": a.expiry,
            "days_left": a.days_left,
        }
        for a in rules.alerts(stock, minimums, today, near_days)
    ]


# ---------------------------------------------------------------- transfer requests (调拨)


def request_dict(req: TransferRequest) -> dict[str, Any]:
    return {
        "id": req.id,
        "item_id": req.item_id,
        "quantity": req.quantity,
        "source_warehouse_id": req.source_warehouse_id,
        "destination_warehouse_id": req.destination_warehouse_id,
        "requesting_department": req.requesting_department,
        "reason": req.reason,
        "incident_ref": req.incident_ref,
        "status": req.status,
        "returned_quantity": req.returned_quantity,
        "history": list(req.history or []),
        "actions": rules.actions_from(req.status),
        "created_by": req.created_by,
        "created_at": req.created_at,
        "updated_at": req.updated_at,
    }


def _req_shape() -> tuple[Shape, Shape]:
    return (
        Shape(division=TransferRequest.source_division_code),
        Shape(division=TransferRequest.destination_division_code),
    )


def get_request(session: Session, who: Principal, request_id: int) -> TransferRequest:
    req = session.get(TransferRequest, request_id)
    src, dst = _req_shape()
    if req is None or not (
        sees(who, src, req.source_division_code) or sees(who, dst, req.destination_division_code)
    ):
        raise NotFound("调拨单", "transfer request")
    return req


def request_sources(session: Session, who: Principal) -> list[Warehouse]:
    """The stores a department may ask (调拨 crosses districts, not cities): every store of the
    user's city (of the province, for a provincial user) — names and places only."""
    require_staff(who)
    code = who.division_code
    area = code[:2] if code.endswith("0000") else code[:4]
    return list(
        session.scalars(
            select(Warehouse)
            .where(Warehouse.archived.is_(False), Warehouse.division_code.startswith(area))
            .order_by(Warehouse.division_code, Warehouse.tier, Warehouse.name)
        )
    )


def list_requests(session: Session, who: Principal) -> list[TransferRequest]:
    src, dst = _req_shape()
    return list(
        session.scalars(
            select(TransferRequest)
            .where(or_(clause(who, src), clause(who, dst)))
            .order_by(TransferRequest.id.desc())
        )
    )


def create_request(
    session: Session, who: Principal, data: dict[str, Any], now: datetime
) -> TransferRequest:
    """A department asks another warehouse for material: the destination side requests."""
    values = _validate(RequestIn, data)
    _require_writer(who)
    if values.source_warehouse_id == values.destination_warehouse_id:
        raise invalid(
            "destination_warehouse_id",
            "接收仓库不能与调出仓库相同",
            "destination must differ from the source",
        )
    item = _item(session, values.item_id)
    src = session.get(Warehouse, values.source_warehouse_id)
    if src is None or src.archived:
        raise invalid("source_warehouse_id", "调出仓库：不存在", "source warehouse: not found")
    dst = get_resource(session, who, "warehouses", values.destination_warehouse_id)
    req = TransferRequest(
        **values.model_dump(),
        source_division_code=src.division_code,
        destination_division_code=dst.division_code,
        status="requested",
        returned_quantity=0,
        history=[{"action": "request", "by": who.username, "at": now.isoformat()}],
        created_by=who.username,
        created_at=now,
        updated_at=now,
    )
    session.add(req)
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action="create",
        object_type="transfer_request",
        object_id=req.id,
        before=None,
        after=request_dict(req) | {"item": item.code},
        now=now,
    )
    return req


def act_on_request(
    session: Session,
    who: Principal,
    request_id: int,
    action: str,
    now: datetime,
    *,
    quantity: int | None = None,
    note: str = "",
) -> TransferRequest:
    """One step of request → approve → commit → dispatch → receive → return (409 otherwise).
    The stock log sees dispatch (out of the source), receive (into the destination) and
    return (back); commit holds the quantity back from other issues at the source."""
    req = get_request(session, who, request_id)
    nxt, side, effect = rules.step(req.status, action)
    _require_writer(who)
    division = req.source_division_code if side == "source" else req.destination_division_code
    if not who.covers(division):
        raise Forbidden(
            "此操作应由" + ("调出方" if side == "source" else "申请方") + "办理",
            f"this step belongs to the {side} side",
        )
    before = request_dict(req)
    item = _item(session, req.item_id)
    today = now.date()
    src = session.get(Warehouse, req.source_warehouse_id)
    dst = session.get(Warehouse, req.destination_warehouse_id)
    assert src is not None and dst is not None  # foreign keys
    if effect == "reserve":
        free = available_quantity(session, src.id, item.id, today)
        if free < req.quantity:
            raise Conflict(
                f"可调拨数量不足：可用 {free}，申请 {req.quantity}",
                f"not enough available stock: {free} available, {req.quantity} requested",
            )
    elif effect == "ship":
        # the reservation is this request's own: it is released by the status change below
        changes, expiries = _take(session, src, item, req.quantity, "", today)
        _write(session, who, src, item, "transfer_out", changes, expiries, now,
               note=note, request_id=req.id, counterpart=dst.id)  # fmt: skip
    elif effect == "arrive":
        shipped = session.execute(
            select(StockMovement.batch, StockMovement.expiry, StockMovement.quantity).where(
                StockMovement.request_id == req.id, StockMovement.kind == "transfer_out"
            )
        ).all()
        _write(session, who, dst, item, "transfer_in",
               {b: -q for b, _, q in shipped}, {b: e for b, e, _ in shipped}, now,
               note=note, request_id=req.id, counterpart=src.id)  # fmt: skip
    elif effect == "give_back":
        back = req.quantity if quantity is None else quantity
        if back > req.quantity:
            raise invalid(
                "quantity",
                f"归还数量不能超过调拨数量 {req.quantity}",
                f"cannot return more than the {req.quantity} transferred",
            )
        if back:
            changes, expiries = _take(session, dst, item, back, "", today)
            _write(session, who, dst, item, "transfer_out", changes, expiries, now,
                   note=note, request_id=req.id, counterpart=src.id)  # fmt: skip
            _write(session, who, src, item, "transfer_in",
                   {b: -q for b, q in changes.items()}, expiries, now,
                   note=note, request_id=req.id, counterpart=dst.id)  # fmt: skip
        req.returned_quantity = back
    req.status = nxt
    req.updated_at = now
    req.history = [
        *(req.history or []),
        {"action": action, "by": who.username, "at": now.isoformat(), "note": note},
    ]
    session.flush()
    audit.record(
        session,
        actor=who.username,
        action=action,
        object_type="transfer_request",
        object_id=req.id,
        before=before,
        after=request_dict(req),
        now=now,
    )
    return req


# ---------------------------------------------------------------- travel-time questions


def _points(session: Session, who: Principal, kind: str, **filters: Any) -> list[Any]:
    reg = register(kind)
    model = reg.model
    stmt = select(model).where(
        clause(who, shape(model)),
        model.archived.is_(False),
        model.lon.is_not(None),
        model.lat.is_not(None),
    )
    for column, value in filters.items():
        if value is None:
            continue
        col = getattr(model, column)
        stmt = stmt.where(col.in_(value) if isinstance(value, list | tuple | set) else col == value)
    return list(session.scalars(stmt.order_by(model.id)))


def _extra(kind: str, obj: Any) -> dict[str, Any]:
    base = {
        "division_code": obj.division_code,
        "phone": obj.phone,
        "lon": obj.lon,
        "lat": obj.lat,
    }
    if kind == "rescue-teams":
        base |= {"team_type": obj.team_type, "members": obj.members, "readiness": obj.readiness}
    elif kind == "warehouses":
        base |= {"tier": obj.tier, "floor_area_m2": obj.floor_area_m2}
    elif kind == "shelters":
        base |= {
            "shelter_class": obj.shelter_class,
            "capacity": obj.capacity,
            "status": obj.status,
        }
    elif kind == "equipment":
        base |= {
            "equipment_type": obj.equipment_type,
            "quantity": obj.quantity,
            "status": obj.status,
            "team_id": obj.team_id,
            "tracker_id": obj.tracker_id,
        }
    elif kind == "experts":
        base |= {"field": obj.field, "organisation": obj.organisation, "title": obj.title}
    return base


def _answer(
    session: Session,
    kind: str,
    objs: Sequence[Any],
    lon: float,
    lat: float,
    *,
    n: int,
    max_time_s: float | None,
    direction: str,
) -> dict[str, Any]:
    g = network.graph(session)
    by_id = {o.id: o for o in objs}
    res = [routing.Resource(str(o.id), o.name, o.lon, o.lat, kind) for o in objs]
    found = routing.nearest(
        g,
        lon,
        lat,
        res,
        direction=direction,  # type: ignore[arg-type]
        k=n,
        max_time_s=max_time_s,
        snap_limit_m=SNAP_LIMIT_M,
    )
    body = found.as_dict()
    for row in body["results"]:
        obj = by_id[int(row["id"])]
        row["id"] = obj.id
        row["straight_m"] = round(float(haversine_m(lon, lat, obj.lon, obj.lat)), 1)
        row["eta_s"] = row["travel_time_s"]
        row.update(_extra(kind, obj))
    for row in body["not_reached"]:
        row["id"] = int(row["id"])
    body["kind"] = kind
    body["point"] = {"lon": lon, "lat": lat, "snap_m": body["point"]["snap_m"]}
    return body


def _check_point(lon: float, lat: float) -> None:
    if not (
        isinstance(lon, int | float)
        and isinstance(lat, int | float)
        and math.isfinite(lon)
        and math.isfinite(lat)
        and -180 <= lon <= 180
        and -90 <= lat <= 90
    ):
        raise invalid("lon", "坐标超出经纬度范围", "coordinates outside lon/lat range")


def nearest(
    session: Session,
    who: Principal,
    kind: str,
    lon: float,
    lat: float,
    *,
    n: int = 5,
    max_time_s: float | None = None,
    direction: str | None = None,
    field: str | None = None,
    equipment_type: str | None = None,
    available_only: bool = False,
) -> dict[str, Any]:
    """The nearest ``n`` resources of ``kind`` by road travel time (forces, goods and experts
    travel to the point, people from it to shelters, unless ``direction`` says otherwise);
    experts narrowed by ``field``, equipment by ``equipment_type``."""
    require_staff(who)
    if kind not in ROUTABLE:
        raise invalid(
            "kind",
            f"类型应为：{'、'.join(ROUTABLE)}",
            f"kind must be one of: {', '.join(ROUTABLE)}",
        )
    _check_point(lon, lat)
    if not 1 <= n <= 100:
        raise invalid("n", "数量应在 1–100 之间", "n must be 1 to 100")
    filters: dict[str, Any] = {}
    if field:
        if kind != "experts":
            raise invalid("field", "专业领域只用于专家", "field applies to experts only")
        if field not in EXPERT_FIELDS:
            raise invalid(
                "field",
                f"专业领域应为：{'、'.join(EXPERT_FIELDS)}",
                f"field must be one of: {', '.join(EXPERT_FIELDS)}",
            )
        filters["field"] = field
    if equipment_type:
        if kind != "equipment":
            raise invalid(
                "equipment_type", "装备类型只用于装备", "equipment_type applies to equipment only"
            )
        if equipment_type not in EQUIPMENT_TYPES:
            raise invalid(
                "equipment_type",
                f"装备类型应为：{'、'.join(EQUIPMENT_TYPES)}",
                f"equipment_type must be one of: {', '.join(EQUIPMENT_TYPES)}",
            )
        filters["equipment_type"] = equipment_type
    if available_only and kind in AVAILABLE:
        column, value = AVAILABLE[kind]
        filters[column] = value
    objs = _points(session, who, kind, **filters)
    body = _answer(
        session,
        kind,
        objs,
        lon,
        lat,
        n=n,
        max_time_s=max_time_s,
        direction=direction or DEFAULT_DIRECTION[kind],
    )
    body["filters"] = {k: v for k, v in filters.items()}
    return body


def nearest_teams(
    session: Session,
    who: Principal,
    lon: float,
    lat: float,
    *,
    n: int = 5,
    team_types: Sequence[str] | None = None,
    max_time_s: float | None = None,
    ready_only: bool = True,
) -> dict[str, Any]:
    """Rescue teams by ETA from the team to the incident (dispatch)."""
    require_staff(who)
    _check_point(lon, lat)
    objs = _points(
        session,
        who,
        "rescue-teams",
        team_type=list(team_types) if team_types else None,
        readiness="ready" if ready_only else None,
    )
    return _answer(
        session,
        "rescue-teams",
        objs,
        lon,
        lat,
        n=n,
        max_time_s=max_time_s,
        direction=routing.TO_POINT,
    )


def stock_near(
    session: Session,
    who: Principal,
    lon: float,
    lat: float,
    *,
    item_codes: Sequence[str] | None = None,
    n: int = 5,
    max_time_s: float | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Warehouses nearest the point (goods travel to it) with their available stock."""
    require_staff(who)
    _check_point(lon, lat)
    day = today or utcnow().date()
    objs = _points(session, who, "warehouses")
    body = _answer(
        session,
        "warehouses",
        objs,
        lon,
        lat,
        n=n,
        max_time_s=max_time_s,
        direction=routing.TO_POINT,
    )
    catalogue = {i.id: i for i in session.scalars(select(Item))}
    wanted = {c for c in item_codes} if item_codes else None
    for row in body["results"]:
        lines = []
        for item_id in sorted(
            set(
                session.scalars(
                    select(StockMovement.item_id)
                    .where(StockMovement.warehouse_id == row["id"])
                    .distinct()
                )
            ),
            key=lambda i: catalogue[i].code,
        ):
            item = catalogue[item_id]
            if wanted is not None and item.code not in wanted:
                continue
            qty = available_quantity(session, row["id"], item_id, day)
            if qty > 0:
                lines.append(
                    {
                        "item_id": item_id,
                        "code": item.code,
                        "name": item.name,
                        "unit": item.unit,
                        "quantity": qty,
                    }
                )
        row["stock"] = lines
    return body


def shelters_for(
    session: Session,
    who: Principal,
    lon: float,
    lat: float,
    people: int,
    *,
    max_time_s: float | None = None,
    n_max: int = 20,
) -> dict[str, Any]:
    """Open shelters in order of travel time from the point until their capacity covers
    ``people``; says how many remain without a place."""
    require_staff(who)
    _check_point(lon, lat)
    if isinstance(people, bool) or not isinstance(people, int) or people < 1:
        raise invalid("people", "人数应为正整数", "people must be a positive whole number")
    objs = [o for o in _points(session, who, "shelters", status="open") if o.capacity > 0]
    body = _answer(
        session,
        "shelters",
        objs,
        lon,
        lat,
        n=min(max(len(objs), 1), n_max),
        max_time_s=max_time_s,
        direction=routing.FROM_POINT,
    )
    left = people
    chosen = []
    for row in body["results"]:
        if left <= 0:
            break
        take = min(left, int(row["capacity"]))
        row["take"] = take
        left -= take
        chosen.append(row)
    body["results"] = chosen
    body["people"] = people
    body["covered_people"] = people - left
    body["short_people"] = left
    return body


def isochrone(
    session: Session,
    lon: float,
    lat: float,
    minutes: float,
    *,
    direction: str = routing.FROM_POINT,
) -> dict[str, Any]:
    """The area reachable within ``minutes`` as a GeoJSON Feature (polygons)."""
    _check_point(lon, lat)
    if not 0 < minutes <= 120:
        raise invalid("minutes", "时间应在 0–120 分钟之间", "minutes must be 0 to 120")
    g = network.graph(session)
    iso = routing.isochrone(
        g,
        lon,
        lat,
        minutes * 60,
        direction=direction,  # type: ignore[arg-type]
        snap_limit_m=SNAP_LIMIT_M,
    )
    return {
        "type": "Feature",
        "properties": {
            "minutes": minutes,
            "direction": direction,
            "reached_nodes": int(iso.reached_nodes.size),
            "area_km2": round(_area_km2(iso.polygon), 3),
        },
        "geometry": shapely.geometry.mapping(iso.polygon),
    }


def _area_km2(geom: Any) -> float:
    c = geom.centroid
    kx = 111.32 * math.cos(math.radians(c.y))
    return float(shapely.transform(geom, lambda xy: xy * (kx, 110.57)).area)


def _cells(session: Session, who: Principal, **where: Any) -> list[Any]:
    """Grid cells in scope with a centroid: rows of id, name, division_code, population, lon and
    lat (plain rows, not ORM objects: a city has thousands, and the outlines are not needed)."""
    stmt = select(
        GridCell.id,
        GridCell.name,
        GridCell.division_code,
        GridCell.population,
        GridCell.lon,
        GridCell.lat,
    ).where(
        clause(who, Shape(division=GridCell.division_code)),
        GridCell.archived.is_(False),
        GridCell.lon.is_not(None),
        GridCell.lat.is_not(None),
    )
    if where.get("division"):
        stmt = stmt.where(GridCell.division_code.startswith(division_prefix(where["division"])))
    return list(session.execute(stmt.order_by(GridCell.id)).all())


COVERAGE_PRESETS: dict[str, dict[str, Any]] = {
    # the plans' targets, each the city's setting: a 5-minute fire-rescue circle by road,
    # aviation bases within 50 km and forest-fire crews within 2 km in a straight line
    "fire": {"team_types": ["fire_rescue"], "target": "fire_rescue_minutes", "by": "time"},
    "aviation": {"team_types": ["aviation"], "target": "aviation_km", "by": "straight"},
    "forest": {"team_types": ["forest_fire"], "target": "forest_fire_km", "by": "straight"},
}


def coverage(
    session: Session,
    who: Principal,
    preset: str = "fire",
    *,
    division: str | None = None,
    limit_s: float | None = None,
) -> dict[str, Any]:
    """Population of grid cells within the preset's reach of a team, per division, with the
    uncovered cells (and their centroids, for the map)."""
    require_staff(who)
    spec = COVERAGE_PRESETS.get(preset)
    if spec is None:
        raise invalid(
            "preset",
            f"类型应为：{'、'.join(COVERAGE_PRESETS)}",
            f"preset must be one of: {', '.join(COVERAGE_PRESETS)}",
        )
    target = targets.loaded().targets[spec["target"]]
    teams = _points(session, who, "rescue-teams", team_type=spec["team_types"])
    cells = _cells(session, who, division=division)
    by_id = {str(c.id): c for c in cells}
    if spec["by"] == "time":
        limit = float(limit_s or float(target.value) * 60.0)
        g = network.graph(session)
        if not teams:
            raise Conflict("范围内没有此类救援队伍", "no teams of this kind in scope")
        nodes, snaps = g.snap_many([t.lon for t in teams], [t.lat for t in teams])
        found = routing.coverage(
            g,
            nodes[snaps <= SNAP_LIMIT_M],
            cell_ids=list(by_id),
            lon=[c.lon for c in cells],
            lat=[c.lat for c in cells],
            population=[c.population for c in cells],
            division=[c.division_code for c in cells],
            limit_s=limit,
            snap_limit_m=SNAP_LIMIT_M,
        ).as_dict()
    else:
        found = _straight_coverage(teams, cells, float(target.value) * 1000.0)
    for row in found["uncovered"]:
        c = by_id[str(row["id"])]
        row |= {"name": c.name, "lon": c.lon, "lat": c.lat}
    names = dict(session.execute(select(Division.code, Division.name)).all())
    for code, row in found["by_division"].items():
        row["name"] = names.get(code, code)
    found["preset"] = preset
    found["teams"] = len(teams)
    found["target"] = {"name": spec["target"]} | target.as_dict()
    return found


def _within(teams: list[Any], cells: list[Any], limit_m: float, block: int = 20_000) -> list[bool]:
    """Per cell, whether some team is within `limit_m` as the crow flies: one distance matrix
    (cells × teams) per block of cells, not one numpy call per cell."""
    if not teams or not cells:
        return [False] * len(cells)
    t_lon = np.array([t.lon for t in teams], float)[None, :]
    t_lat = np.array([t.lat for t in teams], float)[None, :]
    c_lon = np.array([c.lon for c in cells], float)[:, None]
    c_lat = np.array([c.lat for c in cells], float)[:, None]
    near: list[bool] = []
    for i in range(0, len(cells), block):
        d = haversine_m(c_lon[i : i + block], c_lat[i : i + block], t_lon, t_lat)
        near.extend((d.min(axis=1) <= limit_m).tolist())
    return near


def _straight_coverage(teams: list[Any], cells: list[Any], limit_m: float) -> dict[str, Any]:
    """Straight-line reach (aviation radius, forest crews on foot): not a road question."""
    by_div: dict[str, dict[str, Any]] = {}
    uncovered = []
    covered_pop = total = 0.0
    for c, near in zip(cells, _within(teams, cells, limit_m), strict=True):
        row = by_div.setdefault(
            c.division_code,
            {"population": 0.0, "covered_population": 0.0, "cells": 0, "uncovered_cells": 0},
        )
        row["population"] += c.population
        row["cells"] += 1
        total += c.population
        if near:
            row["covered_population"] += c.population
            covered_pop += c.population
        else:
            row["uncovered_cells"] += 1
            uncovered.append(
                {
                    "id": str(c.id),
                    "division": c.division_code,
                    "population": float(c.population),
                    "reason": "beyond_limit",
                }
            )
    for row in by_div.values():
        row["covered_share"] = (
            round(row["covered_population"] / row["population"], 4) if row["population"] else 1.0
        )
    return {
        "limit_m": limit_m,
        "limit_s": 0.0,
        "population": total,
        "covered_population": covered_pop,
        "covered_share": round(covered_pop / total, 4) if total else 1.0,
        "by_division": by_div,
        "uncovered": uncovered,
    }


def evacuation_plan(
    session: Session,
    who: Principal,
    *,
    center: tuple[float, float] | None = None,
    radius_m: float | None = None,
    polygon: dict[str, Any] | None = None,
    division_code: str | None = None,
    k: int = 5,
    max_time_s: float = 1800.0,
) -> dict[str, Any]:
    """People of the grid cells of an area assigned to open shelters within capacity with the
    least total person-travel-time (min-cost flow); the rest reported as unassigned."""
    require_staff(who)
    spec = _validate(
        EvacuationIn,
        {
            "center": center,
            "radius_m": radius_m,
            "polygon": polygon,
            "division_code": division_code,
            "k": k,
            "max_time_s": max_time_s,
        },
    )
    cells = _cells(session, who, division=spec.division_code)
    if spec.center is not None:
        clon, clat = spec.center
        _check_point(clon, clat)
        d = haversine_m(clon, clat, [c.lon for c in cells], [c.lat for c in cells])
        cells = [c for c, m in zip(cells, np.atleast_1d(d), strict=True) if m <= spec.radius_m]
        area: dict[str, Any] = {"center": [clon, clat], "radius_m": spec.radius_m}
    elif spec.polygon is not None:
        try:
            poly = shapely.geometry.shape(spec.polygon)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise invalid(
                "polygon", "范围：不是有效的 GeoJSON 面", "polygon: not a GeoJSON polygon"
            ) from exc
        if not poly.is_valid or poly.geom_type not in ("Polygon", "MultiPolygon"):
            raise invalid("polygon", "范围：不是有效的面", "polygon: not a valid polygon")
        inside = shapely.contains_xy(poly, [c.lon for c in cells], [c.lat for c in cells])
        cells = [c for c, ok in zip(cells, np.atleast_1d(inside), strict=True) if ok]
        area = {"polygon": spec.polygon}
    else:
        area = {"division_code": spec.division_code}
    cells = [c for c in cells if c.population > 0]
    shelters = [o for o in _points(session, who, "shelters", status="open") if o.capacity > 0]
    g = network.graph(session)
    cell_nodes, cell_snap = (
        g.snap_many([c.lon for c in cells], [c.lat for c in cells]) if cells else ([], [])
    )
    sh_nodes, sh_snap = (
        g.snap_many([s.lon for s in shelters], [s.lat for s in shelters]) if shelters else ([], [])
    )
    on_road = [i for i in range(len(cells)) if cell_snap[i] <= SNAP_LIMIT_M]
    usable = [j for j in range(len(shelters)) if sh_snap[j] <= SNAP_LIMIT_M]
    arcs = evac.candidate_arcs(
        g,
        np.asarray([cell_nodes[i] for i in on_road], dtype=np.int64),
        np.asarray([sh_nodes[j] for j in usable], dtype=np.int64),
        k=spec.k,
        max_time_s=spec.max_time_s,
    )
    plan = evac.assign(
        [cells[i].population for i in on_road], [shelters[j].capacity for j in usable], arcs
    )
    flows = []
    for f in plan.flows:
        c, s = cells[on_road[f["cell"]]], shelters[usable[f["shelter"]]]
        flows.append(
            {
                "cell_id": c.id,
                "cell_name": c.name,
                "shelter_id": s.id,
                "shelter_name": s.name,
                "people": f["people"],
                "time_s": f["time_s"],
                "from": [c.lon, c.lat],
                "to": [s.lon, s.lat],
            }
        )
    unassigned = [
        {
            "cell_id": cells[on_road[u["cell"]]].id,
            "cell_name": cells[on_road[u["cell"]]].name,
            "people": u["people"],
            "reason": u["reason"],
        }
        for u in plan.unassigned
    ] + [
        {"cell_id": c.id, "cell_name": c.name, "people": c.population, "reason": "off_road"}
        for i, c in enumerate(cells)
        if cell_snap[i] > SNAP_LIMIT_M
    ]
    fills = [
        {
            "id": shelters[usable[f["shelter"]]].id,
            "name": shelters[usable[f["shelter"]]].name,
            "capacity": f["capacity"],
            "people": f["people"],
            "lon": shelters[usable[f["shelter"]]].lon,
            "lat": shelters[usable[f["shelter"]]].lat,
        }
        for f in plan.shelter_fill
        if f["people"] > 0
    ]
    people = sum(c.population for c in cells)
    return {
        "direction": "from_point",
        "area": area,
        "cells": len(cells),
        "people": people,
        "assigned_people": plan.assigned_people,
        "unassigned_people": people - plan.assigned_people,
        "total_person_time_s": plan.total_person_time_s,
        "mean_time_s": round(plan.total_person_time_s / plan.assigned_people, 1)
        if plan.assigned_people
        else 0.0,
        "flows": flows,
        "shelters": fills,
        "unassigned": unassigned,
    }


# ---------------------------------------------------------------- gap analyses


def _town_gaps(
    session: Session, who: Principal, whs: list[Warehouse]
) -> tuple[dict[str, dict[str, Any]], str]:
    """Per county: each town (乡镇: a street-level division named …镇 or …乡) should hold
    ≥ 200 m² of town-tier warehouse floor. A store counts for the town whose outline holds
    it (or whose code its division code starts with). Where no towns are registered, each
    town-tier store is held to the 200 m² instead."""
    minimum = targets.tier_minimums()["town"]
    towns = [
        d
        for d in session.scalars(
            select(Division)
            .where(
                clause(who, Shape(division=Division.code, reference=True)),
                Division.level == "street",
                Division.archived.is_(False),
            )
            .order_by(Division.code)
        )
        if d.name.endswith(("镇", "乡"))
    ]
    stores = [w for w in whs if w.tier == "town"]
    held: dict[str, float] = defaultdict(float)
    if towns and stores:
        lon = np.array([w.lon for w in stores], float)
        lat = np.array([w.lat for w in stores], float)
        placed = np.zeros(len(stores), dtype=bool)
        for t in towns:
            inside = np.array([w.division_code.startswith(t.code) for w in stores])
            if t.geometry:
                try:
                    outline = shapely.geometry.shape(t.geometry)
                    inside |= np.atleast_1d(shapely.contains_xy(outline, lon, lat))
                except (KeyError, TypeError, ValueError, AttributeError):
                    pass  # a broken outline: only the code can place a store here
            inside &= ~placed
            placed |= inside
            held[t.code] += float(
                sum(w.floor_area_m2 for w, ok in zip(stores, inside, strict=True) if ok)
            )
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"towns": 0, "stores": 0, "area_m2": 0.0, "short_m2": 0.0, "short": []}
    )
    for w in stores:
        row = out[w.division_code[:6]]
        row["stores"] += 1
        row["area_m2"] += w.floor_area_m2
    if towns:
        for t in towns:
            row = out[t.code[:6]]
            row["towns"] += 1
            area = held[t.code]
            if area < minimum:
                row["short_m2"] += minimum - area
                row["short"].append(
                    {"code": t.code, "name": t.name, "area_m2": round(area, 1),
                     "short_m2": round(minimum - area, 1)}
                )  # fmt: skip
        basis = "per_town"
    else:
        for w in stores:
            if w.floor_area_m2 < minimum:
                row = out[w.division_code[:6]]
                row["short_m2"] += minimum - w.floor_area_m2
                row["short"].append(
                    {"code": str(w.id), "name": w.name, "area_m2": round(w.floor_area_m2, 1),
                     "short_m2": round(minimum - w.floor_area_m2, 1)}
                )  # fmt: skip
        basis = "per_store"
    return out, basis


def _usable_stock(session: Session, warehouse_ids: list[int], today: date) -> dict[int, int]:
    """Per item: the unexpired stock of the given warehouses (sum of the log)."""
    if not warehouse_ids:
        return {}
    rows = session.execute(
        select(StockMovement.item_id, func.sum(StockMovement.quantity))
        .where(
            StockMovement.warehouse_id.in_(warehouse_ids),
            or_(StockMovement.expiry.is_(None), StockMovement.expiry >= today),
        )
        .group_by(StockMovement.item_id)
    )
    return {item_id: int(qty or 0) for item_id, qty in rows}


def relocation_supplies(
    session: Session, whs: list[Warehouse], people: int, today: date
) -> list[dict[str, Any]]:
    """How many relocated people the basic living supplies in stock serve, item by item of the
    city's relocation kit (people served per unit), and the shortfall against ``people``."""
    stock = _usable_stock(session, [w.id for w in whs], today)
    by_code = {i.code: i for i in session.scalars(select(Item))}
    out = []
    for code, per_unit in relocation_kit().items():
        item = by_code.get(code)
        qty = stock.get(item.id, 0) if item else 0
        served = int(qty * per_unit)
        short_people = max(0, people - served)
        out.append(
            {
                "code": code,
                "name": item.name if item else code,
                "unit": item.unit if item else "",
                "people_per_unit": per_unit,
                "quantity": qty,
                "people_served": served,
                "short_people": short_people,
                "short_quantity": math.ceil(short_people / per_unit) if per_unit else 0,
            }
        )
    return out


def relocation_kit() -> dict[str, float]:
    """GB/T 38565 item code → people one unit serves in relocation (the city's setting)."""
    return dict(targets.loaded().value("relocation_kit"))


def gaps(
    session: Session,
    who: Principal,
    *,
    area_per_resident_m2: float | None = None,
    relocation_people: int | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """The plans' resource targets per division: shelter area per resident, warehouse floor
    area by tier (city 5,000, district 2,000, each town 200 m²), fire-rescue staff per
    population (0.04 %), supplies for the relocated people, and the shortfall of each.

    The targets are the city's settings (resources.settings); an explicit
    ``area_per_resident_m2`` or ``relocation_people`` overrides its setting for this answer,
    and ``targets`` in the answer says what each figure was judged against and where it came
    from."""
    require_staff(who)
    judged = _judged_targets(area_per_resident_m2, relocation_people)
    area_per_resident_m2 = float(judged["shelter_area_per_resident_m2"].value)
    relocation_people = int(judged["relocation_people"].value)
    tier_min = targets.tier_minimums()
    staff_share = float(judged["fire_staff_per_population_pct"].value) / 100.0
    if who.enterprise_id is not None:  # a district's planning gaps are not one enterprise's
        raise Forbidden(
            "无权查看辖区应急资源缺口", "not allowed to see the division's resource gaps"
        )
    day = today or utcnow().date()
    divisions = {
        d.code: d
        for d in session.scalars(
            select(Division).where(
                clause(who, Shape(division=Division.code, reference=True)),
                Division.level == "county",
            )
        )
    }
    shelters = _points(session, who, "shelters")
    whs = _points(session, who, "warehouses")
    teams = _points(session, who, "rescue-teams", team_type="fire_rescue")
    town, town_basis = _town_gaps(session, who, whs)
    rows = []
    for code, d in sorted(divisions.items()):
        prefix = division_prefix(code)
        area = sum(s.effective_area_m2 for s in shelters if s.division_code.startswith(prefix))
        cap = sum(s.capacity for s in shelters if s.division_code.startswith(prefix))
        need = d.population * area_per_resident_m2
        tiers = defaultdict(float)
        for w in whs:
            if w.division_code.startswith(prefix):
                tiers[w.tier] += w.floor_area_m2
        fire_staff = sum(t.members for t in teams if t.division_code.startswith(prefix))
        staff_need = math.ceil(round(d.population * staff_share, 6))
        t = town[code]
        rows.append(
            {
                "division_code": code,
                "name": d.name,
                "population": d.population,
                "shelter_area_m2": round(area, 1),
                "shelter_area_per_resident_m2": round(area / d.population, 3)
                if d.population
                else None,
                "shelter_area_target_m2": round(need, 1),
                "shelter_area_short_m2": round(max(0.0, need - area), 1),
                "shelter_capacity": cap,
                "district_warehouse_m2": round(tiers["district"], 1),
                "district_warehouse_short_m2": round(
                    max(0.0, tier_min["district"] - tiers["district"]), 1
                ),
                "towns": t["towns"],
                "town_warehouses": t["stores"],
                "town_warehouse_m2": round(t["area_m2"], 1),
                "town_warehouse_short_m2": round(t["short_m2"], 1),
                "towns_short": t["short"],
                "town_basis": town_basis,
                "fire_staff": fire_staff,
                "fire_staff_target": staff_need,
                "fire_staff_short": max(0, staff_need - fire_staff),
            }
        )
    city_area = sum(w.floor_area_m2 for w in whs if w.tier == "city")
    return {
        "area_per_resident_m2": area_per_resident_m2,
        "tier_minimum_m2": tier_min,
        "targets": {name: t.as_dict() for name, t in judged.items()},
        "divisions": rows,
        "city_warehouse_m2": round(city_area, 1),
        "city_warehouse_short_m2": round(max(0.0, tier_min["city"] - city_area), 1),
        "town_warehouse_short_m2": round(sum(r["town_warehouse_short_m2"] for r in rows), 1),
        "towns_short": sum(len(r["towns_short"]) for r in rows),
        "shelter_capacity_total": sum(s.capacity for s in shelters if s.status == "open"),
        "relocation_people_target": relocation_people,
        "relocation_supplies": relocation_supplies(session, whs, relocation_people, day),
    }


def _judged_targets(
    area_per_resident_m2: float | None, relocation_people: int | None
) -> dict[str, targets.Target]:
    """The gap analyses' targets: the city's settings, an explicit value overriding one."""
    found = dict(targets.loaded().targets)
    found.pop("relocation_kit")
    area, people = area_per_resident_m2, relocation_people
    if area is not None:
        if not (math.isfinite(area) and 0 < area <= 100):
            raise invalid(
                "area_per_resident_m2",
                "人均避难场所面积应大于 0 且不超过 100 m²",
                "shelter area per resident must be above 0 and at most 100 m²",
            )
        found["shelter_area_per_resident_m2"] = targets.Target(
            area, "query", "area_per_resident_m2"
        )
    if people is not None:
        if not 0 <= people <= 10_000_000:
            raise invalid(
                "relocation_people",
                "紧急转移安置人数应在 0–10,000,000 之间",
                "people to relocate must be 0 to 10,000,000",
            )
        found["relocation_people"] = targets.Target(people, "query", "relocation_people")
    return found


def trackers_of(session: Session, who: Principal, kind: str, ref: str) -> list[str]:
    """The tracker device ids a dispatched force carries: a piece of equipment's own, or those
    of a rescue team's equipment (vehicles first); empty when none is known or visible."""
    try:
        obj_id = int(ref)
    except (TypeError, ValueError):
        return []
    if kind == "equipment":
        eq = session.get(Equipment, obj_id)
        if eq is None or eq.archived or not sees(who, shape(Equipment), eq.division_code):
            return []
        return [eq.tracker_id] if eq.tracker_id else []
    if kind != "team":
        return []
    rows = session.scalars(
        select(Equipment)
        .where(
            Equipment.team_id == obj_id,
            Equipment.tracker_id != "",
            Equipment.archived.is_(False),
            clause(who, shape(Equipment)),
        )
        .order_by((Equipment.equipment_type != "vehicle"), Equipment.id)
    )
    return [e.tracker_id for e in rows]
