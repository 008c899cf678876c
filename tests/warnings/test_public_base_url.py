"""Links sent outward (the CAP <web> element, the Atom feed) use the configured public address,
not a hard-wired http://127.0.0.1:8000."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from safecity.core.config import get_settings
from safecity.warnings import cap
from tests.conftest import login
from tests.warnings.test_api import draft

ATOM = "{http://www.w3.org/2005/Atom}"


def _issue(client: Any) -> dict[str, Any]:
    # Drafted by the district, approved by the commander: no separation-of-duties refusal.
    zhifu, cmd = login(client, "zhifu"), login(client, "commander")
    w = client.post("/api/v1/warnings", json=draft("yellow"), headers=zhifu).json()
    assert client.post(f"/api/v1/warnings/{w['id']}/submit", headers=zhifu).status_code == 200
    for step in ("approve", "issue"):
        resp = client.post(f"/api/v1/warnings/{w['id']}/{step}", headers=cmd)
        assert resp.status_code == 200, resp.text
    return resp.json()


def _web_and_feed(client: Any) -> tuple[str, list[str]]:
    w = _issue(client)
    alert = cap.parse(client.get(w["cap_url"]).content)[0]
    feed = etree.fromstring(client.get("/api/v1/warnings/feed.atom").content)
    links = [el.get("href") for el in feed.iter(f"{ATOM}link")]
    return alert.infos[0].web, links


@pytest.fixture
def base_setting(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def set_(**env: str) -> None:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        get_settings.cache_clear()

    yield set_
    get_settings.cache_clear()


def test_configured_public_base_url_is_used(client: Any, base_setting: Any) -> None:
    base_setting(SAFECITY_PUBLIC_BASE_URL="https://yjj.example.gov.cn/")
    web, links = _web_and_feed(client)
    assert web.startswith("https://yjj.example.gov.cn/public/warnings/")
    assert links and all(h.startswith("https://yjj.example.gov.cn/") for h in links), links
    assert not any("127.0.0.1" in h for h in links)


def test_without_setting_links_follow_the_served_address(client: Any, base_setting: Any) -> None:
    base_setting(SAFECITY_HOST="10.1.2.3", SAFECITY_PORT="9090")
    web, links = _web_and_feed(client)
    assert web.startswith("http://10.1.2.3:9090/public/warnings/")
    # The feed answers a request: its links follow the address the request came to.
    assert links and all(h.startswith("http://testserver/") for h in links), links
