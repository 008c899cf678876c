"""Hostile uploads and list parameters: photo size, count and pixel bombs; the import size cap on
every import route; unknown sort and filter values refused (422), not silently replaced."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from safecity.core.config import get_settings
from safecity.hazards import uploads
from tests.conftest import login

REPORT = {
    "title": "路边燃气管道漏气",
    "description": "闻到燃气味",
    "lon": "121.365",
    "lat": "37.465",
}


def _png(width: int, height: int) -> bytes:
    """A one-bit image: tiny on the wire, huge once decoded."""
    buf = io.BytesIO()
    Image.new("1", (width, height)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFECITY_STORAGE_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("size", [(10_000, 5_000), (15_000, 15_000)])
def test_pixel_bombs_are_refused_before_decoding(
    client: Any, storage: Path, size: tuple[int, int]
) -> None:
    bomb = _png(*size)
    assert len(bomb) < 200_000  # small file, 50–225 million pixels
    resp = client.post(
        "/api/v1/hazards/public-report",
        data=REPORT,
        files={"photos": ("bomb.png", bomb, "image/png")},
    )
    assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "photos"
    assert _stored(storage) == []


def test_photo_size_and_count_limits(client: Any, storage: Path) -> None:
    headers = login(client, "zhifu")
    big = _jpeg() + b"\0" * (uploads.MAX_PHOTO_BYTES + 1)
    resp = client.post(
        "/api/v1/hazards",
        data=REPORT,
        headers=headers,
        files={"photos": ("big.jpg", big, "image/jpeg")},
    )
    assert resp.status_code == 422 and "MB" in resp.json()["detail"][0]["message"]
    seven = [
        ("photos", (f"p{i}.jpg", _jpeg(), "image/jpeg")) for i in range(uploads.MAX_PHOTOS + 1)
    ]
    resp = client.post("/api/v1/hazards", data=REPORT, headers=headers, files=seven)
    assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "photos"
    assert _stored(storage) == []  # nothing kept from a refused report
    six = seven[:-1]
    ok = client.post("/api/v1/hazards", data=REPORT, headers=headers, files=six)
    assert ok.status_code == 201, ok.text
    assert len(ok.json()["photos"]) == uploads.MAX_PHOTOS


def test_max_upload_mb_holds_on_every_import_route(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFECITY_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    try:
        spec = client.get("/api/v1/openapi.json").json()["paths"]
        imports = [
            p
            for p, ops in spec.items()
            if "post" in ops
            and ("multipart/form-data" in ops["post"].get("requestBody", {}).get("content", {}))
            and p.endswith(("/import", "/cap"))
        ]
        assert len(imports) >= 7, imports
        admin = login(client, "admin")
        body = b"a,b\n" + b"x" * (1024 * 1024)
        for path in imports:
            resp = client.post(path, headers=admin, files={"file": ("big.csv", body, "text/csv")})
            assert resp.status_code in (413, 422), (path, resp.status_code)
            text = resp.json()["message"] + resp.json()["message_en"]
            assert "1 MB" in text or "1024 KB" in text, (path, resp.text)
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/enterprises", {"sort": "password_hash"}, "sort"),
        ("/api/v1/enterprises", {"sort": "-name;DROP TABLE users"}, "sort"),
        ("/api/v1/grid-cells", {"sort": "__class__"}, "sort"),
        ("/api/v1/risk/points", {"sort": "reporter_ip"}, "sort"),
        ("/api/v1/enterprises", {"scale": "' OR 1=1 --"}, "scale"),
        ("/api/v1/protected-targets", {"target_type": "<script>"}, "target_type"),
        ("/api/v1/enterprises", {"division": "3706%"}, "division"),
        ("/api/v1/enterprises", {"page": "0"}, "page"),
        ("/api/v1/enterprises", {"size": "-5"}, "size"),
        ("/api/v1/enterprises", {"size": "100000"}, "size"),
        ("/api/v1/hazards", {"status": "done'--"}, "status"),
    ],
)
def test_hostile_sort_and_filters_are_refused(
    client: Any, path: str, params: dict[str, str], field: str
) -> None:
    resp = client.get(path, params=params, headers=login(client, "admin"))
    assert resp.status_code == 422, (path, params, resp.status_code)
    assert resp.json()["detail"][0]["field"] == field


def test_valid_sort_and_filters_still_work(client: Any) -> None:
    admin = login(client, "admin")
    names = [
        e["name"]
        for e in client.get(
            "/api/v1/enterprises",
            params={"sort": "-name", "scale": "small", "division": "370602"},
            headers=admin,
        ).json()["items"]
    ]
    assert names and names == sorted(names, reverse=True)
