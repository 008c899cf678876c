"""A department liaison reads only their industry's major hazard installations (API list and
detail, the HTML list and page); the same rule everywhere else the risk data is read."""

from __future__ import annotations

import re

from sqlalchemy import select

from safecity.registry.models import Enterprise
from safecity.risk.models import MajorHazard
from tests.conftest import PASSWORD, login
from tests.scope_city import seed_everything


def test_liaison_reads_only_its_industrys_major_hazards(
    client, session, city, password_hash
) -> None:
    seed_everything(session, password_hash)
    section = dict(session.execute(select(Enterprise.id, Enterprise.industry_section)).all())
    hazards = session.scalars(select(MajorHazard)).all()
    other = next(
        h for h in hazards if section[h.enterprise_id] == "C" and h.division_code.startswith("3706")
    )
    h = login(client, "liaison")  # industry G
    listed = client.get("/api/v1/risk/major-hazards", headers=h).json()["items"]
    assert listed and {section[x["enterprise_id"]] for x in listed} == {"G"}
    assert client.get(f"/api/v1/risk/major-hazards/{other.id}", headers=h).status_code == 404
    # by division number: 26 (chemicals) sees the C-26 installations of Yantai only
    by_number = client.get("/api/v1/risk/major-hazards", headers=login(client, "liaison26"))
    assert {x["division_code"][:4] for x in by_number.json()["items"]} == {"3706"}
    assert len(by_number.json()["items"]) == 3
    # the pages
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "liaison", "password": PASSWORD, "csrf": csrf})
    page = client.get("/risk/major-hazards")
    assert page.status_code == 200 and other.name not in page.text
    assert client.get(f"/risk/major-hazards/{other.id}").status_code == 404
