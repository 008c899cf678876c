"""Web pages through the ASGI client: login, CSRF, redirects, scope, forms, import, admin."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from safecity.core.models import User
from safecity.registry.models import Enterprise
from tests.conftest import PASSWORD, web_login
from tests.conftest import csrf_of as _csrf
from tests.factories import uscc


@pytest.fixture
def web(client: Any) -> Any:
    client.headers["accept"] = "text/html,application/xhtml+xml"
    return client


def _count(engine: Any, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def test_pages_need_login_and_root_redirects(web: Any) -> None:
    resp = web.get("/map", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login?next=/map"
    assert web.get("/", follow_redirects=False).headers["location"] == "/login"
    web_login(web, "admin")
    assert web.get("/", follow_redirects=False).headers["location"] == "/map"


def test_login_sets_a_safe_session_cookie(web: Any) -> None:
    resp = web_login(web, "admin")
    assert resp.status_code == 303 and resp.headers["location"] == "/map"
    cookie = next(
        c for c in resp.headers.get_list("set-cookie") if c.startswith("safecity_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=28800" in cookie
    page = web.get("/map")
    assert page.status_code == 200 and "系统管理员" in page.text and "370600 烟台市" in page.text


def test_wrong_password_is_shown_in_chinese_and_counted(web: Any, engine: Any) -> None:
    resp = web_login(web, "zhifu", "wrong-password")
    assert resp.status_code == 401 and "用户名或密码错误" in resp.text
    with engine.connect() as conn:
        failures = conn.scalar(select(User.failed_logins).where(User.username == "zhifu"))
    assert failures == 1  # committed although the login failed


def test_login_without_form_token_is_refused(web: Any) -> None:
    resp = web.post("/login", data={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 403 and "CSRF" in resp.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_redirect_targets_stay_on_site(web: Any, target: str) -> None:
    assert web_login(web, "admin", next=target).headers["location"] == "/map"
    resp = web.get(f"/lang/en?next={target}", follow_redirects=False)
    assert resp.headers["location"] == "/"


def test_language_switch_changes_the_navigation(web: Any) -> None:
    web_login(web, "admin")
    resp = web.get("/lang/en?next=/registry/enterprises", follow_redirects=False)
    assert resp.headers["location"] == "/registry/enterprises"
    page = web.get("/registry/enterprises").text
    assert "One map" in page and "Base registry" in page and "一张图" not in page


def test_posts_without_the_csrf_token_change_nothing(web: Any, city: dict, engine: Any) -> None:
    web_login(web, "admin")
    key = city["enterprises"][0].id
    for data in ({"csrf": "forged"}, {}):
        resp = web.post(f"/registry/enterprises/{key}/archive", data=data)
        assert resp.status_code == 403
    with engine.connect() as conn:
        assert conn.scalar(select(Enterprise.archived).where(Enterprise.id == key)) is False


def test_create_form_reports_every_field_and_keeps_input(web: Any, engine: Any) -> None:
    web_login(web, "admin")
    token = _csrf(web.get("/registry/enterprises/new").text)
    before = _count(engine, Enterprise)
    resp = web.post(
        "/registry/enterprises/new",
        data={
            "csrf": token,
            "name": "测",
            "uscc": "91370602MA0000001X",
            "industry_code": "",
            "division_code": "370602",
        },
    )
    assert resp.status_code == 422
    errors = dict(re.findall(r'data-field="(\w+)">([^<]+)<', resp.text))
    assert errors["name"] == "长度不能少于2" and errors["industry_code"] == "为必填项"
    assert "校验码错误" in errors["uscc"]
    assert 'value="91370602MA0000001X"' in resp.text
    assert _count(engine, Enterprise) == before


def test_create_then_archive_and_restore(web: Any) -> None:
    web_login(web, "zhifu")
    token = _csrf(web.get("/registry/enterprises/new").text)
    resp = web.post(
        "/registry/enterprises/new",
        data={
            "csrf": token,
            "name": "芝罘新建化工有限公司",
            "uscc": uscc("370602", 4242),
            "industry_code": "2614",
            "division_code": "370602",
            "scale": "medium",
            "supervision_category": "hazchem",
            "is_hazchem": "on",
            "lon": "121.40",
            "lat": "37.52",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    detail = resp.headers["location"]
    page = web.get(detail).text
    assert "芝罘新建化工有限公司" in page and "中型" in page and "一企一档" in page
    ent_id = detail.rstrip("/").rsplit("/", 1)[1]
    # 一企一档 leads to the risk points, major hazards and hidden dangers of this enterprise
    for href in (
        f"/risk/points?enterprise_id={ent_id}",
        f"/risk/major-hazards?enterprise_id={ent_id}",
        f"/hazards?enterprise_id={ent_id}",
    ):
        assert f'href="{href}"' in page
        assert web.get(href).status_code == 200
    assert web.post(f"{detail}/archive", data={"csrf": token}).status_code == 200
    assert web.post(f"{detail}/archive", data={"csrf": token}).status_code == 409
    assert web.post(f"{detail}/restore", data={"csrf": token}).status_code == 200


def test_district_officer_sees_only_own_district(web: Any, city: dict) -> None:
    web_login(web, "zhifu")
    page = web.get("/registry/enterprises").text
    codes = re.findall(r'data-col="division_code" data-value="(\d+)"', page)
    assert codes and set(codes) == {"370602"}
    other = next(e for e in city["enterprises"] if e.division_code == "370613")
    resp = web.get(f"/registry/enterprises/{other.id}")
    assert resp.status_code == 404 and "企业不存在" in resp.text
    assert web.get("/registry/divisions/new").status_code == 403
    assert web.get("/admin/users").status_code == 403


def test_import_refused_file_shows_rows_and_writes_nothing(web: Any, engine: Any) -> None:
    web_login(web, "admin")
    token = _csrf(web.get("/registry/enterprises/import").text)
    csv = (
        f"名称,统一社会信用代码,行业代码,行政区划代码\n"
        f"好企业有限公司,{uscc('370602', 77)},26,370602\n坏,123,26,370602\n"
    )
    before = _count(engine, Enterprise)
    resp = web.post(
        "/registry/enterprises/import",
        data={"csrf": token},
        files={"file": ("e.csv", csv.encode(), "text/csv")},
    )
    assert resp.status_code == 422
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", resp.text)
    assert ("3", "名称", "长度不能少于2") in rows
    assert _count(engine, Enterprise) == before
    resp = web.post(
        "/registry/enterprises/import",
        data={"csrf": token, "valid_only": "on"},
        files={"file": ("e.csv", csv.encode(), "text/csv")},
    )
    assert resp.status_code == 200 and 'data-key="created">1<' in resp.text
    assert _count(engine, Enterprise) == before + 1


def test_admin_adds_and_disables_a_user_and_verifies_audit(web: Any) -> None:
    web_login(web, "admin")
    token = _csrf(web.get("/admin/users").text)
    bad = web.post(
        "/admin/users",
        data={
            "csrf": token,
            "username": "x",
            "password": "short",
            "role": "grid_member",
            "division_code": "370602",
        },
    )
    assert bad.status_code == 422 and "长度不能少于8" in bad.text
    ok = web.post(
        "/admin/users",
        data={
            "csrf": token,
            "username": "newgrid",
            "password": "long-enough",
            "role": "grid_member",
            "division_code": "370602",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert web.post("/admin/users/newgrid/disable", data={"csrf": token}).status_code == 200
    page = web.get("/admin/audit?verify=1").text
    assert "哈希链完整" in page and "newgrid" in page


def test_logout_ends_the_session(web: Any) -> None:
    web_login(web, "admin")
    token = _csrf(web.get("/map").text)
    cookie = web.cookies.get("safecity_session")
    resp = web.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    web.cookies.set("safecity_session", cookie)  # replaying the old cookie must not work
    assert web.get("/map", follow_redirects=False).headers["location"].startswith("/login")


def test_unknown_kind_gives_a_friendly_404(web: Any) -> None:
    web_login(web, "admin")
    resp = web.get("/registry/nothing")
    assert resp.status_code == 404 and "页面或对象不存在" in resp.text


def _fill_audit(session: Any) -> None:
    """105 automatic alarm entries on 1 June, then three by the admin on 3 June (Beijing)."""
    from datetime import datetime, timedelta  # noqa: PLC0415 only these audit tests need them

    from safecity.core import audit  # noqa: PLC0415
    from safecity.core.clock import BEIJING  # noqa: PLC0415

    day1 = datetime(2026, 6, 1, 9, tzinfo=BEIJING)
    for i in range(105):
        audit.record(
            session, actor="system", action="open", object_type="alarm", object_id=i,
            before=None, after={"level": "yellow"}, now=day1 + timedelta(seconds=i),
        )  # fmt: skip
    for i in range(3):
        audit.record(
            session, actor="admin", action="update", object_type="user", object_id=f"u{i}",
            before=None, after={"active": False}, now=day1 + timedelta(days=2, hours=i),
        )  # fmt: skip
    for actor in ("system:alarm", "demo"):  # machines too, under other names
        audit.record(
            session, actor=actor, action="open", object_type="alarm", object_id=actor,
            before=None, after=None, now=day1 + timedelta(days=1),
        )  # fmt: skip
    session.commit()


def _rows(html: str) -> list[tuple[str, str]]:
    """(actor, object) of each row of the audit table."""
    body = html.split('id="audit-table"', 1)[1]
    return re.findall(
        r"<td>\d+</td><td[^>]*>[^<]*</td><td>([^<]*)</td>\s*<td>[^<]*</td><td>([^<]*)</td>", body
    )


def test_audit_page_filters_and_pages_back(web: Any, session: Any) -> None:
    _fill_audit(session)
    web_login(web, "admin")
    first = web.get("/admin/audit")
    rows = _rows(first.text)
    assert len(rows) == 100 and rows[0][0] == "demo"  # newest first (last written), one page
    older = re.search(r'id="audit-older" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    rest = _rows(web.get(older).text)
    assert len(rows) + len(rest) >= 108 and not set(rows) & set(rest)  # no row on both pages
    people = _rows(web.get("/admin/audit?people_only=true").text)
    assert people and {a for a, _ in people} == {"admin"}
    alarms = _rows(web.get("/admin/audit?object_type=alarm&actor=system").text)
    assert len(alarms) == 100 and all(
        o.endswith(tuple(f"#{i}" for i in range(105))) for _, o in alarms
    )
    on_the_3rd = _rows(web.get("/admin/audit?day_from=2026-06-03&day_to=2026-06-03").text)
    assert {a for a, _ in on_the_3rd} == {"admin"} and len(on_the_3rd) == 3
    one = _rows(web.get("/admin/audit?object_type=user&object_id=u1").text)
    assert len(one) == 1 and one[0][1].endswith("#u1")
    bad = web.get("/admin/audit?day_from=03/06/2026")
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text


def test_audit_api_filters_pages_and_refuses_a_huge_limit(client: Any, session: Any) -> None:
    from tests.conftest import login  # noqa: PLC0415

    _fill_audit(session)
    headers = login(client, "admin")
    page = client.get("/api/v1/audit?object_type=alarm&limit=50", headers=headers).json()
    assert len(page) == 50 and [e["seq"] for e in page] == sorted(
        (e["seq"] for e in page), reverse=True
    )
    nxt = client.get(
        f"/api/v1/audit?object_type=alarm&limit=50&before_seq={page[-1]['seq']}", headers=headers
    ).json()
    assert len(nxt) == 50 and nxt[0]["seq"] < page[-1]["seq"]
    people = client.get("/api/v1/audit?people_only=true", headers=headers).json()
    assert people and not {e["actor"] for e in people} & {"system", "system:alarm", "demo"}
    since = client.get("/api/v1/audit?since=2026-06-03T00:00:00%2B08:00", headers=headers).json()
    assert {e["object_type"] for e in since} >= {"user"} and "alarm" not in {
        e["object_type"] for e in since
    }
    assert client.get("/api/v1/audit?limit=5000", headers=headers).status_code == 422
