"""The plug-in kernel: capabilities answer the standard hooks from their standard files through
``Conventional``, every reference a plugin.py declares exists, and a city's own package still
plugs in with plain pluggy ``@hookimpl`` functions through a ``safecity`` entry point."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi import APIRouter

from safecity import plugins
from safecity.plugins import Conventional, _capability_plugins, _plugin
from safecity.web.admin_views import _action_label

REF_ATTRIBUTES = ("routers", "kinds", "cli", "demo", "jobs", "event_handlers", "channels")


def _refs(plugin: Conventional) -> list[str]:
    found: list[str] = []
    for attribute in REF_ATTRIBUTES:
        value = getattr(plugin, attribute)
        found += list(value) if isinstance(value, tuple) else [value] if value else []
    return found + [ref for _name, ref in plugin.list_providers]


def test_every_declared_reference_exists() -> None:
    """A default reference whose module is missing contributes nothing (a capability without a
    cli.py has no commands); one a plugin.py declares must exist, or a typo would silently drop
    routes, jobs or handlers."""
    conventional = [_plugin(m) for m in _capability_plugins()]
    conventional = [p for p in conventional if isinstance(p, Conventional)]
    assert {p.name for p in conventional} >= {"registry", "risk", "hazards", "monitoring"}
    for plugin in conventional:
        for ref in _refs(plugin):
            if ref in _refs(Conventional("safecity.x.plugin")):
                continue  # a default: optional
            module = ref.partition(":")[0]
            assert plugin.has(module), f"{plugin.name}: {ref} names no module"
            assert plugin.part(ref) is not None, f"{plugin.name}: {ref}"


def test_plugins_run_in_their_order() -> None:
    names = plugins.capability_names()
    assert names[:5] == ["registry", "risk", "hazards", "monitoring", "warnings"]
    assert names[-1] == "indicators"
    demo = [impl.plugin_name for impl in plugins.manager().hook.safecity_demo.get_hookimpls()]
    # pluggy calls the last registered first: the reversed list is the call order
    called = [n.split(".")[1] for n in reversed(demo)]
    assert called.index("risk") < called.index("hazards") < called.index("indicators")


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith(("kernelcap", "mycity"))]:
        del sys.modules[name]


def test_conventional_reads_the_standard_files(on_path: Path) -> None:
    _write(
        on_path / "kernelcap",
        {
            "__init__.py": "",
            "api.py": "from fastapi import APIRouter\nrouter = APIRouter(prefix='/api/v1/k')\n",
            "texts.py": "TEXTS = {'kc_title': ('标题', 'Title')}\n",
            "nav.py": "NAV = (('/k', 'kc_title', None),)\nSTART_PAGES = {'inspector': '/k'}\n",
            "jobs.py": "def declared():\n    return ['kc.job']\n",
            "cli.py": "def register(app):\n    app.command('kc-hello')(lambda: None)\n",
            "demo.py": "def load(session, now, progress):\n    return {'kc': 1}\n",
        },
    )
    plugin = Conventional("kernelcap.plugin")
    (router,) = plugin.safecity_routers()  # no views.py: only the API router
    assert isinstance(router, APIRouter) and router.prefix == "/api/v1/k"
    assert plugin.safecity_texts() == {"kc_title": ("标题", "Title")}
    assert plugin.safecity_nav() == [("nav_kernelcap", (("/k", "kc_title", None),))]
    assert plugin.safecity_start_pages() == {"inspector": "/k"}
    assert plugin.safecity_map_layers() is None  # nav.py has none
    assert plugin.safecity_models() is None  # no models.py
    assert plugin.safecity_kinds() is None
    assert list(plugin.safecity_jobs() or []) == ["kc.job"]
    assert plugin.safecity_demo(session=None, now=None, progress=None) == {"kc": 1}
    app = typer.Typer()
    plugin.safecity_cli(app)
    assert [c.name for c in app.registered_commands] == ["kc-hello"]

    class Quiet(Conventional):
        demo = None
        jobs = "jobs:missing"

    quiet = Quiet("kernelcap.plugin")
    assert quiet.safecity_demo(session=None, now=None, progress=None) is None
    with pytest.raises(AttributeError):  # the module exists: a wrong name is a mistake
        quiet.safecity_jobs()


def test_a_city_package_plugs_in_with_plain_hookimpls(on_path: Path) -> None:
    """An installed package with a ``safecity`` entry point and plain functions: no base class,
    nothing but pluggy. Its texts, menu and router join the built-in capabilities'."""
    _write(
        on_path,
        {
            "mycity/__init__.py": "",
            "mycity/plugin.py": (
                "from fastapi import APIRouter\n"
                "from safecity.hookspecs import hookimpl\n\n"
                "router = APIRouter(prefix='/api/v1/mycity')\n\n\n"
                "@router.get('/hello')\n"
                "def hello() -> dict[str, str]:\n"
                "    return {'hello': 'mycity'}\n\n\n"
                "@hookimpl\n"
                "def safecity_texts():\n"
                "    return {'mc_sms': ('本市短信网关', 'City SMS gateway')}\n\n\n"
                "@hookimpl\n"
                "def safecity_routers():\n"
                "    return [router]\n\n\n"
                "@hookimpl\n"
                "def safecity_nav():\n"
                "    return [('nav_mycity', (('/mycity', 'mc_sms', None),))]\n"
            ),
            "mycity-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: mycity\nVersion: 1.0\n",
            "mycity-1.0.dist-info/entry_points.txt": "[safecity]\nmycity = mycity.plugin\n",
        },
    )
    pm = plugins.manager.__wrapped__()  # a fresh manager: the cached one predates the package
    assert pm.get_plugin("mycity") is not None
    texts: dict[str, Any] = {}
    for part in pm.hook.safecity_texts():
        texts.update(part)
    assert texts["mc_sms"] == ("本市短信网关", "City SMS gateway")
    assert "kind_enterprise" in texts  # the built-ins are there too
    routers = [r for part in pm.hook.safecity_routers() for r in part]
    assert any(r.prefix == "/api/v1/mycity" for r in routers)
    groups = [group for part in pm.hook.safecity_nav() for group, _entries in part]
    assert groups[-1] == "nav_mycity"  # a city's package comes after the built-ins
    assert groups[0] == "nav_registry"


def test_the_audit_log_names_a_capabilitys_steps_through_the_hook() -> None:
    """The audit page asks the plug-ins for step names (safecity_audit_steps) instead of
    importing the hidden-danger workflow."""
    steps = plugins.merged("safecity_audit_steps")
    assert steps["hidden_danger.confirm"] == ("评估认定", "Confirm and grade")
    assert _action_label("confirm", "zh", "hidden_danger") == "评估认定"
    assert _action_label("confirm", "en", "hidden_danger") == "Confirm and grade"
    assert _action_label("report", "zh", "hidden_danger") == "上报隐患"  # the shell's own first
    assert _action_label("confirm", "zh", "warning") != "评估认定"  # only for hidden dangers


def test_what_moved_into_the_standard_files_still_arrives() -> None:
    """The start pages, map layers and router order the plugin.py files used to spell out."""
    starts = plugins.merged("safecity_start_pages")
    assert starts["inspector"] == "/enforcement" and starts["risk_analyst"] == "/risk/lists"
    layers = [name for name, *_rest in plugins.collect("safecity_map_layers")]
    assert layers[:3] == ["risk-districts", "risk-hazards", "risk-points"]
    assert {"alarms", "sensors", "warnings", "rescue-teams", "shelters"} <= set(layers)
    routers = plugins.collect("safecity_routers")
    ingest = _plugin(importlib.import_module("safecity.monitoring.plugin")).part(
        "api:ingest_router"
    )
    assert routers[0] is ingest  # tryfirst: devices post readings more than anything else
    paper = _plugin(importlib.import_module("safecity.risk.plugin")).part("whitepaper.views:router")
    risk = [r for r in routers if any(getattr(x, "path", "").startswith("/risk") for x in r.routes)]
    assert risk[0] is paper  # before /risk/{id} would take its paths
    nav = dict(plugins.collect("safecity_nav"))
    assert [href for href, *_ in nav["nav_registry"]][:1] == ["/registry/divisions"]
    assert ("/resources/analysis", "nav_res_analysis") in [
        (h, k) for h, k, _ in nav["nav_resources"]
    ]
    registry = _plugin(importlib.import_module("safecity.registry.plugin"))
    assert registry.safecity_demo(session=None, now=None, progress=None) is None


def test_every_built_in_capability_plugs_in_through_conventional() -> None:
    """One way to plug in: no built-in capability is a module of hand-written @hookimpl
    functions any more (response was), and each one with texts declares its key prefix."""
    by_name = {m.__name__.split(".")[1]: _plugin(m) for m in _capability_plugins()}
    hand_wired = sorted(n for n, p in by_name.items() if not isinstance(p, Conventional))
    assert hand_wired == []
    response = by_name["response"]
    assert (response.order, response.text_prefix) == (70, "rs_")
    # what response.plugin spelled out by hand arrives from its standard files
    assert response.safecity_models() == ["safecity.response.models"]
    (group, entries), *_ = response.safecity_nav()
    assert group == "nav_response" and entries[0][:2] == ("/response/incidents", "rs_nav_incidents")
    assert [job.name for job in response.safecity_jobs()] == ["response.overdue-reports"]
    assert response.safecity_start_pages() == {"commander": "/response/incidents?open=1"}
    assert [name for name, *_ in response.safecity_map_layers()] == ["incidents"]
    paths = {
        getattr(r, "path", "") for router in response.safecity_routers() for r in router.routes
    }
    assert {"/api/v1/response/incidents", "/response/incidents"} <= paths
