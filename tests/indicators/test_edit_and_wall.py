"""Editing an indicator from its page (the API's checks, 422 at each field, nothing saved on a
refusal), the wall's incidents in progress with their response level read through emergency
command's service, the accident source giving numbers, and the demo statistics leading up to
the resources registers. SQLite and PostgreSQL."""

from __future__ import annotations

import random
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.models import AuditEntry
from safecity.indicators import demo, service
from safecity.indicators.models import IndicatorRow
from safecity.registry.models import Division
from tests.conftest import NOW, csrf_of, login, web_login
from tests.indicators.helpers import import_yantai

KEY = "deaths_per_100m_gdp"


def _as(client, username: str, page: str) -> str:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    assert web_login(client, username, next=page).status_code == 303
    r = client.get(page)
    assert r.status_code == 200, r.text[:300]
    return csrf_of(r.text)


def _form(row: IndicatorRow, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name_zh": row.name_zh,
        "name_en": row.name_en,
        "unit": row.unit,
        "source": row.source,
        "formula": row.formula,
        "direction": row.direction,
        "binding": row.binding or "",
        "period_start": str(row.period_start),
        "period_end": str(row.period_end),
        "base_year": "" if row.base_year is None else str(row.base_year),
        "base_value": row.base_value or "",
        "target_value": row.target_value or "",
        "target_change_percent": row.target_change_percent or "",
        "all_divisions": "on",
    }
    if row.target_strict:
        data["target_strict"] = "on"
    return data | changes


def test_edit_an_indicator_from_its_page(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    s = import_yantai(session)
    row = session.scalar(select(IndicatorRow).where(IndicatorRow.key == KEY))
    assert row is not None and row.target_value == "0.005"
    page = f"/indicators/{s.id}/{KEY}"
    _as(client, "analyst", page)
    assert 'id="ind-edit"' in client.get(page).text  # the editor is offered the form
    csrf = _as(client, "analyst", f"{page}/edit")
    form = client.get(f"{page}/edit").text
    assert 'value="production_safety_deaths / gdp_100m_yuan"' in form and 'value="-33"' in form

    # three problems at once, each at its field; nothing saved
    r = client.post(
        f"{page}/edit",
        data=_form(row, csrf=csrf, direction="higher", period_start="二〇二一",
                   formula="production_safety_deaths / gdp"),
    )  # fmt: skip
    assert r.status_code == 422
    fields = dict(re.findall(r'<div class="field-error" data-field="(\w+)">([^<]+)</div>', r.text))
    assert set(fields) == {"period_start", "formula", "target_change_percent"}
    assert "二〇二一" in fields["period_start"]
    assert "gdp" in fields["formula"]
    assert "越高越好" in fields["target_change_percent"]
    assert 'value="二〇二一"' in r.text  # the form comes back as typed
    session.expire_all()
    assert session.get(IndicatorRow, row.id).direction == "lower"
    assert not session.scalar(
        select(AuditEntry).where(
            AuditEntry.object_type == "indicator", AuditEntry.action == "update"
        )
    )

    # a change target needs its base year: said at the base year
    r = client.post(f"{page}/edit", data=_form(row, csrf=csrf, base_year=""))
    assert r.status_code == 422 and 'data-field="base_year"' in r.text

    r = client.post(
        f"{page}/edit",
        data=_form(row, csrf=csrf, target_value="0.004", binding="binding", target_strict="on"),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"{page}?saved=1"
    session.expire_all()
    row = session.get(IndicatorRow, row.id)
    assert (row.target_value, row.binding, row.target_strict) == ("0.004", "binding", True)
    assert row.updated_by == "analyst"
    entry = session.scalar(
        select(AuditEntry).where(
            AuditEntry.object_type == "indicator", AuditEntry.action == "update"
        )
    )
    assert entry is not None and entry.before["target_value"] == "0.005"
    assert entry.after["target_value"] == "0.004"
    # the API reads the same definition
    body = client.get(f"/api/v1/indicators/sets/{s.id}", headers=login(client, "analyst")).json()
    assert next(i for i in body["indicators"] if i["key"] == KEY)["binding"] == "binding"

    # a commander reads indicators but does not edit them; a district officer neither
    _as(client, "commander", page)
    assert 'id="ind-edit"' not in client.get(page).text
    assert client.get(f"{page}/edit").status_code == 403
    r = client.post(f"{page}/edit", data=_form(row, csrf=csrf_of(client.get(page).text)))
    assert r.status_code == 403
    _as(client, "zhifu", page)
    assert client.get(f"{page}/edit").status_code == 403


def _incident(client, who: str = "commander", **extra) -> int:  # type: ignore[no-untyped-def]
    body = {
        "title": "化工厂反应釜爆炸",
        "type_key": "accident_disaster.production_safety",
        "production_safety": True,
        "occurred_at": (NOW - timedelta(hours=3)).isoformat(),
        "division_code": "370602",
        "lon": 121.40,
        "lat": 37.50,
        **extra,
    }
    r = client.post("/api/v1/response/incidents", json=body, headers=login(client, who))
    assert r.status_code == 201, r.text
    return int(r.json()["incident"]["id"])


def _post(client, path: str, **body) -> dict:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/response{path}", json=body, headers=login(client, "commander"))
    assert r.status_code == 200, r.text
    return r.json()


def test_wall_shows_incidents_in_progress_with_their_response_level(
    client, session: Session, frozen_clock
) -> None:  # type: ignore[no-untyped-def]
    plan = client.post(
        "/api/v1/response/plans",
        json={
            "name": "烟台市生产安全事故应急预案",
            "tier": "special",
            "owner_name": "烟台市应急管理局",
            "division_code": "370600",
            "types": ["accident_disaster"],
            "triggers": {"levels": [{"level": "IV", "when": {"field": "deaths", "op": "gte",
                                                              "value": 0}}]},
        },
        headers=login(client, "commander"),
    )  # fmt: skip
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    _post(client, f"/plans/{plan_id}/approve")
    # Zhifu: one under a level II response, one whose level IV response has ended (still open
    # until closed), one closed; Laishan: one just received; and a drill, never counted
    a = _incident(client, title="甲化工厂爆炸", deaths=3)
    _post(client, f"/incidents/{a}/grade")
    _post(client, f"/incidents/{a}/response", plan_id=plan_id, level="II")
    c = _incident(client, title="丙仓库火灾", deaths=1)
    _post(client, f"/incidents/{c}/grade")
    _post(client, f"/incidents/{c}/response", plan_id=plan_id, level="IV")
    _post(client, f"/incidents/{c}/response/end", note="明火扑灭")
    d = _incident(client, title="丁管道泄漏")
    _post(client, f"/incidents/{d}/grade")
    _post(client, f"/incidents/{d}/close", summary="已处置完毕")
    b = _incident(client, title="乙企业火情", division_code="370613", lon=121.45, lat=37.40)
    _incident(client, title="演练：储罐泄漏", is_drill=True)

    v = client.get("/api/v1/indicators/vitals", headers=login(client, "commander")).json()
    inc = v["incidents"]
    assert "incidents" not in v["missing"]
    assert inc["count"] == 3 and inc["responding"] == 2
    assert inc["by_level"] == {"I": 0, "II": 1, "III": 0, "IV": 1}
    assert [(i["id"], i["response_level"], i["level_zh"]) for i in inc["items"]] == [
        (a, "II", "Ⅱ级响应"),
        (c, "IV", "Ⅳ级响应"),
        (b, None, "未启动响应"),
    ]
    assert inc["items"][0]["grade_zh"] == "较大" and inc["items"][1]["status"] == "ended"
    z = client.get("/api/v1/indicators/vitals", headers=login(client, "zhifu")).json()
    assert [i["id"] for i in z["incidents"]["items"]] == [a, c]

    client.cookies.clear()
    web_login(client, "commander", next="/indicators/wall")
    wall = client.get("/indicators/wall").text
    tile = wall[wall.index('id="tile-incidents"') :].split("</section>")[0]
    assert 'data-v="incidents.by_level.II">1<' in tile
    assert '<li class="rl-II"><em>Ⅱ级响应</em>甲化工厂爆炸</li>' in tile
    assert '<li class="rl-none"><em>未启动响应</em>乙企业火情</li>' in tile


def test_accident_source_gives_numbers_from_emergency_command(
    client, session: Session, frozen_clock
) -> None:  # type: ignore[no-untyped-def]
    s = import_yantai(session)
    _incident(client, title="甲化工厂爆炸", deaths=3)
    _incident(client, title="乙车间中毒", deaths=2, division_code="370613", lon=121.45, lat=37.40)
    session.commit()
    ev = service.evaluate(
        session,
        service_principal(session),
        s.id,
        NOW,
        years=[NOW.year],
        division="370600",
        keys=[KEY],
    )
    use = next(u for u in ev.cell(KEY, "370600", NOW.year).inputs if u.name != "gdp_100m_yuan")
    assert (use.origin, use.value) == ("records", 5)  # not 来源读取失败
    assert "应急指挥" in use.note_zh


def service_principal(session: Session):  # type: ignore[no-untyped-def]
    from tests.conftest import principal  # noqa: PLC0415 kept beside its one use

    return principal(session, "analyst")


def test_demo_statistics_lead_up_to_the_resources_registers(session: Session, city) -> None:  # type: ignore[no-untyped-def]
    d = session.get(Division, "370602")
    live = {("shelter_area_m2", "370602"): 1_000_000.0}
    rows = demo._series(random.Random(1), d, [2024, 2025, 2026], 2026, live)
    area = {r.year: r.value for r in rows if r.input == "shelter_area_m2"}
    assert set(area) == {2024, 2025}  # this year's comes from the records
    assert 0.92 * 0.98 <= area[2024] / 1_000_000 <= 0.92 * 1.02
    assert 0.96 * 0.98 <= area[2025] / 1_000_000 <= 0.96 * 1.02
    staff = {r.year: r.value for r in rows if r.input == "fire_rescue_staff"}
    assert set(staff) == {2024, 2025}  # no live figure: the invented series stays


def test_indicator_sets_page_imports_a_city_set_whole(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from tests.indicators.helpers import shipped_text  # noqa: PLC0415 kept beside its one use

    csrf = _as(client, "analyst", "/indicators/sets")
    r = client.get("/indicators/sets/shipped/yantai.toml")
    assert r.status_code == 200 and r.text == shipped_text("yantai")
    assert client.get("/indicators/sets/shipped/atlantis.toml").status_code == 404
    text = shipped_text("yantai")
    r = client.post(
        "/indicators/sets",
        data={"csrf": csrf},
        files={"file": ("yantai.toml", text.encode())},
        follow_redirects=False,
    )
    assert r.status_code == 303
    done = client.get(r.headers["location"]).text
    created = len(service.indicator_rows(session, service.list_sets(session, _p(session))[0].id))
    assert created == 13 and f"新增 {created}，修改 0，删除 0，未变 0" in done
    # a second file with two mistakes: refused whole, each error listed, nothing changed
    bad = text.replace('direction = "lower"', 'direction = "sideways"', 1).replace(
        "gdp_100m_yuan", "gdp_typo", 1
    )
    r = client.post(
        "/indicators/sets", data={"csrf": csrf}, files={"file": ("y.toml", bad.encode())}
    )
    assert r.status_code == 422
    errors = re.findall(r'<li class="mono small">([^<]+)</li>', r.text)
    assert any("direction" in e and "sideways" in e for e in errors)
    assert any("formula" in e and "gdp_typo" in e for e in errors)
    session.expire_all()
    assert {row.direction for row in session.scalars(select(IndicatorRow))} == {"lower", "higher"}
    r = client.post(
        "/indicators/sets", data={"csrf": csrf}, files={"file": ("y.toml", b"\xff\xfe\x00")}
    )
    assert r.status_code == 422 and "UTF-8" in r.text
    # the same file again changes nothing; a commander reads the page but may not import
    r = client.post(
        "/indicators/sets",
        data={"csrf": csrf},
        files={"file": ("y.toml", text.encode())},
        follow_redirects=False,
    )
    assert f"未变 {created}" in client.get(r.headers["location"]).text
    csrf = _as(client, "commander", "/indicators/sets")
    assert 'id="ind-sets-form"' not in client.get("/indicators/sets").text
    r = client.post(
        "/indicators/sets", data={"csrf": csrf}, files={"file": ("y.toml", text.encode())}
    )
    assert r.status_code == 403


def _p(session: Session):  # type: ignore[no-untyped-def]
    from tests.conftest import principal  # noqa: PLC0415 kept beside its one use

    return principal(session, "analyst")
