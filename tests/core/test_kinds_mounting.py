"""One way to mount a kind: declaring it in ``safecity_kinds`` is enough — the app mounts every
kind's API and pages once, after all plug-ins' own routers (a plug-in mounting its kinds too, or
a kind mounted before a capability's specific paths, fails here)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi.routing import iter_route_contexts

from safecity.core.kinds import find
from safecity.plugins import collect
from safecity.web.app import create_app

KINDS = collect("safecity_kinds")


def _routes(app: Any) -> list[tuple[str, str]]:
    return [
        (method, r.path)
        for r in iter_route_contexts(app.routes)
        for method in sorted(getattr(r, "methods", None) or ())
    ]


def test_every_kind_is_mounted_once_after_the_plugins_own_routes() -> None:
    routes = _routes(create_app())
    twice = sorted(k for k, n in Counter(routes).items() if n > 1 and k[0] != "HEAD")
    assert not twice, f"routes mounted twice: {twice}"
    position = {route: i for i, route in enumerate(routes)}
    first_kind_route = min(position[("GET", k.api_url)] for k in KINDS)
    for kind in KINDS:
        for route in (("GET", kind.url), ("GET", kind.url + "/{key}"), ("GET", kind.api_url)):
            assert route in position, f"{kind.name}: {route} is not mounted"
        if kind.map_props:
            assert ("GET", kind.api_url + "/layer") in position
    # a capability's own paths under a kind's prefix come first, so they win over its {key}
    for own in (
        ("GET", "/api/v1/monitoring/sensors/{sensor_id}/readings"),
        ("PUT", "/api/v1/monitoring/sensors/{sensor_id}/alarm-settings"),
        ("GET", "/api/v1/monitoring/sensor-types"),
    ):
        assert position[own] < first_kind_route, own


def test_the_kinds_declared_today_get_the_standard_tests() -> None:
    # tests/core/test_kinds_standard.py is parametrised over exactly this list
    names = {f"{k.prefix}/{k.plural}" for k in KINDS}
    assert {
        "registry/divisions",
        "registry/grid-cells",
        "registry/enterprises",
        "registry/protected-targets",
        "monitoring/sensors",
        "resources/rescue-teams",
        "resources/shelters",
    } <= names
    sensor = find("sensors", KINDS)
    assert sensor is not None and sensor.url == "/monitoring/sensors"
    assert sensor.api_url == "/api/v1/monitoring/sensors" and sensor.credential is not None
