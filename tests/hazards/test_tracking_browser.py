"""Real Chromium on a phone (390×844): an anonymous reporter sends a hidden danger, gets the
tracking link, opens it and sees the progress steps — in Chinese, then in English."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from safecity.core.migrate import upgrade
from tests.browser import live_server, load_demo_city

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('hdtrack')}/safecity.db"
    upgrade(url)
    load_demo_city(url)
    with live_server(url) as served:
        yield served


def test_phone_reporter_follows_the_tracking_link(base: str, browser: Any) -> None:
    page = browser.new_page(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page.set_default_timeout(30_000)
    page.goto(f"{base}/hazards/report")
    page.fill("#r-title", "小区消防通道被占用")
    page.fill("#r-lon", "121.365")
    page.fill("#r-lat", "37.465")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#report-done")
    link = page.locator("#track-link")
    href = link.get_attribute("href")
    assert href and "/hazards/track/" in href and len(href.rsplit("/", 1)[1]) >= 32
    box = link.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390  # the long link wraps
    link.click()
    page.wait_for_selector("#track")
    assert page.get_attribute("#track-stage", "data-stage") == "received"
    assert page.inner_text("#track-stage") == "已受理"
    steps = page.locator(".hd-track-steps li")
    assert steps.count() == 4 and page.locator(".hd-track-steps li.done").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click(".lang-switch a[lang=en]")
    page.wait_for_selector("#track")
    assert page.inner_text("#track-stage") == "Received"
    page.goto(href[:-1] + ("y" if href[-1] != "y" else "z"))
    assert "/hazards/track/" in page.url and page.locator("#track").count() == 0
