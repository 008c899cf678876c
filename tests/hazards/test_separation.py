"""Separation of duties in the hidden-danger loop: whoever recorded the rectification cannot
accept and close (销号) it; the refusal is explained in the API and on the page, changes
nothing, and a city may turn the rule off."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from safecity.core.config import get_settings
from safecity.core.models import AuditEntry
from safecity.hazards import workflow as wf
from tests.conftest import web_login
from tests.hazards.test_api import act, report


def _rectified_by_zhifu(client, city: dict) -> int:  # type: ignore[no-untyped-def]
    hd = report(client, "grid", enterprise_id=city["own_enterprise_id"])
    act(client, "inspector", hd["id"], "confirm", grade="general")
    act(
        client,
        "inspector",
        hd["id"],
        "register",
        responsible_party="芝罘区住建局",
        deadline="2099-01-31",
    )
    act(client, "zhifu", hd["id"], "submit_plan", measures="更换护栏", responsible_person="王五")
    act(client, "zhifu", hd["id"], "submit_acceptance", note="已更换")
    return int(hd["id"])


def _audit_count(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(AuditEntry)))


def test_rectifier_cannot_accept_own_work_api_and_page(hz_city, client, session) -> None:
    hd_id = _rectified_by_zhifu(client, hz_city)
    before = _audit_count(session)
    refused = act(client, "zhifu", hd_id, "accept", expect=403)
    assert "职责分离" in refused["message"] and "someone else" in refused["message_en"]
    assert _audit_count(session) == before  # a refused step writes nothing
    # The page withholds the accept form and says why, in the page language.
    web_login(client, "zhifu")
    page = client.get(f"/hazards/{hd_id}", headers={"accept": "text/html"}).text
    assert 'id="hd-duty-note"' in page and "职责分离" in page
    assert f'action="/hazards/{hd_id}/actions/accept"' not in page
    client.cookies.clear()
    # A second person checks the work and closes it.
    assert act(client, "inspector", hd_id, "accept")["status"] == "closed"


def test_a_city_may_turn_separation_off(hz_city, client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFECITY_SEPARATION_OF_DUTIES", "false")
    get_settings.cache_clear()
    try:
        hd_id = _rectified_by_zhifu(client, hz_city)
        assert act(client, "zhifu", hd_id, "accept")["status"] == "closed"
    finally:
        monkeypatch.delenv("SAFECITY_SEPARATION_OF_DUTIES")
        get_settings.cache_clear()


def test_rule_is_pure_and_names_the_person() -> None:
    facts = wf.Facts(wf.SUBMITTED, wf.GENERAL, rectified_by="zhifu")
    same = wf.Actor("district_officer", "370602", username="zhifu")
    other = wf.Actor("district_officer", "370602", username="laishan")
    assert "accept" not in wf.available(facts, same) and "return" in wf.available(facts, same)
    assert "accept" in wf.available(facts, other)
    assert wf.barred(facts, same) is not None and wf.barred(facts, other) is None
