"""The pinned link in the room (issue 15): the host pins one from the page, a listener's page
shows its title and domain at once and opens it in a new tab without the room's referrer; an
internationalized domain shows as punycode; unpinning takes it away from everyone."""

from __future__ import annotations

from playwright.sync_api import Browser, Page

from tests.support.server import RunningServer
from tests.web.conftest import ONE_SHAPE, MakeSpace, sign_in_page, wait_js

pytestmark = ONE_SHAPE


def test_the_host_pins_a_link_and_a_listener_sees_its_domain(
    live_space: MakeSpace, server: RunningServer, page: Page, browser: Browser
) -> None:
    host, space = live_space("Pin it")
    url = f"{server.base_url}/spaces/{space['id']}"
    listener_context = browser.new_context(locale="ar-EG")
    try:
        listener = listener_context.new_page()
        listener.goto(url)
        wait_js(listener, "() => window.majlis.events > 0")  # following the room's events
        assert listener.locator("#link").is_hidden()

        sign_in_page(page, host)
        page.goto(url)
        page.locator("#link-form").wait_for()
        page.locator("#link-url").fill("https://xn--mgbh0fb.example/مقال?id=7")
        page.locator("#link-title-input").fill("المقال الكامل")
        page.locator("#link-pin").click()
        wait_js(page, "() => window.majlis.link && window.majlis.link.domain")

        wait_js(listener, "() => window.majlis.link !== null && window.majlis.link !== undefined")
        shown = listener.locator("#link")
        assert shown.is_visible()
        assert listener.locator("#link-title").inner_text() == "المقال الكامل"
        assert listener.locator("#link-domain").inner_text() == "xn--mgbh0fb.example"
        anchor = listener.locator("#link-a")
        assert anchor.get_attribute("target") == "_blank"
        assert set((anchor.get_attribute("rel") or "").split()) >= {"noopener", "noreferrer"}
        assert listener.locator("#unpin").is_hidden()  # a listener cannot unpin
        assert listener.locator("#link-form").is_hidden()

        page.locator("#unpin").click()
        wait_js(listener, "() => window.majlis.link === null")
        assert listener.locator("#link").is_hidden()
    finally:
        listener_context.close()


def test_a_link_that_is_not_http_is_refused_on_the_page(
    live_space: MakeSpace, server: RunningServer, page: Page
) -> None:
    host, space = live_space("No scripts")
    sign_in_page(page, host)
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    page.locator("#link-form").wait_for()
    # On the air first: a connection that completes clears the error line.
    wait_js(page, "() => window.majlis.connectionState === 'connected'", 20)
    page.locator("#link-url").fill("javascript:alert(1)")
    page.locator("#link-pin").click()
    error = page.locator("#error")
    error.wait_for()
    assert "https://" in error.inner_text()
    assert host.get(f"/api/v1/spaces/{space['id']}").json()["link"] is None
