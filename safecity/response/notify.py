"""Telling people about an incident, through the kernel's one notification service (inbox, and
email/SMS/webhook after the commit)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import notify
from safecity.core.models import User


def tell(
    session: Session,
    usernames: Iterable[str],
    title: str,
    link: str,
    now: datetime,
    body: str = "",
    kind: str = "incident_task",
) -> int:
    """One message to these users (unknown or disabled ones skipped); how many were sent."""
    names = sorted(set(usernames))
    if not names:
        return 0
    ids = list(
        session.scalars(select(User.id).where(User.username.in_(names), User.active.is_(True)))
    )
    return notify.send(
        session, ids, notify.Message(title=title[:200], body=body, link=link, kind=kind), now
    )


def tell_roles(
    session: Session,
    roles: set[str],
    division_code: str,
    title: str,
    link: str,
    now: datetime,
    kind: str,
    except_username: str | None = None,
) -> int:
    """Everyone of these roles whose division covers the place (not the one who acted)."""
    people = [
        u.id for u in notify.users(session, roles, division_code) if u.username != except_username
    ]
    return notify.send(
        session, people, notify.Message(title=title[:200], link=link, kind=kind), now
    )
