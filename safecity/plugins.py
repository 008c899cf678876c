"""The one plug-in manager: finds every capability's ``plugin.py`` and installed city packages.

A capability is a folder ``safecity/<name>/`` with a ``plugin.py``. Most of what it contributes
lives in standard files, so its ``plugin.py`` is usually a few lines::

    class Hazards(Conventional):
        order = 30  # demo data and menus follow it
        list_providers = (("major-hidden-dangers", "provider:major_hidden_dangers"),)

    plugin = Hazards(__name__)

``Conventional`` answers the standard hooks from the standard files (see its docstring) and the
subclass declares only what is special, as attributes or as ``@hookimpl`` methods. pluggy stays
the protocol: a ``plugin.py`` without a ``plugin`` object is registered as a module of plain
``@hookimpl`` functions (with ``ORDER``), and a city's own package plugs in the same way through
a ``safecity`` entry point (``pyproject.toml``: ``[project.entry-points.safecity] mycity =
"mycity.plugin"``).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from safecity import hookspecs
from safecity.hookspecs import Progress, hookimpl

_PACKAGE = Path(__file__).resolve().parent


class Conventional:
    """A capability plugged in by its standard files; ``Conventional(__name__)`` in its
    ``plugin.py`` (or a subclass's instance) is what the manager registers.

    Each hook reads the capability's own modules on demand (so ``safecity --help`` stays
    quick); a part whose module does not exist is simply not contributed:

    ============================  =========================================================
    hook                          from
    ============================  =========================================================
    ``safecity_models``           ``models.py``
    ``safecity_routers``          ``routers``: ``api:router``, ``views:router``
    ``safecity_kinds``            ``kinds``: ``kinds:KINDS``
    ``safecity_texts``            ``texts.py`` ``TEXTS`` plus the kinds' names
    ``safecity_nav``              ``nav.py`` ``NAV`` (else an entry per kind) in group
                                  ``nav_<name>``
    ``safecity_map_layers``       ``nav.py`` ``MAP_LAYERS``
    ``safecity_start_pages``      ``nav.py`` ``START_PAGES``
    ``safecity_cli``              ``cli``: ``cli:register`` (called with the app)
    ``safecity_demo``             ``demo``: ``demo:load`` (called with session, now, progress)
    ``safecity_jobs``             ``jobs``: ``jobs:declared`` (called)
    ``safecity_event_handlers``   ``event_handlers``: ``()``
    ``safecity_list_providers``   ``list_providers``: ``()`` of (list name, reference)
    ``safecity_channels``         ``channels``: ``()``
    ``safecity_audit_objects``    ``texts.py`` ``AUDIT_OBJECTS`` (optional)
    ``safecity_audit_steps``      ``texts.py`` ``AUDIT_STEPS`` (optional)
    ============================  =========================================================

    ``text_prefix`` is the capability's own start of its text keys (``"hd_"``): every key in
    its ``texts.py`` starts with it, or is a menu key (``nav_`` + prefix, ``nav_<name>``…),
    so two capabilities never define the same key (tests/core/test_texts.py).

    A reference is ``"module:attribute"`` relative to the capability's package (``"api:router"``,
    ``"points.api:router"``); set one to ``None`` to contribute nothing. A subclass sets
    ``order`` (demo data and menus follow it) and what differs, and adds ``@hookimpl``
    methods for what is special (``safecity_detail_sections``, ``tryfirst`` routers).
    """

    order: int = 1000
    text_prefix: str | None = None
    routers: tuple[str, ...] = ("api:router", "views:router")
    kinds: str | None = "kinds:KINDS"
    cli: str | None = "cli:register"
    demo: str | None = "demo:load"
    jobs: str | None = "jobs:declared"
    event_handlers: tuple[str, ...] = ()
    list_providers: tuple[tuple[str, str], ...] = ()
    channels: tuple[str, ...] = ()
    audit_labels: str | None = "texts"  # module with AUDIT_OBJECTS / AUDIT_STEPS, each optional

    def __init__(self, module_name: str) -> None:
        self.package = module_name.rsplit(".", 1)[0]  # safecity.hazards.plugin → safecity.hazards
        self.name = self.package.rsplit(".", 1)[-1]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.package}>"

    # ------------------------------------------------------------------ standard files

    def has(self, module: str) -> bool:
        """Whether the capability has ``module`` (``"nav"``, ``"points.api"``)."""
        return importlib.util.find_spec(f"{self.package}.{module}") is not None

    def part(self, ref: str | None, default: Any = None) -> Any:
        """What ``"module:attribute"`` names, or ``default`` when the module does not exist; a
        module that exists without the attribute is a mistake and raises AttributeError."""
        if ref is None:
            return default
        module, _, attribute = ref.partition(":")
        if not self.has(module):
            return default
        return getattr(importlib.import_module(f"{self.package}.{module}"), attribute)

    def _nav(self, attribute: str) -> Any:
        """``nav.py`` holds where the capability shows up; each of its names is optional."""
        if not self.has("nav"):
            return None
        return getattr(importlib.import_module(f"{self.package}.nav"), attribute, None)

    def kind_list(self) -> list[Any]:
        return list(self.part(self.kinds, ()))

    def _audit_table(self, attribute: str) -> dict[str, tuple[str, str]]:
        """The audit log's names in ``audit_labels`` (``texts.py``); each table is optional."""
        if self.audit_labels is None or not self.has(self.audit_labels):
            return {}
        module = importlib.import_module(f"{self.package}.{self.audit_labels}")
        return dict(getattr(module, attribute, {}))

    # ------------------------------------------------------------------ the standard hooks

    @hookimpl
    def safecity_models(self) -> Iterable[str] | None:
        return [f"{self.package}.models"] if self.has("models") else None

    @hookimpl
    def safecity_routers(self) -> Iterable[Any]:
        return [r for r in (self.part(ref) for ref in self.routers) if r is not None]

    @hookimpl
    def safecity_kinds(self) -> Iterable[Any] | None:
        return self.kind_list() or None

    @hookimpl
    def safecity_texts(self) -> dict[str, tuple[str, str]] | None:
        from safecity.core.kinds import kind_texts  # noqa: PLC0415 loaded on demand

        texts = dict(self.part("texts:TEXTS", {})) | kind_texts(self.kind_list())
        return texts or None

    @hookimpl
    def safecity_nav(self) -> Iterable[tuple[str, Iterable[tuple[str, str, Any]]]] | None:
        from safecity.core.kinds import nav_entries  # noqa: PLC0415 loaded on demand

        entries = self._nav("NAV")
        if entries is None:
            entries = nav_entries(self.kind_list())
        return [(f"nav_{self.name}", entries)] if entries else None

    @hookimpl
    def safecity_map_layers(self) -> Iterable[tuple[str, str, str, str]] | None:
        return self._nav("MAP_LAYERS")

    @hookimpl
    def safecity_start_pages(self) -> dict[str, str] | None:
        return self._nav("START_PAGES")

    @hookimpl
    def safecity_cli(self, app: Any) -> None:
        register = self.part(self.cli)
        if register is not None:
            register(app)

    @hookimpl
    def safecity_demo(
        self, session: Any, now: datetime, progress: Progress
    ) -> dict[str, Any] | None:
        load = self.part(self.demo)
        return None if load is None else load(session, now, progress=progress)

    @hookimpl
    def safecity_jobs(self) -> Iterable[Any] | None:
        declared = self.part(self.jobs)
        return None if declared is None else declared()

    @hookimpl
    def safecity_event_handlers(self) -> Iterable[Callable[[], None]]:
        return [self.part(ref) for ref in self.event_handlers]

    @hookimpl
    def safecity_list_providers(self) -> Iterable[tuple[str, Callable[..., Any]]]:
        return [(name, self.part(ref)) for name, ref in self.list_providers]

    @hookimpl
    def safecity_channels(self) -> Iterable[Any]:
        return [self.part(ref) for ref in self.channels]

    @hookimpl
    def safecity_audit_objects(self) -> dict[str, tuple[str, str]] | None:
        return self._audit_table("AUDIT_OBJECTS") or None

    @hookimpl
    def safecity_audit_steps(self) -> dict[str, tuple[str, str]] | None:
        return self._audit_table("AUDIT_STEPS") or None


def _plugin(module: ModuleType) -> Any:
    """What a ``plugin.py`` registers: its ``plugin`` object, else the module itself."""
    return getattr(module, "plugin", module)


def _order(module: ModuleType) -> tuple[int, str]:
    return (getattr(module, "ORDER", getattr(_plugin(module), "order", 1000)), module.__name__)


def _capability_plugins() -> list[ModuleType]:
    found = [
        importlib.import_module(f"safecity.{info.name}.plugin")
        for info in pkgutil.iter_modules([str(_PACKAGE)])
        if info.ispkg and (_PACKAGE / info.name / "plugin.py").exists()
    ]
    return sorted(found, key=_order)


@cache
def manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    # pluggy calls the most recently registered first: register in reverse so hooks run in
    # ORDER (registry before risk before hazards …), then city packages after the built-ins.
    pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    for module in reversed(_capability_plugins()):
        pm.register(_plugin(module), name=module.__name__)
    return pm


def hook() -> Any:
    return manager().hook


def capability_names() -> list[str]:
    """The built-in capabilities in ORDER (``registry``, ``risk``, ``hazards``, …)."""
    return [m.__name__.split(".")[1] for m in _capability_plugins()]


def collect(hook_name: str, **kwargs: Any) -> list[Any]:
    """Every plug-in's answer to ``hook_name`` flattened into one list, in ORDER."""
    results = getattr(hook(), hook_name)(**kwargs)
    out: list[Any] = []
    for result in results:
        if isinstance(result, dict):
            out.append(result)
        else:
            out.extend(result)
    return out


def merged(hook_name: str, **kwargs: Any) -> dict[Any, Any]:
    """Every plug-in's dict answer to ``hook_name`` merged, later plug-ins winning."""
    out: dict[Any, Any] = {}
    for result in getattr(hook(), hook_name)(**kwargs):
        out.update(result)
    return out


def register_handlers() -> None:
    """Subscribe every capability's event handlers to the in-process bus; safe to call again
    (the bus ignores a handler it already has, and each register() only refreshes its own
    state). The web app and the ingestion processes both call it, so they cannot drift apart."""
    for register in collect("safecity_event_handlers"):
        register()
