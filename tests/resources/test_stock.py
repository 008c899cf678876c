"""Stock as a log: codes, FEFO, alerts, stock = sum of movements and never negative, and the
transfer-request state machine against an independently written table."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core.errors import Conflict, Forbidden, Invalid, NotFound
from safecity.core.models import AuditEntry
from safecity.resources import service
from safecity.resources import stock as rules
from safecity.resources.models import StockMovement
from tests.factories import NOW
from tests.resources.conftest import item, warehouse, who

TODAY = NOW.date()


# ---------------------------------------------------------------- pure rules


@pytest.mark.parametrize("code", ["1010101", "2990199", "3010203"])
def test_item_codes_of_gbt_38565_are_accepted(code: str) -> None:
    assert rules.check_item_code(code) == code


@pytest.mark.parametrize("code", ["4010101", "101010", "10101011", "1000101", "1010100", "1O10101"])
def test_item_codes_that_break_the_four_level_seven_digit_rule_are_refused(code: str) -> None:
    with pytest.raises(Invalid) as err:
        rules.check_item_code(code)
    assert err.value.errors[0].field == "code" and "GB/T 38565" in err.value.errors[0].zh


def test_fefo_takes_the_batch_that_expires_first_and_skips_expired_ones() -> None:
    batches = [
        rules.Batch("A", date(2027, 6, 1), 10),
        rules.Batch("B", date(2026, 12, 1), 4),
        rules.Batch("OLD", date(2026, 11, 1), 50),  # expired before TODAY (2026-11-23)
        rules.Batch("N", None, 100),
    ]
    assert rules.allocate_fefo(batches, 12, TODAY) == {"B": 4, "A": 8}
    assert rules.allocate_fefo(batches, 20, TODAY) == {"B": 4, "A": 10, "N": 6}
    with pytest.raises(Conflict) as err:
        rules.allocate_fefo(batches, 115, TODAY)
    assert "可用 114" in err.value.zh


def test_alerts_below_minimum_counts_only_usable_stock_and_flags_expiry() -> None:
    stock = {
        (1, 7): {
            "A": rules.Batch("A", TODAY + timedelta(days=30), 5),
            "X": rules.Batch("X", TODAY - timedelta(days=1), 40),
            "Z": rules.Batch("Z", TODAY + timedelta(days=400), 3),
        }
    }
    found = rules.alerts(stock, {(1, 7): 10}, TODAY)
    assert [(a.kind, a.batch, a.quantity) for a in found] == [
        ("expired", "X", 40),
        ("near_expiry", "A", 5),
        ("below_minimum", None, 8),  # 5 + 3 usable; the 40 expired do not count
    ]
    assert found[1].days_left == 30


# Written from the issue, independently of safecity.resources.stock.TRANSITIONS:
# request → approve → commit → dispatch → receive → return; reject only a fresh request;
# the requester may cancel until the goods are on the road.
EXPECTED = {
    "requested": {"approve": "approved", "reject": "rejected", "cancel": "cancelled"},
    "approved": {"commit": "committed", "cancel": "cancelled"},
    "committed": {"dispatch": "dispatched", "cancel": "cancelled"},
    "dispatched": {"receive": "received"},
    "received": {"return": "returned"},
    "returned": {},
    "rejected": {},
    "cancelled": {},
}


@pytest.mark.parametrize("state", list(EXPECTED))
@pytest.mark.parametrize("action", list(rules.ACTIONS))
def test_request_state_machine_matches_the_table(state: str, action: str) -> None:
    want = EXPECTED[state].get(action)
    if want is None:
        with pytest.raises(Conflict):
            rules.step(state, action)
    else:
        assert rules.step(state, action)[0] == want


# ---------------------------------------------------------------- the log in the database


def _on_hand(session: Session, wh_id: int, item_id: int) -> dict[str, int]:
    return {
        b: v.quantity for b, v in service.batches(session, wh_id, item_id).items() if v.quantity
    }


def test_movements_receive_issue_fefo_transfer_adjust_scrap(session: Session, rs_city) -> None:
    admin = who(session, "admin")
    a = warehouse(session, "芝罘区应急物资储备库", "370602")
    b = warehouse(session, "莱山区应急物资储备库", "370613", 3000, 0)
    tent = item(session)
    rec = {"kind": "receive", "item_id": tent.id}
    service.record_movement(
        session, admin, a.id, rec | {"quantity": 30, "batch": "B1", "expiry": "2027-01-31"}, NOW
    )
    service.record_movement(
        session, admin, a.id, rec | {"quantity": 20, "batch": "B2", "expiry": "2026-12-15"}, NOW
    )
    service.record_movement(
        session, admin, a.id, {"kind": "issue", "item_id": tent.id, "quantity": 25}, NOW
    )
    assert _on_hand(session, a.id, tent.id) == {"B1": 25}  # B2 (earlier expiry) went first
    service.record_movement(
        session,
        admin,
        a.id,
        {"kind": "transfer", "item_id": tent.id, "quantity": 10, "to_warehouse_id": b.id},
        NOW,
    )
    assert _on_hand(session, a.id, tent.id) == {"B1": 15}
    assert _on_hand(session, b.id, tent.id) == {"B1": 10}
    assert service.batches(session, b.id, tent.id)["B1"].expiry == date(2027, 1, 31)
    service.record_movement(
        session,
        admin,
        a.id,
        {"kind": "adjust", "item_id": tent.id, "quantity": -2, "batch": "B1"},
        NOW,
    )
    service.record_movement(
        session,
        admin,
        a.id,
        {"kind": "scrap", "item_id": tent.id, "quantity": 3, "batch": "B1"},
        NOW,
    )
    stock = service.warehouse_stock(session, admin, a.id, TODAY)
    assert stock["totals"] == {"1010101": 10}
    kinds = [m.kind for m in service.movements(session, admin, a.id)]
    # the issue of 25 took two lines: all 20 of B2, then 5 of B1
    assert kinds == ["scrap", "adjust", "transfer_out", "issue", "issue", "receive", "receive"]
    audited = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.object_type == "stock_movement")
    )
    assert audited == 8  # every movement line, the transfer's two halves included


def test_issuing_more_than_in_stock_is_refused_and_writes_nothing(
    session: Session, rs_city
) -> None:
    admin = who(session, "admin")
    a = warehouse(session, "芝罘区库", "370602")
    tent = item(session)
    service.record_movement(
        session,
        admin,
        a.id,
        {"kind": "receive", "item_id": tent.id, "quantity": 5, "batch": "B"},
        NOW,
    )
    before = session.scalar(select(func.count()).select_from(StockMovement))
    for body in (
        {"kind": "issue", "item_id": tent.id, "quantity": 6},
        {"kind": "issue", "item_id": tent.id, "quantity": 6, "batch": "B"},
        {"kind": "adjust", "item_id": tent.id, "quantity": -6, "batch": "B"},
        {"kind": "scrap", "item_id": tent.id, "quantity": 1, "batch": "NOPE"},
    ):
        with pytest.raises(Conflict):
            service.record_movement(session, admin, a.id, body, NOW)
    with pytest.raises(Invalid):
        service.record_movement(
            session, admin, a.id, {"kind": "issue", "item_id": tent.id, "quantity": -1}, NOW
        )
    assert session.scalar(select(func.count()).select_from(StockMovement)) == before
    assert _on_hand(session, a.id, tent.id) == {"B": 5}


def test_stock_is_the_sum_of_the_log_and_never_negative_over_random_operations(
    session: Session, rs_city
) -> None:
    """A seeded random run of 80 operations against a plain dict model of the same rules."""
    admin = who(session, "admin")
    whs = [warehouse(session, f"库{i}", "370602", 500 * i) for i in range(3)]
    its = [item(session, "1010101", "帐篷"), item(session, "1020301", "棉被")]
    rng = random.Random(16)
    model: dict[tuple[int, int, str], int] = {}
    for _ in range(80):
        wh = rng.choice(whs)
        it = rng.choice(its)
        batch = rng.choice(["", "B1", "B2"])
        qty = rng.randint(1, 12)
        op = rng.choice(["receive", "receive", "issue", "scrap", "adjust", "transfer"])
        body: dict = {"kind": op, "item_id": it.id, "quantity": qty, "batch": batch}
        if op == "adjust":
            body["quantity"] = qty * rng.choice([1, -1])
        if op == "transfer":
            body["to_warehouse_id"] = rng.choice([w.id for w in whs if w.id != wh.id])
        # the model's own reading of the rules: "" on the way out means "earliest expiry
        # first" — no expiries here, so batches in name order ("" < "B1" < "B2")
        if op in ("receive", "adjust"):
            taken = {batch: body["quantity"]}
        elif batch:
            taken = {batch: -qty}
        else:
            taken, left = {}, qty
            for b in sorted(k[2] for k in model if k[:2] == (wh.id, it.id) and model[k] > 0):
                take = min(left, model[(wh.id, it.id, b)])
                if take:
                    taken[b], left = -take, left - take
            if left:
                taken = {"": -qty}  # short: refused whole
        expect_ok = all(model.get((wh.id, it.id, b), 0) + d >= 0 for b, d in taken.items())
        try:
            with session.begin_nested():
                service.record_movement(session, admin, wh.id, body, NOW)
        except Conflict:
            assert not expect_ok, (op, body, taken)
            continue
        assert expect_ok, (op, body, taken)
        for b, d in taken.items():
            model[(wh.id, it.id, b)] = model.get((wh.id, it.id, b), 0) + d
            if op == "transfer":
                key = (body["to_warehouse_id"], it.id, b)
                model[key] = model.get(key, 0) - d
    sums = {
        (w, i, b): int(q)
        for w, i, b, q in session.execute(
            select(
                StockMovement.warehouse_id,
                StockMovement.item_id,
                StockMovement.batch,
                func.sum(StockMovement.quantity),
            ).group_by(StockMovement.warehouse_id, StockMovement.item_id, StockMovement.batch)
        )
    }
    assert {k: v for k, v in sums.items() if v} == {k: v for k, v in model.items() if v}
    assert min(sums.values()) >= 0
    for wh in whs:
        shown = service.warehouse_stock(session, admin, wh.id, TODAY)["lines"]
        for line in shown:
            assert line["quantity"] == model[(wh.id, line["item_id"], line["batch"])]


def test_minimum_stock_alert_through_the_service(session: Session, rs_city) -> None:
    admin = who(session, "admin")
    a = warehouse(session, "芝罘区库", "370602")
    water = item(session, "1030101", "饮用水", shelf_life_days=365)
    service.record_movement(
        session,
        admin,
        a.id,
        {
            "kind": "receive",
            "item_id": water.id,
            "quantity": 40,
            "batch": "W1",
            "expiry": "2026-12-31",
        },
        NOW,
    )
    service.set_minimum(session, admin, a.id, {"item_id": water.id, "minimum": 100}, NOW)
    found = service.stock_alerts(session, admin, TODAY)
    assert [(x["kind"], x["quantity"], x["minimum"], x["days_left"]) for x in found] == [
        ("near_expiry", 40, None, 38),
        ("below_minimum", 40, 100, None),
    ]
    assert service.stock_alerts(session, who(session, "laishan"), TODAY) == []


# ---------------------------------------------------------------- transfer requests


def test_transfer_request_walks_the_whole_loop_as_the_log_sees_it(
    session: Session, rs_city
) -> None:
    admin, zhifu, laishan = (who(session, u) for u in ("admin", "zhifu", "laishan"))
    src = warehouse(session, "芝罘区库", "370602")
    dst = warehouse(session, "莱山区库", "370613", 3000)
    tent = item(session)
    service.record_movement(
        session,
        admin,
        src.id,
        {"kind": "receive", "item_id": tent.id, "quantity": 50, "batch": "T"},
        NOW,
    )
    req = service.create_request(
        session,
        laishan,
        {
            "item_id": tent.id,
            "quantity": 30,
            "source_warehouse_id": src.id,
            "destination_warehouse_id": dst.id,
            "requesting_department": "莱山区应急管理局",
        },
        NOW,
    )
    with pytest.raises(Forbidden):  # approving belongs to the lending side
        service.act_on_request(session, laishan, req.id, "approve", NOW)
    with pytest.raises(Conflict):  # not approved yet
        service.act_on_request(session, zhifu, req.id, "dispatch", NOW)
    service.act_on_request(session, zhifu, req.id, "approve", NOW)
    service.act_on_request(session, zhifu, req.id, "commit", NOW)
    # committed stock is held back: only 20 of the 50 may be issued to anyone else
    assert service.available_quantity(session, src.id, tent.id, TODAY) == 20
    with pytest.raises(Conflict):
        service.record_movement(
            session, zhifu, src.id, {"kind": "issue", "item_id": tent.id, "quantity": 21}, NOW
        )
    service.act_on_request(session, zhifu, req.id, "dispatch", NOW)
    assert _on_hand(session, src.id, tent.id) == {"T": 20}
    assert _on_hand(session, dst.id, tent.id) == {}  # on the road
    service.act_on_request(session, laishan, req.id, "receive", NOW)
    assert _on_hand(session, dst.id, tent.id) == {"T": 30}
    service.act_on_request(session, laishan, req.id, "return", NOW, quantity=12)
    assert _on_hand(session, dst.id, tent.id) == {"T": 18}
    assert _on_hand(session, src.id, tent.id) == {"T": 32}
    req = service.get_request(session, admin, req.id)
    assert req.status == "returned" and req.returned_quantity == 12
    assert [h["action"] for h in req.history] == [
        "request", "approve", "commit", "dispatch", "receive", "return"
    ]  # fmt: skip
    with pytest.raises(Conflict):
        service.act_on_request(session, laishan, req.id, "return", NOW)


def test_commit_refused_when_stock_is_short_and_requests_are_scoped(
    session: Session, rs_city
) -> None:
    admin, zhifu, laishan = (who(session, u) for u in ("admin", "zhifu", "laishan"))
    a = warehouse(session, "芝罘区一号库", "370602")
    b = warehouse(session, "芝罘区二号库", "370602", 800)
    tent = item(session)
    service.record_movement(
        session, admin, a.id, {"kind": "receive", "item_id": tent.id, "quantity": 5}, NOW
    )
    body = {
        "item_id": tent.id,
        "quantity": 8,
        "source_warehouse_id": a.id,
        "destination_warehouse_id": b.id,
    }
    req = service.create_request(session, zhifu, body, NOW)
    service.act_on_request(session, zhifu, req.id, "approve", NOW)
    with pytest.raises(Conflict) as err:
        service.act_on_request(session, zhifu, req.id, "commit", NOW)
    assert "可用 5" in err.value.zh
    assert service.get_request(session, admin, req.id).status == "approved"
    with pytest.raises(NotFound):  # both warehouses in 芝罘区: 莱山区 does not see it
        service.get_request(session, laishan, req.id)
    assert service.list_requests(session, laishan) == []
    with pytest.raises(NotFound):  # a destination outside one's scope is not found either
        service.create_request(session, laishan, body, NOW)
