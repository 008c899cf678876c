"""An enterprise safety officer sees only their own enterprise: no grid cells or protected
targets of the district (lists, detail pages, map layers), whose rows carry names and phones."""

from __future__ import annotations

import re

from sqlalchemy import select

from safecity.registry.models import GridCell, ProtectedTarget
from tests.conftest import PASSWORD, login


def test_enterprise_officer_sees_no_grid_cells_or_targets(client, session, city) -> None:
    own = city["own_enterprise_id"]
    cell = session.scalar(select(GridCell).where(GridCell.division_code == "370602"))
    target = session.scalar(
        select(ProtectedTarget).where(ProtectedTarget.division_code == "370602")
    )
    h = login(client, "enterprise")
    for kind in ("grid-cells", "protected-targets"):
        body = client.get(f"/api/v1/{kind}", headers=h).json()
        assert body["total"] == 0 and body["items"] == [], kind
        layer = client.get(f"/api/v1/map/layers/{kind}", headers=h).json()
        assert layer["features"] == [], kind
    assert client.get(f"/api/v1/grid-cells/{cell.id}", headers=h).status_code == 404
    assert client.get(f"/api/v1/protected-targets/{target.id}", headers=h).status_code == 404
    # Their own enterprise stays visible, and only it.
    ents = client.get("/api/v1/enterprises", headers=h).json()
    assert [e["id"] for e in ents["items"]] == [own]
    # The district officer of the same district still sees both (the rule did not just break).
    z = login(client, "zhifu")
    assert client.get("/api/v1/grid-cells", headers=z).json()["total"] == 1
    assert client.get(f"/api/v1/protected-targets/{target.id}", headers=z).status_code == 200


def test_enterprise_officer_pages_hide_grid_cells(client, session, city) -> None:
    cell = session.scalar(select(GridCell).where(GridCell.division_code == "370602"))
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    resp = client.post(
        "/login",
        data={"username": "enterprise", "password": PASSWORD, "csrf": csrf},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    # The grid-cell pages are not in this role's menu (web/access.py), so the list answers 403.
    page = client.get("/registry/grid-cells")
    assert page.status_code == 403 and cell.name not in page.text
    assert client.get(f"/registry/grid-cells/{cell.id}").status_code == 404
