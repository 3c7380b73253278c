"""The Space page says what is true (issue 15, "truthfulness bugs"): doors are open only once
open, paused is paused, notices say what happened (in Arabic without assuming a gender), the
reaction emoji are in colour, and the end of a Space logs no error in the console."""

from __future__ import annotations

import colorsys
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page

from majlis.domain.audience import EMOJI
from tests.support.client import Api
from tests.support.server import RunningServer
from tests.web.conftest import ONE_SHAPE, MakeSpace, sign_in_page, wait_js

pytestmark = ONE_SHAPE


def test_a_preshow_planned_for_tomorrow_is_not_doors_open(
    api: Api, server: RunningServer, page: Page
) -> None:
    host = api.sign_up("tomorrow")
    start = (datetime.now(UTC) + timedelta(hours=24)).isoformat()
    space = host.create_space("Tomorrow", scheduled_start=start, doors_open_minutes=15)
    assert space["doors_open_at"]  # planned, and a day away
    try:
        page.goto(f"{server.base_url}/spaces/{space['id']}")
        badge = page.locator("#state")
        badge.wait_for()
        assert badge.inner_text() == "Scheduled", badge.inner_text()
        page.goto(f"{server.base_url}/@{host.handle}")
        card = page.locator(f'[data-space-id="{space["id"]}"] .badge')
        card.wait_for()
        assert card.inner_text() == "Scheduled"
    finally:
        host.post(f"/api/v1/spaces/{space['id']}/end")


def test_pausing_the_live_audio_says_paused(
    live_space: MakeSpace, server: RunningServer, page: Page
) -> None:
    _, space = live_space("Pause me")
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    wait_js(page, "() => window.majlis.playing === true", 30)
    assert "Playing live" in page.locator("#status").inner_text()
    page.locator("#play").click()
    wait_js(page, "() => window.majlis.playing === false")
    status = page.locator("#status").inner_text()
    assert "Paused" in status and "Playing" not in status, status
    page.locator("#play").click()
    wait_js(page, "() => window.majlis.playing === true", 30)


def _colourful_pixels(png: bytes) -> int:
    """Pixels of a strong colour: a colour emoji has hundreds, an outline glyph none."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    count = 0
    for r, g, b in image.get_flattened_data():
        _, saturation, value = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
        count += saturation > 0.5 and value > 0.35
    return count


def test_every_reaction_emoji_is_drawn_in_colour(
    live_space: MakeSpace, server: RunningServer, page: Page
) -> None:
    host, space = live_space("Colour")
    sign_in_page(page, host)  # the buttons enabled: a disabled one is faded
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    buttons = page.locator("#emoji button:enabled")
    buttons.first.wait_for()
    assert buttons.count() == len(EMOJI)
    # An element screenshot measures the element's box, then captures that box of the page: a
    # live page still growing (comments, requests, the status line) can move the row between the
    # two, and the capture shows plain background (seen in CI: one emoji with 0 coloured pixels).
    # Pinned where nothing moves it, the row is drawn by the same CSS, fonts and buttons.
    page.evaluate(
        """() => Object.assign(document.getElementById("emoji").style, {
             position: "fixed", insetBlockStart: "0", insetInlineStart: "0", zIndex: "1000",
             background: "#fff" })"""
    )
    counts = {
        emoji: _colourful_pixels(buttons.nth(i).screenshot()) for i, emoji in enumerate(EMOJI)
    }
    # An outline glyph on the button's grey has no strongly coloured pixel at all.
    assert all(n >= 40 for n in counts.values()), counts


def test_notices_say_what_happened_in_both_languages(
    api: Api, server: RunningServer, browser: Browser
) -> None:
    host, asker, invitee = api.sign_up("nhost"), api.sign_up("asker"), api.sign_up("invitee")
    space = host.create_space("Notices")
    try:
        assert asker.post(f"/api/v1/spaces/{space['id']}/requests").status_code == 201
        for who, role in ((asker, "speaker"), (invitee, "cohost")):
            put = host.put(f"/api/v1/spaces/{space['id']}/stage/{who.handle}", json={"role": role})
            assert put.status_code == 200, put.text
        expected = {
            ("en-US", asker.handle): "approved your request to speak in Notices",
            ("en-US", invitee.handle): "made you a cohost of Notices",
            ("ar-EG", asker.handle): "قُبل طلبك للتحدث في Notices بموافقة",
            ("ar-EG", invitee.handle): "أصبحت من مستضيفي Notices بتعيين من",
        }
        for (locale, handle), text in expected.items():
            user = asker if handle == asker.handle else invitee
            context = browser.new_context(locale=locale)
            try:
                tab = context.new_page()
                sign_in_page(tab, user)
                tab.goto(f"{server.base_url}/notifications")
                item = tab.locator("#notices li").first
                item.wait_for()
                assert text in item.inner_text(), (locale, item.inner_text())
            finally:
                context.close()
    finally:
        host.post(f"/api/v1/spaces/{space['id']}/end")


def test_ending_a_space_on_stage_logs_no_console_error(
    live_space: MakeSpace, server: RunningServer, browser: Browser
) -> None:
    host, space = live_space("The end")
    context = browser.new_context(locale="en-US")
    errors: list[str] = []
    try:
        tab = context.new_page()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(message.text)

        tab.on("console", on_console)
        sign_in_page(tab, host)
        tab.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(tab, "() => window.majlis.connectionState === 'connected'", 20)
        assert host.post(f"/api/v1/spaces/{space['id']}/end").status_code == 200
        wait_js(tab, "() => window.majlis.state === 'ended'", 20)
        wait_js(tab, "() => window.majlis.sessionUrl === null")
        tab.wait_for_load_state("networkidle")
        assert errors == [], errors
    finally:
        context.close()


def test_a_host_on_a_phone_sees_a_raised_hand_without_scrolling(
    api: Api, live_space: MakeSpace, server: RunningServer, browser: Browser
) -> None:
    host, space = live_space("Hands up")
    asker = api.sign_up("hand")
    for locale, one in (("en-US", "1 request to speak"), ("ar-EG", "طلب واحد للتحدث")):
        context = browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
        try:
            tab = context.new_page()
            sign_in_page(tab, host)
            tab.goto(f"{server.base_url}/spaces/{space['id']}")
            wait_js(tab, "() => window.majlis.events > 0 && window.majlis.role === 'host'")
            badge = tab.locator("#requests-badge")
            if locale == "en-US":  # one request, seen by the host in both languages
                assert badge.is_hidden()
                asked = asker.post(f"/api/v1/spaces/{space['id']}/requests")
                assert asked.status_code == 201, asked.text
            wait_js(tab, "() => window.majlis.requestsBadge === 1")
            assert badge.inner_text().strip().endswith(one), badge.inner_text()
            box = badge.bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390
            badge.click()
            tab.locator("#requests li.request").first.wait_for()
            wait_js(tab, "() => document.getElementById('host').getBoundingClientRect().top < 844")
        finally:
            context.close()


def test_a_host_going_live_from_the_page_starts_muted_with_a_mic_check(
    api: Api, server: RunningServer, launch_browser: Callable[..., Browser]
) -> None:
    browser = launch_browser(440.0)  # the microphone plays a steady tone
    maker = api.sign_up("miccheck")
    context = browser.new_context(locale="en-US")
    space_id = ""
    try:
        page = context.new_page()
        sign_in_page(page, maker)
        page.goto(f"{server.base_url}/spaces/new")
        page.get_by_label("Title").fill("Muted first")
        page.get_by_role("button", name="Start now").click()
        page.wait_for_url(lambda url: "/spaces/" in url and not url.endswith("/spaces/new"))
        space_id = page.url.split("/spaces/", 1)[1].split("?")[0]
        wait_js(page, "() => window.majlis.connectionState === 'connected'", 20)
        assert "mic=check" not in page.url  # a reload would not mute again
        stage = api.stage_of(space_id)
        assert stage[maker.handle] == ("host", True), stage  # the server says: muted
        check = page.locator("#mic-check")
        check.wait_for()
        wait_js(page, "() => window.majlis.micLevel > 0.01")  # the meter hears the tone
        assert page.get_by_role("button", name="Unmute").is_visible()
        page.get_by_role("button", name="Unmute").click()
        wait_js(page, "() => window.majlis.muted === false")
        assert api.stage_of(space_id)[maker.handle] == ("host", False)
        assert check.is_hidden()
    finally:
        if space_id:
            maker.post(f"/api/v1/spaces/{space_id}/end")
        context.close()
