"""Clips and embeds in a real browser (issue 15): a listener clips a live Space from its page
and the clip's page plays it; the embed players of a clip and of a live Space play inside an
iframe of a page on another origin (what a news site does with the oEmbed answer)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Frame, Page

from tests.support.client import Api
from tests.support.clips import on_air
from tests.support.server import RunningServer
from tests.web.conftest import ONE_SHAPE, MakeSpace, sign_in_page, wait_js

pytestmark = ONE_SHAPE


class _NewsSite:
    """A page on another origin (another port) that frames ``src``, as a CMS would."""

    def __init__(self) -> None:
        self.html = b""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(site.html)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/article"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def framing(self, src: str) -> str:
        self.html = (
            "<!doctype html><title>News</title><h1>Today's news</h1>"
            f'<iframe src="{src}" width="560" height="200" allow="autoplay"></iframe>'
        ).encode()
        return self.url


@pytest.fixture
def news_site() -> Iterator[_NewsSite]:
    site = _NewsSite()
    yield site
    site.server.shutdown()


def _embed_frame(page: Page) -> Frame:
    page.wait_for_selector("iframe")
    frame = page.frames[1]
    frame.wait_for_function("() => window.majlis && window.majlis.loaded === true")
    return frame


def _played(frame: Frame, seconds: float = 0.5) -> None:
    frame.wait_for_function(
        f"() => document.getElementById('embed-audio').currentTime > {seconds}", timeout=30_000
    )


def test_a_listener_clips_a_live_space_and_the_clip_page_plays_it(
    live_space: MakeSpace, api: Api, server: RunningServer, page: Page, page_errors: list[str]
) -> None:
    _, space = live_space("Clip in the browser")
    fan = api.sign_up("bclip")
    on_air(server, space["id"], 3)
    sign_in_page(page, fan)
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    clip_button = page.locator("#clip")
    clip_button.wait_for(state="visible")
    assert clip_button.inner_text() == "✂ Clip the last 30 s"
    clip_button.click()
    wait_js(page, "() => Boolean(window.majlis.lastClip)")
    page.locator("#share-status a").click()
    page.wait_for_url("**/clips/*")
    assert page.locator("#clip-delete").is_visible()  # the author may delete it
    page.evaluate("() => document.getElementById('clip-audio').play()")
    page.wait_for_function(
        "() => document.getElementById('clip-audio').currentTime > 0.5", timeout=30_000
    )
    duration = page.evaluate("() => document.getElementById('clip-audio').duration")
    assert 2.5 <= duration <= 31, duration  # what was on air, up to 30 s
    assert page_errors == []


def test_the_clip_embed_plays_in_an_iframe_on_another_origin(
    live_space: MakeSpace, api: Api, server: RunningServer, page: Page, news_site: _NewsSite
) -> None:
    _, space = live_space("Embedded clip")
    fan = api.sign_up("eclip")
    on_air(server, space["id"], 2)
    made = fan.post(f"/api/v1/spaces/{space['id']}/clips", json={"seconds": 2})
    assert made.status_code == 201, made.text
    page.goto(news_site.framing(f"{server.base_url}{made.json()['embed_url']}"))
    frame = _embed_frame(page)
    assert frame.locator("#embed-state").inner_text() == "Clip"
    frame.locator("#embed-play").click()
    _played(frame)


def test_the_live_space_embed_plays_in_an_iframe_on_another_origin(
    live_space: MakeSpace, server: RunningServer, page: Page, news_site: _NewsSite
) -> None:
    _, space = live_space("Embedded live")
    page.goto(news_site.framing(f"{server.base_url}/embed/spaces/{space['id']}"))
    frame = _embed_frame(page)
    assert frame.locator("#embed-state").inner_text() == "Live"
    frame.locator("#embed-play").click()
    frame.wait_for_function("() => window.majlis.joined === true")
    _played(frame)
    assert frame.evaluate("() => window.majlis.player") in ("dash.js", "hls.js")
