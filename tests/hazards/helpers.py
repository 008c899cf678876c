"""Helpers of the hazards tests: a registered hidden danger, a session factory for jobs, and
logging in to the hazards pages."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from safecity.hazards import service
from tests.conftest import csrf_of, principal, web_login


def staff_login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    """Log in through the form; returns the CSRF token for the hazards pages' forms."""
    resp = web_login(client, username, next="/hazards")
    assert resp.status_code == 303, resp.text
    return csrf_of(client.get("/hazards/inbox").text)


def registered(session: Session, city: dict, deadline, grade: str = "general") -> int:
    insp = principal(session, "inspector")
    reg_at = deadline - timedelta(days=30)
    hd = service.report(
        session,
        insp,
        {"title": "消防通道堵塞", "enterprise_id": city["own_enterprise_id"]},
        [],
        reg_at,
    )
    data = {"grade": grade, "grade_basis": "标准"}
    service.transition(session, insp, hd.id, "confirm", data, [], reg_at)
    reg = {"responsible_party": "企业", "deadline": deadline}
    if grade == "major":
        reg |= {"supervisor_division_code": "370602", "supervisor_name": "芝罘区应急管理局"}
    service.transition(session, insp, hd.id, "register", reg, [], reg_at)
    session.commit()
    return hd.id


def factory_for(engine):  # type: ignore[no-untyped-def]
    make = sessionmaker(bind=engine, expire_on_commit=False)

    @contextmanager
    def scope():  # type: ignore[no-untyped-def]
        s = make()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    return scope
