"""Anonymous reports get an unguessable tracking link: the token is stored only hashed, shows the
report's public progress (zh/en) without staff names or phones, a wrong token is 404 and lookups
are rate-limited. The web report form checks its rate limit before parsing the form."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from safecity.hazards import tracking
from safecity.hazards.models import HiddenDanger
from tests.conftest import csrf_of, login
from tests.hazards.conftest import jpeg

FORM = {
    "title": "路边燃气管道漏气",
    "description": "闻到燃气味",
    "lon": "121.365",
    "lat": "37.465",
    "reporter_phone": "13812345678",
    "reporter_name": "张举报",
}


@pytest.fixture(autouse=True)
def _fresh_limiter():
    tracking.LIMITER.clear()
    yield
    tracking.LIMITER.clear()


def _assign(client, hd_id: int) -> None:
    """The district office confirms and registers it with a named responsible person."""
    steps = [
        ("zhifu", "confirm", {"grade": "general", "category": "structure"}),
        (
            "zhifu",
            "register",
            {
                "responsible_party": "芝罘区城管局",
                "responsible_person": "李主任 13900000000",
                "deadline": "2030-01-01",
            },
        ),
    ]
    for who, action, data in steps:
        resp = client.post(
            f"/api/v1/hazards/{hd_id}/actions/{action}", json=data, headers=login(client, who)
        )
        assert resp.status_code == 200, resp.text


def test_api_report_gives_a_tracking_link_with_public_progress(hz_city, client, session) -> None:
    resp = client.post("/api/v1/hazards/public-report", data=FORM)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    token, url = body["tracking_token"], body["tracking_url"]
    assert len(token) >= 32 and url.endswith(token)
    hd = session.get(HiddenDanger, body["id"])
    assert hd.tracking_hash == tracking.digest(token) and token not in hd.tracking_hash
    other = client.post("/api/v1/hazards/public-report", data=FORM | {"title": "另一处漏气"}).json()
    assert other["tracking_token"] != token

    client.cookies.clear()
    seen = client.get(f"/api/v1/hazards/track/{token}").json()
    assert seen["id"] == hd.id and seen["stage"] == "received" and seen["stage_label"] == "已受理"
    assert [s["key"] for s in seen["steps"]] == ["received", "assigned", "rectifying", "closed"]
    _assign(client, hd.id)
    client.cookies.clear()
    later = client.get(f"/api/v1/hazards/track/{token}?lang=en")
    assert later.status_code == 200 and later.json()["stage"] == "assigned"
    assert later.json()["stage_label"] == "Assigned"
    text = later.text
    for secret in (
        "李主任",
        "13900000000",
        "13812345678",
        "张举报",
        "zhifu",
        "另一处漏气",
        "城管局",
        hd.tracking_hash,
    ):
        assert secret not in text
    staff = client.get(f"/api/v1/hazards/{hd.id}", headers=login(client, "zhifu")).json()
    assert "tracking_hash" not in staff and hd.tracking_hash not in str(staff)
    client.cookies.clear()
    # one character changed, never to itself (a token ending in "x" made this flaky)
    forged = token[:-1] + ("y" if token[-1] != "y" else "z")
    assert client.get(f"/api/v1/hazards/track/{forged}").status_code == 404
    assert client.get("/api/v1/hazards/track/short").status_code == 404


def test_page_report_shows_link_and_progress_page(hz_city, client, session) -> None:
    client.cookies.clear()
    csrf = csrf_of(client.get("/hazards/report").text)
    done = client.post(
        "/hazards/report",
        data={"csrf": csrf, **FORM},
        files={"photos": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert done.status_code == 200 and 'id="track-link"' in done.text
    link = done.text.split('id="track-link" href="', 1)[1].split('"', 1)[0]
    assert link.startswith("http") and "/hazards/track/" in link
    path = "/hazards/track/" + link.rsplit("/", 1)[1]
    page = client.get(path)
    assert (
        page.status_code == 200 and 'data-stage="received"' in page.text and "已受理" in page.text
    )
    client.get("/lang/en?next=/")
    en = client.get(path)
    assert "Received" in en.text and "13812345678" not in en.text and "张举报" not in en.text
    assert client.get(path[:-1] + ("y" if path[-1] != "y" else "z")).status_code == 404


def test_track_lookups_are_rate_limited(hz_city, client) -> None:
    token = client.post("/api/v1/hazards/public-report", data=FORM).json()["tracking_token"]
    for _ in range(tracking.LOOKUPS_PER_HOUR - 1):
        assert client.get(f"/api/v1/hazards/track/{token}x").status_code == 404
    assert client.get(f"/hazards/track/{token}").status_code == 200  # the page shares the budget
    limited = client.get(f"/api/v1/hazards/track/{token}")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert client.get(f"/hazards/track/{token}").status_code == 429


def test_web_report_rate_limit_comes_before_the_form_is_parsed(
    hz_city, client, monkeypatch
) -> None:
    for _ in range(5):
        assert client.post("/api/v1/hazards/public-report", data=FORM).status_code == 201
    parsed = []
    real_form = Request.form

    def counting_form(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        parsed.append(self.url.path)
        return real_form(self, *args, **kwargs)

    monkeypatch.setattr(Request, "form", counting_form)
    client.cookies.clear()
    broken = client.post(
        "/hazards/report",
        content=b"--x\r\nnot a multipart body",
        headers={"content-type": "multipart/form-data; boundary=zzz"},
    )
    assert broken.status_code == 429 and int(broken.headers["Retry-After"]) > 0
    assert parsed == []
