"""The audit log page names objects and steps from the plug-ins (safecity_audit_objects /
safecity_audit_steps): the admin views name no capability, and a plug-in registered while the
app runs is named on /admin/audit without any change to the web shell."""

from __future__ import annotations

import ast
import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from safecity import plugins
from safecity.core import audit
from safecity.hookspecs import hookimpl
from safecity.web import admin_views
from safecity.web.i18n import OBJECTS
from tests.conftest import web_login

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def web(client: Any) -> Any:
    client.headers["accept"] = "text/html,application/xhtml+xml"
    return client


class _CityPlugin:
    """A city's own package: plain @hookimpl methods, no base class."""

    @hookimpl
    def safecity_audit_objects(self) -> dict[str, tuple[str, str]]:
        return {"mc_permit": ("动火作业许可", "hot-work permit")}

    @hookimpl
    def safecity_audit_steps(self) -> dict[str, tuple[str, str]]:
        return {"mc_permit.countersign": ("会签", "countersign")}


@pytest.fixture
def city_plugin() -> Any:
    pm = plugins.manager()
    plugin = _CityPlugin()
    pm.register(plugin, name="mycity-audit")
    yield plugin
    pm.unregister(plugin)


def _cells(page: str) -> list[tuple[str, str]]:
    """(action, object) of each row of the audit table."""
    body = page.split('id="audit-table"', 1)[1]
    found = re.findall(r"<td>([^<]*)</td><td>([^<]*)</td>\s*<td>(?:<details>|</td>)", body)
    return [(html.unescape(a), html.unescape(o)) for a, o in found]


def test_a_plugin_registered_at_run_time_names_its_objects_and_steps(
    web: Any, session: Any, city_plugin: Any
) -> None:
    audit.record(
        session, actor="admin", action="countersign", object_type="mc_permit", object_id=7,
        before=None, after=None, now=AT,
    )  # fmt: skip
    audit.record(
        session, actor="admin", action="countersign", object_type="user", object_id="u1",
        before=None, after=None, now=AT,
    )  # fmt: skip
    session.commit()
    web_login(web, "admin")
    rows = _cells(web.get("/admin/audit").text)
    assert ("会签", "动火作业许可 #7") in rows
    # the step's name belongs to its object type: a user's "countersign" stays unnamed
    assert ("countersign", "用户 #u1") in rows
    page = web.get("/admin/audit").text
    assert '<option value="mc_permit">动火作业许可</option>' in page  # the object filter too
    web.get("/lang/en?next=/admin/audit")
    assert ("countersign", "hot-work permit #7") in _cells(web.get("/admin/audit").text)
    plugins.manager().unregister(city_plugin)
    rows = _cells(web.get("/admin/audit").text)
    plugins.manager().register(city_plugin, name="mycity-audit")  # the fixture unregisters
    assert ("countersign", "mc_permit #7") in rows  # gone with its plug-in


def test_each_capability_names_its_own_labels() -> None:
    """The labels that were a table in admin_views come from the capability that writes them."""
    owner: dict[str, str] = {}
    for hook in ("safecity_audit_objects", "safecity_audit_steps"):
        for impl in getattr(plugins.manager().hook, hook).get_hookimpls():
            for key in impl.function() or {}:
                owner[key] = impl.plugin_name.split(".")[1]
    assert owner["enf_case"] == owner["enf_case.return"] == "enforcement"
    assert owner["incident_dispatch"] == owner["incident.receive"] == "response"
    assert owner["transfer_request"] == owner["transfer_request.return"] == "resources"
    assert owner["statistic"] == owner["statistic.record"] == "indicators"
    assert owner["hidden_danger.report"] == owner["hidden_danger.confirm"] == "hazards"
    assert owner["hidden_danger"] == owner["hd_task"] == "hazards"
    assert owner["alarm"] == owner["alarm.alarm_acknowledge"] == "monitoring"
    assert owner["sensor.rotate_token"] == "monitoring" and owner["warning"] == "warnings"
    objects, steps = admin_views.audit_labels()
    assert admin_views._action_label("return", "zh", "enf_case", steps) == "退回补充调查"
    assert admin_views._action_label("return", "zh", "transfer_request", steps) == "归还"
    assert admin_views._action_label("update", "en", "enf_case", steps) == "update"  # shell's
    assert objects["enterprise"] == ("企业", "Enterprise")  # kinds name themselves
    assert admin_views._action_label("alarm_resolve", "en", "alarm", steps) == "resolve alarm"
    assert set(OBJECTS) == {
        "user",
        "city",
        "risk_point",
        "major_hazard",
        "risk_signal",
        "risk_setting",
    }


def test_admin_views_name_no_capability() -> None:
    """No capability's package is imported, and no plug-in's audit key is written, in the admin
    views: a new capability's labels need no change to the web shell."""
    path = Path(admin_views.__file__)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    names = plugins.capability_names()
    assert not [m for m in imported if m.split(".")[:2][-1] in names], imported
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    objects, steps = admin_views.audit_labels()
    from_plugins = set(plugins.merged("safecity_audit_objects")) | set(steps)
    assert len(from_plugins) > 60
    assert not from_plugins & literals, from_plugins & literals
