"""Real browsers, real media: Chromium publishes over WHIP from the speak page and its tone is
in the LL-HLS program; Chromium hears the other speakers; hls.js in Chromium plays the Space."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, Page

from tests.client import PASSWORD, Api
from tests.media.bot_thread import BotThread
from tests.media.test_speakers_e2e import latest_program, on_stage, only
from tests.media.tones import decode_mp4
from tests.server import RunningServer


def _state(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate("() => ({...window.majlis})")
    return state


def _wait(
    page: Page, predicate: Callable[[dict[str, Any]], bool], timeout_s: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        state = _state(page)
        if predicate(state):
            return state
        assert time.monotonic() < deadline, state
        page.wait_for_timeout(200)


def test_chromium_speaks_over_whip_and_hears_the_stage(
    server: RunningServer, api: Api, launch_browser: Callable[..., Browser]
) -> None:
    host, guest = api.sign_up("host"), api.sign_up("browser")
    space = host.create_space("browser on stage")
    on_stage(host, guest, space["id"])
    bot = BotThread(server.base_url, space["id"], host.token, 660)
    browser = launch_browser(tone_hz=440)
    page = browser.new_page()
    try:
        page.goto(f"{server.base_url}/spaces/{space['id']}/speak?raw=1")
        page.fill("#handle", guest.handle)
        page.fill("#password", PASSWORD)
        page.click("#signin-button")
        _wait(page, lambda s: s["signedIn"] and s["onStage"], 10)
        page.click("#golive")
        state = _wait(page, lambda s: s["connectionState"] == "connected", 15)
        assert state["whipStatus"] == 201 and state["sessionUrl"]
        time.sleep(5)  # a full 2 s segment with both talking
        pcm, rate = decode_mp4(latest_program(server.base_url, space["id"]))
        only(pcm, rate, present=440, absent=1000)  # the browser's tone is in the program
        only(pcm, rate, present=660, absent=1000)
        # The browser receives the stage: its mix-minus (the bot) arrives and is decoded.
        state = _wait(page, lambda s: s["totalSamplesReceived"] > 48_000 * 2, 10)
        assert state["packetsReceived"] > 100
        # And the bot hears the browser, not itself.
        only(bot.bot.heard(1.5), 48_000, present=440, absent=660)
        page.click("#leave")
        _wait(page, lambda s: s["sessionUrl"] is None, 10)
        room = server.services.media.rooms[space["id"]]
        deadline = time.monotonic() + 5
        while guest.handle in room.sessions:
            assert time.monotonic() < deadline, "the WHIP session was not deleted"
            time.sleep(0.1)
    finally:
        page.close()
        bot.close()
        host.post(f"/api/v1/spaces/{space['id']}/end")


def test_hls_js_in_chromium_plays_the_live_space(
    server: RunningServer, api: Api, browser: Browser
) -> None:
    host = api.sign_up("hls")
    space = host.create_space("hls.js listens")
    bot = BotThread(server.base_url, space["id"], host.token, 523)
    page = browser.new_page()
    try:
        page.goto(f"{server.base_url}/spaces/{space['id']}")
        state = _wait(page, lambda s: s.get("playing") is True, 20)
        assert state["player"] == "hls.js" and state["listenerId"]
        first = page.evaluate("() => document.getElementById('player').currentTime")
        page.wait_for_timeout(3000)
        later = page.evaluate("() => document.getElementById('player').currentTime")
        assert later - first > 2.0, (first, later)  # playing in real time, not stalled
        buffered = page.evaluate(
            "() => { const b = document.getElementById('player').buffered;"
            " return b.length ? b.end(b.length - 1) : 0 }"
        )
        assert buffered > later  # hls.js keeps fetching parts ahead of the playhead
    finally:
        page.close()
        bot.close()
        host.post(f"/api/v1/spaces/{space['id']}/end")
