"""Watches the origin publish parts, to split the latency into capture→publish and publish→play.

It follows the playlist the way an LL-HLS client does, with blocking reloads
(``_HLS_msn``/``_HLS_part``), so each answer comes back the moment the part it asks for is
published: its arrival time is the part's publish time (plus one loopback round trip). Each part
is decoded with PyAV and fed to an ``OnsetDetector``, so a beep is dated by the publication of
the part that holds its first sample. The segment's ``EXT-X-PROGRAM-DATE-TIME`` is kept too:
the date the origin claims for that sample, which is what hls.js's ``playingDate`` builds on.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from dataclasses import dataclass
from datetime import datetime

import av
import httpx
import numpy as np

from medialib.beeps import Float, OnsetDetector

_PDT = re.compile(r"^#EXT-X-PROGRAM-DATE-TIME:(.+)$")
_PART = re.compile(r'^#EXT-X-PART:DURATION=([\d.]+),URI="(\d+)\.(\d+)\.m4s"')
_HINT = re.compile(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"')


@dataclass(frozen=True)
class Part:
    """A part as seen published: where it is, when it came, and the date the origin gave it."""

    msn: int
    index: int
    published_at: float
    duration: float
    #: PROGRAM-DATE-TIME of its segment plus the parts before it: its first sample's claimed date.
    date: float | None
    first_sample: int


def part_dates(playlist: str) -> dict[tuple[int, int], tuple[float, float]]:
    """(msn, index) -> (duration, program date of the part's first sample) for listed parts."""
    dates: dict[tuple[int, int], tuple[float, float]] = {}
    segment_date: float | None = None
    elapsed = 0.0
    for line in playlist.splitlines():
        if m := _PDT.match(line):
            segment_date = datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
            elapsed = 0.0
        elif (m := _PART.match(line)) and segment_date is not None:
            duration = float(m.group(1))
            dates[(int(m.group(2)), int(m.group(3)))] = (duration, segment_date + elapsed)
            elapsed += duration
    return dates


def decode_part(init: bytes, previous: bytes, part: bytes, samples: int) -> Float:
    """The part's PCM. The previous part is decoded first so AAC's overlap is primed: decoded
    alone, a part's first 1024 samples fade in, and a beep there would be found late."""
    with av.open(io.BytesIO(init + previous + part), mode="r", format="mp4") as container:
        stream = container.streams.audio[0]
        stream.codec_context.thread_count = 1
        chunks = [frame.to_ndarray().reshape(-1) for frame in container.decode(stream)]
    pcm = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return pcm[-samples:]


class OriginWatcher:
    """Follows the live playlist part by part until stopped; see the module docstring."""

    def __init__(self, hls_url: str, rate: int = 48_000) -> None:
        self.hls_url = hls_url
        self.base = hls_url.rsplit("/", 1)[0] + "/"
        self.rate = rate
        self.detector = OnsetDetector(rate)
        self.parts: list[Part] = []
        self.errors: list[str] = []

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            init = (await http.get(self.base + "init.mp4")).content
            first = _HINT.search((await http.get(self.hls_url)).text)
            if first is None:
                self.errors.append("the live playlist has no preload hint")
                return
            msn, index = int(first.group(1)), int(first.group(2))
            previous = b""
            while not stop.is_set():
                try:
                    msn, index, previous = await self._next(http, init, previous, msn, index)
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    self.errors.append(f"{msn}.{index}: {type(exc).__name__}: {exc}")
                    await asyncio.sleep(0.5)

    async def _next(
        self, http: httpx.AsyncClient, init: bytes, previous: bytes, msn: int, index: int
    ) -> tuple[int, int, bytes]:
        """Wait for part (msn, index), take it in, and say which part comes after it."""
        params = {"_HLS_msn": str(msn), "_HLS_part": str(index)}
        reply = await http.get(self.hls_url, params=params)
        published_at = time.time()
        reply.raise_for_status()
        dates = part_dates(reply.text)
        if (msn, index) not in dates:  # the segment was full: index rolled over to (msn + 1, 0)
            msn, index = msn + 1, 0
        duration, date = dates[(msn, index)]
        data = (await http.get(f"{self.base}{msn}.{index}.m4s")).raise_for_status().content
        samples = round(duration * self.rate)
        pcm = await asyncio.to_thread(decode_part, init, previous, data, samples)
        first_sample = self.detector.total_samples
        self.detector.feed(pcm, published_at)
        self.parts.append(Part(msn, index, published_at, duration, date, first_sample))
        return msn, index + 1, data

    def claimed_date(self, sample: int) -> float | None:
        """The program date the origin's playlist implies for an absolute sample number."""
        for part in reversed(self.parts):
            if part.first_sample <= sample:
                if part.date is None:
                    return None
                return part.date + (sample - part.first_sample) / self.rate
        return None
