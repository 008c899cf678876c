"""HTTP hardening: security headers, body caps, hostile numbers, depth and length, docs offline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import safecity.web
from safecity.hazards.service import PUBLIC_REPORTS_PER_HOUR
from safecity.web.hardening import body_limits
from tests.conftest import login

HUGE = str(2**63)


def test_every_answer_carries_the_security_headers(client: Any) -> None:
    pages = [
        "/login",
        "/api/v1/enterprises",
        "/api/v1/openapi.json",
        "/static/js/app.js",
        "/no-such-page",
        "/api/v1/docs",
    ]
    for path in pages:
        resp = client.get(path)
        csp = resp.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, path
        assert (
            "script-src 'self'" in csp
            and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        ), path
        assert resp.headers.get("x-frame-options") == "DENY", path
        assert resp.headers.get("x-content-type-options") == "nosniff", path
        assert resp.headers.get("referrer-policy") in ("same-origin", "no-referrer"), path


def test_templates_have_no_inline_script_or_handler() -> None:
    """The CSP forbids inline script, so a template that grows one would silently stop working."""

    root = Path(safecity.web.__file__).parent / "templates"
    for path in root.rglob("*.html"):
        html = path.read_text()
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler in {path}"
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, f"inline script in {path}"


def api_routes(client: Any) -> list[tuple[str, str]]:
    """(METHOD, path template) of every API route, from the OpenAPI document."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    return [
        (m.upper(), p)
        for p, ops in paths.items()
        for m in ops
        if m in ("get", "post", "put", "patch", "delete")
    ]


def _routes_with_params(client: Any) -> list[tuple[str, str]]:
    pages = [("GET", "/hazards/{id}"), ("GET", "/enterprises/{id}"), ("GET", "/warnings/{id}")]
    return [(m, re.sub(r"\{[^}]+\}", HUGE, p)) for m, p in api_routes(client) + pages if "{" in p]


def test_ids_beyond_64_bits_are_404_not_500(client: Any) -> None:
    admin = login(client, "admin")
    checked = 0
    for method, path in _routes_with_params(client):
        resp = client.request(method, path, headers=admin, json={})
        assert resp.status_code in (404, 422), (method, path, resp.status_code, resp.text[:200])
        checked += 1
    assert checked > 40  # the route table really was walked


@pytest.mark.parametrize("param", ["page", "size", "enterprise_id", "division", "id"])
def test_list_filters_beyond_64_bits_are_422(client: Any, param: str) -> None:
    admin = login(client, "admin")
    lists = [p for m, p in api_routes(client) if m == "GET" and "{" not in p]
    assert len(lists) > 30
    for path in lists:
        resp = client.get(path, params={param: HUGE}, headers=admin)
        assert resp.status_code == 422, (path, resp.status_code)
        assert resp.json()["detail"][0]["field"] == param


def test_overlong_search_is_422(client: Any) -> None:
    admin = login(client, "admin")
    for path in ("/api/v1/enterprises", "/api/v1/hazards", "/api/v1/grid-cells"):
        resp = client.get(path, params={"q": "a" * 60_000}, headers=admin)
        assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "q", path
    ok = client.get("/api/v1/enterprises", params={"q": "测试"}, headers=admin)
    assert ok.status_code == 200 and ok.json()["total"] >= 1


@pytest.mark.parametrize(
    "path",
    ["/api/v1/enterprises", "/api/v1/hazards", "/api/v1/hazards/public-report", "/api/v1/users"],
)
def test_json_nested_5000_deep_is_refused_not_500(client: Any, path: str) -> None:
    admin = login(client, "admin")
    for body in ("[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000):
        resp = client.post(
            path, content=body, headers={**admin, "content-type": "application/json"}
        )
        assert resp.status_code in (400, 422), (path, resp.status_code)
        assert resp.json()["message_en"]


def test_body_over_the_cap_is_413_before_it_is_read(client: Any) -> None:
    multipart, other = body_limits()
    big = b"x" * (other + 1)
    resp = client.post(
        "/api/v1/hazards/public-report", content=big, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 413
    assert "MB" in resp.json()["message"] and "MB" in resp.json()["message_en"]

    # Without Content-Length the stream is counted and cut off at the cap.
    def chunks() -> Any:
        for _ in range(other // 65536 + 2):
            yield b"y" * 65536

    streamed = client.post(
        "/api/v1/hazards/public-report",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert streamed.status_code == 413, streamed.text[:200]
    assert multipart > 48 * 1048576  # six 8 MB photos still fit


def test_anonymous_report_rate_limit_comes_before_the_body(client: Any) -> None:
    form = {
        "title": "路边燃气管道漏气",
        "description": "闻到燃气味",
        "lon": "121.365",
        "lat": "37.465",
    }
    for _ in range(PUBLIC_REPORTS_PER_HOUR):
        assert client.post("/api/v1/hazards/public-report", data=form).status_code == 201
    # A malformed body is not even parsed once the address is over its budget.
    resp = client.post(
        "/api/v1/hazards/public-report",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0


def test_docs_load_nothing_from_other_hosts(client: Any) -> None:
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200 and "swagger" in resp.text.lower()
    hosts = re.findall(r"https?://([^/\"' ]+)", resp.text)
    assert hosts == [], hosts
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', resp.text):
        assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize(
    "bad", ["测试\x00企业有限公司", "测试\u202e企业有限公司", "测试\u2066企业\u2069公司"]
)
def test_nul_and_bidi_controls_are_refused_in_names(client: Any, bad: str) -> None:
    admin = login(client, "admin")
    resp = client.patch("/api/v1/enterprises/1", json={"name": bad}, headers=admin)
    assert resp.status_code == 422, resp.text
    field = resp.json()["detail"][0]
    assert (
        field["field"] == "name"
        and "文字方向" in field["message"]
        and "bidirectional" in field["message_en"]
    )
    user = {
        "username": "bidi",
        "password": "longpassword",
        "role": "duty_officer",
        "division_code": "370602",
        "display_name": bad,
    }
    resp = client.post("/api/v1/users", json=user, headers=admin)
    assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "display_name"
    report = {"title": "燃气泄漏", "description": bad, "lon": 121.365, "lat": 37.465}
    resp = client.post("/api/v1/hazards/public-report", json=report)
    assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "description"
    # Ordinary Chinese, English and emoji text still passes.
    ok = client.patch(
        "/api/v1/enterprises/1", json={"name": "烟台 Safe 化工 🙂 有限公司"}, headers=admin
    )
    assert ok.status_code == 200, ok.text


def test_openapi_describes_the_real_error_body_and_file_answers(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"error", "message", "message_en"}
    assert (
        "detail" in body["properties"]
        and "HTTPValidationError" not in spec["components"]["schemas"]
    )
    enterprises = spec["paths"]["/api/v1/enterprises/{key}"]
    for status in ("403", "404", "409", "422"):
        ref = enterprises["patch"]["responses"][status]["content"]["application/json"]["schema"]
        assert ref == {"$ref": "#/components/schemas/ErrorBody"}, status
    # What a route answers with is what the document says it answers with.
    admin = login(client, "admin")
    files = [
        p
        for p, ops in spec["paths"].items()
        if "get" in ops and "{" not in p and p.endswith(("/export", "/template"))
    ]
    assert len(files) >= 8
    for path in files:
        resp = client.get(path, headers=admin)
        media = resp.headers["content-type"].split(";")[0]
        assert resp.status_code == 200 and media != "application/json", path
        assert media in spec["paths"][path]["get"]["responses"]["200"]["content"], (path, media)
    bad = client.patch("/api/v1/enterprises/1", json={"employees": "many"}, headers=admin).json()
    assert set(bad) == {"error", "message", "message_en", "detail"}
