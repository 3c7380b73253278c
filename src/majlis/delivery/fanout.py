"""The feeder of an nginx + Nchan edge (``majlis edge-feed``): one origin fetch per segment,
published chunk by chunk into the edge, where nginx writes each chunk to every listener.

Why this exists: a low-latency DASH listener holds one request per segment open while its chunks
are produced. Varnish (and Squid) stream one origin fetch to every such request, but Varnish
holds a thread per listener and wakes each at every chunk, and Squid copies each chunk through
its store per listener: 2-4x Icecast2's CPU per listener (docs/benchmarks.md). Nchan, an nginx
module, keeps each published message once in shared memory and writes it to every subscriber
from nginx's event loop, as Icecast2 writes one buffer to many sockets. So the edge splits in two:

- **nginx + Nchan serve listeners.** A segment request subscribes to the channel
  ``{space}/{rendition}/{number}`` with the ``http-chunked`` subscriber: it gets the chunks
  published so far at once and each next one as it is published, then the final zero-length
  chunk when the channel is deleted, on a keep-alive connection. A segment already complete is a
  file this feeder wrote, served by nginx as it is (``try_files``).
- **This feeder follows the origin.** For each Space someone listens to on this edge (nginx
  sends it the MPD requests its cache misses, at most one per Space per second), it reads the
  MPD and, per rendition, asks the origin for each segment as it begins (the origin holds the
  request until the first chunk exists) and publishes each CMAF chunk (``moof`` + ``mdat``) as
  one message when it is complete. When the segment ends, it writes the file, then deletes the
  channel after ``CLOSE_GRACE_S``, which ends every open response. A Space nobody asked the MPD
  of for ``IDLE_S`` is no longer followed.

So the origin sees one request per segment per rendition per edge, whatever the audience.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from majlis.delivery.loopback_http import LoopbackError, LoopbackHttp
from majlis.media.dash.segments import MAX_AHEAD
from majlis.media.dash.timeline import NS, Timeline, read_timeline, xs_datetime_s

log = logging.getLogger(__name__)

#: When to look for requests that subscribed after their segment's channel was deleted (they
#: wait this long for their segment, which is rare: see ``_sweep``).
CLOSE_GRACE_S = 1.0
#: Complete segments kept on disk per rendition (~1 minute of 2 s segments).
KEEP_SEGMENTS = 30
#: The nginx location the feeder publishes to (``nchan.py`` allows it from loopback only).
PUBLISH_PATH = "/_majlis_feed"
#: How many segments before the newest the feeder starts with.
BEHIND_AT_START = 2
#: A Space whose MPD nobody asked for this long stops being followed (players reload it every
#: ``minimumUpdatePeriod``, 6 s, through a cache that asks at most once a second).
IDLE_S = 60.0
#: How long to wait before asking the origin again after a failure.
RETRY_S = 1.0
#: Bound on one origin request: a segment streams for its duration after a wait of a few s.
ORIGIN_TIMEOUT_S = 15.0


class ChunkSplitter:
    """Cuts a CMAF byte stream into chunks that end with an ``mdat`` box, however the network
    cut it, so that each published message is a whole chunk a player can append."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # offset of the next box header not yet read

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        chunks: list[bytes] = []
        while len(self._buffer) - self._scanned >= 8:
            head = self._buffer[self._scanned : self._scanned + 8]
            size = int.from_bytes(head[:4], "big")
            if size < 8:
                raise ValueError("a box size our segments never have (64-bit or to-end)")
            end = self._scanned + size
            if end > len(self._buffer):
                break
            self._scanned = end
            if bytes(head[4:]) == b"mdat":
                chunks.append(bytes(self._buffer[:end]))
                del self._buffer[:end]
                self._scanned = 0
        return chunks

    @property
    def leftover(self) -> int:
        """Bytes received that end no chunk (a broken-off body, or boxes after the last mdat)."""
        return len(self._buffer)


@dataclass(frozen=True, slots=True)
class Edge:
    """Where this feeder publishes: nginx's publisher location (on loopback, see ``nchan.py``)
    and the directory nginx serves complete segments from."""

    host: str
    port: int
    segments_dir: Path
    publish_path: str = PUBLISH_PATH

    def channel(self, space: str, rendition: str, number: int) -> str:
        return f"{self.publish_path}/{space}/{rendition}/{number}"

    def segment_file(self, space: str, rendition: str, number: int) -> Path:
        return self.segments_dir / space / rendition / f"{number}.m4s"

    def connect(self) -> LoopbackHttp:
        return LoopbackHttp(self.host, self.port)


@dataclass(slots=True)
class Followed:
    space: str
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    last_asked: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class Counters:
    """What the feeder did, for ``/healthz`` and the tests: origin fetches per edge per segment
    is the figure an operator checks against the audience."""

    origin_segment_requests: int = 0
    segments_fed: int = 0
    chunks_published: int = 0
    late_subscribers_swept: int = 0


class Feeder:
    """Follows the Spaces listeners ask for and feeds their segments into the edge."""

    def __init__(self, origin: httpx.AsyncClient, edge: Edge, *, idle_s: float = IDLE_S) -> None:
        self._origin = origin
        self._edge = edge
        self._idle_s = idle_s
        self._followed: dict[str, Followed] = {}
        self._clock_offset: float | None = None
        self._sweeps: set[asyncio.Task[None]] = set()
        self.counters = Counters()

    async def mpd(self, space: str) -> httpx.Response:
        """The origin's answer for the Space's MPD; follows the Space if the answer is one."""
        answer = await self._origin.get(f"/dash/{space}/live.mpd")
        if answer.status_code == 200:
            self._follow(space, answer.text)
        return answer

    def following(self) -> list[str]:
        return sorted(self._followed)

    async def close(self) -> None:
        tasks = [t for f in self._followed.values() for t in f.tasks] + list(self._sweeps)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._followed.clear()

    async def reap_idle(self) -> None:
        """Stop following Spaces nobody asked for lately, or that ended (called periodically)."""
        now = time.monotonic()
        for space, followed in list(self._followed.items()):
            done = all(t.done() for t in followed.tasks)
            if done or now - followed.last_asked > self._idle_s:
                for task in followed.tasks:
                    task.cancel()
                del self._followed[space]
                # Nobody here listens any more: its segments go (a listener who comes back
                # asks for the MPD, and the Space is followed again from live).
                shutil.rmtree(self._edge.segments_dir / space, ignore_errors=True)

    def _follow(self, space: str, mpd_text: str) -> None:
        followed = self._followed.get(space)
        if followed is not None and not all(t.done() for t in followed.tasks):
            followed.last_asked = time.monotonic()
            return
        followed = Followed(space)
        for rendition in _representations(mpd_text):
            timeline = read_timeline(mpd_text, (rendition,))
            task = asyncio.create_task(self._rendition(space, timeline))
            followed.tasks.append(task)
        self._followed[space] = followed

    async def _now(self) -> float:
        if self._clock_offset is None:
            answer = await self._origin.get("/dash/time")
            answer.raise_for_status()
            self._clock_offset = xs_datetime_s(answer.text) - time.time()
        return time.time() + self._clock_offset

    async def _rendition(self, space: str, timeline: Timeline) -> None:
        """Feed one rendition, segment after segment, from a little before the newest."""
        edge = self._edge.connect()
        try:
            await self._feed(space, timeline, edge)
        finally:
            edge.close()

    async def _feed(self, space: str, timeline: Timeline, edge: LoopbackHttp) -> None:
        number = timeline.newest_available(await self._now()) - BEHIND_AT_START
        while True:
            newest = timeline.newest_available(await self._now())
            # Listeners start at most a segment or two behind live; older ones are not fed.
            number = max(number, newest - BEHIND_AT_START)
            # From live on, not from where the feeder is: on its first pass it starts before
            # live, and a player may already ask for the segment after the newest.
            self._mark_next(space, timeline.representation, max(number, newest))
            try:
                fed = await self._segment(space, timeline.representation, number, edge)
            except (httpx.HTTPError, OSError) as exc:
                log.warning("edge feed %s/%s/%d: %s", space, timeline.representation, number, exc)
                fed = False
            if fed or number < newest:
                number += 1  # (a past one that is missing never existed or has gone)
                continue
            # Not yet, too far ahead or a new Period: the MPD says where live is now. An origin
            # that does not answer is asked again, rather than the Space dropped.
            await asyncio.sleep(RETRY_S)
            try:
                answer = await self._origin.get(f"/dash/{space}/live.mpd")
                if answer.status_code == 404:
                    return  # the Space ended
                if answer.status_code == 200:
                    fresh = read_timeline(answer.text, (timeline.representation,))
                    if fresh.start_number != timeline.start_number:
                        number = fresh.newest_available(await self._now())
                    timeline = fresh
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("edge feed %s: reading the MPD again: %s", space, exc)

    async def _segment(self, space: str, rendition: str, number: int, edge: LoopbackHttp) -> bool:
        """Stream segment ``number`` from the origin into the edge; False if there was none."""
        splitter = ChunkSplitter()
        channel = self._edge.channel(space, rendition, number)
        whole = bytearray()
        self.counters.origin_segment_requests += 1
        async with self._origin.stream("GET", f"/dash/{space}/{rendition}/{number}.m4s") as answer:
            if answer.status_code != 200:
                return False
            async for data in answer.aiter_raw():
                for chunk in splitter.feed(data):
                    await _publish(edge, channel, chunk)
                    self.counters.chunks_published += 1
                    whole += chunk
        if not whole:
            return False
        _write_atomically(self._edge.segment_file(space, rendition, number), bytes(whole))
        # Every open response ends now (a listener asks for the next segment only once this
        # one has ended); requests from here on get the file.
        await edge.request("DELETE", channel)
        self.counters.segments_fed += 1
        self._later(self._sweep(channel, bytes(whole)))
        self._forget_before(space, rendition, number - KEEP_SEGMENTS)
        return True

    async def _sweep(self, channel: str, segment: bytes) -> None:
        """A request that found no file but subscribed only after the channel was deleted (on
        an nginx with several workers, the check and the subscription are not one step: the
        channel lives in one worker, the request may be in another) waits on a channel its
        subscription made anew: give it the whole segment and end it. (Nchan counts a
        channel's subscribers over all workers.)"""
        await asyncio.sleep(CLOSE_GRACE_S)
        edge = self._edge.connect()
        try:
            found = await edge.request("GET", channel)
            if found.status == 200 and json.loads(found.body).get("subscribers", 0) > 0:
                await _publish(edge, channel, segment)
                await edge.request("DELETE", channel)
                self.counters.late_subscribers_swept += 1
        except (OSError, ValueError) as exc:
            log.warning("edge feed sweep of %s: %s", channel, exc)
        finally:
            edge.close()

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._sweeps.add(task)
        task.add_done_callback(self._sweeps.discard)

    def _mark_next(self, space: str, rendition: str, number: int) -> None:
        """Let listeners wait for segment ``number`` and the ``MAX_AHEAD`` after it (nginx
        answers 404 for a live segment without its mark)."""
        for ahead in range(number, number + MAX_AHEAD + 1):
            mark = self._edge.segment_file(space, rendition, ahead).with_suffix(".next")
            if not mark.exists():
                mark.parent.mkdir(parents=True, exist_ok=True)
                mark.touch()

    def _forget_before(self, space: str, rendition: str, number: int) -> None:
        """Remove the files and marks of segments before ``number`` (those of numbers the
        feeder skipped, after a failover's new Period, included)."""
        directory = self._edge.segment_file(space, rendition, number).parent
        for path in directory.iterdir():
            stem = path.name.split(".", 1)[0]
            if stem.isdigit() and int(stem) < number:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


async def _publish(edge: LoopbackHttp, channel: str, chunk: bytes) -> None:
    answer = await edge.request("POST", channel, chunk)
    if answer.status >= 300:
        raise LoopbackError(f"the edge refused a chunk for {channel}: {answer.status}")


def _representations(mpd_text: str) -> list[str]:
    mpd = ET.fromstring(mpd_text)
    return [
        r.get("id", "")
        for r in mpd.iterfind("d:Period/d:AdaptationSet/d:Representation", NS)
        if r.get("id")
    ]


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    temporary.write_bytes(data)
    os.replace(temporary, path)
