"""The standard tests every kind gets for free (NetBox's test mixins, as one parametrised module).

Every kind a plug-in declares through ``safecity_kinds`` is created
from its ``example`` in the test city (370602 芝罘区), then listed, searched, filtered, sorted,
read, refused (role 403, scope 404, invalid 422 in Chinese and English), archived, imported
all-or-nothing and exported and re-imported. A new kind is covered without writing a test;
a kind whose example is not valid, or whose pages or routes are not mounted, fails here.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from safecity.core.kinds import Kind
from safecity.core.models import AuditEntry
from safecity.plugins import collect
from tests.conftest import login, web_login

OTHER_DISTRICT = "laishan"  # district officer of 370613: the examples live in 370602
SEEDED_ROLES = {  # the test city's users (tests/factories.py)
    "commander": "commander",
    "analyst": "risk_analyst",
    "zhifu": "district_officer",
    "liaison": "department_liaison",
    "enterprise": "enterprise_officer",
}


KINDS: list[Kind] = collect("safecity_kinds")
pytestmark = pytest.mark.parametrize("kind", KINDS, ids=[f"{k.prefix}/{k.plural}" for k in KINDS])


def _admin(client: Any) -> dict[str, str]:
    return login(client, "admin")


def _create(client: Any, kind: Kind) -> dict[str, Any]:
    assert kind.example, f"{kind.name}: the kind declares no example"
    resp = client.post(kind.api_url, json=kind.example, headers=_admin(client))
    assert resp.status_code == 201, resp.text
    return resp.json()


def _audit(database_url: str, kind: Kind, key: Any) -> list[str]:
    eng = create_engine(database_url)
    try:
        with eng.connect() as conn:
            stmt = (
                select(AuditEntry.action)
                .where(AuditEntry.object_type == kind.name, AuditEntry.object_id == str(key))
                .order_by(AuditEntry.seq)
            )
            return list(conn.scalars(stmt))
    finally:
        eng.dispose()


def _count(database_url: str, kind: Kind) -> int:
    eng = create_engine(database_url)
    try:
        with eng.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(kind.model)) or 0)
    finally:
        eng.dispose()


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:  # nested values (a unit's substances) travel as JSON text
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
        )
    return buf.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------------------


def test_create_list_search_detail_sort_archive(client: Any, database_url: str, kind: Kind) -> None:
    h = _admin(client)
    made = _create(client, kind)
    key = made[kind.key]
    for name, value in kind.example.items():
        if name in kind.columns:
            assert made[name] == value, name  # stored as sent (the examples are canonical)

    # search by the example's first searchable text finds exactly it; another division hides it
    needle = str(kind.example[kind.search[0]])
    found = client.get(kind.api_url, params={"q": needle}, headers=h).json()
    assert [item[kind.key] for item in found["items"]] == [key]
    assert found["total"] == 1
    other = client.get(kind.api_url, params={"q": needle, "division": "370613"}, headers=h)
    assert other.status_code == 200 and other.json()["total"] == 0

    for col in kind.sortable:
        for sort in (col, "-" + col):
            assert client.get(kind.api_url, params={"sort": sort}, headers=h).status_code == 200
    bad = client.get(kind.api_url, params={"sort": "no_such_column"}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "sort"

    detail = client.get(f"{kind.api_url}/{key}", headers=h)
    assert detail.status_code == 200 and detail.json()[kind.key] == key

    if kind.workflow_only:  # made by its workflow's first step, audited under that step's name
        assert len(_audit(database_url, kind, key)) == 1
        assert client.post(f"{kind.api_url}/{key}/archive", headers=h).status_code in (404, 405)
    elif kind.has_archive:
        archived = client.post(f"{kind.api_url}/{key}/archive", headers=h)
        assert archived.status_code == 200 and archived.json()["archived"] is True
        assert client.get(kind.api_url, params={"q": needle}, headers=h).json()["total"] == 0
        shown = client.get(kind.api_url, params={"q": needle, "archived": "1"}, headers=h)
        assert shown.json()["total"] == 1
        again = client.post(f"{kind.api_url}/{key}/archive", headers=h)
        assert again.status_code == 409
        assert client.post(f"{kind.api_url}/{key}/restore", headers=h).status_code == 200
        assert _audit(database_url, kind, key) == ["create", "archive", "restore"]
    else:
        assert _audit(database_url, kind, key) == ["create"]


def test_invalid_input_is_422_in_both_languages_and_writes_nothing(
    client: Any, database_url: str, kind: Kind
) -> None:
    before = _count(database_url, kind)
    resp = client.post(kind.api_url, json={}, headers=_admin(client))
    assert resp.status_code == 422, resp.text
    detail = {d["field"]: d for d in resp.json()["detail"]}
    required = [n for n, f in kind.schema.model_fields.items() if f.is_required()]
    assert required, f"{kind.name}: the schema has no required field"
    for name in required:
        zh_label, en_label = kind.label(name)
        if kind.workflow_only:  # the workflow's own schema words its messages
            assert detail[name]["message"] and detail[name]["message_en"], name
            continue
        assert detail[name]["message"] == f"{zh_label}：为必填项"
        assert detail[name]["message_en"] == f"{en_label}: is required"
    unknown = client.post(
        kind.api_url, json={**kind.example, "no_such_field": 1}, headers=_admin(client)
    )
    if kind.schema.model_config.get("extra") == "ignore":  # a workflow's form carries more
        assert unknown.status_code == 201 and "no_such_field" not in unknown.json()
        assert _count(database_url, kind) == before + 1
        return
    assert unknown.status_code == 422
    assert _count(database_url, kind) == before


def test_role_403_and_scope_404(client: Any, database_url: str, kind: Kind) -> None:
    made = _create(client, kind)
    key = made[kind.key]
    url = f"{kind.api_url}/{key}"
    # a district officer of another district: the object does not exist for them
    h = login(client, OTHER_DISTRICT)
    assert client.get(url, headers=h).status_code == 404
    if not kind.workflow_only:
        assert client.patch(url, json={}, headers=h).status_code == 404
    listed = client.get(kind.api_url, params={"size": 500}, headers=h)
    assert key not in [i[kind.key] for i in listed.json()["items"]]
    if kind.has_archive:
        assert client.post(f"{url}/archive", headers=h).status_code == 404
    # a staff role that may not write this kind: 403 before anything is looked at
    reader = next((u for u, role in SEEDED_ROLES.items() if role not in kind.writers), "public")
    if "public" in kind.writers and reader == "public":
        # everyone may start this workflow (anyone may report a hidden danger): none to refuse
        assert len(_audit(database_url, kind, key)) == 1
        return
    body = {**kind.example}
    resp = client.post(kind.api_url, json=body, headers=login(client, reader))
    assert resp.status_code == 403, resp.text
    assert len(_audit(database_url, kind, key)) == 1


def test_import_is_all_or_nothing(client: Any, database_url: str, kind: Kind) -> None:
    if kind.workflow_only:  # nothing of it is imported: no route, and nothing written
        before = _count(database_url, kind)
        files = {"file": ("rows.csv", _csv([kind.example]), "text/csv")}
        resp = client.post(f"{kind.api_url}/import", files=files, headers=_admin(client))
        assert resp.status_code in (404, 405) and _count(database_url, kind) == before
        return
    good = dict(kind.import_example or kind.example)
    bad, refused = kind.refused_example or (
        {**good, kind.division_field: "12"},  # not a GB/T 2260 code
        kind.division_field,
    )
    before = _count(database_url, kind)
    files = {"file": ("rows.csv", _csv([good, bad]), "text/csv")}
    resp = client.post(f"{kind.api_url}/import", files=files, headers=_admin(client))
    assert resp.status_code == 422, resp.text
    problems = resp.json()["detail"]
    assert {(p["row"], p["field"]) for p in problems} == {(3, refused)}
    assert all(p["message"] and p["message_en"] for p in problems)
    assert _count(database_url, kind) == before
    # the good row alone goes in; a dry run first writes nothing
    one = {"file": ("rows.csv", _csv([good]), "text/csv")}
    dry = client.post(
        f"{kind.api_url}/import", files=one, data={"dry_run": "true"}, headers=_admin(client)
    )
    assert dry.status_code == 200 and dry.json()["created"] == 1
    assert _count(database_url, kind) == before
    done = client.post(f"{kind.api_url}/import", files=one, headers=_admin(client))
    assert done.status_code == 200, done.text
    assert done.json()["created"] == 1 and done.json()["error_count"] == 0
    assert _count(database_url, kind) == before + 1


def test_export_reimports_unchanged(client: Any, kind: Kind) -> None:
    made = _create(client, kind)
    h = _admin(client)
    needle = str(kind.example[kind.search[0]])
    if kind.workflow_only:  # exported for reading, never re-imported: the file holds just it
        exported = client.get(
            f"{kind.api_url}/export", params={"format": "csv", "q": needle}, headers=h
        )
        assert exported.status_code == 200, exported.text
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert len(rows) == 2 and str(made[kind.key]) in rows[1], rows
        shapes = client.get(
            f"{kind.api_url}/export", params={"format": "geojson", "q": needle}, headers=h
        ).json()
        assert len(shapes["features"]) == 1
        return
    template = client.get(f"{kind.api_url}/template", headers=h)  # not read as a {key}
    assert template.status_code == 200 and template.content[:2] == b"PK", template.text[:200]
    for fmt, name in (("csv", "export.csv"), ("xlsx", "export.xlsx"), ("geojson", "e.geojson")):
        exported = client.get(
            f"{kind.api_url}/export", params={"format": fmt, "q": needle}, headers=h
        )
        assert exported.status_code == 200, exported.text
        files = {"file": (name, exported.content, "application/octet-stream")}
        again = client.post(
            f"{kind.api_url}/import", files=files, data={"dry_run": "true"}, headers=h
        )
        assert again.status_code == 200, again.text
        report = again.json()
        assert report["error_count"] == 0, report["errors"]
        assert (report["total_rows"], report["unchanged"], report["created"]) == (1, 1, 0), fmt
    assert client.get(f"{kind.api_url}/{made[kind.key]}", headers=h).status_code == 200


def test_pages(client: Any, kind: Kind) -> None:
    made = _create(client, kind)
    client.headers["accept"] = "text/html,application/xhtml+xml"
    web_login(client, "admin")
    listing = client.get(kind.url)
    assert listing.status_code == 200 and kind.zh in listing.text
    assert f'href="{kind.url}/{made[kind.key]}"' in listing.text
    detail = client.get(f"{kind.url}/{made[kind.key]}")
    assert detail.status_code == 200
    if kind.workflow_only:
        assert client.get(kind.url + "/import").status_code in (404, 405)
    else:
        for path in ("/new", "/import", f"/{made[kind.key]}/edit"):
            assert client.get(kind.url + path).status_code == 200, path
    client.cookies.clear()
    web_login(client, OTHER_DISTRICT)
    assert client.get(f"{kind.url}/{made[kind.key]}").status_code == 404
