"""Inspections, findings and cases through the service: teams, the closed loop, documents, scope."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from safecity.core.errors import Conflict, Forbidden, Invalid, NotFound
from safecity.enforcement import case_search, casework, common, fieldwork, inspecting, issuing
from safecity.enforcement.models import Case, Document
from safecity.hazards import checks
from safecity.hazards.models import HiddenDanger
from tests.conftest import NOW, principal


@pytest.fixture
def inspection(session, enf):  # type: ignore[no-untyped-def]
    admin = principal(session, "admin")
    cl = checks.create_checklist(
        session,
        admin,
        {
            "name": "危化品企业执法检查表",
            "items": [
                {"text": "主要负责人和安全管理人员经考核合格", "clause": "安全生产法第27条"},
                {"text": "从业人员经安全生产教育和培训", "clause": "安全生产法第28条"},
            ],
        },
        NOW,
    )
    ent = enf["enterprises"][0]
    pool = enf["pool"]
    i = inspecting.create_inspection(
        session,
        principal(session, "zhifu"),
        {
            "enterprise_id": ent.id,
            "inspector_ids": [pool["insp2"], pool["insp3"]],
            "checklist_id": cl.id,
        },
        NOW,
    )
    session.commit()
    return {"inspection": i, "checklist": cl, "enterprise": ent, **enf}


def test_team_rules(session, enf) -> None:  # type: ignore[no-untyped-def]
    who = principal(session, "zhifu")
    ent1, pool = enf["enterprises"][0], enf["pool"]
    cases = [
        ([pool["insp2"], pool["insp4"]], "expired"),  # certificate expired 2026-06-30
        ([pool["insp1"], pool["insp2"]], "conflict"),  # insp1 declared a relation to ent 1
        ([pool["insp2"]], "at least two"),
    ]
    for ids, words in cases:
        with pytest.raises(Invalid) as exc:
            inspecting.create_inspection(
                session, who, {"enterprise_id": ent1.id, "inspector_ids": ids}, NOW
            )
        assert words in " ".join(e.en for e in exc.value.errors)
        session.rollback()


def test_inspection_to_closed_case(session, inspection) -> None:  # type: ignore[no-untyped-def]
    i, cl, ent = inspection["inspection"], inspection["checklist"], inspection["enterprise"]
    items = checks.items_of(session, cl.id)
    insp2 = principal(session, "insp2")
    with pytest.raises(Forbidden):  # not on the team
        fieldwork.save_results(session, principal(session, "insp1"), i.id, {"results": {}}, NOW)
    session.rollback()
    fieldwork.save_results(
        session,
        insp2,
        i.id,
        {
            "results": {
                str(items[0].id): "passed",
                str(items[1].id): {"result": "failed", "note": "3人未培训"},
            }
        },
        NOW,
    )
    hd = fieldwork.add_finding(
        session,
        insp2,
        i.id,
        {"kind": "hidden_danger", "description": "储罐区静电接地断开"},
        [],
        NOW,
    )
    v = fieldwork.add_finding(
        session,
        insp2,
        i.id,
        {
            "kind": "violation",
            "description": "3名从业人员未经安全培训上岗",
            "violation": "training",
            "circumstance": "ordinary",
        },
        [],
        NOW,
    )
    session.commit()
    danger = session.get(HiddenDanger, hd.hidden_danger_id)
    assert (danger.source, danger.enterprise_id, danger.status) == (
        "enforcement",
        ent.id,
        "reported",
    )
    case = session.get(Case, v.case_id)
    assert (case.state, case.fine_min, case.fine_max) == ("clue", 20000, 50000)

    fieldwork.finish_inspection(session, insp2, i.id, {"party_present": "张厂长"}, NOW)
    session.commit()
    kinds = [d.kind for d in issuing.documents_for(session, inspection_id=i.id)]
    assert kinds == ["inspection_record", "rectification_order"]
    with pytest.raises(Conflict):  # a finished record does not change
        fieldwork.save_results(session, insp2, i.id, {"results": {}}, NOW)
    session.rollback()

    head, reviewer = principal(session, "head"), principal(session, "reviewer")
    with pytest.raises(Conflict):  # investigate before filing
        casework.take_step(session, insp2, case.id, "investigate", {}, NOW)
    session.rollback()
    with pytest.raises(Forbidden):  # an inspector may not file
        casework.take_step(session, insp2, case.id, "file", {}, NOW)
    session.rollback()
    t = NOW
    casework.take_step(session, head, case.id, "file", {}, t)
    assert case.deadline_at is not None
    assert common.as_utc(case.deadline_at) == NOW + timedelta(days=90)
    casework.take_step(session, insp2, case.id, "investigate", {}, t)
    casework.take_step(session, insp2, case.id, "submit", {}, t)
    session.commit()
    with pytest.raises(Invalid) as exc:  # outside 20000–50000 without a reason
        casework.take_step(session, reviewer, case.id, "notify", {"fine": 60000}, t)
    assert exc.value.errors[0].field == "reason"
    session.rollback()
    case = session.get(Case, case.id)
    assert case.state == "reviewing" and case.proposed_fine is None
    casework.take_step(session, reviewer, case.id, "notify", {"fine": 30000}, t)
    casework.take_step(session, head, case.id, "decide", {}, t + timedelta(days=1))
    assert case.decided_fine == 30000
    for step, who in (("serve", insp2), ("execute", insp2), ("close", head)):
        casework.take_step(
            session,
            who,
            case.id,
            step,
            {"reason": "已缴纳罚款" if step == "execute" else ""},
            t + timedelta(days=2),
        )
    session.commit()
    assert case.state == "closed" and case.closed_at is not None
    assert [h["step"] for h in case.history] == [
        "file",
        "investigate",
        "submit",
        "notify",
        "decide",
        "serve",
        "execute",
        "close",
    ]
    # Who took each step, by display name (the fixture's accounts are named 执法<username>)
    assert [h["by_name"] for h in casework.history_of(session, case)][:2] == [
        "执法head",
        "执法insp2",
    ]
    case.history = [{k: v for k, v in h.items() if k != "by_name"} for h in case.history]
    assert casework.history_of(session, case)[-1]["by_name"] == "执法head"  # an older entry
    with pytest.raises(Conflict):  # a closed case is not edited
        casework.take_step(
            session, insp2, case.id, "amend", {"reason": "补充材料"}, t + timedelta(days=3)
        )
    session.rollback()
    kinds = [d.kind for d in issuing.documents_for(session, case=case)]
    assert kinds == [
        "inspection_record",
        "rectification_order",
        "case_filing",
        "penalty_notice",
        "penalty_decision",
        "closing_approval",
    ]
    decision = session.scalar(select(Document).where(Document.kind == "penalty_decision"))
    rows = dict(decision.content["rows"])
    assert rows["处罚决定"] == "罚款人民币 30,000 元"
    assert ent.name in rows["当事人"]
    pdf = casework.case_file(session, principal(session, "zhifu"), case.id)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 7  # contents + six documents
    toc = reader.pages[0].extract_text()
    for title in ("目", "现场检查记录", "行政处罚决定书", "结案审批表"):
        assert title in toc
    assert issuing.docx_of(session, decision)[:2] == b"PK"


def test_case_scope(session, inspection) -> None:  # type: ignore[no-untyped-def]
    ents = inspection["enterprises"]
    zhifu = principal(session, "zhifu")
    own = casework.open_case(
        session,
        zhifu,
        {
            "enterprise_id": ents[0].id,
            "violation": "training",
            "circumstance": "minor",
            "facts": "未培训",
        },
        NOW,
    )
    other = casework.open_case(
        session,
        zhifu,
        {
            "enterprise_id": ents[1].id,
            "violation": "training",
            "circumstance": "minor",
            "facts": "未培训",
        },
        NOW,
    )
    session.commit()
    officer = principal(session, "enterprise")  # the officer of enterprise 1
    assert casework.get_case(session, officer, own.id).id == own.id
    with pytest.raises(NotFound):
        casework.get_case(session, officer, other.id)
    with pytest.raises(NotFound):
        casework.get_case(session, principal(session, "laishan"), own.id)
    items, total = case_search.list_cases(session, officer, case_search.CaseFilters(), NOW)
    assert total == 1 and items[0].id == own.id
    with pytest.raises(Forbidden):  # visible, but an enterprise officer takes no case step
        casework.take_step(session, officer, own.id, "file", {}, NOW)
    with pytest.raises(Invalid):
        casework.open_case(
            session,
            zhifu,
            {
                "enterprise_id": ents[0].id,
                "violation": "nope",
                "circumstance": "minor",
                "facts": "x",
            },
            NOW,
        )
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Case)) == 2
