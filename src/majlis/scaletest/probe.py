"""A probe listener: follows the LL-HLS playlist like the others, but decodes what it gets.

It measures what the Locust listeners cannot (they count bytes, not sound): the speaker →
listener latency, from the timing marks the mark speaker emits (``marks.py``). Probes fetch
from the same URL as the audience (the edge, when there is one), so they see what it sees.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from majlis.scaletest import playlist
from majlis.scaletest.backoff import RETRYABLE, retry_delay
from majlis.scaletest.marks import MarkFinder, decode_part


@dataclass
class ProbeResult:
    #: (wall time heard, latency in seconds) for every mark found.
    latencies: list[tuple[float, float]] = field(default_factory=list)
    parts: int = 0
    errors: list[str] = field(default_factory=list)


async def probe(hls_url: str, stop: asyncio.Event, result: ProbeResult) -> None:
    """Follow ``hls_url`` part by part until ``stop`` is set, recording mark latencies."""
    base = playlist.hls_base(hls_url)
    finder = MarkFinder()
    async with httpx.AsyncClient(timeout=15) as http:
        init = (await _get(http, base + "init.mp4", stop)).content
        first = playlist.Playlist.of((await _get(http, hls_url, stop)).text).hint
        if first is None:
            result.errors.append("the live playlist has no preload hint")
            return
        msn, index = first
        previous = b""
        while not stop.is_set():
            try:
                params = {"_HLS_msn": str(msn), "_HLS_part": str(index)}
                listing = playlist.Playlist.of((await _get(http, hls_url, stop, params)).text)
                ref = listing.find(msn, index)
                if ref is None:
                    raise ValueError(f"part {msn}.{index} is not in the playlist")
                data = (await _get(http, base + ref.name, stop)).content
                arrived = time.time()
                pcm = await asyncio.to_thread(decode_part, init, previous, data)
                pcm = pcm[-round(ref.duration_s * finder.rate) :]
                for latency in finder.feed(pcm, arrived):
                    result.latencies.append((arrived, latency))
                result.parts += 1
                previous = data
                after = listing.following(ref)
                msn, index = after if after is not None else (ref.msn, ref.part + 1)
            except (httpx.HTTPError, ValueError) as exc:
                result.errors.append(f"{msn}.{index}: {type(exc).__name__}: {exc}")
                if len(result.errors) > 1000:
                    return
                await asyncio.sleep(0.5)
                fresh = playlist.Playlist.of((await _get(http, hls_url, stop)).text).hint
                if fresh is not None:
                    msn, index = fresh
                    previous = b""
                    finder = MarkFinder()


async def _get(
    http: httpx.AsyncClient, url: str, stop: asyncio.Event, params: dict[str, str] | None = None
) -> httpx.Response:
    """GET, waiting out 429/503 with the jittered Retry-After, until ``stop``."""
    while True:
        response = await http.get(url, params=params)
        if response.status_code not in RETRYABLE or stop.is_set():
            return response.raise_for_status()
        await asyncio.sleep(retry_delay(response.headers.get("retry-after")))
