"""Login, token expiry, slowing down repeated failures, user administration."""

from datetime import timedelta

from safecity.core.deps import SESSION_COOKIE
from safecity.core.models import AuthToken
from safecity.core.security import login_delay_seconds
from tests.conftest import login


def test_no_token_is_401(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/enterprises")
    assert resp.status_code == 401 and resp.json()["message"] == "请先登录"


def test_wrong_password_then_slowed_down(client) -> None:  # type: ignore[no-untyped-def]
    statuses = [
        client.post("/api/v1/auth/token", json={"username": "zhifu", "password": "x"}).status_code
        for _ in range(4)
    ]
    # three free failures, the fourth locks the account for 1 s
    assert statuses == [401, 401, 401, 401]
    resp = client.post("/api/v1/auth/token", json={"username": "zhifu", "password": "demo1234"})
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1


def test_delay_doubles_to_a_ceiling() -> None:
    assert [login_delay_seconds(n, 3, 900) for n in (0, 2, 3, 4, 5, 6, 12, 13, 30)] == [
        0,
        0,
        0,
        1,
        2,
        4,
        256,
        512,
        900,
    ]


def test_expired_token_is_refused(client, session) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "admin")
    assert client.get("/api/v1/me", headers=h).status_code == 200
    for row in session.query(AuthToken).all():
        row.expires_at = row.expires_at - timedelta(days=2)
    session.commit()
    assert client.get("/api/v1/me", headers=h).status_code == 401


def test_me_shows_role_and_scope(client) -> None:  # type: ignore[no-untyped-def]
    me = client.get("/api/v1/me", headers=login(client, "zhifu")).json()
    assert me["role_zh"] == "区县/街道" and me["scope_prefix"] == "370602"


def test_admin_adds_and_disables_user(client) -> None:  # type: ignore[no-untyped-def]
    admin = login(client, "admin")
    body = {
        "username": "newduty",
        "password": "longpassword",
        "role": "duty_officer",
        "division_code": "370602",
        "display_name": "值班员甲",
    }
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 201
    resp = client.post(
        "/api/v1/auth/token", json={"username": "newduty", "password": "longpassword"}
    )
    token = {"Authorization": "Bearer " + resp.json()["access_token"]}
    assert client.get("/api/v1/me", headers=token).status_code == 200
    assert client.post("/api/v1/users/newduty/disable", headers=admin).status_code == 200
    assert client.get("/api/v1/me", headers=token).status_code == 401


def test_user_rules(client) -> None:  # type: ignore[no-untyped-def]
    admin = login(client, "admin")
    outside = {
        "username": "qd",
        "password": "longpassword",
        "role": "duty_officer",
        "division_code": "370202",
    }
    assert client.post("/api/v1/users", json=outside, headers=admin).status_code == 403
    short = {"username": "x1", "password": "short", "role": "nobody", "division_code": "370602"}
    resp = client.post("/api/v1/users", json=short, headers=admin)
    assert resp.status_code == 422
    assert {d["field"] for d in resp.json()["detail"]} == {"password", "role"}
    assert (
        client.post("/api/v1/users", json=outside, headers=login(client, "zhifu")).status_code
        == 403
    )


def test_cookie_write_needs_csrf(client) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "admin")["Authorization"][7:]
    client.cookies.set(SESSION_COOKIE, token)
    resp = client.post("/api/v1/enterprises/1/archive")
    assert resp.status_code == 403 and "CSRF" in resp.json()["message"]
    client.cookies.clear()


def test_audit_verify_endpoint(client) -> None:  # type: ignore[no-untyped-def]
    admin = login(client, "admin")
    client.patch("/api/v1/enterprises/1", json={"employees": 5}, headers=admin)
    result = client.get("/api/v1/audit/verify", headers=admin).json()
    assert result["ok"] and result["checked"] >= 1
    assert client.get("/api/v1/audit/verify", headers=login(client, "zhifu")).status_code == 403
