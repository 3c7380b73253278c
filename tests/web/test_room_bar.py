"""The room's bar and audience (issue 15, "the room"): what a person does here is in one bar
at the bottom at every width (play, request to speak, share, clip, leave; the mic on stage),
a phone opens the reactions from it as a tray, and a signed-in listener sees the faces of
people they follow who are listening."""

from __future__ import annotations

from playwright.sync_api import Browser, Page

from tests.support.client import Api
from tests.support.server import RunningServer
from tests.web.conftest import ONE_SHAPE, MakeSpace, sign_in_page, wait_js

pytestmark = ONE_SHAPE


def _visible_in_bar(page: Page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('#room-bar button, #room-bar a')]
          .filter(el => el.offsetParent !== null).map(el => el.id)"""
    )


def test_a_listener_finds_every_action_in_the_bar_and_it_stays_in_view(
    live_space: MakeSpace, api: Api, server: RunningServer, page: Page, page_errors: list[str]
) -> None:
    _, space = live_space("The bar")
    fan = api.sign_up("bar")
    sign_in_page(page, fan)
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    wait_js(page, "() => window.majlis.playing === true", 30)
    assert _visible_in_bar(page) == ["play", "request", "share", "clip", "exit"]
    page.locator("#request").click()
    wait_js(page, "() => window.majlis.requestPending === true")
    assert "withdraw" in _visible_in_bar(page) and "request" not in _visible_in_bar(page)
    # Fixed to the bottom of the window, wherever the page is scrolled.
    page.mouse.wheel(0, 2000)
    bar = page.locator("#room-bar").bounding_box()
    height = page.viewport_size["height"] if page.viewport_size else 0
    assert bar is not None and abs(bar["y"] + bar["height"] - height) <= 1, (bar, height)
    assert page_errors == []


def test_on_a_phone_the_reactions_open_as_a_tray_from_the_bar(
    live_space: MakeSpace, api: Api, server: RunningServer, browser: Browser
) -> None:
    _, space = live_space("Tray")
    fan = api.sign_up("tray")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ar-EG")
    try:
        page = context.new_page()
        sign_in_page(page, fan)
        page.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(page, "() => window.majlis.listenerId")
        toggle = page.locator("#react-toggle")
        toggle.wait_for()
        assert page.locator("#reactions").is_hidden()  # a tray, closed until asked for
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        tray = page.locator("#reactions")
        tray.wait_for()
        box = tray.bounding_box()
        bar = page.locator("#room-bar").bounding_box()
        assert box and bar and box["y"] + box["height"] <= bar["y"], (box, bar)  # above the bar
        page.locator("#emoji button").first.click()
        wait_js(page, "() => window.majlis.reactionsSent === 1")
        tray.wait_for(state="hidden")  # a reaction sent closes the tray
        assert page.locator("#comments-jump").is_visible()
    finally:
        context.close()


def test_a_listener_sees_who_they_follow_in_the_audience(
    live_space: MakeSpace, api: Api, server: RunningServer, page: Page
) -> None:
    _, space = live_space("Friends here")
    me, friend, stranger = api.sign_up("me"), api.sign_up("friend", "Salma"), api.sign_up("st")
    me.follow(friend)
    for listener in (friend, stranger):  # signed in, as a page would join
        assert listener.post(f"/api/v1/spaces/{space['id']}/join").status_code == 200
    sign_in_page(page, me)
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    line = page.locator("#audience-line")
    line.wait_for()
    assert line.inner_text() == "\u2068Salma\u2069 is here"  # the name isolated: any script
    assert page.locator("#audience-faces li").count() == 1
