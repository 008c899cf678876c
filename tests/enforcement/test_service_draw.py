"""双随机 draws through the service: commit before draw, conflicts excluded, proof, bad input."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from safecity.core.errors import Conflict, Invalid, NotFound
from safecity.core.models import AuditEntry
from safecity.enforcement import selection
from safecity.enforcement.models import Draw, Inspection
from tests.conftest import NOW, principal


def _audit_count(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(AuditEntry))


def test_draw_all_targets_conflicts_excluded_and_verified(session, enf) -> None:  # type: ignore[no-untyped-def]
    who = principal(session, "zhifu")
    e1, e2, e3 = (e.id for e in enf["enterprises"][:3])
    pool = enf["pool"]
    d = selection.create_draw(session, who, {"share": "100%", "title": "测试抽查"}, NOW)
    session.commit()
    assert d.status == "committed" and d.result is None
    # the commitment is in the audit log before anything was drawn
    commit = session.scalar(select(AuditEntry).where(AuditEntry.action == "commit"))
    assert commit.after["commitment"] == d.commitment
    assert hashlib.sha256(bytes.fromhex(d.seed_hex)).hexdigest() == d.commitment
    assert session.scalar(select(func.count()).select_from(Inspection)) == 0

    d = selection.run_draw(session, who, d.id, NOW)
    session.commit()
    got = {int(t): set(ids) for t, ids in d.result["assignments"].items()}
    assert set(got) == {e1, e2, e3}  # 100 % of three
    # insp1 declared a relation to enterprise 1, insp3 used to work for enterprise 2; insp4's
    # certificate expired; lsinsp works in another district: so these two pairs are forced
    assert got[e1] == {str(pool["insp2"]), str(pool["insp3"])}
    assert got[e2] == {str(pool["insp1"]), str(pool["insp2"])}
    assert len(got[e3]) == 2 and got[e3] <= {str(pool[u]) for u in ("insp1", "insp2", "insp3")}
    assert d.result["expired_excluded"] == 1
    ins = session.scalars(select(Inspection).order_by(Inspection.enterprise_id)).all()
    assert [i.enterprise_id for i in ins] == [e1, e2, e3]
    assert all(i.status == "planned" and i.draw_id == d.id for i in ins)

    ok, checks = selection.verify_draw(session, d.id)
    assert ok, [c.en for c in checks]
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "enf_draw").order_by(AuditEntry.seq)
    ).all()
    assert [e.action for e in entries] == ["commit", "draw"]
    assert entries[1].after["seed"] == d.seed_hex

    with pytest.raises(Conflict):  # no quiet re-run
        selection.run_draw(session, who, d.id, NOW)
    session.rollback()


def test_verification_fails_on_changed_seed_or_pool(session, enf) -> None:  # type: ignore[no-untyped-def]
    who = principal(session, "zhifu")
    d = selection.create_draw(session, who, {"share": "1/2"}, NOW)
    d = selection.run_draw(session, who, d.id, NOW)
    session.commit()
    good_seed, good_pools = d.seed_hex, d.pools
    d.seed_hex = "ab" * 32
    session.commit()
    ok, checks = selection.verify_draw(session, d.id)
    assert not ok and [c.name for c in checks if not c.ok] == ["rerun"]
    assert "commitment" in next(c.en for c in checks if c.name == "rerun")
    d.seed_hex = good_seed
    d.pools = {**good_pools, "targets": good_pools["targets"][:-1]}  # one target left out
    session.commit()
    ok, checks = selection.verify_draw(session, d.id)
    assert not ok and "fingerprint" in next(c.en for c in checks if c.name == "rerun")
    d.pools = good_pools
    session.commit()
    assert selection.verify_draw(session, d.id)[0]


def test_previous_draw_pairs_are_excluded(session, enf) -> None:  # type: ignore[no-untyped-def]
    who = principal(session, "zhifu")
    e3 = str(enf["enterprises"][2].id)
    first = selection.run_draw(
        session, who, selection.create_draw(session, who, {"share": "1"}, NOW).id, NOW
    )
    session.commit()
    before = set(first.result["assignments"][e3])
    # three valid inspectors, two were on enterprise 3 last time: the one left cannot make two
    second = selection.create_draw(session, who, {"share": "1"}, NOW)
    assert (
        second.pools["previous"][e3] == sorted(before)
        or set(second.pools["previous"][e3]) == before
    )
    with pytest.raises(Invalid) as exc:
        selection.run_draw(session, who, second.id, NOW)
    assert any("eligible" in e.en for e in exc.value.errors)


def test_empty_pool_and_too_few_inspectors_write_nothing(session, enf) -> None:  # type: ignore[no-untyped-def]
    admin = principal(session, "admin")
    n = _audit_count(session)
    with pytest.raises(Invalid) as exc:  # no enterprise of section G in Laishan
        selection.create_draw(
            session, admin, {"division_code": "370613", "industry_section": "G"}, NOW
        )
    assert [e.field for e in exc.value.errors] == ["targets"]
    session.rollback()
    with pytest.raises(Invalid) as exc:  # two valid inspectors in Laishan, three asked for
        selection.create_draw(session, admin, {"division_code": "370613", "per_target": 3}, NOW)
    assert [e.field for e in exc.value.errors] == ["inspectors"]
    assert "only 2" in exc.value.errors[0].en
    session.rollback()
    with pytest.raises(Invalid):
        selection.create_draw(session, admin, {"division_code": "370613", "share": "1%"}, NOW)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Draw)) == 0
    assert _audit_count(session) == n


def test_draw_scope(session, enf) -> None:  # type: ignore[no-untyped-def]
    d = selection.create_draw(session, principal(session, "zhifu"), {}, NOW)
    session.commit()
    with pytest.raises(NotFound):
        selection.get_draw(session, principal(session, "laishan"), d.id)
    with pytest.raises(NotFound):  # outside the caller's division
        selection.create_draw(
            session, principal(session, "laishan"), {"division_code": "370602"}, NOW
        )
    assert selection.get_draw(session, principal(session, "admin"), d.id).id == d.id
