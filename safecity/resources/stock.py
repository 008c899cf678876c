"""Stock as a movement log: GB/T 38565-2020 codes, signed movements, FEFO issue, alerts, and the
transfer-request (调拨) state machine as data. Pure: no database, no clock (``today`` passed in).

Stock of a (warehouse, item, batch) is the sum of its movements; a movement that would take any
batch below zero is refused, so the log never describes negative stock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from safecity.core.errors import Conflict, invalid

# GB/T 38565-2020 §5.2: four levels, seven digits — one digit for the major class (大类) then two
# each for the middle (中类), minor (小类) and fine (细类) classes; 99 is a catch-all class.
MAJOR_CLASSES: dict[str, tuple[str, str]] = {
    "1": ("基本生活保障物资", "Basic living supplies"),
    "2": ("应急装备及配套物资", "Emergency equipment and accessories"),
    "3": ("工程材料与机械加工设备", "Engineering materials and machinery"),
}
_CODE = re.compile(r"^([123])(\d\d)(\d\d)(\d\d)$")

# Signed movement kinds. A transfer writes a pair (transfer_out here, transfer_in there).
INBOUND = frozenset({"receive", "transfer_in"})
OUTBOUND = frozenset({"issue", "transfer_out", "scrap"})
MOVEMENT_KINDS: dict[str, tuple[str, str]] = {
    "receive": ("入库", "Receive"),
    "issue": ("出库", "Issue"),
    "transfer_out": ("调出", "Transfer out"),
    "transfer_in": ("调入", "Transfer in"),
    "adjust": ("盘点调整", "Adjust"),
    "scrap": ("报废", "Scrap"),
}
NEAR_EXPIRY_DAYS = 90


def check_item_code(code: str) -> str:
    """A GB/T 38565-2020 code (7 digits, levels 01–99) or a 422 naming what is wrong."""
    text = str(code).strip()
    m = _CODE.match(text)
    if not m or "00" in m.groups()[1:]:
        raise invalid(
            "code",
            "物资编码：应为 GB/T 38565-2020 的 7 位编码（大类 1–3，其后三层各 01–99）",
            "code: must be a 7-digit GB/T 38565-2020 code (class 1-3, then three levels 01-99)",
        )
    return text


def major_class(code: str) -> tuple[str, str]:
    return MAJOR_CLASSES[check_item_code(code)[0]]


def signed(kind: str, quantity: int) -> int:
    """The signed quantity a movement adds to stock. ``adjust`` carries its own sign."""
    if kind not in MOVEMENT_KINDS:
        raise invalid("kind", "变动类型：取值无效", "kind: unknown movement kind")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise invalid("quantity", "数量：应为整数", "quantity: must be a whole number")
    if kind == "adjust":
        if quantity == 0:
            raise invalid("quantity", "数量：调整量不能为 0", "quantity: an adjustment is not 0")
        return quantity
    if quantity <= 0:
        raise invalid("quantity", "数量：应大于 0", "quantity: must be greater than 0")
    return quantity if kind in INBOUND else -quantity


@dataclass(frozen=True)
class Batch:
    batch: str
    expiry: date | None
    quantity: int


def balances(
    movements: Iterable[tuple[str, date | None, int]],
) -> dict[str, Batch]:
    """Per batch: the sum of (batch, expiry, signed quantity) movements; the expiry is the
    batch's first stated one."""
    out: dict[str, Batch] = {}
    for batch, expiry, qty in movements:
        had = out.get(batch)
        out[batch] = Batch(
            batch,
            had.expiry if had and had.expiry else expiry,
            (had.quantity if had else 0) + int(qty),
        )
    return out


def check_not_negative(on_hand: Mapping[str, int], changes: Mapping[str, int]) -> None:
    """Refuse (409) a set of signed changes that would take any batch below zero."""
    for batch, delta in changes.items():
        after = on_hand.get(batch, 0) + delta
        if after < 0:
            label = batch or "（无批次）"
            raise Conflict(
                f"库存不足：批次 {label} 现有 {on_hand.get(batch, 0)}，不能减少 {-delta}",
                f"not enough stock: batch {batch or '(none)'} holds {on_hand.get(batch, 0)}, "
                f"cannot take {-delta}",
            )


def allocate_fefo(batches: Iterable[Batch], quantity: int, today: date) -> dict[str, int]:
    """Take ``quantity`` first from the batches that expire first (FEFO), skipping expired
    ones; batches without expiry last. Refused (409) when the usable stock is short."""
    if quantity <= 0:
        raise invalid("quantity", "数量：应大于 0", "quantity: must be greater than 0")
    usable = [b for b in batches if b.quantity > 0 and (b.expiry is None or b.expiry >= today)]
    usable.sort(key=lambda b: (b.expiry is None, b.expiry or date.max, b.batch))
    total = sum(b.quantity for b in usable)
    if total < quantity:
        raise Conflict(
            f"库存不足：可用 {total}，需要 {quantity}",
            f"not enough stock: {total} usable, {quantity} needed",
        )
    taken: dict[str, int] = {}
    left = quantity
    for b in usable:
        if left == 0:
            break
        take = min(left, b.quantity)
        taken[b.batch] = take
        left -= take
    return taken


@dataclass(frozen=True)
class Alert:
    kind: str  # "below_minimum" | "near_expiry" | "expired"
    warehouse_id: int
    item_id: int
    batch: str | None
    quantity: int
    minimum: int | None = None
    expiry: date | None = None
    days_left: int | None = None


def alerts(
    stock: Mapping[tuple[int, int], Mapping[str, Batch]],
    minimums: Mapping[tuple[int, int], int],
    today: date,
    near_days: int = NEAR_EXPIRY_DAYS,
) -> list[Alert]:
    """Below-minimum items (usable stock: expired batches do not count) and batches that have
    expired or expire within ``near_days``, per (warehouse, item)."""
    out: list[Alert] = []
    horizon = today + timedelta(days=near_days)
    for (wh, item), batches in sorted(stock.items()):
        for b in sorted(batches.values(), key=lambda b: (b.expiry or date.max, b.batch)):
            if b.quantity <= 0 or b.expiry is None or b.expiry > horizon:
                continue
            kind = "expired" if b.expiry < today else "near_expiry"
            out.append(
                Alert(kind, wh, item, b.batch, b.quantity, None, b.expiry, (b.expiry - today).days)
            )
    for (wh, item), minimum in sorted(minimums.items()):
        usable = sum(
            b.quantity
            for b in stock.get((wh, item), {}).values()
            if b.expiry is None or b.expiry >= today
        )
        if usable < minimum:
            out.append(Alert("below_minimum", wh, item, None, usable, minimum))
    return out


# ---------------------------------------------------------------- transfer requests (调拨)

REQUEST_STATES: dict[str, tuple[str, str]] = {
    "requested": ("已申请", "Requested"),
    "approved": ("已批准", "Approved"),
    "committed": ("已承诺", "Committed"),
    "dispatched": ("已发运", "Dispatched"),
    "received": ("已接收", "Received"),
    "returned": ("已归还", "Returned"),
    "rejected": ("已驳回", "Rejected"),
    "cancelled": ("已撤销", "Cancelled"),
}

# (state, action) → (next state, which side acts, what the stock log records)
# side: "source" (the lending warehouse's division) or "destination" (the requester's).
# stock: None, "reserve" (committed stock is no longer available to others), "ship" (transfer
# out of the source), "arrive" (transfer into the destination), "give_back" (the returned
# quantity leaves the destination and arrives back at the source).
TRANSITIONS: dict[tuple[str, str], tuple[str, str, str | None]] = {
    ("requested", "approve"): ("approved", "source", None),
    ("requested", "reject"): ("rejected", "source", None),
    ("requested", "cancel"): ("cancelled", "destination", None),
    ("approved", "commit"): ("committed", "source", "reserve"),
    ("approved", "cancel"): ("cancelled", "destination", None),
    ("committed", "dispatch"): ("dispatched", "source", "ship"),
    ("committed", "cancel"): ("cancelled", "destination", None),
    ("dispatched", "receive"): ("received", "destination", "arrive"),
    ("received", "return"): ("returned", "destination", "give_back"),
}
ACTIONS: dict[str, tuple[str, str]] = {
    "approve": ("批准", "Approve"),
    "reject": ("驳回", "Reject"),
    "cancel": ("撤销", "Cancel"),
    "commit": ("承诺调拨", "Commit"),
    "dispatch": ("发运", "Dispatch"),
    "receive": ("确认接收", "Receive"),
    "return": ("归还", "Return"),
}
RESERVING = frozenset({"committed"})  # states whose quantity is held back at the source


def step(state: str, action: str) -> tuple[str, str, str | None]:
    """The transition for ``action`` from ``state``, or 409 saying what is allowed."""
    if action not in ACTIONS:
        raise invalid("action", "操作：取值无效", "action: unknown action")
    found = TRANSITIONS.get((state, action))
    if found is None:
        allowed = [a for (s, a) in TRANSITIONS if s == state]
        zh_state, en_state = REQUEST_STATES.get(state, (state, state))
        raise Conflict(
            f"调拨单当前为“{zh_state}”，不能{ACTIONS[action][0]}"
            + (f"（可执行：{'、'.join(ACTIONS[a][0] for a in allowed)}）" if allowed else ""),
            f"the request is {en_state.lower()}: cannot {action}"
            + (f" (allowed: {', '.join(allowed)})" if allowed else ""),
        )
    return found


def actions_from(state: str) -> list[str]:
    return [a for (s, a) in TRANSITIONS if s == state]
