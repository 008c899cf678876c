"""The case list's division and text filters, its state counts, and its two ways of reading a
page (sorted after filtering, or walking the newest-first index) giving the same answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from safecity.core.errors import Invalid, NotFound
from safecity.enforcement import case_search, casework
from tests.conftest import NOW, login, principal


@pytest.fixture
def cases(session, enf):  # type: ignore[no-untyped-def]
    """Seven cases, one a minute: enterprises 1, 2 (芝罘 370602) and 4, 5 (莱山 370613); the
    third is filed (numbered) and one carries a custom title with Latin capitals."""
    ents = enf["enterprises"]
    admin = principal(session, "admin")
    made = []
    for k, (e, title) in enumerate(
        [(0, ""), (1, ""), (0, ""), (3, "ABC储罐区未培训案"), (4, ""), (0, ""), (3, "")]
    ):
        made.append(
            casework.open_case(
                session,
                admin,
                {
                    "enterprise_id": ents[e].id,
                    "violation": "training",
                    "circumstance": "minor",
                    "facts": "未培训",
                    "title": title,
                },
                NOW + timedelta(minutes=k),
            )
        )
    casework.take_step(session, principal(session, "head"), made[2].id, "file", {}, NOW)
    session.commit()
    return made


def ids(session, who, **kw):  # type: ignore[no-untyped-def]
    f = case_search.case_filters_checked(session, who, case_search.CaseFilters(**kw))
    found = case_search.case_list(session, who, f, NOW + timedelta(hours=1))
    return [c.id for c in found.items], found.total, found.counts


def test_division_and_text_filters(session, cases) -> None:  # type: ignore[no-untyped-def]
    admin = principal(session, "admin")
    newest_first = [c.id for c in reversed(cases)]
    assert ids(session, admin)[:2] == (newest_first, 7)
    laishan = [c.id for c in reversed(cases) if c.division_code == "370613"]
    assert len(laishan) == 3 and ids(session, admin, division="370613")[:2] == (laishan, 3)
    # the enterprise's name in the default title, the filed case's number, Latin letters in
    # any case; a % or _ is a literal character, not a wildcard
    assert ids(session, admin, q="测试企业2")[:2] == ([cases[1].id], 1)
    assert cases[2].number and ids(session, admin, q=cases[2].number[-8:])[0] == [cases[2].id]
    assert ids(session, admin, q="abc储罐")[0] == [cases[3].id]
    assert ids(session, admin, q="%")[1] == 0 and ids(session, admin, q="_")[1] == 0
    # the text, division and state filters together; the tabs count under division and text
    _, total, counts = ids(session, admin, q="测试企业1", division="370602", state="filed")
    assert total == 1 and counts == {"clue": 2, "filed": 1}
    assert ids(session, admin, q="测试企业1", open_only=True)[1] == 3


@pytest.mark.parametrize("few_found", [0, 5000])
def test_both_page_paths_agree(session, cases, monkeypatch, few_found) -> None:  # type: ignore[no-untyped-def]
    """Few matches sort after filtering; many walk the order index; a text search with few
    matches pages in memory — the same pages every way."""
    monkeypatch.setattr(case_search, "FEW_FOUND", few_found)
    admin, zhifu = principal(session, "admin"), principal(session, "zhifu")
    queries = [
        (admin, {}),
        (admin, {"size": 2, "page": 2}),
        (admin, {"division": "370602"}),
        (zhifu, {}),
        (admin, {"q": "测试企业", "size": 3}),
        (admin, {"state": "clue", "size": 2, "page": 3}),
        (admin, {"q": "测试企业", "state": "clue", "size": 2, "page": 2}),
        (admin, {"q": "测试企业1", "open_only": True, "division": "370602"}),
    ]
    monkeypatch.setattr(case_search, "SORT_BELOW", 10**9)
    sorted_after = [ids(session, who, **kw)[:2] for who, kw in queries]
    monkeypatch.setattr(case_search, "SORT_BELOW", 0)
    walked = [ids(session, who, **kw)[:2] for who, kw in queries]
    assert walked == sorted_after
    assert sorted_after[1] == ([cases[4].id, cases[3].id], 7)
    assert sorted_after[3][1] == 4  # the district officer sees 芝罘's four
    # "测试企业" is in every default title (not case 3's own): the newest three of six
    assert sorted_after[4] == ([c.id for c in cases[:3:-1]], 6)
    # the clues (case 2 was filed): 6, 5 | 4, 3 | 1, 0 — page 3
    assert sorted_after[5] == ([cases[1].id, cases[0].id], 6)
    # …and those the text matches: 6, 5 | 4, 1 | 0 — page 2
    assert sorted_after[6] == ([cases[4].id, cases[1].id], 5)
    assert sorted_after[7] == ([cases[5].id, cases[2].id, cases[0].id], 3)


def test_bad_filters_refused(session, cases) -> None:  # type: ignore[no-untyped-def]
    zhifu = principal(session, "zhifu")
    for value in ("37AB", "370699"):  # malformed, unknown
        with pytest.raises(Invalid) as exc:
            ids(session, zhifu, division=value)
        assert exc.value.errors[0].field == "division"
    with pytest.raises(NotFound):  # a district officer asking for the neighbour's cases
        ids(session, zhifu, division="370613")
    with pytest.raises(Invalid) as exc:
        ids(session, zhifu, q="案" * 101)
    assert exc.value.errors[0].field == "q"


def test_api_and_page_filters(client, session, cases) -> None:  # type: ignore[no-untyped-def]
    headers = login(client, "admin")
    r = client.get(
        "/api/v1/enforcement/cases", params={"division": "370613", "q": "ABC"}, headers=headers
    )
    assert r.status_code == 200 and [c["id"] for c in r.json()["items"]] == [cases[3].id]
    r = client.get("/api/v1/enforcement/cases", params={"division": "3706x"}, headers=headers)
    assert r.status_code == 422 and "division" in r.text


def test_text_index_agrees_with_the_scan(session, cases, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each way of matching text (SQLite's trigram table kept by triggers, numbers given at
    filing included; a plain substring test for short text) finds what the LIKE finds."""
    admin = principal(session, "admin")
    words = [
        "测试企业1",
        "测试企业有",
        "abc储",
        cases[2].number[-8:],
        "企业",
        "案",
        "没有的字",
        "%",
    ]
    chosen = [case_search._text_mode(session, w) for w in words]
    found = [ids(session, admin, q=w)[:2] for w in words]
    monkeypatch.setattr(case_search, "_text_mode", lambda session, q: "like")
    assert [ids(session, admin, q=w)[:2] for w in words] == found
    assert found[0][1] == 3 and found[3][0] == [cases[2].id] and found[4][1] == 6
    assert found[6][1] == 0 and found[7][1] == 0
    sqlite = session.get_bind().dialect.name == "sqlite"
    assert chosen[0] == ("fts" if sqlite else "like")
    assert chosen[4] == chosen[7] == ("instr" if sqlite else "strpos")
