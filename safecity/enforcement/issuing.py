"""Documents issued (执法文书): numbers, the issue itself with its audit entry and notice, the
documents of a case or inspection, DOCX."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.scope import Principal
from safecity.enforcement import documents, notices
from safecity.enforcement.common import as_utc, audit_log, local_date, year_start
from safecity.enforcement.models import Case, Document
from safecity.registry.models import Division, Enterprise

OFFICE = "应急管理局"


def local_text(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return "—"
    local = as_utc(value).astimezone(BEIJING)  # type: ignore[union-attr]
    return local.strftime("%Y年%m月%d日 %H:%M" if with_time else "%Y年%m月%d日")


def office_name(session: Session, division_code: str) -> str:
    # Kept for the session: a Division read by get() is only weakly held, so each document
    # would otherwise read it (and flush whatever is pending) again.
    known: dict[str, str] = session.info.setdefault("enf_offices", {})
    if division_code[:6] not in known:
        d = session.get(Division, division_code[:6])
        known[division_code[:6]] = f"{d.name if d else ''}{OFFICE}"
    return known[division_code[:6]]


def _doc_number(session: Session, kind: str, division: str, now: datetime) -> str:
    short = {
        "inspection_record": "检记",
        "rectification_order": "责改",
        "case_filing": "立",
        "penalty_notice": "罚告",
        "penalty_decision": "罚决",
        "closing_approval": "结",
    }[kind]
    year = local_date(now).year
    n = (
        session.scalar(
            select(func.count()).where(
                Document.kind == kind,
                Document.division_code == division,
                Document.issued_at >= year_start(year),
            )
        )
        or 0
    ) + 1
    return f"应急{short}〔{year}〕{division[:6]}-{n:04d}号"


def issue_document(
    session: Session,
    who: Principal,
    kind: str,
    values: dict[str, Any],
    ent: Enterprise,
    now: datetime,
    case_id: int | None = None,
    inspection_id: int | None = None,
    signed: list[list[str]] | None = None,
) -> Document:
    number = _doc_number(session, kind, ent.division_code, now)
    content = documents.fill(kind, values, number, signed)
    doc = Document(
        case_id=case_id,
        inspection_id=inspection_id,
        enterprise_id=ent.id,
        division_code=ent.division_code,
        kind=kind,
        number=number,
        title=content["title"],
        content=content,
        issued_by=who.username,
        issued_at=now,
    )
    session.add(doc)
    session.flush()
    audit_log(
        session,
        who,
        "issue",
        "document",
        doc.id,
        None,
        {
            "kind": kind,
            "number": number,
            "case_id": case_id,
            "inspection_id": inspection_id,
            "sha256": hashlib.sha256(documents.text_of(content).encode()).hexdigest(),
        },
        now,
    )
    notices.document_to_enterprise(session, doc, ent, now)
    return doc


def documents_for(
    session: Session, *, case: Case | None = None, inspection_id: int | None = None
) -> list[Document]:
    clauses = []
    if case is not None:
        clauses.append(Document.case_id == case.id)
        if case.inspection_id:
            clauses.append(Document.inspection_id == case.inspection_id)
    if inspection_id is not None:
        clauses.append(Document.inspection_id == inspection_id)
    if not clauses:
        return []
    return list(
        session.scalars(
            select(Document).where(or_(*clauses)).order_by(Document.issued_at, Document.id)
        )
    )


def docx_of(session: Session, doc: Document) -> bytes:
    return documents.render_docx(doc.content, office_name(session, doc.division_code))
