"""Static files and the browser fixtures themselves.

The pages are tested in test_shell.py (home, sign in/up, profiles, notifications, the header,
Arabic and RTL) and test_space_page.py / test_space_e2e.py (the Space page); these are the parts
every page stands on: scripts and styles served with their types and revalidated, hls.js vendored
with its license, misses as problems, and a fake microphone that really plays the tone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support.client import Api
from tests.support.server import EMBEDDED_FAST_DISTRIBUTED_SLOW, RunningServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/static/vendor/hls.min.js", "javascript"),
        ("/static/js/i18n.js", "javascript"),
        ("/static/js/shell.js", "javascript"),
        ("/static/js/common.js", "javascript"),
        ("/static/js/strings/common.js", "javascript"),
        ("/static/img/icon.svg", "image/svg+xml"),
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


#: A Chromium launched per case (~2.5 s); what is checked is the harness's fake microphone, the
#: server only hands the page an origin: one shape by default, both in CI.
@EMBEDDED_FAST_DISTRIBUTED_SLOW
@pytest.mark.parametrize("hz", [440, 660])
def test_launch_browser_gives_a_microphone_playing_the_tone(
    server: RunningServer, launch_browser: Callable[..., Browser], hz: int
) -> None:
    browser = launch_browser(tone_hz=hz)
    page = browser.new_page()
    page.goto(f"{server.base_url}/static/css/majlis.css")  # any page of a secure origin
    peak = page.evaluate(PEAK_FREQUENCY_JS)
    assert abs(peak - hz) < 15, f"the fake microphone peaks at {peak:.0f} Hz, not {hz} Hz"
