"""Comments in the room (issue 15): one in one browser appears in another at once (event
stream); the host pins it and every page shows it pinned; a listener of a large audience (no
event stream) gets them through the cacheable newest page; Arabic and new lines read right."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.support.client import Api
from tests.support.server import RunningServer, run_server
from tests.web.conftest import ONE_SHAPE, MakeSpace, sign_in_page, wait_js

pytestmark = ONE_SHAPE


def test_a_comment_in_one_browser_appears_in_another_and_the_host_pins_it(
    api: Api, live_space: MakeSpace, server: RunningServer, page: Page, browser: Browser
) -> None:
    host, space = live_space("Let's talk")
    fan = api.sign_up("commenter")
    url = f"{server.base_url}/spaces/{space['id']}"
    sign_in_page(page, host)
    page.goto(url)
    wait_js(page, "() => window.majlis.events > 0 && window.majlis.role === 'host'")
    other = browser.new_context(locale="ar-EG")
    try:
        tab = other.new_page()
        sign_in_page(tab, fan)
        tab.goto(url)
        wait_js(tab, "() => window.majlis.events > 0")
        tab.locator("#comment-text").fill("سؤال للضيفة:\nما رأيك؟")
        tab.locator("#comment-send").click()
        wait_js(page, "() => window.majlis.comments === 1", 10)
        said = page.locator("#comment-list .comment .comment-text").first
        assert said.inner_text() == "سؤال للضيفة:\nما رأيك؟"
        assert said.locator("bdi").evaluate("b => getComputedStyle(b).direction") == "rtl"
        assert tab.locator("#comment-text").input_value() == ""

        page.locator("#comment-list .comment button", has_text="Pin").click()
        wait_js(tab, "() => window.majlis.pinnedComment !== null", 10)
        assert "سؤال للضيفة" in tab.locator("#comment-pinned").inner_text()
        # The author may delete it; a listener sees no pin control.
        assert tab.locator("#comment-list .comment button", has_text="تثبيت").count() == 0
        tab.locator("#comment-list .comment button", has_text="حذف").click()
        wait_js(page, "() => window.majlis.comments === 0 && window.majlis.pinnedComment === null")
    finally:
        other.close()


def test_a_large_audience_reads_comments_from_the_cacheable_page(
    tmp_path: Path, page: Page
) -> None:
    with run_server(tmp_path, events_max_listeners=0) as running:
        api = Api(running.base_url)
        try:
            host, fan = api.sign_up("bighost"), api.sign_up("bigfan")
            sid = host.create_space("A full house")["id"]
            reads: list[str] = []
            page.on("request", lambda r: reads.append(r.url) if "/comments" in r.url else None)
            page.goto(f"{running.base_url}/spaces/{sid}")
            wait_js(page, "() => window.majlis.listenerId && window.majlis.snapshots >= 1")
            assert page.locator("#comment-form").is_hidden()  # signed out: no box
            said = fan.post(f"/api/v1/spaces/{sid}/comments", json={"text": "from the crowd"})
            assert said.status_code == 201
            wait_js(page, "() => window.majlis.comments === 1", 15)
            assert page.evaluate("() => window.majlis.streaming") is False
            assert reads and all("/events" not in r for r in reads)
        finally:
            api.close()
