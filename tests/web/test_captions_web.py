"""Captions in the room and the transcript in the replay, in a real browser (issue 16).

The cues here enter where recognized words do (``media/plane/captions.keep_cue``: the store,
then the Space's event stream); the recognizing itself is tested with real speech in
tests/media/test_captions_e2e.py."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page

from majlis.media.plane.captions import keep_cue
from tests.support.client import Api, User
from tests.support.clips import on_air
from tests.support.server import RunningServer, run_server
from tests.web.conftest import ONE_SHAPE, MakeSpace, sign_in_page, wait_js

pytestmark = ONE_SHAPE


def _said(
    server: RunningServer, space_id: str, who: User, start: float, text: str, lang: str
) -> None:
    ctx = server.services.ctx

    async def say() -> None:
        account = await ctx.store.account_by_handle(who.handle)
        assert account is not None
        await keep_cue(ctx, space_id, account.id, start, start + 0.8, text, lang)

    server.call(say())


def test_a_listener_reads_live_captions_and_the_host_switches_them_off(
    live_space: MakeSpace, server: RunningServer, page: Page, browser: Browser
) -> None:
    host, space = live_space("Captioned")
    sid = space["id"]
    assert (
        host.request("PATCH", f"/api/v1/spaces/{sid}", json={"captions": True}).status_code == 200
    )
    url = f"{server.base_url}/spaces/{sid}"
    listener_context = browser.new_context(locale="en-US")
    try:
        listener = listener_context.new_page()
        listener.goto(url)
        wait_js(listener, "() => window.majlis.events > 0")
        assert listener.locator("#captions").is_visible()
        assert listener.locator("#captions-toggle").get_attribute("aria-pressed") == "true"

        _said(server, sid, host, 1.0, "مرحبا بكم في المجلس", "ar")
        _said(server, sid, host, 2.0, "Welcome to the majlis.", "en")
        wait_js(listener, "() => (window.majlis.captions || []).length === 2")
        lines = listener.locator("#caption-lines .caption")
        assert lines.count() == 2
        arabic = lines.nth(0).locator(".caption-text")
        assert arabic.get_attribute("lang") == "ar" and arabic.get_attribute("dir") == "auto"
        assert arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"
        assert lines.nth(0).locator(".caption-who").inner_text() == f"{host.handle}:"
        assert lines.nth(0).get_attribute("dir") == "rtl"  # an Arabic cue, in an English page
        assert lines.nth(1).get_attribute("dir") == "ltr"
        assert lines.nth(1).locator(".caption-text").inner_text() == "Welcome to the majlis."

        listener.locator("#captions-toggle").click()  # CC off, in this browser only
        assert listener.locator("#captions").is_hidden()
        assert listener.locator("#captions-toggle").get_attribute("aria-pressed") == "false"
        listener.locator("#captions-toggle").click()
        assert listener.locator("#captions").is_visible()

        sign_in_page(page, host)
        page.goto(url)
        switch = page.locator("#captions-on")  # the host's tools: a side panel on a desktop
        switch.wait_for()
        assert switch.is_checked()
        switch.uncheck()
        wait_js(listener, "() => document.getElementById('captions-toggle').hidden")
        assert listener.locator("#captions").is_hidden()
        assert host.get(f"/api/v1/spaces/{sid}").json()["captions"] is False
    finally:
        listener_context.close()


def test_the_replay_shows_the_transcript_follows_playback_and_seeks_on_click(
    live_space: MakeSpace, server: RunningServer, page: Page
) -> None:
    host, space = live_space("Said and kept")
    sid = space["id"]
    _said(server, sid, host, 0.2, "أهلا وسهلا", "ar")
    _said(server, sid, host, 1.0, "The first question.", "en")
    _said(server, sid, host, 2.0, "The second question.", "en")
    on_air(server, sid, 3.0)
    assert host.post(f"/api/v1/spaces/{sid}/end").status_code == 200

    page.goto(f"{server.base_url}/spaces/{sid}")
    wait_js(page, "() => window.majlis.transcript === 3")
    transcript = page.locator("#transcript")
    assert transcript.is_visible()
    assert (
        page.locator("#transcript-vtt").get_attribute("href")
        == f"/api/v1/spaces/{sid}/transcript.vtt"
    )
    lines = page.locator("#transcript-lines .transcript-line")
    assert lines.nth(0).locator(".transcript-at").inner_text() == "0:00"
    lines.nth(2).locator("button").click()  # plays from the second question
    wait_js(page, "() => window.majlis.transcriptLine === 2")
    at = page.evaluate("() => document.getElementById('player').currentTime")
    assert 2.0 <= at < 3.5, at
    assert lines.nth(2).get_attribute("aria-current") == "true"


def test_a_listener_in_a_large_audience_reads_captions_from_the_snapshot(
    tmp_path: Path, page: Page
) -> None:
    # events_max_listeners=0: every listener is "past the cap", holds no event stream, and
    # follows the cacheable snapshot instead (what a million listeners do).
    with run_server(tmp_path, events_max_listeners=0) as big:
        api = Api(big.base_url)
        try:
            host = api.sign_up("host")
            space = host.create_space("A big night")
            sid = space["id"]
            host.request("PATCH", f"/api/v1/spaces/{sid}", json={"captions": True})
            page.goto(f"{big.base_url}/spaces/{sid}")
            wait_js(page, "() => window.majlis.streaming === false")
            _said(big, sid, host, 0.5, "Thank you all for coming tonight.", "en")
            wait_js(page, "() => (window.majlis.captions || []).length === 1")
            assert page.locator("#caption-lines .caption-text").inner_text() == (
                "Thank you all for coming tonight."
            )
            host.post(f"/api/v1/spaces/{sid}/end")
        finally:
            api.close()
