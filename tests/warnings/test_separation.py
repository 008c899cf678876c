"""Separation of duties for warnings: whoever drafted or submitted a red or orange warning
cannot approve it (API and pages, refusal explained, nothing written); yellow is not bound,
and a city may turn the rule off."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from safecity.core.config import get_settings
from safecity.core.db import session_scope
from safecity.core.models import AuditEntry
from tests.conftest import csrf_of, login, web_login
from tests.warnings.test_api import draft


def _submitted(client: Any, level: str, who: str = "commander") -> int:
    head = login(client, who)
    w = client.post("/api/v1/warnings", json=draft(level), headers=head).json()
    assert client.post(f"/api/v1/warnings/{w['id']}/submit", headers=head).status_code == 200
    return int(w["id"])


def _audit_count() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)))


@pytest.mark.parametrize("level", ["red", "orange"])
def test_drafter_cannot_approve_red_or_orange(client: Any, level: str) -> None:
    wid = _submitted(client, level)
    before = _audit_count()
    resp = client.post(f"/api/v1/warnings/{wid}/approve", headers=login(client, "commander"))
    assert resp.status_code == 403
    assert "职责分离" in resp.json()["message"] and "someone other" in resp.json()["message_en"]
    assert _audit_count() == before
    # Drafted by the admin instead: the commander is a second person and may approve.
    other = _submitted(client, level, who="admin")
    ok = client.post(f"/api/v1/warnings/{other}/approve", headers=login(client, "commander"))
    assert ok.status_code == 200 and ok.json()["approved_by"] == "commander"


def test_page_withholds_approval_and_says_why(client: Any) -> None:
    wid = _submitted(client, "orange")
    client.headers["accept"] = "text/html"
    web_login(client, "commander")
    page = client.get(f"/warnings/{wid}").text
    assert f'action="/warnings/{wid}/approve"' not in page
    assert 'id="w-duty-note"' in page and "职责分离" in page
    resp = client.post(f"/warnings/{wid}/approve", data={"csrf": csrf_of(page)})
    assert resp.status_code == 403 and "职责分离" in resp.text


def test_yellow_is_not_bound_and_a_city_may_turn_it_off(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cmd = login(client, "commander")
    yellow = _submitted(client, "yellow")
    assert client.post(f"/api/v1/warnings/{yellow}/approve", headers=cmd).status_code == 200
    monkeypatch.setenv("SAFECITY_SEPARATION_OF_DUTIES", "false")
    get_settings.cache_clear()
    try:
        red = _submitted(client, "red")
        assert client.post(f"/api/v1/warnings/{red}/approve", headers=cmd).status_code == 200
    finally:
        monkeypatch.delenv("SAFECITY_SEPARATION_OF_DUTIES")
        get_settings.cache_clear()
