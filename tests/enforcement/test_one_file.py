"""一企一档: the enterprise's registry page carries its supervision class, inspections and cases
(through the safecity_detail_sections hook), for the staff and the enterprise's own officer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from safecity.enforcement import casework, fieldwork, inspecting, supervision
from safecity.enforcement.plugin import plugin
from safecity.registry.kinds import DIVISION, ENTERPRISE
from tests.conftest import NOW, principal, web_login


@pytest.fixture
def record(session, enf):  # type: ignore[no-untyped-def]
    zhifu, pool = principal(session, "zhifu"), enf["pool"]
    ent = enf["enterprises"][1]  # 测试企业2有限公司, 芝罘
    supervision.classify(session, principal(session, "admin"), NOW, "370602")
    supervision.override_class(session, zhifu, ent.id, "A", "近期发生险情", NOW)
    done = inspecting.create_inspection(
        session,
        zhifu,
        {"enterprise_id": ent.id, "inspector_ids": [pool["insp1"], pool["insp2"]]},
        NOW - timedelta(days=120),
    )
    fieldwork.finish_inspection(
        session, principal(session, "insp1"), done.id, {"party_present": "张经理"}, NOW
    )
    inspecting.create_inspection(
        session,
        zhifu,
        {"enterprise_id": ent.id, "inspector_ids": [pool["insp1"], pool["insp2"]]},
        NOW,
    )
    head = principal(session, "head")
    late = casework.open_case(
        session,
        zhifu,
        {"enterprise_id": ent.id, "violation": "training", "circumstance": "minor", "facts": "x"},
        NOW - timedelta(days=100),
    )
    casework.take_step(session, head, late.id, "file", {}, NOW - timedelta(days=100))
    other = casework.open_case(  # another enterprise's case: not on this file
        session,
        zhifu,
        {
            "enterprise_id": enf["enterprises"][2].id,
            "violation": "training",
            "circumstance": "minor",
            "facts": "y",
        },
        NOW,
    )
    session.commit()
    return {"ent": ent, "done": done.id, "late": late.id, "other": other.id}


def test_section_only_for_enterprises_and_readers(session, record) -> None:  # type: ignore[no-untyped-def]
    ent = record["ent"]
    zhifu = principal(session, "zhifu")
    assert plugin.safecity_detail_sections(session, zhifu, DIVISION, ent, NOW) == []
    ((template, s),) = plugin.safecity_detail_sections(session, zhifu, ENTERPRISE, ent, NOW)
    assert template == "enforcement/_one_file.html"
    assert (s["class_key"], s["overridden"], s["inspections_per_year"]) == ("A", True, 4)
    assert (s["inspections"], s["inspections_done"]) == (2, 1)
    assert (s["cases"], s["open_cases"], s["overdue_cases"], s["fines"]) == (1, 1, 1, 0)
    assert [c.id for c in s["recent_cases"]] == [record["late"]]
    # a grid member, the public and another enterprise's officer get nothing
    for username in ("public",):
        assert (
            plugin.safecity_detail_sections(
                session, principal(session, username), ENTERPRISE, ent, NOW
            )
            == []
        )
    officer = principal(session, "enterprise")  # officer of enterprise 1, not 2
    assert plugin.safecity_detail_sections(session, officer, ENTERPRISE, ent, NOW) == []


def test_enterprise_page_shows_the_file(client, record, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    ent = record["ent"]
    assert web_login(client, "zhifu").status_code == 303
    page = client.get(f"/registry/enterprises/{ent.id}")
    assert page.status_code == 200
    html = page.text
    assert 'id="one-file-enforcement"' in html and 'href="#one-file-enforcement"' in html
    section = html[html.index('id="one-file-enforcement"') :]
    assert re.search(r'id="enf-of-inspections">1<small class="muted"> / 2', section)
    assert re.search(r'id="enf-of-overdue">1<', section)
    assert "A类（重点监管）" in section and "近期发生险情" in section
    assert f'href="/enforcement/cases/{record["late"]}"' in section
    assert f'href="/enforcement/cases/{record["other"]}"' not in section
    assert f'href="/enforcement/inspections/{record["done"]}"' in section
    # the lists it links to are filtered to the enterprise, with a chip naming it
    cases = client.get(f"/enforcement/cases?enterprise_id={ent.id}").text
    assert 'id="enterprise-filter"' in cases and ent.name in cases
    assert f'data-id="{record["late"]}"' in cases and f'data-id="{record["other"]}"' not in cases
    listing = client.get(f"/enforcement/inspections?enterprise_id={ent.id}").text
    assert listing.count('<tr data-id="') == 2
    # English
    client.cookies.set("lang", "en")
    html = client.get(f"/registry/enterprises/{ent.id}").text
    assert "Inspections and enforcement cases" in html and "class A (close)" in html


def test_enterprise_officer_sees_its_own(client, session, enf, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    own = enf["enterprises"][0]
    c = casework.open_case(
        session,
        principal(session, "zhifu"),
        {"enterprise_id": own.id, "violation": "training", "circumstance": "minor", "facts": "z"},
        NOW,
    )
    session.commit()
    assert web_login(client, "enterprise").status_code == 303
    html = client.get(f"/registry/enterprises/{own.id}").text
    section = html[html.index('id="one-file-enforcement"') :]
    assert f'href="/enforcement/cases/{c.id}"' in section
    assert client.get(f"/registry/enterprises/{enf['enterprises'][1].id}").status_code == 404
