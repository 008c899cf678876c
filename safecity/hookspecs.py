"""The hooks a capability (or a city's own package) implements to plug into SafeCity.

Each capability has one ``plugin.py``; ``safecity.plugins`` registers it (and any installed
package that declares a ``safecity`` entry point), so no shared module names a capability.
A built-in capability's ``plugin.py`` is usually a ``safecity.plugins.Conventional``, which
answers these hooks from its standard files; any module whose functions are marked
``@hookimpl`` and named as below plugs in as well. Every hook is optional.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from datetime import datetime

    import typer
    from fastapi import APIRouter
    from sqlalchemy.orm import Session

PROJECT = "safecity"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Progress = Callable[[str, int, int], None]
May = Callable[[Any], bool]  # who may open a menu entry: Principal -> bool (web.access helpers)


@hookspec
def safecity_models() -> Iterable[str]:
    """Modules holding this capability's SQLAlchemy tables (imported before Alembic or
    ``create_all`` look at the metadata)."""


@hookspec
def safecity_routers() -> Iterable[APIRouter]:
    """API and page routers, included in the order given (put specific paths first)."""


@hookspec
def safecity_nav() -> Iterable[tuple[str, Iterable[tuple[str, str, May]]]]:
    """Menu groups: (group text key, entries of (href, text key, who may open it))."""


@hookspec
def safecity_start_pages() -> dict[str, str]:
    """Where a role starts after login, for roles this capability serves first (role → path)."""


@hookspec
def safecity_map_layers() -> Iterable[tuple[str, str, str, str]]:
    """Overlays of the one map: (name, GeoJSON URL, Chinese label, English label)."""


@hookspec
def safecity_texts() -> dict[str, tuple[str, str]]:
    """UI texts: key → (Chinese, English)."""


@hookspec
def safecity_cli(app: typer.Typer) -> None:
    """Add this capability's sub-commands to ``safecity``."""


@hookspec
def safecity_demo(session: Session, now: datetime, progress: Progress) -> dict[str, Any]:
    """Load this capability's part of the demo city; returns counts for the summary. Called
    in plugin order (registry, risk, hazards, monitoring, warnings, …): a capability's demo data
    may use the ones before it."""


@hookspec
def safecity_event_handlers() -> Iterable[Callable[[], None]]:
    """Idempotent ``register()`` functions that subscribe handlers to the event bus; every
    process that publishes events (web app, ingestion workers) runs them."""


@hookspec
def safecity_jobs() -> Iterable[Any]:
    """Background jobs (``safecity.core.jobs.Job``) the one job runner runs on a schedule in
    ``serve`` and once per ``safecity jobs run-once``."""


@hookspec
def safecity_kinds() -> Iterable[Any]:
    """Object kinds (``Kind``) that get the generic list / filter / detail / form / import /
    export pages and API routes."""


@hookspec
def safecity_detail_sections(
    session: Session, who: Any, kind: Any, obj: Any, now: datetime
) -> Iterable[tuple[str, dict[str, Any]]]:
    """Sections this capability adds to another kind's detail page (一企一档: an enterprise's
    inspections and cases on its registry page): ``(template, context)`` pairs rendered below
    the kind's own, in plugin ORDER, the template seeing its context as ``section``. Return
    nothing for a kind (or a caller ``who``) the capability has nothing to show for."""


@hookspec
def safecity_audit_steps() -> dict[str, tuple[str, str]]:
    """Names of this capability's steps in the audit log page: ``"<object type>.<action>"`` →
    (Chinese, English), e.g. ``"hidden_danger.confirm"`` → ("评估认定", "Confirm and grade").
    The shell names only the generic actions (create, update, archive …)."""


@hookspec
def safecity_audit_objects() -> dict[str, tuple[str, str]]:
    """Names of the object types this capability writes to the audit log that are not kinds
    (kinds name themselves): ``"enf_case"`` → ("执法案件", "enforcement case")."""


@hookspec(firstresult=True)
def safecity_origin(session: Session, object_type: str, object_id: Any) -> tuple[str, Any] | None:
    """Where another capability's object came from, when this capability made it:
    ``("alarm", 12)`` for the hidden danger monitoring opened from alarm 12; ``None`` when it
    is not this capability's to say. A page names its object's origin without importing the
    capability that made it (which may not be installed)."""


@hookspec(firstresult=True)
def safecity_may(who: Any, step: str) -> bool | None:
    """Whether ``who`` may take ``step`` (``"warning.draft"``) of this capability; ``None``
    when the step is not this capability's. Another capability's page offers the step (an
    alarm's "draft a warning") by asking here instead of importing the owner's rules; no
    answer (the owner is not installed) means no."""


@hookspec
def safecity_channels() -> Iterable[Any]:
    """Delivery channels of the one notification service (inbox, email, SMS, webhook, …);
    a city's package adds its SMS gateway here."""


@hookspec
def safecity_list_providers() -> Iterable[tuple[str, Callable[..., Any]]]:
    """Providers of the four lists (name, function), e.g. ``major-hidden-dangers``."""
