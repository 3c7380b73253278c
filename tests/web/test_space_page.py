"""The Space page (/spaces/{id}) and /spaces/new in a real headless Chromium against a real server:
served safely, a listener joins and stays counted, overload is waited out calmly (a routed 503
and a server really shedding), scheduled Spaces, the host's and cohost's controls, Arabic.

Media across two browsers is tests/web/test_space_e2e.py; WHIP and hls.js themselves are
tests/web/test_browser_media.py.
"""

from __future__ import annotations

import itertools
import json
import posixpath
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from majlis.domain.audience import EMOJI
from tests.support.client import Api, User, problem_of
from tests.support.server import RunningServer, run_server
from tests.web.conftest import ARABIC_TITLE, ONE_SHAPE, MakeSpace, sign_in_page, wait_js

pytestmark = ONE_SHAPE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route


def debug(page: Page, key: str) -> Any:
    return page.evaluate("key => window.majlis && window.majlis[key]", key)


BUSY = json.dumps(
    {
        "type": "urn:majlis:problem:overloaded",
        "title": "Busy, try again shortly",
        "status": 503,
        "detail": "too many people are joining right now",
    }
)


def shed(page: Page, pattern: str, retry_after_s: int, first_only: bool = False) -> list[float]:
    """Answer requests to ``pattern`` as an overloaded server would (503 + Retry-After); only
    the first one if ``first_only``. Returns when each request came, as the test reads it."""
    arrivals: list[float] = []

    def busy(route: Route) -> None:
        arrivals.append(time.monotonic())
        if first_only and len(arrivals) > 1:
            route.continue_()
            return
        route.fulfill(
            status=503,
            headers={"Retry-After": str(retry_after_s), "Content-Type": "application/problem+json"},
            body=BUSY,
        )

    page.route(pattern, busy)
    return arrivals


# ---- served HTML ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/spaces/nope12345",
        "/spaces/" + "x" * 17,
        "/spaces/bad.id",
        "/spaces/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/spaces/nope12345/speak",  # the old speak page is the Space page now
    ],
)
def test_pages_of_unknown_or_malformed_spaces_are_404_problems(api: Api, path: str) -> None:
    response = api.http.get(path)
    problem_of(response, 404)
    assert "<script>" not in response.text


def test_space_page_is_escaped_self_contained_and_in_contract_order(
    live_space: MakeSpace, api: Api, server: RunningServer
) -> None:
    _, space = live_space('<b onclick="x()">Tea & "talk"</b> حوار')
    response = api.http.get(f"/spaces/{space['id']}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "&lt;b onclick=&quot;x()&quot;&gt;Tea &amp; &quot;talk&quot;&lt;/b&gt; حوار" in html
    assert "<b onclick" not in html
    assert f'data-space-id="{space["id"]}"' in html
    # Nothing loaded from elsewhere; the one absolute address is the oEmbed discovery link, which
    # the page never loads (a CMS reads it), and which is this site's own.
    loaded = re.sub(r'<link rel="alternate" type="application/json\+oembed"[^>]*>', "", html)
    assert not re.search(r'(src|href)="(https?:)?//', loaded), "no external resources"
    assert f'href="{server.base_url}/oembed?format=json&amp;url=' in html
    # The players are classic scripts (they set window.dashjs and window.Hls), deferred so they
    # run before the page's one entry module; every module it imports is preloaded.
    vendor = re.findall(r'<script src="/static/([^"]+)" defer></script>', html)
    assert vendor == ["vendor/dash.mediaplayer.min.js", "vendor/hls.min.js"]
    assert re.findall(r'<script type="module" src="/static/([^"]+)"></script>', html) == [
        "js/space.js"
    ]
    assert html.index(vendor[-1]) < html.index('<script type="module"')
    assert len(re.findall(r"<script", html)) == len(vendor) + 1, "no inline script"
    preloaded = re.findall(r'<link rel="modulepreload" href="/static/([^"]+)">', html)
    graph = imported_modules(api, "js/space.js")
    assert set(preloaded) == graph
    assert {
        "js/i18n.js",
        "js/strings/common.js",
        "js/strings/space.js",
        "js/common.js",
        "js/shell.js",
        "js/space-analyser.js",
        "js/space-audio.js",
        "js/space-host.js",
    } <= graph
    scripts = [*vendor, "js/space.js", *preloaded]
    # The reactions offered are the API's own list (domain/audience.py), in its order.
    assert f'data-emoji="{" ".join(EMOJI)}"' in html
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    # The same for every reader of a language: edges may keep it briefly, one copy per language.
    assert response.headers["cache-control"] == "public, max-age=10"
    assert "Accept-Language" in response.headers["vary"]
    for path in [*scripts, "css/space.css"]:
        served = api.http.get(f"/static/{path}")
        assert served.status_code == 200, path
        assert ("javascript" if path.endswith(".js") else "text/css") in served.headers[
            "content-type"
        ]


def imported_modules(api: Api, entry: str) -> set[str]:
    """Every module ``entry`` imports, directly or not, read from what the server serves."""
    found: set[str] = set()
    todo = [entry]
    while todo:
        current = todo.pop()
        source = api.http.get(f"/static/{current}").text
        for spec in re.findall(r"""^\s*import\b[^"';]*?["'](\.{1,2}/[^"']+)["']""", source, re.M):
            module = posixpath.normpath(posixpath.join(posixpath.dirname(current), spec))
            if module not in found:
                found.add(module)
                todo.append(module)
    return found


def test_every_space_string_is_translated_both_ways(api: Api) -> None:
    source = api.http.get("/static/js/strings/space.js").text
    en, ar = source.split("\n  ar: {")
    keys_en = set(re.findall(r'"(sp\.[\w.]+)":', en))
    keys_ar = set(re.findall(r'"(sp\.[\w.]+)":', ar))
    assert keys_en and keys_en == keys_ar
    used: set[str] = set()
    pages = imported_modules(api, "js/space.js") | imported_modules(api, "js/new_space.js")
    for name in sorted(pages | {"js/space.js", "js/new_space.js"}):
        if name.startswith("js/strings/"):
            continue
        used |= set(re.findall(r'"(sp\.[\w.]+)"', api.http.get(f"/static/{name}").text))
    for name in ("space.html", "new_space.html"):
        text = (Path(__file__).parents[2] / "src/majlis/web/templates" / name).read_text()
        used |= set(re.findall(r'data-i18n[\w-]*="(sp\.[\w.]+)"', text))
    assert used - keys_en == set(), "strings used but not in the catalogue"


# ---- a listener -----------------------------------------------------------------------------


def fast_heartbeats(route: Route) -> None:
    """Pass the join through, but ask for a heartbeat every second (the server says 30 s)."""
    response = route.fetch()
    if response.status != 200:
        route.fulfill(response=response)
        return
    body = response.json()
    body["heartbeat_interval_s"] = 1
    route.fulfill(response=response, body=json.dumps(body))


def test_listener_joins_hears_sees_the_stage_and_keeps_counted(
    live_space: MakeSpace, server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    host, space = live_space(ARABIC_TITLE)
    heartbeats: list[str] = []
    page.on("request", lambda r: heartbeats.append(r.method) if "/heartbeat" in r.url else None)
    page.route("**/api/v1/spaces/*/join", fast_heartbeats)
    page.goto(f"{server.base_url}/spaces/{space['id']}")

    title = page.locator("#title")
    assert title.inner_text() == ARABIC_TITLE
    assert page.title().startswith(ARABIC_TITLE)
    assert title.evaluate("el => getComputedStyle(el).direction") == "rtl"  # dir="auto"
    wait_js(page, "() => window.majlis.listenerId && window.majlis.player === 'dash.js'")
    assert page.locator("#state").inner_text() == "Live"
    offered = page.locator("#emoji button").evaluate_all("bs => bs.map(b => b.dataset.emoji)")
    assert offered == list(EMOJI)

    wait_js(page, "() => window.majlis.heartbeats >= 2")
    assert set(heartbeats) == {"POST"} and debug(page, "heartbeatFailures") == 0
    page.locator(f'#stage li[data-handle="{host.handle}"][data-role="host"]').wait_for()
    wait_js(page, "() => window.majlis.listenerCount >= 1")
    assert re.search(r"\d+ listening", page.locator("#listeners").inner_text())
    assert api.space(space["id"])["listener_count"] >= 1
    assert page.locator("#share-url").input_value() == f"{server.base_url}/spaces/{space['id']}"

    # Signed out: no stage or request controls, an invitation to sign in instead.
    assert page.get_by_role("link", name="Sign in to speak and react").is_visible()
    assert not page.get_by_role("button", name="Request to speak").is_visible()
    assert page.locator("#host").is_hidden()
    assert page.get_by_role("button", name=re.compile("Play|Pause")).is_enabled()
    assert debug(page, "dashErrors") == []
    assert debug(page, "lowLatency") is True
    assert page_errors == []


def segment_paced(route: Route) -> None:
    """The join of a listener who arrives when the audience is large (low_latency false)."""
    response = route.fetch()
    body = response.json()
    body["low_latency"] = False
    route.fulfill(response=response, body=json.dumps(body))


def test_a_listener_of_a_large_audience_plays_whole_segments(
    live_space: MakeSpace, server: RunningServer, page: Page, page_errors: list[str]
) -> None:
    _host, space = live_space("A crowd")
    page.route("**/api/v1/spaces/*/join", segment_paced)
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    wait_js(page, "() => window.majlis.listenerId && window.majlis.player === 'hls.js'")
    assert debug(page, "lowLatency") is False
    # hls.js in plain mode fetches whole segments, never parts, and still plays.
    wait_js(page, "() => document.getElementById('player').currentTime > 0.5", timeout_s=30)
    fetched = page.evaluate(
        "() => performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/hls/'))"
    )
    assert any(re.search(r"/\d+\.m4s$", n) for n in fetched), fetched
    assert not any(re.search(r"/\d+\.\d+\.m4s$", n) for n in fetched), fetched
    assert page_errors == []


@pytest.mark.slow  # dash.js's own retries, then ours: ~12 s
def test_when_dash_keeps_failing_the_listener_falls_back_to_segment_paced_hls(
    live_space: MakeSpace, server: RunningServer, page: Page, page_errors: list[str]
) -> None:
    """A DASH path that fails (an edge that breaks it, say) costs latency, never the audio."""
    _host, space = live_space("DASH breaks")
    page.route("**/dash/**", lambda route: route.fulfill(status=500, body="broken edge"))
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    wait_js(page, "() => window.majlis.dashErrors.length >= 1", timeout_s=30)
    wait_js(page, "() => window.majlis.player === 'hls.js'", timeout_s=30)
    assert debug(page, "lowLatency") is False  # the fallback has the fewest moving parts
    wait_js(page, "() => document.getElementById('player').currentTime > 0.5", timeout_s=30)
    assert page_errors == []


def test_join_503_shows_waiting_then_retries_after_retry_after_with_jitter(
    live_space: MakeSpace, server: RunningServer, page: Page, page_errors: list[str]
) -> None:
    _, space = live_space()
    joins = shed(page, "**/api/v1/spaces/*/join", 1, first_only=True)
    page.goto(f"{server.base_url}/spaces/{space['id']}")

    # Phase and words read in one evaluation: read apart, a loaded machine may take the half
    # second of waiting between them, and the page has rightly moved on to joining.
    wait_js(
        page,
        "() => document.getElementById('app').dataset.phase === 'waiting' &&"
        " document.getElementById('status').textContent.includes('you are in line') &&"
        " !window.majlis.listenerId",
    )

    wait_js(page, "() => window.majlis.listenerId", 5)
    assert debug(page, "joinStatuses") == [503, 200]
    # The page planned Retry-After (1 s) times its 0.5-1.5 jitter, and waited at least that:
    # a timer fires late on a busy machine, never early, so the measured gap has no upper bound.
    [planned] = debug(page, "waits")
    assert 0.5 <= planned <= 1.5, planned
    gap = joins[1] - joins[0]
    assert gap >= planned - 0.1, f"waited {gap:.2f} s of the {planned:.2f} s planned"
    wait_js(page, "() => window.majlis.hearing === 'hls'", 20)
    # Three seconds from the first join, in which no further join may come.
    page.wait_for_timeout(max(0.0, joins[0] + 3.0 - time.monotonic()) * 1000)
    assert len(joins) == 2, "no further joins once in"
    assert page_errors == []


def test_under_steady_shedding_the_page_waits_and_never_hammers(
    live_space: MakeSpace, server: RunningServer, page: Page
) -> None:
    _, space = live_space()
    joins = shed(page, "**/api/v1/spaces/*/join", 2)
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    wait_js(page, "() => window.majlis.joinAttempts >= 1")
    start = time.monotonic()
    page.wait_for_timeout(3_000)  # the interval under test: how often the page asks in it
    assert 1 <= len(joins) <= 4, joins  # Retry-After: 2 with 0.5-1.5 jitter: waits >= 1 s
    gaps = [b - a for a, b in itertools.pairwise(joins)]
    assert all(g >= 0.9 for g in gaps), gaps
    assert debug(page, "phase") in ("waiting", "joining")
    assert page.locator("#error").inner_text() == "", "waiting is not an error"
    assert time.monotonic() - start >= 3.0


def _patient(call: Any) -> httpx.Response:
    """The test's own requests to a shedding server wait out its Retry-After too."""
    for _ in range(30):
        response: httpx.Response = call()
        if response.status_code != 503:
            return response
        time.sleep(float(response.headers["Retry-After"]))  # as asked: the pace is the protocol
    raise AssertionError("the server kept shedding")


@pytest.fixture
def shedding_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server whose admission control lets a new arrival in only every 4 s."""
    with run_server(tmp_path, max_joins_per_s=0.25, retry_after_s=1.0) as running:
        yield running


def test_a_server_really_shedding_joins_is_waited_out_then_joined(
    shedding_server: RunningServer, browser: Browser, page_errors: list[str]
) -> None:
    base = shedding_server.base_url
    with httpx.Client(base_url=base, timeout=10) as http:
        handle = "shed_host"
        created = _patient(
            lambda: http.post(
                "/api/v1/accounts",
                json={"handle": handle, "password": "correct horse battery", "display_name": "S"},
            )
        )
        assert created.status_code == 201, created.text
        session = _patient(
            lambda: http.post(
                "/api/v1/sessions", json={"handle": handle, "password": "correct horse battery"}
            )
        )
        token = session.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        space = http.post("/api/v1/spaces", json={"title": "Surge"}, headers=auth).json()
        try:
            # Empty the entry budget, then open the page while it is still empty.
            while http.post(f"/api/v1/spaces/{space['id']}/join").status_code != 503:
                pass
            page = browser.new_page()
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(f"{base}/spaces/{space['id']}")
            wait_js(page, "() => window.majlis.phase === 'waiting'", 10)
            assert "Trying again in" in page.locator("#status").inner_text()
            wait_js(page, "() => window.majlis.listenerId", 30)
            statuses = debug(page, "joinStatuses")
            assert statuses[0] == 503 and statuses[-1] == 200, statuses
            # Each wait honoured Retry-After (>= 1 s, jittered): a few tries, never a storm.
            assert len(statuses) <= 8, statuses
            page.close()
        finally:
            http.post(f"/api/v1/spaces/{space['id']}/end", headers=auth)
    assert page_errors == []


# ---- scheduled ------------------------------------------------------------------------------


def test_scheduled_space_shows_its_time_waits_without_joining_and_reminds(
    live_space: MakeSpace,
    server: RunningServer,
    api: Api,
    browser: Browser,
    page: Page,
    page_errors: list[str],
) -> None:
    host, space = live_space("Later today", scheduled=True)
    fan = api.sign_up("fan")
    joins: list[str] = []
    page.on("request", lambda r: joins.append(r.url) if r.url.endswith("/join") else None)
    sign_in_page(page, fan)
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    wait_js(page, "() => window.majlis.phase === 'scheduled'")
    assert page.locator("#state").inner_text() == "Scheduled"
    assert page.locator("#starts-at").inner_text().startswith("Starts ")
    assert not page.get_by_role("button", name="Start the Space").is_visible()
    remind = page.get_by_role("button", name="Remind me")
    remind.click()
    page.get_by_role("button", name="Cancel the reminder").wait_for()
    assert page.get_by_role("button", name="Cancel the reminder").get_attribute("aria-pressed") == (
        "true"
    )
    # Another device (a fresh browser context, no shared storage) shows the same reminder.
    with browser.new_context() as elsewhere:
        second = elsewhere.new_page()
        sign_in_page(second, fan)
        second.goto(f"{server.base_url}/spaces/{space['id']}")
        second.get_by_role("button", name="Cancel the reminder").wait_for()
    page.get_by_role("button", name="Cancel the reminder").click()
    remind.wait_for()
    assert joins == []

    # The host sees Start; starting turns the same page live without a reload.
    other = page.context.new_page()
    sign_in_page(other, host)
    other.goto(f"{server.base_url}/spaces/{space['id']}")
    other.get_by_role("button", name="Start the Space").click()
    wait_js(other, "() => window.majlis.state === 'live' && window.majlis.role === 'host'")
    # The fan's page hears of it from the event stream, joins and plays.
    wait_js(page, "() => window.majlis.state === 'live' && window.majlis.listenerId", 15)
    assert page_errors == []


# ---- the host's and cohost's controls --------------------------------------------------------


def _member(page: Page, handle: str) -> Any:
    return page.locator(f'#stage li[data-handle="{handle}"]')


def test_host_approves_declines_invites_promotes_mutes_and_removes(
    live_space: MakeSpace, server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    host, space = live_space("Host controls")
    sid = space["id"]
    asker, shy, invited = api.sign_up("asker"), api.sign_up("shy"), api.sign_up("invited")
    sign_in_page(page, host)
    page.goto(f"{server.base_url}/spaces/{sid}")
    wait_js(page, "() => window.majlis.role === 'host'")
    assert page.get_by_role("heading", name="Requests to speak").is_visible()
    page.get_by_text("No requests right now.").wait_for()

    # Requests arrive over the event stream; approve one, decline the other.
    for who in (asker, shy):
        assert who.post(f"/api/v1/spaces/{sid}/requests").status_code == 201
    page.get_by_role("button", name=f"Bring @{asker.handle} on stage").click()
    page.get_by_role("button", name=f"Decline @{shy.handle}").click()
    _member(page, asker.handle).wait_for()
    page.locator(f'#requests li[data-handle="{shy.handle}"]').wait_for(state="detached")
    assert api.stage_of(sid)[asker.handle] == ("speaker", True)
    assert host.get(f"/api/v1/spaces/{sid}/requests").json()["items"] == []

    # Invite by handle.
    page.get_by_label("Invite someone to speak").fill(f"@{invited.handle}")
    page.get_by_role("button", name="Invite", exact=True).click()
    _member(page, invited.handle).wait_for()

    # Make the asker a cohost, then manage the invited speaker: unmuted by themselves, then
    # muted by the host; then moved back to the audience; then the asker is removed.
    _member(page, asker.handle).locator("summary").click()
    page.get_by_role("button", name="Make co-host").click()
    page.locator(f'#stage li[data-handle="{asker.handle}"][data-role="cohost"]').wait_for()
    assert invited.post(f"/api/v1/spaces/{sid}/stage/{invited.handle}/unmute").status_code == 204
    page.locator(f'#stage li[data-handle="{invited.handle}"][data-muted="false"]').wait_for()
    _member(page, invited.handle).locator("summary").click()
    _member(page, invited.handle).get_by_role("button", name="Mute").click()
    page.locator(f'#stage li[data-handle="{invited.handle}"][data-muted="true"]').wait_for()
    _member(page, invited.handle).locator("summary").click()
    _member(page, invited.handle).get_by_role("button", name="Move to the audience").click()
    _member(page, invited.handle).wait_for(state="detached")
    _member(page, asker.handle).locator("summary").click()
    _member(page, asker.handle).get_by_role("button", name="Remove from the Space").click()
    page.locator("#confirm-ok").click()
    _member(page, asker.handle).wait_for(state="detached")
    assert asker.handle not in api.stage_of(sid)
    assert asker.post(f"/api/v1/spaces/{sid}/join").status_code == 403
    assert page_errors == []


def test_a_cohost_sees_only_what_a_cohost_may_do(
    live_space: MakeSpace, server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    host, space = live_space("Cohost view")
    sid = space["id"]
    cohost, speaker = api.sign_up("co"), api.sign_up("sp")
    for who, role in ((cohost, "cohost"), (speaker, "speaker")):
        assert host.put(f"/api/v1/spaces/{sid}/stage/{who.handle}", json={"role": role}).is_success
    assert speaker.post(f"/api/v1/spaces/{sid}/stage/{speaker.handle}/unmute").is_success
    sign_in_page(page, cohost)
    page.goto(f"{server.base_url}/spaces/{sid}")
    wait_js(page, "() => window.majlis.role === 'cohost'")
    assert page.get_by_role("heading", name="Requests to speak").is_visible()
    assert not page.get_by_role("button", name="End the Space").is_visible()
    # The stage as the API left it, before a menu is opened: a later update re-renders a
    # member's row and closes its open menu (a loaded machine once showed an empty menu).
    for handle, role in ((cohost.handle, "cohost"), (speaker.handle, "speaker")):
        page.locator(f'#stage li[data-handle="{handle}"][data-role="{role}"]').wait_for()
    page.locator(f'#stage li[data-handle="{speaker.handle}"][data-muted="false"]').wait_for()
    _member(page, host.handle).locator("summary").click()  # a cohost may only mute the host
    assert _member(page, host.handle).get_by_role("button").all_inner_texts() == ["Mute"]
    _member(page, speaker.handle).locator("summary").click()
    menu = _member(page, speaker.handle).get_by_role("button")
    assert set(menu.all_inner_texts()) == {"Mute", "Move to the audience", "Remove from the Space"}
    # A change on the stage rebuilds it; both open menus stay open.
    assert speaker.post(f"/api/v1/spaces/{sid}/stage/{speaker.handle}/mute").is_success
    page.locator(f'#stage li[data-handle="{speaker.handle}"][data-muted="true"]').wait_for()
    for handle in (host.handle, speaker.handle):
        assert _member(page, handle).locator("details").get_attribute("open") is not None, handle
    # The cohost is on stage too: their own microphone, and they may leave the stage.
    assert page.get_by_role("button", name="Leave the stage").is_visible()
    assert page_errors == []


# ---- Arabic, and /spaces/new -----------------------------------------------------------------


def test_the_space_page_in_arabic_is_right_to_left_and_mirrored(
    live_space: MakeSpace, server: RunningServer, browser: Browser
) -> None:
    _, space = live_space("English title in an Arabic page")
    context = browser.new_context(locale="ar-EG", extra_http_headers={"Accept-Language": "ar"})
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(page, "() => window.majlis.listenerId")
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.locator("html").get_attribute("lang") == "ar"
        assert page.locator("#stage-heading").inner_text() == "على المنصة"
        assert page.locator("#title").evaluate("el => getComputedStyle(el).direction") == "ltr"
        play_box = page.locator("#play").bounding_box()
        copy_box = page.locator("#share").bounding_box()
        assert play_box and copy_box and copy_box["x"] < play_box["x"], "Copy sits at the end"
    finally:
        context.close()


def test_new_space_page_creates_now_or_asks_to_sign_in(
    server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    page.goto(f"{server.base_url}/spaces/new")
    wait_js(page, "() => window.majlis.page === 'new_space'")
    assert page.get_by_text("Sign in to start a Space.").is_visible()
    assert page.get_by_role("button", name="Start now").is_disabled()

    maker: User = api.sign_up("maker")
    sign_in_page(page, maker)
    page.goto(f"{server.base_url}/spaces/new")
    page.get_by_label("Title").fill("Right now")
    page.get_by_role("button", name="Start now").click()
    page.wait_for_url(lambda url: "/spaces/" in url and not url.endswith("/spaces/new"))
    space_id = page.url.rsplit("/", 1)[1]
    try:
        wait_js(page, "() => window.majlis.state === 'live' && window.majlis.role === 'host'")
        assert api.space(space_id)["host"]["handle"] == maker.handle
    finally:
        maker.post(f"/api/v1/spaces/{space_id}/end")
    assert page_errors == []


def test_doors_open_listener_hears_the_preshow_and_stays_seated_into_the_show(
    server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    host = api.sign_up("doors")
    start = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    space = host.create_space("Pre-show", scheduled_start=start, doors_open_minutes=10)
    try:
        assert space["state"] == "scheduled" and space["hls_url"], space
        page.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(page, "() => window.majlis.hearing === 'hls' && window.majlis.playing", 30)
        assert page.locator("#state").inner_text() == "Doors open"
        listener = debug(page, "listenerId")
        assert host.post(f"/api/v1/spaces/{space['id']}/start").is_success
        wait_js(page, "() => window.majlis.state === 'live'", 15)
        page.wait_for_timeout(1500)  # time for a rejoin that must not happen
        assert debug(page, "joinAttempts") == 1 and debug(page, "listenerId") == listener
        assert debug(page, "playing") is True, "the pre-show flowed into the show, no rejoin"
        assert page.locator("#state").inner_text() == "Live"
    finally:
        host.post(f"/api/v1/spaces/{space['id']}/end")
    assert page_errors == []


def test_a_listener_requests_withdraws_and_is_told_when_removed(
    live_space: MakeSpace, server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    host, space = live_space("Requests")
    sid = space["id"]
    fan = api.sign_up("fan")
    sign_in_page(page, fan)
    page.goto(f"{server.base_url}/spaces/{sid}")
    wait_js(page, "() => window.majlis.listenerId && window.majlis.events >= 1")
    page.get_by_role("button", name="Request to speak").click()
    wait_js(page, "() => window.majlis.requestPending === true")
    queue = host.get(f"/api/v1/spaces/{sid}/requests").json()["items"]
    assert [r["handle"] for r in queue] == [fan.handle]
    page.get_by_role("button", name="Withdraw request").click()
    page.get_by_role("button", name="Request to speak").wait_for()
    assert host.get(f"/api/v1/spaces/{sid}/requests").json()["items"] == []

    assert host.post(f"/api/v1/spaces/{sid}/removals/{fan.handle}").status_code == 204
    wait_js(page, "() => window.majlis.phase === 'removed'")
    assert page.locator("#status").inner_text() == "You were removed from this Space."
    assert debug(page, "playing") is False and debug(page, "listenerId") is None
    assert page_errors == []


#: A browser's autoplay policy, made deterministic: media may play only after a click on the page
#: (Chromium's own policy lets pages that capture the microphone play, varies with engagement
#: heuristics, and counts Playwright's evaluations as gestures; the page must cope with refusals).
REFUSE_AUTOPLAY = """
let clicked = false;
document.addEventListener("click", (e) => { if (e.isTrusted) clicked = true; }, true);
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  if (!clicked) {
    return Promise.reject(new DOMException("autoplay refused", "NotAllowedError"));
  }
  return play.call(this);
};
"""


def test_when_autoplay_is_refused_the_play_button_starts_the_audio(
    live_space: MakeSpace, server: RunningServer, api: Api, browser: Browser
) -> None:
    """Autoplay refused until a gesture: a listener is asked to press Play and Play starts the
    live audio; so does a speaker, for the stage's audio over WebRTC."""
    host, space = live_space("Autoplay")
    context = browser.new_context()
    context.add_init_script(REFUSE_AUTOPLAY)
    try:
        listener = context.new_page()
        listener.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(listener, "() => window.majlis.autoplayBlocked === true", 20)
        assert "press Play" in listener.locator("#status").inner_text()
        listener.get_by_role("button", name="Play").click()
        wait_js(listener, "() => window.majlis.playing && window.majlis.hearing === 'hls'", 20)

        speaker = context.new_page()
        sign_in_page(speaker, host)
        speaker.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(speaker, "() => window.majlis.connectionState === 'connected'", 20)
        wait_js(speaker, "() => window.majlis.autoplayBlocked === true")
        speaker.get_by_role("button", name="Play").click()
        wait_js(speaker, "() => !document.getElementById('remote').paused")
        wait_js(speaker, "() => window.majlis.autoplayBlocked === false")
    finally:
        context.close()


def test_a_start_while_waiting_out_retry_after_does_not_cut_the_wait_short(
    server: RunningServer, api: Api, page: Page
) -> None:
    """The crowd in line for an audible (doors-open) Space holds no event stream, so nothing it
    hears, the start included, can cut its Retry-After short."""
    host = api.sign_up("doors")
    start = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    space = host.create_space("Busy pre-show", scheduled_start=start, doors_open_minutes=10)
    joins = shed(page, "**/api/v1/spaces/*/join", 6)
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/events" in r.url else None)
    try:
        page.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(page, "() => window.majlis.phase === 'waiting'")
        assert host.post(f"/api/v1/spaces/{space['id']}/start").is_success
        page.wait_for_timeout(2500)  # a reload after "started" would be spread over 1.5 s
        gaps = [b - a for a, b in itertools.pairwise(joins)]
        assert all(g >= 2.9 for g in gaps), f"Retry-After 6 (x0.5-1.5) cut short: {gaps}"
        assert debug(page, "phase") == "waiting"
        assert streams == [], streams
    finally:
        host.post(f"/api/v1/spaces/{space['id']}/end")


@pytest.mark.parametrize("locale", ["en-US", "ar-EG"])
def test_at_phone_width_nothing_overflows_and_controls_are_touch_sized(
    live_space: MakeSpace, server: RunningServer, api: Api, browser: Browser, locale: str
) -> None:
    host, space = live_space(ARABIC_TITLE + " and a long English tail to wrap on a phone")
    asker = api.sign_up("asker")
    assert asker.post(f"/api/v1/spaces/{space['id']}/requests").status_code == 201
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale)
    try:
        page = context.new_page()
        sign_in_page(page, host)
        page.goto(f"{server.base_url}/spaces/{space['id']}")
        wait_js(page, "() => window.majlis.role === 'host' && window.majlis.listenerId")
        # On a phone the host's tools are a bottom sheet, opened from the bar, which counts
        # the requests waiting in it.
        toggle = page.locator("#host-toggle")
        toggle.wait_for()
        page.locator("#host-toggle-count").filter(has_text="1").wait_for()
        assert page.locator("#host").is_hidden()
        toggle.click()
        page.locator(f'#requests li[data-handle="{asker.handle}"]').wait_for()
        assert toggle.get_attribute("aria-expanded") == "true"
        sheet = page.locator("#host").bounding_box()  # over the page, at the bottom of the screen
        assert sheet is not None and sheet["y"] >= 0 and sheet["y"] + sheet["height"] <= 845, sheet
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide at a 390 px viewport"
        small = page.evaluate(
            """() => [...document.querySelectorAll('#app button, #app summary, #app a.button')]
              .filter(el => el.offsetParent !== null)
              .filter(el => el.getBoundingClientRect().height < 44)
              .map(el => el.id || el.textContent)"""
        )
        assert small == [], f"controls under 44 px high: {small}"
    finally:
        context.close()


def test_staff_menus_work_from_the_keyboard(
    live_space: MakeSpace, server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    host, space = live_space("Keyboard")
    guest = api.sign_up("kb")
    assert host.put(
        f"/api/v1/spaces/{space['id']}/stage/{guest.handle}", json={"role": "speaker"}
    ).is_success
    sign_in_page(page, host)
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    wait_js(page, "() => window.majlis.role === 'host' && window.majlis.events >= 1")
    toggle = page.get_by_label(f"Manage @{guest.handle}")
    toggle.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert focused == "Make co-host"
    # The stage changes meanwhile (someone else comes up): the menu stays open, focus stays put.
    other = api.sign_up("other")
    assert host.put(
        f"/api/v1/spaces/{space['id']}/stage/{other.handle}", json={"role": "speaker"}
    ).is_success
    page.locator(f'#stage li[data-handle="{other.handle}"]').wait_for()
    assert page.evaluate("() => document.activeElement.textContent") == "Make co-host"
    page.keyboard.press("Enter")
    page.locator(f'#stage li[data-handle="{guest.handle}"][data-role="cohost"]').wait_for()
    assert api.stage_of(space["id"])[guest.handle][0] == "cohost"
    assert page_errors == []


def _stage_and_reactions_reach(page: Page, sid: str, host: User, guest: User, fan: User) -> None:
    """The host brings ``guest`` up and ``fan`` reacts: both show on ``page`` within seconds."""
    assert host.put(
        f"/api/v1/spaces/{sid}/stage/{guest.handle}", json={"role": "speaker"}
    ).is_success
    page.locator(f'#stage li[data-handle="{guest.handle}"]').wait_for(timeout=10_000)
    sent = fan.post(f"/api/v1/spaces/{sid}/reactions", json={"emoji": "\U0001f525"})
    assert sent.status_code == 202
    wait_js(page, "() => window.majlis.reactionsReceived >= 1", 10)


def test_a_large_audience_follows_the_snapshot_until_it_asks_to_speak(
    tmp_path: Path, page: Page, page_errors: list[str]
) -> None:
    """Past events_max_listeners (0 here) a listener's page opens no event stream at all: the
    snapshot, cached at the edges, moves the stage and the reactions. Asking to speak opens the
    stream, so the answer does not wait for a poll."""
    with run_server(tmp_path, events_max_listeners=0) as running:
        api = Api(running.base_url)
        try:
            host, fan, guest = api.sign_up("big_host"), api.sign_up("fan"), api.sign_up("guest")
            listener = api.sign_up("listener")
            sid = host.create_space("A full house")["id"]
            streams: list[str] = []
            page.on("request", lambda r: streams.append(r.url) if "/events" in r.url else None)
            sign_in_page(page, listener)
            page.goto(f"{running.base_url}/spaces/{sid}")
            wait_js(page, "() => window.majlis.listenerId && window.majlis.snapshots >= 1")
            _stage_and_reactions_reach(page, sid, host, guest, fan)
            assert debug(page, "streaming") is False
            assert streams == [], streams
            page.get_by_role("button", name="Request to speak").click()
            wait_js(page, "() => window.majlis.requestPending && window.majlis.events >= 1", 10)
            assert debug(page, "streaming") is True
            assert len(streams) == 1, streams
            assert host.put(
                f"/api/v1/spaces/{sid}/stage/{listener.handle}", json={"role": "speaker"}
            ).is_success
            wait_js(page, "() => window.majlis.role === 'speaker'", 10)
            assert page_errors == []
        finally:
            api.close()


def test_without_the_event_stream_the_snapshot_moves_the_stage_and_reactions(
    live_space: MakeSpace, server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    """A node at its bound on open streams refuses them (503): the page keeps working from the
    cacheable snapshot, and tries the stream again later, calmly."""
    host, space = live_space("No stream")
    sid = space["id"]
    fan, guest = api.sign_up("fan"), api.sign_up("guest")
    streams = shed(page, "**/api/v1/spaces/*/events", 5)
    page.goto(f"{server.base_url}/spaces/{sid}")
    wait_js(page, "() => window.majlis.listenerId && window.majlis.snapshots >= 2")
    _stage_and_reactions_reach(page, sid, host, guest, fan)
    assert debug(page, "events") == 0
    gaps = [b - a for a, b in itertools.pairwise(streams)]
    assert all(g >= 1.4 for g in gaps), f"the stream was retried without a wait: {gaps}"
    assert page_errors == []
