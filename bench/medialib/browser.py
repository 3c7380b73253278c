"""A headless Chromium listener playing the Space with hls.js or dash.js, as a real audience
member does.

The page must be on the majlis origin (hls.js fetches the playlist and parts with XHR, and we
may not add routes to the server), so Playwright's router answers one made-up path on that
origin with our page; everything else, hls.js included (``/static/vendor/hls.min.js``), comes
from majlis itself.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Route, async_playwright

from medialib.beeps import Onset
from tests.support.browser import CHROMIUM, HEADLESS_FLAGS

FLAGS = list(HEADLESS_FLAGS)
PAGE_PATH = "/__bench__/hls-listener.html"  # answered by Playwright, never reaches majlis
PAGE = """<!doctype html><meta charset="utf-8"><title>bench listener</title>
<audio id="player"></audio>
<script src="/static/vendor/%PLAYER%"></script>
<script>%SCRIPT%</script>
"""
SCRIPT = Path(__file__).with_name("player.js")
#: The vendored player each kind of listener loads, and the page function that starts it.
PLAYERS = {"hls": ("hls.min.js", "start"), "dash": ("dash.mediaplayer.min.js", "startDash")}


@dataclass
class ListenerResult:
    """What the page recorded: beep onsets, hls.js's own latency readings, errors, stalls."""

    info: dict[str, Any] = field(default_factory=dict)
    onsets: list[Onset] = field(default_factory=list)
    stats: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


async def listen(
    base: str,
    url: str,
    seconds: float,
    config: dict[str, Any],
    ready: asyncio.Event,
    player: str = "hls",
) -> ListenerResult:
    """Play ``url`` (an LL-HLS playlist, or with ``player="dash"`` an MPD) for ``seconds`` in
    headless Chromium; ``ready`` is set once playing."""
    result = ListenerResult()
    library, start = PLAYERS[player]
    page_html = PAGE.replace("%SCRIPT%", SCRIPT.read_text()).replace("%PLAYER%", library)

    async def serve_page(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html", body=page_html)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = await browser.new_page()
            page.on("console", lambda msg: result.console.append(f"{msg.type}: {msg.text}"))
            page.on("pageerror", lambda exc: result.console.append(f"pageerror: {exc}"))
            await page.route(base + PAGE_PATH, serve_page)
            await page.goto(base + PAGE_PATH)
            result.info = await page.evaluate(
                f"([url, config]) => window.{start}(url, config)", [url, config]
            )
            ready.set()
            await asyncio.sleep(seconds)
            data = await page.evaluate("window.bench")
        finally:
            await browser.close()
    result.onsets = [Onset(o["at"] / 1000, o["freq"], -1) for o in data["onsets"]]
    result.stats, result.errors, result.events = data["stats"], data["errors"], data["events"]
    result.info["config"] = json.loads(json.dumps(config))
    return result
