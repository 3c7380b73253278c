"""Issue 4's acceptance, end to end: two real Chromium browsers, each with a fake microphone
playing its own tone, against a real server.

The host signs in, creates a scheduled Space, starts it and speaks (tone A). A second person
signs in, joins, hears A over LL-HLS (a WebAudio analyser on the page's audio), asks to speak;
the host approves in its UI; the second page switches to WebRTC without a reload, unmutes, and
its tone B reaches the host (analyser on the host's received track). A reaction crosses from one
browser to the other; the host ends the Space; the replay plays.

Tones are chosen apart from each other and from Chromium's own beep; ``?raw=1`` turns off the
browser's noise suppression, which would otherwise treat a steady tone as noise and remove it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.client import PASSWORD, Api
from tests.support.server import RunningServer
from tests.support.wait import eventually
from tests.web.conftest import wait_js

TONE_A = 440  # the host
TONE_B = 660  # the guest, once on stage
CLAP = "\U0001f44f"

pytestmark = pytest.mark.slow


def tone(page: Page, hz: float) -> dict[str, Any] | None:
    reading: dict[str, Any] | None = page.evaluate("hz => window.MajlisDebug.tone(hz)", hz)
    return reading


def hears(page: Page, hz: float, timeout_s: float = 30) -> dict[str, Any]:
    """Wait until the page's analyser finds ``hz`` as the loudest frequency, far above the floor."""
    page.evaluate("() => window.MajlisDebug.enable()")

    def heard() -> dict[str, Any]:
        reading = tone(page, hz)
        assert (
            reading is not None
            and abs(reading["peakHz"] - hz) < 15
            and reading["db"] - reading["floor"] > 20
        ), f"last reading {reading}"
        return reading

    def state() -> str:
        return f"no {hz} Hz heard; state {page.evaluate('() => JSON.stringify(window.majlis)')}"

    return eventually(heard, timeout_s=timeout_s, interval_s=0.25, message=state)


def sign_in(page: Page, base_url: str, handle: str, then: str) -> None:
    """Through the sign-in page, as a person does, coming back to ``then``."""
    page.goto(f"{base_url}/signin?next={then}")
    page.locator("#handle").fill(handle)
    page.locator("#password").fill(PASSWORD)
    page.locator("#auth-submit").click()
    page.wait_for_url(f"{base_url}{then}", timeout=15_000)


def test_two_browsers_host_listen_request_approve_speak_react_end_replay(
    server: RunningServer, api: Api, launch_browser: Callable[..., Browser]
) -> None:
    base = server.base_url
    host_user, guest_user = api.sign_up("host"), api.sign_up("guest")
    errors: list[str] = []
    host = launch_browser(tone_hz=TONE_A).new_page()
    guest = launch_browser(tone_hz=TONE_B).new_page()
    for who, page in (("host", host), ("guest", guest)):
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda e, who=who: errors.append(f"{who}: {e}"))
    space_id = None
    try:
        # The host creates a scheduled Space in the UI, then starts it.
        sign_in(host, base, host_user.handle, "/spaces/new")
        host.locator("#new-title").fill("Acceptance: حوار مفتوح")
        host.locator("#when-later").check()
        host.locator("#new-submit").click()
        host.wait_for_url(lambda url: "/spaces/" in url and not url.endswith("/spaces/new"))
        space_id = host.url.rsplit("/", 1)[1]
        wait_js(host, "() => window.majlis.phase === 'scheduled' && window.majlis.role === 'host'")
        host.goto(f"{base}/spaces/{space_id}?raw=1")  # the tone unprocessed (see the docstring)
        host.get_by_role("button", name="Start the Space").click()
        wait_js(
            host,
            "() => window.majlis.state === 'live' && window.majlis.connectionState === 'connected'",
            30,
        )
        heard_from = time.monotonic()  # the host's WHIP is up: the room, and its recording, run
        assert api.space(space_id)["state"] == "live"
        # Started from the page, the host is muted with a mic check; they unmute to talk.
        host.locator("#mic-check").wait_for()
        host.get_by_role("button", name="Unmute").click()
        wait_js(host, "() => window.majlis.muted === false")

        # The guest signs in, joins and hears the host's tone over low-latency DASH.
        sign_in(guest, base, guest_user.handle, f"/spaces/{space_id}?raw=1")
        wait_js(
            guest, "() => window.majlis.hearing === 'hls' && window.majlis.player === 'dash.js'", 30
        )
        loaded_at = guest.evaluate("() => performance.timeOrigin")
        hears(guest, TONE_A)

        # ... asks to speak; the host sees the request and approves it in its UI.
        guest.get_by_role("button", name="Request to speak").click()
        wait_js(guest, "() => window.majlis.requestPending === true")
        approve = host.get_by_role("button", name=f"Bring @{guest_user.handle} on stage")
        approve.click()

        # The guest switches to WebRTC without a reload, arrives muted, unmutes.
        wait_js(
            guest,
            "() => window.majlis.role === 'speaker'"
            " && window.majlis.connectionState === 'connected'",
            30,
        )
        wait_js(guest, "() => window.majlis.hearing === 'webrtc' && !window.majlis.playing")
        assert guest.evaluate("() => performance.timeOrigin") == loaded_at, "the page reloaded"
        assert "Unmute to talk" in guest.locator("#me-hint").inner_text()
        guest.get_by_role("button", name="Unmute").click()
        wait_js(guest, "() => window.majlis.muted === false")
        assert api.stage_of(space_id)[guest_user.handle] == ("speaker", False)

        # Tone B reaches the mix: the host hears it (its mix-minus), and the guest hears A live.
        hears(host, TONE_B)
        hears(guest, TONE_A)
        ring = host.locator(f'#stage li[data-handle="{guest_user.handle}"][data-speaking="true"]')
        ring.wait_for()

        # A reaction from the guest floats up on the host's page.
        guest.get_by_role("button", name=f"React with {CLAP}").click()
        host.locator(f'#floats .float[data-emoji="{CLAP}"]').wait_for(state="attached")
        wait_js(host, "() => window.majlis.reactionsReceived >= 1")

        # The host ends the Space (with a confirmation); both pages show the end, the replay plays.
        host.get_by_role("button", name="End the Space").click()
        host.locator("#confirm-ok").click()
        heard_until = time.monotonic()
        for page in (host, guest):
            wait_js(page, "() => window.majlis.phase === 'ended'", 20)
        assert api.space(space_id)["state"] == "ended"
        download = guest.locator("#download")
        assert download.is_visible()
        assert download.get_attribute("href", timeout=1000).endswith("/recording.m4a")
        # One play control on the ended page: the replay's own (play, seek, time).
        assert guest.locator("#play").is_hidden()
        player = guest.locator("#player")
        assert player.evaluate("p => p.controls") is True
        player.evaluate("p => p.play()")
        wait_js(
            guest, "() => window.majlis.hearing === 'replay' && window.majlis.currentTime > 2", 30
        )
        # The replay holds the whole show: at least all the time the host was connected (the
        # room opens some time after going live, longer on a loaded machine), less at most the
        # encoder's last moments; at most from going live to the end.
        ended = api.space(space_id)
        show_s = (
            datetime.fromisoformat(ended["ended_at"]) - datetime.fromisoformat(ended["started_at"])
        ).total_seconds()
        replay_s = guest.evaluate("() => document.getElementById('player').duration")
        connected_s = heard_until - heard_from
        assert connected_s - 1.5 <= replay_s <= show_s + 1.0, (replay_s, connected_s, show_s)
        fatal = [e for e in guest.evaluate("() => window.majlis.hlsErrors") if e["fatal"]]
        assert fatal == []
        assert guest.evaluate("() => window.majlis.dashErrors") == []
        assert errors == []
    finally:
        if space_id is not None:
            host_user.post(f"/api/v1/spaces/{space_id}/end")
