"""Every request's database session commits before the answer is sent.

FastAPI runs the exit code of a yield dependency after the response by default (scope
"request"): a form's 303 followed by a GET, or a GET right after a POST, could then read the
state from before the write (seen in the hidden-danger browser flow on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from safecity.core.deps import db
from safecity.web.app import create_app


def _db_uses(dependant: Dependant, route: str) -> Iterator[tuple[str, str | None]]:
    for sub in dependant.dependencies:
        if sub.call is db:
            yield route, sub.scope
        yield from _db_uses(sub, route)


def test_every_route_closes_its_session_before_the_answer() -> None:
    routes = [c.route for c in iter_route_contexts(create_app().routes)]
    uses = [use for r in routes if isinstance(r, APIRoute) for use in _db_uses(r.dependant, r.path)]
    assert len(uses) > 100  # the walk really reaches the routes' sessions
    late = sorted({route for route, scope in uses if scope != "function"})
    assert late == [], f"sessions committed after the answer on {late}"
