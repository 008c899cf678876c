"""Pages that show another capability's fact ask its plug-in through a hook instead of importing
its modules: a hidden danger's origin alarm (safecity_origin, answered by monitoring) and
whether a role may draft a warning from an alarm (safecity_may, answered by warnings). Left
out, the owner simply does not answer. And no capability imports another's models: an
import-linter contract per capability with tables."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import safecity
from safecity import plugins
from safecity.core.scope import ROLES, Principal
from safecity.hazards import views as hazard_views
from safecity.monitoring import views as monitoring_views
from safecity.monitoring.service import alarm_peak_level
from safecity.response import command
from safecity.response.models import Incident
from tests.conftest import login, web_login
from tests.monitoring.test_links import red_alarm, url


def _without(monkeypatch: pytest.MonkeyPatch, module: Any, capability: str, hook: str) -> None:
    """``module``'s hook calls as if ``capability`` were not installed (the shared manager is
    left as it is: re-registering would change every other hook's order)."""
    pm = plugins.manager()
    owner = pm.get_plugin(f"safecity.{capability}.plugin")
    assert owner is not None
    caller = pm.subset_hook_caller(hook, remove_plugins=[owner])
    monkeypatch.setattr(module, "hook", lambda: SimpleNamespace(**{hook: caller}))


def _origin_link(page: str) -> str | None:
    found = re.search(r'<a id="hd-origin" href="([^"]+)"', page)
    return found.group(1) if found else None


def test_a_hidden_danger_names_its_alarm_through_monitorings_plugin(
    client: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = red_alarm(client, session)
    opened = client.post(url(aid), json={}, headers=login(client, "zhifu"))
    assert opened.status_code == 201, opened.text
    hid = opened.json()["hidden_danger_id"]
    assert plugins.hook().safecity_origin(
        session=session, object_type="hidden_danger", object_id=hid
    ) == ("alarm", aid)
    assert (
        plugins.hook().safecity_origin(session=session, object_type="warning", object_id=hid)
        is None
    )
    client.headers["accept"] = "text/html"
    web_login(client, "admin")
    assert _origin_link(client.get(f"/hazards/{hid}").text) == f"/monitoring/alarms/{aid}"
    _without(monkeypatch, hazard_views, "monitoring", "safecity_origin")
    page = client.get(f"/hazards/{hid}")
    assert page.status_code == 200 and _origin_link(page.text) is None


def test_who_may_draft_a_warning_is_the_warnings_plugins_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def may(role: str) -> bool:
        return monitoring_views._can_draft(Principal(1, "u", role, "370602"))

    drafters = {role for role in ROLES if may(role)}
    assert drafters == {"admin", "commander", "duty_officer", "district_officer"}
    assert plugins.hook().safecity_may(who=Principal(1, "u", "admin", "37"), step="x.y") is None
    _without(monkeypatch, monitoring_views, "warnings", "safecity_may")
    assert not any(may(role) for role in ROLES)  # warnings left out: nobody is offered it


def test_every_capabilitys_tables_are_protected_by_an_import_contract() -> None:
    """``make lint`` keeps "no capability imports another's models" true for every capability
    with tables, the next one included: each has a protected contract naming only itself (the
    registry's base tables are open to all), and its ignore list only shrinks."""
    root = Path(safecity.__file__).resolve().parent
    config = tomllib.loads((root.parent / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    protected = {c["protected_modules"][0]: c for c in contracts if c.get("type") == "protected"}
    with_tables = [
        name
        for name in plugins.capability_names()
        if name != "registry" and (root / name / "models.py").exists()
    ]
    assert len(with_tables) >= 8
    for name in with_tables:
        contract = protected.get(f"safecity.{name}.models")
        assert contract is not None, f"{name}: add its protected contract to pyproject.toml"
        assert contract["allowed_importers"] == [f"safecity.{name}"]
    ignored = [i for c in protected.values() for i in c.get("ignore_imports", [])]
    assert ignored == []


def test_an_incident_from_an_alarm_reads_its_level_through_monitorings_service(
    client: Any, session: Any
) -> None:
    """response.command asks monitoring.service.alarm_peak_level (it read the Alarm table)."""
    aid = red_alarm(client, session)
    resp = client.post(
        f"/api/v1/response/incidents/from-alarm/{aid}", headers=login(client, "commander")
    )
    assert resp.status_code == 201, resp.text
    incident = session.get(Incident, resp.json()["incident"]["id"])
    assert incident.alarm_id == aid
    assert incident.type_key == "accident_disaster.public_facility"  # from the gas sensor
    assert command._alarm_level(session, incident) == "red"
    assert alarm_peak_level(session, aid + 1) is None
