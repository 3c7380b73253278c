"""The listen and speak pages, in a real headless Chromium against a real server.

Media playback and WHIP end to end are tested with the media plane; here: the pages load,
render safely (Arabic titles included), join, keep counted, wait out load shedding without
hammering the server, and the speak page signs in and reports errors in words.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.client import PASSWORD, Api, User, problem_of
from tests.server import RunningServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request, Route

ARABIC_TITLE = "مجلس الأربعاء: حوار مفتوح"

MakeSpace = Callable[..., tuple[User, dict[str, Any]]]


@pytest.fixture
def live_space(api: Api) -> Iterator[MakeSpace]:
    """``live_space(title)`` → (host, Space), live at once; ended after the test, because every
    live Space keeps a media room (a mixer clock and an encoder) running on the shared server."""
    made: list[tuple[User, str]] = []

    def make(title: str = "A live Space", scheduled: bool = False) -> tuple[User, dict[str, Any]]:
        host = api.sign_up("host")
        space = host.schedule_space(title) if scheduled else host.create_space(title)
        assert space["state"] == ("scheduled" if scheduled else "live"), space
        made.append((host, space["id"]))
        return host, space

    yield make
    for host, space_id in made:
        host.post(f"/api/v1/spaces/{space_id}/end")


def debug(page: Page, key: str) -> Any:
    return page.evaluate("key => window.majlis && window.majlis[key]", key)


def wait_for(page: Page, predicate: str, timeout_s: float = 10) -> None:
    """Wait until the JS ``predicate`` holds. It must be an arrow function: Playwright evals bare
    expressions, which the pages' CSP forbids. On timeout, fail showing ``window.majlis``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(predicate, timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        state = page.evaluate("() => JSON.stringify(window.majlis)")
        pytest.fail(f"{predicate} still false after {timeout_s} s; window.majlis = {state}")


# ---- served HTML and static files ----------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/speak"])
@pytest.mark.parametrize(
    "space_id", ["nope12345", "x" * 17, "bad.id", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"]
)
def test_pages_of_unknown_or_malformed_spaces_are_404_problems(
    api: Api, space_id: str, suffix: str
) -> None:
    response = api.http.get(f"/spaces/{space_id}{suffix}")
    problem_of(response, 404)
    assert "<script>" not in response.text


def test_listen_page_is_escaped_accessible_and_offline(live_space: MakeSpace, api: Api) -> None:
    _, space = live_space('<b onclick="x()">Tea & "talk"</b> حوار')
    response = api.http.get(f"/spaces/{space['id']}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="en" dir="ltr">' in html
    assert "&lt;b onclick=&quot;x()&quot;&gt;Tea &amp; &quot;talk&quot;&lt;/b&gt; حوار" in html
    assert "<b onclick" not in html
    assert f'data-space-id="{space["id"]}"' in html
    # Everything from this server: no CDN, no inline script.
    assert not re.search(r'(src|href)="(https?:)?//', html), "no external resources"
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/vendor/hls.min.js" defer>',
        '<script src="/static/js/common.js" defer>',
        '<script src="/static/js/listen.js" defer>',
    ]
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/static/vendor/hls.min.js", "javascript"),
        ("/static/js/listen.js", "javascript"),
        ("/static/js/speak.js", "javascript"),
        ("/static/js/common.js", "javascript"),
        ("/static/css/majlis.css", "text/css"),
    ],
)
def test_static_files_are_served_with_their_types(api: Api, path: str, kind: str) -> None:
    response = api.http.get(path)
    assert response.status_code == 200, response.text
    assert kind in response.headers["content-type"]
    assert response.headers["cache-control"] == "no-cache"
    etag = response.headers["etag"]
    again = api.http.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_vendored_hls_js_is_a_1x_release_with_its_license(api: Api) -> None:
    body = api.http.get("/static/vendor/hls.min.js").text
    assert len(body) > 100_000
    assert re.search(r'"1\.\d+\.\d+"', body), "hls.js announces its 1.x version"
    license_text = api.http.get("/static/vendor/LICENSE.hls.js").text
    assert "Apache License, Version 2.0" in license_text


@pytest.mark.parametrize("path", ["/static/nope.js", "/static/../pages.py", "/static/"])
def test_static_misses_are_404_problems(server: RunningServer, path: str) -> None:
    # httpx would normalize "..": send the raw path.
    with httpx.Client(base_url=server.base_url) as http:
        request = http.build_request("GET", path)
        request.url = request.url.copy_with(raw_path=path.encode())
        response = http.send(request)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


# ---- the listen page in Chromium -----------------------------------------------------------


def fast_heartbeats(route: Route) -> None:
    """Pass the join through, but ask for a heartbeat every second (the server says 30 s)."""
    response = route.fetch()
    if response.status != 200:
        route.fulfill(response=response)
        return
    body = response.json()
    body["heartbeat_interval_s"] = 1
    route.fulfill(response=response, body=json.dumps(body))


def test_listen_page_joins_shows_the_space_and_keeps_counted(
    live_space: MakeSpace, server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    host, space = live_space(ARABIC_TITLE)
    heartbeats: list[str] = []

    def on_request(request: Request) -> None:
        if "/heartbeat" in request.url:
            heartbeats.append(request.method)

    page.on("request", on_request)
    page.route("**/api/v1/spaces/*/join", fast_heartbeats)

    page.goto(f"{server.base_url}/spaces/{space['id']}")

    title = page.locator("#title")
    assert title.inner_text() == ARABIC_TITLE
    assert page.title().startswith(ARABIC_TITLE)
    assert title.evaluate("el => getComputedStyle(el).direction") == "rtl"  # dir="auto"
    box = title.bounding_box()
    assert box is not None and box["width"] > 50 and box["height"] > 10
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("html").get_attribute("dir") == "ltr"

    wait_for(page, "() => window.majlis && window.majlis.listenerId")
    assert isinstance(debug(page, "listenerId"), str)
    assert debug(page, "player") == "hls.js"
    assert page.locator("#state").inner_text() == "Live"

    # Heartbeats every (patched) second, each answered 204.
    wait_for(page, "() => window.majlis.heartbeats >= 2", 15)
    assert set(heartbeats) == {"POST"}
    assert debug(page, "heartbeatFailures") == 0

    # The snapshot drives the stage and the listener count.
    wait_for(page, "() => window.majlis.snapshots >= 1")
    page.locator(f'#stage li[data-handle="{host.handle}"]').wait_for()
    assert page.locator("#listeners").inner_text() != "–"
    assert debug(page, "listenerCount") >= 1
    assert api.space(space["id"])["listener_count"] >= 1

    # The Play button is labelled and usable; nothing threw.
    assert page.get_by_role("button", name=re.compile("Play|Pause")).is_enabled()
    assert page_errors == []


def test_listen_page_waits_out_a_503_then_joins(
    live_space: MakeSpace, server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    _, space = live_space()
    joins: list[float] = []

    def shed_first(route: Route, request: Request) -> None:
        joins.append(time.monotonic())
        if len(joins) == 1:
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/problem+json"},
                body=json.dumps(
                    {
                        "type": "urn:majlis:problem:overloaded",
                        "title": "Busy, try again shortly",
                        "status": 503,
                        "detail": "too many people are joining right now",
                    }
                ),
            )
        else:
            route.continue_()

    page.route("**/api/v1/spaces/*/join", shed_first)
    page.goto(f"{server.base_url}/spaces/{space['id']}")

    wait_for(page, "() => document.getElementById('app').dataset.phase === 'waiting'")
    assert "Trying again" in page.locator("#status").inner_text()
    assert debug(page, "listenerId") is None

    wait_for(page, "() => window.majlis.listenerId", 5)
    assert debug(page, "joinStatuses") == [503, 200]
    gap = joins[1] - joins[0]
    assert 0.4 <= gap <= 2.0, f"waited {gap:.2f} s for Retry-After: 1 with 0.5-1.5 jitter"

    # No further joins once in: at most two retries within 3 s of the first attempt.
    page.wait_for_timeout(max(0.0, joins[0] + 3.0 - time.monotonic()) * 1000)
    assert len([t for t in joins if t - joins[0] <= 3.0]) <= 3
    assert len(joins) == 2
    assert page_errors == []


def test_listen_page_under_steady_load_shedding_never_hammers(
    live_space: MakeSpace, server: RunningServer, api: Api, page: Page
) -> None:
    _, space = live_space()
    joins: list[float] = []

    def always_busy(route: Route) -> None:
        joins.append(time.monotonic())
        route.fulfill(
            status=503,
            headers={"Retry-After": "2", "Content-Type": "application/problem+json"},
            body='{"type":"urn:majlis:problem:overloaded","title":"Busy","status":503,'
            '"detail":"too many people are joining right now"}',
        )

    page.route("**/api/v1/spaces/*/join", always_busy)
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    wait_for(page, "() => window.majlis && window.majlis.joinAttempts >= 1")
    start = time.monotonic()
    page.wait_for_timeout(3_000)
    # Retry-After: 2 with 0.5-1.5 jitter: each wait is at least 1 s.
    assert 1 <= len(joins) <= 4, joins
    gaps = [b - a for a, b in itertools.pairwise(joins)]
    assert all(g >= 0.9 for g in gaps), gaps
    assert debug(page, "phase") in ("waiting", "joining")
    assert time.monotonic() - start >= 3.0


def test_listen_page_of_a_scheduled_space_waits_without_joining(
    live_space: MakeSpace, server: RunningServer, page: Page, page_errors: list[str]
) -> None:
    _, space = live_space("Later today", scheduled=True)
    joins: list[str] = []

    def on_request(request: Request) -> None:
        if request.url.endswith("/join"):
            joins.append(request.url)

    page.on("request", on_request)
    page.goto(f"{server.base_url}/spaces/{space['id']}")
    wait_for(page, "() => window.majlis && window.majlis.phase === 'scheduled'")
    assert page.locator("#state").inner_text() == "Scheduled"
    assert "not started yet" in page.locator("#status").inner_text()
    assert joins == []
    assert page_errors == []


# ---- the speak page ------------------------------------------------------------------------


def test_speak_page_renders_its_sign_in_form(
    live_space: MakeSpace, server: RunningServer, page: Page, page_errors: list[str]
) -> None:
    _, space = live_space(ARABIC_TITLE)
    response = page.goto(f"{server.base_url}/spaces/{space['id']}/speak")
    assert response is not None and response.status == 200
    assert response.headers["cache-control"] == "no-store"
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.locator("#title").inner_text() == ARABIC_TITLE
    handle = page.get_by_label("Handle")
    password = page.get_by_label("Password")
    assert handle.is_visible() and password.is_visible()
    assert password.get_attribute("type") == "password"
    assert page.get_by_role("button", name="Sign in").is_visible()
    assert not page.get_by_role("button", name="Go live").is_visible()
    assert debug(page, "phase") == "signed-out"
    assert page_errors == []


def test_speak_page_signs_in_and_shows_problem_details(
    live_space: MakeSpace, server: RunningServer, api: Api, page: Page, page_errors: list[str]
) -> None:
    host, space = live_space()
    page.goto(f"{server.base_url}/spaces/{space['id']}/speak")

    page.get_by_label("Handle").fill(host.handle)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    wait_for(page, "() => document.getElementById('error').textContent.length > 5")
    assert not debug(page, "signedIn")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    wait_for(page, "() => window.majlis.signedIn === true")
    assert page.locator("#error").inner_text() == ""
    assert page.get_by_role("button", name="Go live").is_visible()
    assert page.locator("#me").inner_text() == f"@{host.handle}"
    token = page.evaluate("sessionStorage.getItem('majlis.token')")
    assert api.http.get(
        f"/api/v1/accounts/{host.handle}", headers={"Authorization": f"Bearer {token}"}
    ).is_success

    # A reload keeps the tab signed in; "Sign out" forgets the token.
    page.reload()
    wait_for(page, "() => window.majlis.signedIn === true")
    page.get_by_role("button", name="Sign out").click()
    wait_for(page, "() => window.majlis.signedIn === false")
    assert page.evaluate("sessionStorage.getItem('majlis.token')") is None
    assert page.get_by_label("Handle").is_visible()
    assert page_errors == []


@pytest.mark.parametrize("raw", [False, True])
def test_speak_page_offers_sdp_with_the_token_and_shows_a_refusal(
    live_space: MakeSpace,
    server: RunningServer,
    api: Api,
    page: Page,
    page_errors: list[str],
    raw: bool,
) -> None:
    """The WHIP request as the page sends it (answered here with a refusal: the media plane's
    own tests cover real answers)."""
    host, space = live_space()
    offers: list[dict[str, Any]] = []

    def refuse(route: Route, request: Request) -> None:
        offers.append(
            {
                "method": request.method,
                "headers": request.headers,
                "body": request.post_data or "",
            }
        )
        route.fulfill(
            status=403,
            headers={"Content-Type": "application/problem+json"},
            body=json.dumps(
                {
                    "type": "urn:majlis:problem:forbidden",
                    "title": "Forbidden",
                    "status": 403,
                    "detail": "only people on the stage can speak; ask the host to invite you",
                }
            ),
        )

    page.route("**/api/v1/spaces/*/whip", refuse)
    page.goto(f"{server.base_url}/spaces/{space['id']}/speak" + ("?raw=1" if raw else ""))
    page.get_by_label("Handle").fill(host.handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Go live").click()

    page.get_by_role("alert").filter(has_text="only people on the stage can speak").wait_for()
    assert len(offers) == 1
    offer = offers[0]
    assert offer["method"] == "POST"
    assert offer["headers"]["content-type"] == "application/sdp"
    assert offer["headers"]["authorization"].startswith("Bearer ")
    sdp: str = offer["body"]
    assert sdp.startswith("v=0")
    assert len(re.findall(r"^m=audio ", sdp, re.M)) == 1
    assert "a=sendrecv" in sdp and "opus/48000" in sdp
    assert "a=candidate:" in sdp, "the offer waits for ICE gathering"

    flags = debug(page, "constraints")
    assert flags == {
        "echoCancellation": not raw,
        "noiseSuppression": not raw,
        "autoGainControl": not raw,
    }
    assert debug(page, "whipStatus") == 403
    assert debug(page, "sessionUrl") is None
    assert page.get_by_role("button", name="Go live").is_enabled()
    assert page.get_by_role("button", name="Leave").is_disabled()
    assert page_errors == []


# ---- the browser fixtures themselves -------------------------------------------------------

PEAK_FREQUENCY_JS = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: {
    echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
  const ctx = new AudioContext({sampleRate: 48000});
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  ctx.createMediaStreamSource(stream).connect(analyser);
  await new Promise(r => setTimeout(r, 700));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let peak = 0;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[peak]) peak = i;
  stream.getTracks().forEach(t => t.stop());
  await ctx.close();
  return peak * ctx.sampleRate / analyser.fftSize;
}"""


@pytest.mark.parametrize("hz", [440, 660])
def test_launch_browser_gives_a_microphone_playing_the_tone(
    server: RunningServer, launch_browser: Callable[..., Browser], hz: int
) -> None:
    browser = launch_browser(tone_hz=hz)
    page = browser.new_page()
    page.goto(f"{server.base_url}/static/css/majlis.css")  # any page of a secure origin
    peak = page.evaluate(PEAK_FREQUENCY_JS)
    assert abs(peak - hz) < 15, f"the fake microphone peaks at {peak:.0f} Hz, not {hz} Hz"
