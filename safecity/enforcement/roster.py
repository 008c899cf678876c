"""The inspector pool (执法人员库): officers, their certificates and declared relations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.errors import Conflict, NotFound
from safecity.core.models import User
from safecity.core.scope import Principal, division_prefix
from safecity.core.sql import code_within
from safecity.enforcement import cases as rules
from safecity.enforcement.common import (
    PLANNERS,
    audit_log,
    bad,
    checked_date,
    checked_division,
    clean_text,
    government_only,
    id_list,
    require,
    row_dict,
)
from safecity.enforcement.models import Inspector


def save_inspector(
    session: Session,
    who: Principal,
    data: dict[str, Any],
    now: datetime,
    inspector_id: int | None = None,
) -> Inspector:
    require(who, PLANNERS, "当前角色无权维护执法人员库", "your role may not edit the pool")
    row = None
    if inspector_id is not None:
        row = get_inspector(session, who, inspector_id)
    division = checked_division(
        session, who, data.get("division_code") or (row.division_code if row else None)
    )
    username = clean_text(data.get("username"), "username", 64, "账号", "username") or None
    if username and session.scalar(select(User.id).where(User.username == username)) is None:
        raise bad("username", "账号：不存在", "username: no such user")
    duty = data.get("duty") or "inspector"
    if duty not in rules.ROLES:
        raise bad("duty", "职责：应为 inspector/legal_reviewer/office_head", "duty: unknown")
    values = {
        "name": clean_text(data.get("name"), "name", 64, "姓名", "name", True),
        "username": username,
        "office": clean_text(data.get("office"), "office", 100, "科室", "office"),
        "division_code": division,
        "duty": duty,
        "certificate_no": clean_text(
            data.get("certificate_no"), "certificate_no", 32, "执法证号", "certificate number", True
        ),
        "certificate_expires": checked_date(
            data.get("certificate_expires"),
            "certificate_expires",
            "证件有效期",
            "certificate expiry",
        ),
        "related_enterprise_ids": id_list(
            data.get("related_enterprise_ids"), "related_enterprise_ids"
        ),
        "former_employer_ids": id_list(data.get("former_employer_ids"), "former_employer_ids"),
        "active": data.get("active", True) not in (False, "false", "0", 0),
    }
    other = (
        session.scalar(
            select(Inspector.id).where(
                Inspector.username == username, Inspector.id != (inspector_id or -1)
            )
        )
        if username
        else None
    )
    if other:
        raise Conflict("该账号已在执法人员库中", "this account is already in the pool")
    before = row_dict(row) if row else None
    if row is None:
        row = Inspector(**values, updated_at=now)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = now
    session.flush()
    audit_log(
        session,
        who,
        "update" if before else "create",
        "inspector",
        row.id,
        before,
        row_dict(row),
        now,
    )
    return row


def get_inspector(session: Session, who: Principal, inspector_id: int) -> Inspector:
    government_only(who)
    row = session.get(Inspector, inspector_id)
    if row is None or not who.covers(row.division_code):
        raise NotFound("执法人员", "inspector")
    return row


def list_inspectors(session: Session, who: Principal) -> list[Inspector]:
    government_only(who)
    return list(
        session.scalars(
            select(Inspector)
            .where(code_within(Inspector.division_code, who.prefix))
            .order_by(Inspector.division_code, Inspector.name)
        )
    )


def inspector_of(session: Session, who: Principal) -> Inspector | None:
    return session.scalar(
        select(Inspector).where(Inspector.username == who.username, Inspector.active.is_(True))
    )


def pool_for(session: Session, division: str) -> list[Inspector]:
    """Active law-enforcement officers who may serve in ``division``: its own and above."""
    rows = session.scalars(
        select(Inspector).where(Inspector.active.is_(True), Inspector.duty == "inspector")
    )
    return [
        i
        for i in rows
        if division.startswith(division_prefix(i.division_code))
        or i.division_code.startswith(division_prefix(division))
    ]


def inspector_rows(session: Session, ids: list[int]) -> list[Inspector]:
    if not ids:
        return []
    return list(
        session.scalars(select(Inspector).where(Inspector.id.in_(ids)).order_by(Inspector.id))
    )
