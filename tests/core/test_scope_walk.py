"""Generated scope test: walk the app's route table and, for every GET endpoint under /api/v1
and every role of the test city, check that nothing outside the role's scope comes back.

Nothing here is written per endpoint: every JSON answer is searched for objects (any dict with
a ``division_code``; the enterprise list's rows; a division's ``code``) and each is judged by
an oracle written out by hand below (not by safecity.core.scope, the code under test). A
detail endpoint ``…/{id}`` is called for the ids its list shows the admins, and must answer
200 exactly for the ids the role's own list shows (clause and check agree). A new endpoint is
covered the day it is added; one the walker cannot call or read fails this test unless it is
in ``NOT_WALKED`` with the reason.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select, true

from safecity.core import scope
from safecity.core.models import User
from safecity.registry.models import Enterprise
from tests.conftest import login
from tests.scope_city import seed_everything

# Endpoints the walker does not call, each with why (review when adding one).
NOT_WALKED = {
    "/api/v1/openapi.json": "the API description, no data",
    "/api/v1/docs": "Swagger UI page",
    "/api/v1/monitoring/alarms/stream": "server-sent events never end; same query as /alarms",
    "/api/v1/hazards/{hd_id}/photos/{name}": "a file behind a hidden danger checked by detail",
    "/api/v1/risk/white-paper": "PDF/DOCX; scope covered in tests/risk/test_whitepaper.py",
    "/api/v1/warnings/feed.atom": "public Atom feed of issued warnings (public by design)",
    "/api/v1/warnings/{warning_id}/cap.xml": "CAP XML of a warning checked by its JSON detail",
    "/api/v1/hazards/stats/export": "XLSX of /hazards/stats, which is walked",
    "/api/v1/risk/points/export": "XLSX of /risk/points, which is walked",
    "/api/v1/me": "the caller's own account",
    "/api/v1/hazards/notifications": "the caller's own inbox",
    "/api/v1/hazards/notifications/unread-count": "the caller's own inbox",
    "/api/v1/enforcement/stats.xlsx": "XLSX of /enforcement/stats, which is walked",
    "/api/v1/enforcement/inspections/{inspection_id}/signatures/{name}": (
        "a signature PNG behind an inspection checked by detail (tests/enforcement/test_signatures)"
    ),
    "/api/v1/response/plans/{plan_id}/export.{fmt}": (
        "JSON/XLSX of a plan read through the same scoped get_plan as /plans/{plan_id}, walked"
    ),
    "/api/v1/response/incidents/{incident_id}/documents/{kind}.{fmt}": (
        "DOCX/PDF report of an incident checked by its JSON detail"
    ),
    "/api/v1/indicators/sets/{set_id}/values/{key}/{division}/{year}": (
        "drill-down of one figure; scope in tests/indicators (another district 404)"
    ),
    "/api/v1/indicators/statistics/{division}/{year}/{name}/history": (
        "versions of one statistic; scope in tests/indicators (another district 404)"
    ),
    # Travel-time answers need an imported road network, which the walked city has not; their
    # scope (every answer narrowed to the caller's divisions) is in tests/resources.
    "/api/v1/resources/coverage": "needs a road network; scope in tests/resources",
    "/api/v1/resources/isochrone": "needs a road network; scope in tests/resources",
    "/api/v1/resources/nearest": "needs a road network; scope in tests/resources",
    "/api/v1/resources/shelters-for": "needs a road network; scope in tests/resources",
    "/api/v1/resources/stock-near": "needs a road network; scope in tests/resources",
}
# Blank import templates carry no data: every …/template endpoint is skipped by this rule.
TEMPLATE = "/template"
# Query parameters an endpoint needs to answer at all (the walker fails on a 422 otherwise).
PARAMS: dict[str, dict[str, str]] = {
    "/api/v1/risk/map": {"unit": "grid"},
    "/api/v1/risk/map/explain": {"unit": "district", "id": "370602"},
    "/api/v1/risk/map/hazards": {},
    "/api/v1/response/accident-records": {"year": "2026"},
}
# Where a path parameter's values come from when the list is not the path's own prefix.
ID_SOURCES = {
    "/api/v1/risk/enterprises/{enterprise_id}/level": "/api/v1/enterprises",
    "/api/v1/map/layers/{name}": ["divisions", "grid-cells", "enterprises", "protected-targets"],
    "/api/v1/risk/lists/{name}": [
        "major-risks",
        "major-hazards",
        "major-hidden-dangers",
        "vulnerable-targets",
    ],
}
# Objects that are the division's frame or programme rather than anyone's enterprise data:
# an enterprise officer may see them within their division (README "Roles and scope").
FRAME = (
    "/api/v1/divisions",
    "/api/v1/map/layers/{name}?divisions",
    "/api/v1/risk/map",
    "/api/v1/risk/map/explain",
    "/api/v1/risk/lists/{name}?vulnerable-targets",
    "/api/v1/hazards/plans",
    "/api/v1/hazards/checklists",
    "/api/v1/warnings/divisions",
    "/api/v1/risk/area-rule",
    "/api/v1/warnings/public",
    "/api/v1/risk/settings",
)
# City settings and templates are read from above: a district sees its city's.
ABOVE = ("/api/v1/risk/area-rule", "/api/v1/hazards/checklists", "/api/v1/risk/settings")
ROLES = [
    "admin",
    "commander",
    "duty",
    "analyst",
    "inspector",
    "liaison",
    "liaison26",
    "zhifu",
    "laishan",
    "grid",
    "enterprise",
    "public",
    "qdadmin",
]
SECTION_OF = {"26": "C", "54": "G", "51": "F"}  # the industry codes the test city uses


def _prefix(code: str) -> str:
    """370600 → 3706, 370602 → 370602, 370000 → 37 (6-digit codes only in the test city)."""
    return code[:2] if code[2:] == "0000" else code[:4] if code[4:] == "00" else code


class Oracle:
    """What a user may see, decided from the seeded facts alone."""

    def __init__(self, user: User, industry_of: dict[int, str]) -> None:
        self.user, self.industry_of = user, industry_of

    def leak(self, where: str, item: dict[str, Any]) -> str | None:
        u = self.user
        division = item.get("division_code") or item.get("code")
        if u.role == "public":
            return "the public reads nothing"
        inside = str(division or "").startswith(_prefix(u.division_code))
        above = where.startswith(ABOVE) and u.division_code.startswith(_prefix(division or "x"))
        if not (inside or above):
            return f"division {division}"
        has_ent = "enterprise_id" in item
        ent = item.get("enterprise_id") if has_ent else None
        if (
            u.role == "enterprise_officer"
            and not where.startswith(FRAME)
            and ent != u.enterprise_id
        ):
            return f"enterprise {ent!r}"
        if u.role == "department_liaison" and (has_ent or item.get("industry_code")):
            code = item.get("industry_code") or self.industry_of.get(ent or -1, "")
            ok = (
                code.startswith(u.industry)
                if u.industry.isdigit()
                else SECTION_OF.get(code[:2]) == u.industry
            )
            if not ok:
                return f"industry {code!r}"
        return None


def _objects(where: str, body: Any) -> list[dict[str, Any]]:
    """Every dict in a JSON answer that names a division (the enterprise rows by their id)."""
    found: list[dict[str, Any]] = []
    if isinstance(body, dict):
        if "division_code" in body or (where.startswith("/api/v1/divisions") and "code" in body):
            item = dict(body)
            if (
                where.startswith("/api/v1/enterprises") or where.endswith("?enterprises")
            ) and "id" in item:
                item.setdefault("enterprise_id", item["id"])
            found.append(item)
        for value in body.values():
            found += _objects(where, value)
    elif isinstance(body, list):
        for value in body:
            found += _objects(where, value)
    return found


def _get_routes(app: Any) -> list[str]:
    return [
        r.path
        for r in iter_route_contexts(app.routes)
        if getattr(r, "path", "").startswith("/api/v1") and "GET" in (r.methods or ())
    ]


def _ids(client: Any, headers: list[dict[str, str]], path: str, param: str) -> list[str]:
    source = ID_SOURCES.get(path, path[: path.index("/{" + param)])
    if isinstance(source, list):
        return source
    ids: set[str] = set()
    for h in headers:
        body = client.get(source, headers=h).json()
        rows = body.get("items", body) if isinstance(body, dict) else body
        ids |= {str(r["id"]) for r in rows if isinstance(r, dict) and "id" in r}
    return sorted(ids)


def walk(client: Any, session: Any, roles: list[str] = ROLES, under: str = "/api/v1") -> list[str]:
    """Every scope problem found: leaks, list/detail disagreements, endpoints not classified."""
    problems: list[str] = []
    industry_of = dict(session.execute(select(Enterprise.id, Enterprise.industry_code)).all())
    users = {u.username: u for u in session.scalars(select(User))}
    tokens = {r: login(client, r) for r in roles}
    admins = [login(client, "admin"), login(client, "qdadmin")]
    for path in _get_routes(client.app):
        if path in NOT_WALKED or path.endswith(TEMPLATE) or not path.startswith(under):
            continue
        params = re.findall(r"{(\w+)}", path)
        if len(params) > 1:
            problems.append(f"{path}: cannot walk two path parameters (add to NOT_WALKED)")
            continue
        values = _ids(client, admins, path, params[0]) if params else [""]
        for role in roles:
            oracle = Oracle(users[role], industry_of)
            listed = _listed_ids(client, tokens[role], path, params)
            for value in values:
                url = path.replace("{" + params[0] + "}", value) if params else path
                where = path + (f"?{value}" if path in ID_SOURCES else "")
                query = PARAMS.get(path, {"format": "csv"} if path.endswith("/export") else {})
                resp = client.get(url, params=query, headers=tokens[role])
                problems += _judge(where, role, resp, oracle, listed, value)
    return problems


def _listed_ids(client: Any, h: dict[str, str], path: str, params: list[str]) -> set[str] | None:
    if not params or path in ID_SOURCES or not path.endswith("{" + params[0] + "}"):
        return None
    resp = client.get(path[: path.index("/{")], headers=h)
    if resp.status_code != 200:
        return set()
    body = resp.json()
    rows = body.get("items", body) if isinstance(body, dict) else body
    return {str(r["id"]) for r in rows if isinstance(r, dict) and "id" in r}


def _judge(
    where: str, role: str, resp: Any, oracle: Oracle, listed: set[str] | None, value: str
) -> list[str]:
    if resp.status_code in (401, 403, 404):
        if listed is not None and value in listed:
            return [
                (f"{where} [{role}] id {value} is listed but its detail says {resp.status_code}")
            ]
        return []
    kind = resp.headers.get("content-type", "")
    if resp.status_code == 200 and kind.startswith("text/csv"):
        body: Any = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    elif resp.status_code != 200 or "json" not in kind:
        return [
            (
                f"{where} [{role}] {resp.status_code} {kind}: "
                "the walker cannot read this answer (fix PARAMS or add to NOT_WALKED)"
            )
        ]
    else:
        body = resp.json()
    if listed is not None and value not in listed:
        return [f"{where} [{role}] id {value} answers 200 but is not in the role's list"]
    out = []
    for item in _objects(where, body):
        reason = oracle.leak(where, item)
        if reason:
            out.append(f"{where} [{role}] leaks {reason}: {str(item)[:120]}")
    return out


@pytest.fixture
def walked_city(client, session, city, password_hash):  # type: ignore[no-untyped-def]
    seed_everything(session, password_hash)
    return client


def test_no_endpoint_shows_anything_outside_scope(walked_city, session) -> None:
    problems = walk(walked_city, session)
    assert problems == [], "\n".join(problems[:40])


def test_the_walker_covers_every_get_endpoint(walked_city) -> None:
    paths = _get_routes(walked_city.app)
    assert len(paths) >= 60  # the route table is really being read
    assert set(NOT_WALKED) <= set(paths), "NOT_WALKED names an endpoint that no longer exists"


@pytest.mark.parametrize(
    "table",
    [
        "grid_cells",
        "enterprises",
        "risk_points",
        "major_hazards",
        "hd_hidden_dangers",
        "hd_tasks",
        "sensors",
        "alarms",
        "warnings",
    ],
)
def test_a_wrong_clause_in_any_capability_is_reported(
    walked_city, session, monkeypatch, table: str
) -> None:
    """Make the scope clause of one table allow everything: the walker must report leaks."""
    right = scope.clause

    def wrong(who, shape):  # type: ignore[no-untyped-def]
        column = getattr(shape.division, "expression", shape.division)  # attribute → column
        return true() if f"{table}." in str(column) else right(who, shape)

    monkeypatch.setattr(scope, "clause", wrong)
    problems = walk(walked_city, session, roles=["zhifu", "enterprise", "liaison"])
    assert any("leaks" in p for p in problems), table
