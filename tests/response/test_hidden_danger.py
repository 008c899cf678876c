"""An incident opens a hidden danger: the hazards report form prefilled from the incident (title,
enterprise, place, coordinates, a description linking back), reported through the hazards
service, and the hidden danger on the incident's timeline; bad input writes nothing; roles,
scope and closed incidents refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from sqlalchemy import func, insert, select

from safecity.hazards.models import HiddenDanger
from safecity.registry.models import Enterprise
from safecity.response.models import TimelineEntry
from tests.conftest import NOW, csrf_of, login, web_login
from tests.factories import uscc
from tests.response.test_api import API, post, receive


def incident(client, rs_city) -> dict:  # type: ignore[no-untyped-def]
    ent = rs_city["enterprises"][0]  # 测试企业1有限公司, Zhifu
    return receive(
        client,
        "commander",
        enterprise_id=ent.id,
        address="芝罘区幸福路 8 号",
        description="储罐区阀门泄漏引发爆燃",
    )["incident"]


def field(page: str, name: str) -> str:
    match = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', page)
    assert match, name
    tag = match.group(0)
    if tag.startswith("<textarea"):
        return page.split(tag, 1)[1].split("</textarea>", 1)[0]
    value = re.search(r'value="([^"]*)"', tag)
    return value.group(1) if value else ""


def hidden_dangers(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(HiddenDanger))


def test_the_form_is_prefilled_and_the_report_lands_on_the_timeline(
    rs_city, client, frozen_clock, session
) -> None:
    inc = incident(client, rs_city)
    client.headers["accept"] = "text/html"
    web_login(client, "commander")
    view = client.get(f"/response/incidents/{inc['id']}").text
    assert f'href="/response/incidents/{inc["id"]}/hidden-danger"' in view

    form = client.get(f"/response/incidents/{inc['id']}/hidden-danger")
    assert form.status_code == 200
    page = form.text
    assert f'action="/response/incidents/{inc["id"]}/hidden-danger"' in page
    assert f'<a href="/response/incidents/{inc["id"]}">#{inc["id"]} 化工厂反应釜爆炸</a>' in page
    assert field(page, "title") == f"化工厂反应釜爆炸（事件 #{inc['id']}）暴露的隐患"
    assert field(page, "lon") == "121.400000" and field(page, "lat") == "37.500000"
    assert field(page, "address") == "芝罘区幸福路 8 号"
    description = field(page, "description")
    assert "储罐区阀门泄漏引发爆燃" in description
    assert f"/response/incidents/{inc['id']}" in description
    ent = rs_city["enterprises"][0]
    assert f'id="r-enterprise" name="enterprise_id" value="{ent.id}"' in page
    assert f'id="r-enterprise-q" value="{ent.name}"' in page
    assert '<option value="management" selected>' in page  # production-safety accident

    # bad input: 422 with the field named, nothing written anywhere
    before = session.scalar(select(func.count()).select_from(TimelineEntry))
    bad = client.post(
        f"/response/incidents/{inc['id']}/hidden-danger",
        data={"csrf": csrf_of(page), "title": "x", "description": description, "lon": "121.4"},
    )
    assert bad.status_code == 422
    assert '<div class="field-error" data-field="title">隐患名称：' in bad.text
    assert field(bad.text, "lat") == ""  # what was sent comes back, not the prefill
    assert f'action="/response/incidents/{inc["id"]}/hidden-danger"' in bad.text
    assert hidden_dangers(session) == 0
    assert session.scalar(select(func.count()).select_from(TimelineEntry)) == before

    done = client.post(
        f"/response/incidents/{inc['id']}/hidden-danger",
        data={
            "csrf": csrf_of(page),
            "title": "储罐区阀门老化未更换",
            "description": description,
            "category": "hazchem",
            "enterprise_id": str(ent.id),
            "lon": "121.400000",
            "lat": "37.500000",
            "address": "芝罘区幸福路 8 号",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/response/incidents/{inc['id']}#timeline-card"
    session.expire_all()
    hd = session.scalar(select(HiddenDanger))
    assert hd.title == "储罐区阀门老化未更换" and hd.category == "hazchem"
    assert hd.source == "emergency_incident" and hd.status == "reported"
    assert hd.enterprise_id == ent.id and hd.division_code == "370602"
    assert f"/response/incidents/{inc['id']}" in hd.description
    entry = session.scalar(
        select(TimelineEntry).where(
            TimelineEntry.incident_id == inc["id"], TimelineEntry.action == "open_hidden_danger"
        )
    )
    assert entry.data == {"hidden_danger": hd.id} and entry.actor == "commander"

    view = client.get(f"/response/incidents/{inc['id']}").text
    timeline = view.split('id="timeline"', 1)[1].split("</ol>", 1)[0]
    assert f'<a class="tl-hidden-danger" href="/hazards/{hd.id}">隐患 #{hd.id}</a>' in timeline
    assert "上报隐患" in timeline


def test_over_the_api_roles_scope_and_state(rs_city, client, frozen_clock, session) -> None:
    inc = incident(client, rs_city)
    url = f"{API}/incidents/{inc['id']}/hidden-dangers"
    # an unknown category is the hazards capability's 422, in both languages, nothing written
    resp = client.post(url, json={"category": "bogus"}, headers=login(client, "duty"))
    assert resp.status_code == 422
    assert hidden_dangers(session) == 0
    # nothing given: everything from the incident
    resp = client.post(url, json={}, headers=login(client, "duty"))
    assert resp.status_code == 201, resp.text
    hd = session.get(HiddenDanger, resp.json()["hidden_danger_id"])
    assert hd.title.startswith("化工厂反应釜爆炸") and hd.address == "芝罘区幸福路 8 号"
    assert (hd.lon, hd.lat) == (121.40, 37.50) and hd.source == "emergency_incident"
    # an analyst may read the incident but not act on it; another district does not see it
    assert client.post(url, json={}, headers=login(client, "analyst")).status_code == 403
    assert client.post(url, json={}, headers=login(client, "laishan")).status_code == 404
    # a closed incident opens nothing more
    post(client, "commander", f"/incidents/{inc['id']}/grade")
    post(client, "commander", f"/incidents/{inc['id']}/close", summary="现场处置完毕")
    assert client.post(url, json={}, headers=login(client, "duty")).status_code == 409
    assert hidden_dangers(session) == 1


def test_the_incidents_enterprise_is_choosable_beyond_the_first_500(
    rs_city, client, frozen_clock, session
) -> None:
    # 500 enterprises whose names sort before the incident's (the form once listed 500 by name;
    # now it searches, and the prefilled one is read by its id)
    session.execute(
        insert(Enterprise),
        [
            {
                "name": f"A{i:03d}有限公司",
                "uscc": uscc("370602", 1000 + i),
                "industry_code": "26",
                "industry_section": "C",
                "scale": "small",
                "supervision_category": "other",
                "is_hazchem": False,
                "address": "",
                "division_code": "370602",
                "archived": False,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for i in range(500)
        ],
    )
    session.commit()
    inc = incident(client, rs_city)
    client.headers["accept"] = "text/html"
    web_login(client, "commander")
    page = client.get(f"/response/incidents/{inc['id']}/hidden-danger").text
    ent = rs_city["enterprises"][0]
    assert f'id="r-enterprise" name="enterprise_id" value="{ent.id}"' in page
    assert f'id="r-enterprise-q" value="{ent.name}"' in page
    assert "A000有限公司" not in page  # no list of names shipped with the form
