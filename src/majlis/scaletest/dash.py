"""Following a live LL-DASH stream the way dash.js does: what a listener asks for when, and what
each chunk that arrives means for its playback.

The Locust user (``dash_user.py``) is only its I/O: this module decides, from the MPD and a
clock that is passed in, so it is tested without a network (and without gevent). It is the
lean listener's schedule (``tests/support/listener.py::dash_listener``, what the benchmarks
measure), with the playback-buffer model every scaletest listener shares:

- tune in ``target`` seconds behind live (the MPD's ``ServiceDescription`` latency target,
  1.2 s), in the segment that holds that point: usually the one before the newest, whose chunks
  all exist and come at once;
- ask for each next segment when its first chunk is done (``availabilityTimeOffset``), and read
  the rest of it as it streams in;
- re-read the MPD every ``minimumUpdatePeriod``, and at once after a 404 (gone, or not yet:
  the MPD says where live is); a new Period (a failover) restarts at the newest segment; an MPD
  without an update period is a presentation that ended;
- more than ``MAX_BEHIND_SEGMENTS`` behind live, tune in again (``resync``), as dash.js's
  catch-up does when the playback rate cannot close the gap.

Chunk latency is the lean listener's ``chunk_latency_s``: for a segment asked for on time, how
long after the end of its first chunk on the MPD's timeline (when its last sample was captured)
that chunk arrived: the encoder's, origin's and edge's share of the latency, without the
player's buffer. Playback latency adds the buffer: how far behind the speaker the modelled
player is playing.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from majlis.media.dash.chunks import Fragments
from majlis.media.dash.timeline import NS, Timeline
from majlis.scaletest.buffer import PlaybackBuffer

#: A listener this many segments behind live tunes in again at the live edge (the lean one's).
MAX_BEHIND_SEGMENTS = 3
#: dash.js's latency target when an MPD names none (ours does: 1,200 ms).
DEFAULT_TARGET_LATENCY_S = 1.2
#: Where the clock is when an MPD names no ``UTCTiming`` (ours does).
DEFAULT_TIME_PATH = "/dash/time"


@dataclass(frozen=True)
class Service:
    """What the MPD tells a player besides the segments: its latency target and its clock."""

    target_latency_s: float
    time_url: str  # as the MPD writes it: absolute, or relative to the MPD's host


def service_of(mpd_text: str | bytes) -> Service:
    """The ``ServiceDescription`` latency target and the ``UTCTiming`` (http-iso) URL."""
    mpd = ET.fromstring(mpd_text)
    latency = mpd.find("d:ServiceDescription/d:Latency", NS)
    target = latency.get("target") if latency is not None else None
    timing = mpd.find("d:UTCTiming", NS)
    url = timing.get("value") if timing is not None else None
    return Service(
        target_latency_s=float(target) / 1000 if target else DEFAULT_TARGET_LATENCY_S,
        time_url=url or DEFAULT_TIME_PATH,
    )


def boxes(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """The ISO BMFF boxes of a body, each as soon as its last byte is in.

    ``read(n)`` is a blocking read that returns once ``n`` bytes have arrived (or the body
    ended): geventhttpclient's. Asking for exactly the rest of the current box (its 8-byte
    header, then its payload) never waits on bytes past a chunk's end, so a chunk is seen the
    moment it is complete; a fixed ``n`` would hold a chunk back until the next one's bytes
    made up the count (dash_user.py's docstring has the measurements).
    """
    while True:
        head = read(8)
        if not head:
            return
        if len(head) < 8:
            raise ValueError("the body ended inside a box header")
        size = int.from_bytes(head[:4], "big")
        if size < 8:
            raise ValueError("a box size our segments never have (64-bit or to-end)")
        payload = read(size - 8)
        if len(payload) < size - 8:
            raise ValueError("the body ended inside a box")
        yield head + payload


@dataclass(frozen=True)
class Chunk:
    """What one chunk's arrival meant to its listener."""

    #: Media it added to the buffer: its duration, less what lies before where playback
    #: starts (0 for a chunk wholly before it).
    played_s: float
    #: Arrival minus the chunk's end on the MPD timeline: only for the first chunk of a segment
    #: asked for on time (a segment asked for late has its early chunks waiting already).
    latency_s: float | None
    #: This chunk started playback (the listener's first audio).
    first_audio: bool
    #: Stalls that this chunk ended: (began, seconds).
    stalls: list[tuple[float, float]] = field(default_factory=list)


class Segment:
    """One segment as it streams in: feed it bytes, get the chunks they completed."""

    def __init__(self, follower: Follower, number: int, asked: float) -> None:
        self.follower = follower
        self.number = number
        timeline = follower.timeline
        self.on_time = asked <= timeline.available_at(number) + timeline.chunk_s / 2
        self.fragments = Fragments(timeline.timescale)
        self.begins = timeline.media_end(number, 0)
        self.held_s = 0.0  # media of this segment received so far
        self.chunks = 0

    def feed(self, data: bytes, now: float) -> list[Chunk]:
        out = []
        for duration in self.fragments.feed(data):
            self.held_s += duration
            self.chunks += 1
            end = self.begins + self.held_s
            first = self.chunks == 1 and self.on_time
            out.append(self.follower.arrived(now, end, duration, now - end if first else None))
        return out


class Follower:
    """One LL-DASH listener's schedule and playback, on the origin's clock (epoch seconds)."""

    def __init__(self, timeline: Timeline, now: float, target_latency_s: float) -> None:
        self.timeline = timeline
        self.target_latency_s = target_latency_s
        # Playback starts (and resumes after a stall) once a chunk's worth is buffered: dash.js
        # in low-latency mode plays what it has rather than waiting for a buffer goal.
        self.buffer = PlaybackBuffer(start_s=timeline.chunk_s)
        self.number = timeline.start_number
        self.start_at = now  # the media time (epoch s) playback starts from
        self.last_end: float | None = None  # the end of the newest media buffered
        self.reload_at = self._next_reload(now)
        self.tune_in(now)

    @property
    def ended(self) -> bool:
        """The MPD said the presentation ended (no update period any more)."""
        return self.timeline.update_period_s is None

    def _next_reload(self, now: float) -> float:
        period = self.timeline.update_period_s
        return now + period if period is not None else math.inf

    def tune_in(self, now: float) -> None:
        """Start ``target`` behind live, in the segment holding that point."""
        self.start_at = now - self.target_latency_s
        self.number = min(
            self.timeline.newest_available(now), self.timeline.number_at(self.start_at)
        )

    def reload_due(self, now: float) -> bool:
        return now >= self.reload_at

    def reloaded(self, timeline: Timeline, now: float) -> None:
        """A fresh MPD: a new Period (a failover) starts again at its newest segment."""
        if timeline.start_number != self.timeline.start_number:
            self.number = timeline.newest_available(now)
        self.timeline = timeline
        self.reload_at = self._next_reload(now)

    def fell_behind(self, now: float) -> bool:
        """Too far behind live to catch up: tune in again (True when it did)."""
        late = now - self.timeline.available_at(self.number)
        if late <= MAX_BEHIND_SEGMENTS * self.timeline.segment_s:
            return False
        self.tune_in(now)
        return True

    def ask_at(self) -> float:
        """When to ask for the next segment (``self.number``): once its first chunk is done."""
        return self.timeline.available_at(self.number)

    def segment_path(self) -> str:
        return self.timeline.segment_path(self.number)

    def begin(self, asked: float) -> Segment:
        """The next segment was asked for at ``asked``: its bytes go to what this returns."""
        return Segment(self, self.number, asked)

    def done(self) -> None:
        """The segment was read (whole, or as far as it came): on to the next."""
        self.number += 1

    def refused(self, status: int, now: float) -> None:
        """A 404: gone or not yet, so the MPD is re-read before the next try. (503 and 429
        are waited out; the same segment is asked for again.)"""
        if status == 404:
            self.reload_at = now

    def arrived(self, now: float, end: float, duration_s: float, latency: float | None) -> Chunk:
        """A chunk of ``duration_s`` ending at media time ``end`` arrived at ``now``."""
        played = min(duration_s, end - self.start_at)
        if played <= 0:  # older than where playback starts: received, never played
            return Chunk(0.0, latency, False)
        started = self.buffer.add(now, played)
        self.last_end = end
        return Chunk(played, latency, started, self.buffer.take_stalls())

    def playback_latency(self, now: float) -> float | None:
        """How far behind the speaker the player is playing at ``now`` (None before it
        played): the end of what it holds, less what it still has to play."""
        if self.last_end is None or self.buffer.started_at is None:
            return None
        self.buffer.tick(now)
        return now - (self.last_end - self.buffer.buffered_s)
