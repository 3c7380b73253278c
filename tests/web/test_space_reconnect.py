"""The web speaker reconnects by itself (issue 6): when its WHIP session goes away while it is on
stage — here the server drops it (the session's DELETE, as a dying media node would) — the page
offers again without a reload, honours a 503's Retry-After on the way, keeps its microphone,
says it is reconnecting, and talks again over a new session. Removed from the stage, it stops
offering and listens over LL-HLS instead.

Why the server drops the session rather than the test closing the page's RTCPeerConnection: a
local close() fires no state change, so it would test nothing the page meets in real life.
"""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route

from majlis.domain.events import space_topic
from tests.cluster.cluster import shared_node_settings
from tests.support.client import Api, wait_for_live_stream
from tests.support.server import RunningServer, run_server
from tests.web.conftest import ONE_SHAPE, MakeSpace, sign_in_page, wait_js

pytestmark = ONE_SHAPE


def debug(page: Page, key: str) -> Any:
    return page.evaluate("key => window.majlis[key]", key)


@pytest.mark.slow
def test_a_dropped_speaker_offers_again_by_itself_and_talks_over_a_new_session(
    live_space: MakeSpace, server: RunningServer, browser: Browser
) -> None:
    host, space = live_space("Reconnect")
    context = browser.new_context()
    offers: list[float] = []
    busy_once = [True]

    def whip(route: Route) -> None:
        """Count the offers; the first re-offer meets a busy node (503, Retry-After: 2)."""
        offers.append(time.monotonic())
        if len(offers) == 2 and busy_once.pop():
            route.fulfill(
                status=503,
                headers={"Retry-After": "2", "Content-Type": "application/problem+json"},
                body='{"title": "Busy", "status": 503, "detail": "try later"}',
            )
            return
        route.continue_()

    try:
        page = context.new_page()
        sign_in_page(page, host)
        page.route(f"**/api/v1/spaces/{space['id']}/whip", whip)
        page.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(page, "() => window.majlis.connectionState === 'connected'", 20)
        wait_js(page, "() => window.majlis.packetsSent > 20", 20)
        first = debug(page, "sessionUrl")
        reload_mark = debug(page, "reload")
        assert first and len(offers) == 1

        wait_js(page, "() => window.majlis.packetsReceived > 20", 20)
        dropped = httpx.delete(first, headers=host.headers, timeout=10)
        assert dropped.status_code == 204, dropped.text
        dropped_at = time.monotonic()

        # Chromium calls a connection the server closed "disconnected" only when ICE consent
        # expires (~8 s, then 3 s grace): the silence of the stage's mix says it in ~4 s.
        wait_js(page, "() => window.majlis.drops === 1", 20)
        noticed_s = time.monotonic() - dropped_at
        assert noticed_s < 9, f"the drop was noticed only after {noticed_s:.1f} s"
        wait_js(page, "() => window.majlis.reconnecting === true")
        status = page.locator("#status").inner_text()
        assert "reconnecting" in status, status
        wait_js(page, "() => window.majlis.reconnects === 1", 40)
        wait_js(page, "() => window.majlis.connectionState === 'connected'")
        assert len(offers) == 3, offers
        assert offers[2] - offers[1] >= 0.9, "the 503's Retry-After (2 s, jittered) was not waited"
        second = debug(page, "sessionUrl")
        assert second and second != first
        # The new session carries the microphone: the page sends, and the server holds the new
        # session, connected (the old one is gone: its DELETE is 404 now).
        wait_js(page, "() => window.majlis.packetsSent > 20", 20)
        room = server.services.media.rooms[space["id"]]
        session = room.session_by_id(second.rsplit("/", 1)[1])
        assert session is not None and session.pc.connectionState == "connected"
        assert debug(page, "reload") == reload_mark, "the page reloaded"
        assert debug(page, "hearing") == "webrtc"
        assert debug(page, "reconnecting") is False
        assert "reconnecting" not in page.locator("#status").inner_text()
        assert httpx.delete(first, headers=host.headers, timeout=10).status_code == 404
    finally:
        context.close()


def _record_offers(page: Page, space_id: str) -> list[float]:
    """When each WHIP offer of ``page`` left (each passed on to the server)."""
    offers: list[float] = []

    def whip(route: Route) -> None:
        offers.append(time.monotonic())
        route.continue_()

    page.route(f"**/api/v1/spaces/{space_id}/whip", whip)
    return offers


@pytest.mark.slow
def test_a_speaker_told_its_room_moved_offers_again_at_once(
    live_space: MakeSpace, server: RunningServer, browser: Browser
) -> None:
    """A failover publishes ``moved`` on the Space's event stream (media/plane/rooms.py;
    tests/hardening/test_failover_timing.py sees it from a real kill): the page offers again
    at once, not after the seconds of silence that would tell it otherwise."""
    host, space = live_space("Moved")
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in_page(page, host)
        offers = _record_offers(page, space["id"])
        page.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(page, "() => window.majlis.connectionState === 'connected'", 20)
        wait_js(page, "() => window.majlis.events > 0", 20)  # the stream is open (snapshot)
        first = debug(page, "sessionUrl")
        moved = {"type": "moved", "space_id": space["id"]}
        told_at = time.monotonic()
        server.call(server.services.ctx.live.bus.publish(space_topic(space["id"]), moved))
        wait_js(page, "() => window.majlis.reconnects === 1", 20)
        wait_js(page, "() => window.majlis.connectionState === 'connected'", 20)
        assert len(offers) == 2, offers
        assert offers[1] - told_at < 1.0, f"offered again {offers[1] - told_at:.2f} s after"
        second = debug(page, "sessionUrl")
        assert second and second != first
        # The old session was hung up by the page (here its node is alive to hear it).
        assert httpx.delete(first, headers=host.headers, timeout=10).status_code == 404
    finally:
        context.close()


@pytest.mark.slow
def test_a_speaker_removed_from_the_stage_stops_offering_and_listens(
    live_space: MakeSpace, server: RunningServer, api: Api, browser: Browser
) -> None:
    host, space = live_space("Removed speaker")
    guest = api.sign_up("guest")
    invited = host.put(
        f"/api/v1/spaces/{space['id']}/stage/{guest.handle}", json={"role": "speaker"}
    )
    assert invited.is_success, invited.text
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in_page(page, guest)
        offers = _record_offers(page, space["id"])
        page.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(page, "() => window.majlis.connectionState === 'connected'", 20)
        removed = host.delete(f"/api/v1/spaces/{space['id']}/stage/{guest.handle}")
        assert removed.status_code == 204, removed.text
        wait_js(page, "() => window.majlis.hearing === 'hls' && window.majlis.playing", 30)
        page.wait_for_timeout(3000)  # longer than the first re-offer's delay
        assert len(offers) <= 2, offers  # at most one re-offer, answered 403/409
        assert debug(page, "reconnecting") is False
        assert debug(page, "sessionUrl") is None
        assert debug(page, "role") == "listener"
    finally:
        context.close()


#: From the page: a real offer (the fake microphone), posted cross-origin as space-audio.js does;
#: then the session hung up by its Location. Returns what the page could read.
CROSS_ORIGIN_WHIP = """async ([url, token]) => {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver(mic.getAudioTracks()[0], { direction: "sendrecv", streams: [mic] });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => setTimeout(r, 500));
  const auth = { Authorization: "Bearer " + token };
  const resp = await fetch(url, { method: "POST", body: pc.localDescription.sdp,
    headers: { ...auth, "Content-Type": "application/sdp" } });
  const location = resp.headers.get("Location");
  const hangUp = location ? await fetch(new URL(location, resp.url).href,
    { method: "DELETE", headers: auth }) : null;
  pc.close();
  mic.getTracks().forEach(t => t.stop());
  return { status: resp.status, location, hangUp: hangUp && hangUp.status };
}"""


def test_chromium_offers_to_a_media_node_of_another_origin_through_its_cors(
    server: RunningServer, page: Page, tmp_path: Path
) -> None:
    """The page's origin is the deployment's public URL; the node runs on another origin (as a
    media node a 307 names): Chromium's preflight passes, the 201's Location is readable, the
    DELETE goes through; a node that does not name the page's origin is a network error."""
    page.goto(f"{server.base_url}/")
    for name in ("media", "other"):
        (tmp_path / name).mkdir()
    with run_server(tmp_path / "media", public_url=server.base_url) as media:
        api = Api(media.base_url)
        try:
            host = api.sign_up("xorigin")
            space = host.create_space("Cross-origin WHIP")
            wait_for_live_stream(api.http, space["id"])
            url = f"{media.base_url}/api/v1/spaces/{space['id']}/whip"
            result = page.evaluate(CROSS_ORIGIN_WHIP, [url, host.token])
            assert result["status"] == 201, result
            assert result["location"].startswith(f"/api/v1/spaces/{space['id']}/whip/")
            assert result["hangUp"] == 204, result
            host.post(f"/api/v1/spaces/{space['id']}/end")
        finally:
            api.close()
    with run_server(tmp_path / "other", public_url="https://elsewhere.example") as other:
        refused = page.evaluate(
            """async url => { try { await fetch(url, { method: "POST", body: "v=0",
                 headers: { Authorization: "Bearer x", "Content-Type": "application/sdp" } });
                 return "read"; } catch (e) { return e.name; } }""",
            f"{other.base_url}/api/v1/spaces/abcdefgh/whip",
        )
        assert refused == "TypeError"


@pytest.mark.slow
@pytest.mark.redis
def test_through_an_api_node_the_page_follows_the_307_to_the_media_node_and_back_after_a_drop(
    tmp_path: Path, browser: Browser
) -> None:
    """As deployed: the page comes from an API node (the public origin); the Space runs on a
    media node of another origin. The page's offer is redirected there (307 with a grant, CORS),
    and after the media node drops the session the page's new offer goes the same way.

    One SQLite file for both nodes, not PostgreSQL: creating a database runs its own event loop,
    which cannot start beside Playwright's (the browser is up by now); storage is not under test."""
    shared = shared_node_settings(f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}")
    for name in ("api", "media"):
        (tmp_path / name).mkdir()
    with (
        run_server(tmp_path / "api", role="api", node_id="api-1", **shared) as front,
        # The public origin is the API node's, known once it listens.
        run_server(
            tmp_path / "media", role="media", node_id="media-1", public_url=front.base_url, **shared
        ) as media,
        closing(Api(front.base_url)) as api,
    ):
        host = api.sign_up("host")
        space = host.create_space("Through the API node")
        wait_for_live_stream(api.http, space["id"])
        context = browser.new_context()
        try:
            page = context.new_page()
            sign_in_page(page, host)
            page.goto(f"{front.base_url}/spaces/{space['id']}")
            wait_js(page, "() => window.majlis.connectionState === 'connected'", 30)
            first = debug(page, "sessionUrl")
            assert first.startswith(f"{media.base_url}/api/v1/spaces/{space['id']}/whip/"), first
            assert httpx.delete(first, headers=host.headers, timeout=10).status_code == 204
            wait_js(page, "() => window.majlis.reconnects === 1", 40)
            second = debug(page, "sessionUrl")
            assert second.startswith(f"{media.base_url}/api/v1/spaces/{space['id']}/whip/")
            assert second != first
            wait_js(page, "() => window.majlis.packetsSent > 20", 20)
        finally:
            context.close()
            host.post(f"/api/v1/spaces/{space['id']}/end")
