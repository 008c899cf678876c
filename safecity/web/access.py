"""Who may open which page: one table for the menu and the page guard, and each role's start page.

Every menu entry carries the check its page applies (``May``). The menu shows an entry only
when the check passes, and ``web_user`` refuses the page with 403 when it fails, so the menu and
the pages read the same rule and cannot drift apart. Pages no menu entry names are not narrowed
here (their own service checks still apply).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from sqlalchemy.sql.elements import False_

from safecity.core.scope import Principal, clause

May = Callable[[Principal], bool]

# Front-line roles work on their own patch; city-wide analysis pages are not theirs.
FRONT_LINE = frozenset({"grid_member", "enterprise_officer"})


def staff(who: Principal) -> bool:
    """Anyone who reads through the scope rule (everyone but the public)."""
    return who.can_read()


def analysis(who: Principal) -> bool:
    """City-wide analysis pages (four lists, white paper, coverage): staff off the front line."""
    return who.can_read() and who.role not in FRONT_LINE


def everyone(who: Principal) -> bool:
    return True


def admin(who: Principal) -> bool:
    return who.role == "admin"


def roles(*allowed: frozenset[str]) -> May:
    """Staff whose role is in every one of ``allowed`` (the same sets the services check)."""
    return lambda who: who.can_read() and all(who.role in a for a in allowed)


def scoped(shape: Callable[[], object]) -> May:
    """A list is worth showing when the scope rule lets the user see some of its table."""

    def may(who: Principal) -> bool:
        return who.can_read() and not isinstance(clause(who, shape()), False_)  # type: ignore[arg-type]

    return may


Entry = tuple[str, str, May]


def _groups() -> Iterator[tuple[str, tuple[Entry, ...]]]:
    """(group text key, entries) of the whole menu, in order; registry entries use the plural."""
    # The menu is assembled from every plug-in's groups, and their entries import this module.
    from safecity.plugins import collect  # noqa: PLC0415 cycle: capability menus import access

    yield "nav_map", (("/map", "nav_map", staff),)
    for group, entries in collect("safecity_nav"):
        yield group, tuple(entries)
    yield "nav_admin", (("/admin/users", "nav_users", admin), ("/admin/audit", "nav_audit", admin))


def menu(who: Principal) -> dict[str, list[tuple[str, str]]]:
    """The entries this user may open, per group (groups with none left out)."""
    shown: dict[str, list[tuple[str, str]]] = {}
    for group, entries in _groups():
        mine = [(href, key) for href, key, may in entries if may(who)]
        if mine:
            shown[group] = mine
    return shown


def allowed(who: Principal, path: str) -> bool:
    """Whether ``who`` may open the page at ``path``: some menu entry naming it lets them
    (``/hazards`` is both the list and, filtered, the triage queue)."""
    path = urlsplit(path).path
    checks = [
        may for _, entries in _groups() for href, _, may in entries if urlsplit(href).path == path
    ]
    return not checks or any(may(who) for may in checks)


# Where each role starts after login; roles not listed start on the one map.
START_PAGES: dict[str, str] = {
    "public": "/public/warnings",
    "grid_member": "/hazards/tasks",
    "enterprise_officer": "/hazards",
    "duty_officer": "/monitoring/alarms",
}


def start_page(who: Principal) -> str:
    # A capability that serves a role first names its start page (safecity_start_pages).
    from safecity.plugins import merged  # noqa: PLC0415 cycle: capability menus import access

    page = {**START_PAGES, **merged("safecity_start_pages")}.get(who.role, "/map")
    return page if allowed(who, page) else "/public/warnings"
