"""Hazards pages: list, detail with action forms, anonymous report, inbox — in both languages."""

from __future__ import annotations

from sqlalchemy import select

from safecity.hazards.models import HiddenDanger
from tests.conftest import csrf_of
from tests.hazards.conftest import jpeg
from tests.hazards.helpers import staff_login as web_login


def test_anonymous_report_then_staff_pages(hz_city, client, session) -> None:
    client.cookies.clear()
    page = client.get("/hazards/report")
    assert (
        page.status_code == 200 and "无需注册" in page.text and 'capture="environment"' in page.text
    )
    csrf = csrf_of(page.text)
    bad = client.post("/hazards/report", data={"csrf": csrf, "title": ""})
    assert bad.status_code == 422 and "隐患名称" in bad.text
    resp = client.post(
        "/hazards/report",
        data={"csrf": csrf, "title": "井盖缺失", "lon": "121.365", "lat": "37.465"},
        files={"photos": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert resp.status_code == 200 and 'id="report-done"' in resp.text
    forged = client.post("/hazards/report", data={"csrf": "x", "title": "伪造"})
    assert forged.status_code == 403
    hd = session.scalar(select(HiddenDanger).where(HiddenDanger.title == "井盖缺失"))
    assert hd.source == "public_report" and len(hd.photos) == 1

    csrf = web_login(client, "zhifu")
    listing = client.get("/hazards?status=reported")
    assert listing.status_code == 200 and "井盖缺失" in listing.text and "群众举报" in listing.text
    detail = client.get(f"/hazards/{hd.id}")
    assert 'data-action="confirm"' in detail.text and "?thumb=1" in detail.text
    wrong = client.post(f"/hazards/{hd.id}/actions/reject", data={"csrf": csrf, "note": ""})
    assert wrong.status_code == 422 and "field-error" in wrong.text
    ok = client.post(
        f"/hazards/{hd.id}/actions/confirm",
        data={"csrf": csrf, "grade": "general", "category": "structure"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    session.expire_all()
    assert session.get(HiddenDanger, hd.id).status == "confirmed"
    again = client.post(
        f"/hazards/{hd.id}/actions/confirm",
        data={"csrf": csrf, "grade": "general"},
        headers={"accept": "text/html"},
    )
    assert again.status_code == 409
    en = client.get(f"/hazards/{hd.id}", cookies={"lang": "en"})
    assert "Register and warn" in en.text
    inbox = client.get("/hazards/inbox")
    assert inbox.status_code == 200 and "新上报" in inbox.text
    assert (
        client.post("/hazards/inbox/read", data={"csrf": csrf}, follow_redirects=False).status_code
        == 303
    )
    assert "未读 0" in client.get("/hazards/inbox").text
