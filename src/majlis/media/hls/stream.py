"""One live LL-HLS media playlist and the parts and segments it names, on the event loop.

``LiveStream`` is fed by the encoder thread's sink (``publish``) and read by HTTP handlers
(``playlist``, ``part``, ``segment``). Everything runs on the event loop, so there are no locks:
a request that must wait (a blocking playlist reload, a preload-hinted part) sleeps on an
``asyncio.Event`` that ``publish`` sets, never on a timer. The playlist text is rendered once per
publish from per-segment text cached when each segment completes; requests only read it.

Names used below, as in RFC 8216bis: a *part* is a Partial Segment (one CMAF fragment); parts
group into a *segment* (its Parent Segment) of ``parts_per_segment`` parts, identified by its
Media Sequence Number (*msn*). URIs are relative to the playlist: ``{msn}.{index}.m4s`` for parts,
``{msn}.m4s`` for whole segments, ``init.mp4`` for the init segment.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from majlis.media.hls.program_date import ProgramDateClock
from majlis.media.hls.stream_state import (
    Anchor,
    BadDirective,
    NotYet,
    OnChange,
    StreamChange,
    StreamState,
)

INIT_URI = "init.mp4"

# The lowest protocol version our tags need: EXT-X-MAP in a playlist without
# EXT-X-I-FRAMES-ONLY requires 6; the low-latency tags add no requirement (RFC 8216bis §8;
# its own low-latency example playlist declares 6). §6.2.1: "The value of the EXT-X-VERSION tag
# SHOULD NOT be greater than what is required for the tags and attributes in the Playlist."
PROTOCOL_VERSION = 6


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def program_date(epoch_s: float) -> str:
    """An EXT-X-PROGRAM-DATE-TIME value: UTC, to the millisecond, with a Z."""
    return (
        datetime.fromtimestamp(epoch_s, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


@dataclass(slots=True)
class _Segment:
    msn: int
    date_line: str
    parts: list[bytes] = field(default_factory=list)
    part_lines: list[str] = field(default_factory=list)
    duration: float = 0.0
    # Set when the segment completes:
    data: bytes | None = None
    text_with_parts: str = ""
    text_bare: str = ""

    def open_text(self) -> str:
        return self.date_line + "".join(self.part_lines)


class LiveStream:
    """The sliding-window LL-HLS playlist of one live program, with its parts and segments."""

    def __init__(
        self,
        part_target_s: float,
        parts_per_segment: int,
        window_segments: int = 6,
        *,
        part_segments: int = 3,
        clock: Callable[[], float] = time.time,
        pipeline_delay_s: float = 0.0,
        origin: Callable[[], float | None] | None = None,
        continues: StreamState | None = None,
        timescale: int = 48000,
        first_msn: int = 0,
    ) -> None:
        """
        ``part_target_s`` is the longest a part may last (``Packager.part_duration_s``).
        ``window_segments`` complete segments are listed; the parts of the last ``part_segments``
        of them are listed too. ``clock`` (wall clock, epoch seconds) and ``pipeline_delay_s``
        (how long after capture a part's last sample is encoded, e.g. the mixer tick plus
        ``aac.LATENCY_SAMPLES``) date the segments; see ``program_date``. ``origin``, when
        it knows, gives the date of the stream's first sample instead (the program's clock).

        ``continues``: the last state of the same Space's stream on a node that died. This
        stream carries on after it (failover): its first segment takes the next media sequence
        number after any the old stream named, behind an EXT-X-DISCONTINUITY (a new encoder, a
        new timeline), and EXT-X-DISCONTINUITY-SEQUENCE counts on from the old stream's.

        ``timescale``: ticks per second of the parts' decode times (the audio's sample rate).

        ``first_msn``: the media sequence number of the first segment, when ``continues`` is
        None (``program.fresh_msn``: a Space's URLs are never reused after a restart).
        """
        if part_target_s <= 0 or parts_per_segment < 1 or part_segments < 0:
            raise ValueError("part target, parts per segment and part segments must be positive")
        self.part_target_s = part_target_s
        self.parts_per_segment = parts_per_segment
        self.window_segments = window_segments
        self.part_segments = part_segments
        # Printed rounded *up* to the millisecond, so no printed part duration can exceed it.
        part_target_ms = math.ceil(part_target_s * 1000 - 1e-6)
        # §4.4.3.1: "The EXTINF duration of each Media Segment in a Playlist file, when rounded
        # to the nearest integer, MUST be less than or equal to the Target Duration" and
        # §6.2.1: "The value of the EXT-X-TARGETDURATION tag in the Media Playlist MUST NOT
        # change." No segment can outlast parts_per_segment full parts, so the ceiling of that
        # bound holds for the whole stream.
        self.target_duration = math.ceil(part_target_s * parts_per_segment - 1e-9)
        # §6.2.2: "The server MUST NOT remove a Media Segment from a Playlist file without an
        # EXT-X-ENDLIST tag if that would produce a Playlist whose duration is less than three
        # times the Target Duration."
        if window_segments * part_target_s * parts_per_segment < 3 * self.target_duration - 1e-9:
            raise ValueError("the window must hold at least three target durations of media")
        # §6.2.2: "If the server removes a Media Segment URI from a Playlist that does not
        # contain an EXT-X-ENDLIST tag, clients MUST be able to download the segment until the
        # time at which it first appeared in the Playlist plus the segment's Availability
        # Duration" (its duration plus the playlist's), and "Clients MUST be able to download the
        # Partial Segment for at least three Target Durations after the EXT-X-PART tag is
        # removed from the Playlist." Keep whichever reaches further back, plus one for luck.
        segment_s = part_target_s * parts_per_segment
        self._retain = max(
            window_segments + 2,
            part_segments + math.ceil(3 * self.target_duration / segment_s) + 1,
        )
        # §4.4.3.8 PART-HOLD-BACK: "Its value MUST be at least twice the Part Target Duration.
        # Its value SHOULD be at least three times the Part Target Duration."
        self._header = (
            "#EXTM3U\n"
            f"#EXT-X-VERSION:{PROTOCOL_VERSION}\n"
            f"#EXT-X-TARGETDURATION:{self.target_duration}\n"
            f"#EXT-X-PART-INF:PART-TARGET={_seconds(part_target_ms / 1000)}\n"
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
            f"PART-HOLD-BACK={_seconds(3 * part_target_ms / 1000)}\n"
            # Every AAC frame decodes on its own, so every segment does too.
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
        )
        self._dates = ProgramDateClock(clock, pipeline_delay_s, origin=origin)
        self._complete: deque[_Segment] = deque()
        self._open: _Segment | None = None
        self._next_msn = first_msn
        #: The number of this stream's first segment (after a dead one's, when continuing).
        self._first_msn = first_msn
        #: (first msn after the failover, discontinuities before it), when continuing.
        self._after: tuple[int, int] | None = None
        if continues is not None:
            self._next_msn = self._first_msn = continues.hinted[0] + 1
            self._after = (self._next_msn, continues.discontinuities)
        self._last_part: tuple[int, int] | None = None
        self._ended = False
        self._init: bytes | None = None
        self._timescale = timescale
        self._first_decode_time = 0
        self._anchor: Anchor | None = None
        #: The Space's availability start, kept across a failover (see Anchor).
        self._availability_start = (
            continues.anchor.availability_start
            if continues is not None and continues.anchor is not None
            else None
        )
        self._changed = asyncio.Event()
        self._text = ""
        #: Told of every change, on the loop: the shared part store's publisher (shared.py).
        self.on_change: OnChange | None = None
        self._render()

    # --- feeding (the encoder thread's sink, on the loop) ----------------------------------

    @property
    def init(self) -> bytes | None:
        """The init segment (``init.mp4``), once set."""
        return self._init

    def set_init(self, init: bytes, first_decode_time: int = 0) -> None:
        """``first_decode_time``: the decode time of the first part to come (in ``timescale``
        ticks), when the packager continues an earlier timeline (a resumed recording)."""
        self._init = init
        self._first_decode_time = first_decode_time

    def publish(self, part: bytes, duration: float) -> None:
        """Add the next part; completes its segment when the segment has all its parts."""
        if self._ended:
            raise RuntimeError("the stream has ended")
        # §4.4.4.9: "The duration of a Partial Segment MUST be less than or equal to the Part
        # Target Duration." (Safari refuses the playlist otherwise.)
        if duration > self.part_target_s + 1e-6:
            raise ValueError(f"part of {duration} s exceeds the part target {self.part_target_s}")
        segment = self._open
        if segment is None:
            date = self._dates.part(duration, starts_segment=True)
            # §4.4.4.9: tags applied to a Parent Segment, EXT-X-PROGRAM-DATE-TIME among them,
            # "MUST appear before the first EXT-X-PART tag of that Parent Segment".
            date_line = f"#EXT-X-PROGRAM-DATE-TIME:{program_date(date)}\n"
            if self._after is not None and self._after[0] == self._next_msn:
                # §4.4.4.3: "The EXT-X-DISCONTINUITY tag indicates a discontinuity between the
                # Media Segment that follows it and the one that preceded it."
                date_line = "#EXT-X-DISCONTINUITY\n" + date_line
            segment = _Segment(self._next_msn, date_line)
            if self._anchor is None:
                start = date if self._availability_start is None else self._availability_start
                self._anchor = Anchor(
                    start, date - start, segment.msn, self._first_decode_time, self._timescale
                )
            self._next_msn += 1
            self._open = segment
        else:
            self._dates.part(duration, starts_segment=False)
        index = len(segment.parts)
        segment.parts.append(part)
        segment.duration += duration
        segment.part_lines.append(
            f"#EXT-X-PART:DURATION={_seconds(duration)},"
            f'URI="{segment.msn}.{index}.m4s",INDEPENDENT=YES\n'
        )
        self._last_part = (segment.msn, index)
        completed = None
        if len(segment.parts) == self.parts_per_segment:
            self._close_open_segment()
            completed = segment
        self._changed_now()
        if self.on_change is not None:
            done = None if completed is None or completed.data is None else completed.data
            self.on_change(StreamChange(self.state(), (segment.msn, index, part), done))

    def end(self) -> None:
        """The program is over: close the open segment and add EXT-X-ENDLIST."""
        if self._ended:
            return
        if self._open is not None:
            self._close_open_segment()
        self._ended = True
        self._changed_now()
        if self.on_change is not None:
            self.on_change(StreamChange(self.state(), None, None))

    def _close_open_segment(self) -> None:
        segment = self._open
        assert segment is not None
        segment.data = b"".join(segment.parts)
        tail = f"#EXTINF:{_seconds(segment.duration)},\n{segment.msn}.m4s\n"
        segment.text_with_parts = segment.open_text() + tail
        segment.text_bare = segment.date_line + tail
        self._complete.append(segment)
        self._open = None
        while len(self._complete) > self._retain:
            self._complete.popleft()

    def _changed_now(self) -> None:
        self._render()
        # Wake every waiter; each re-checks its own condition and sleeps on the new event.
        self._changed.set()
        self._changed = asyncio.Event()

    def _render(self) -> None:
        listed = list(self._complete)[-self.window_segments :] if self._complete else []
        if listed:
            media_sequence = listed[0].msn
        else:
            media_sequence = self._open.msn if self._open is not None else self._next_msn
        chunks = [self._header, f"#EXT-X-MEDIA-SEQUENCE:{media_sequence}\n"]
        if self._after is not None:
            # §4.4.3.3: the discontinuity sequence number of the first segment listed; the
            # failover's tag counts once its segment has left the playlist.
            first, before = self._after
            chunks.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{before + (media_sequence > first)}\n")
        chunks.append(f'#EXT-X-MAP:URI="{INIT_URI}"\n')
        # §6.2.2: "EXT-X-PART tags SHOULD be removed from the Playlist after they are greater
        # than three Target Durations from the end of the Playlist." We list the parts of the
        # last ``part_segments`` segments only, which is within that bound.
        with_parts_from = len(listed) - self.part_segments
        for i, segment in enumerate(listed):
            chunks.append(segment.text_with_parts if i >= with_parts_from else segment.text_bare)
        if self._open is not None:
            chunks.append(self._open.open_text())
        if self._ended:
            # §6.2.1: "If the Media Playlist contains the final Media Segment of the
            # presentation, then the Playlist file MUST contain the EXT-X-ENDLIST tag."
            chunks.append("#EXT-X-ENDLIST\n")
        else:
            msn, index = self._hinted()
            chunks.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{msn}.{index}.m4s"\n')
        self._text = "".join(chunks)

    # --- serving (HTTP handlers, on the loop) ----------------------------------------------

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def block_timeout_s(self) -> float:
        """How long to hold a blocking request: §6.2.5.2, "A Server that cannot provide the
        requested Playlist after blocking for more than three Target Durations SHOULD return
        Service Unavailable, such as HTTP 503."
        """
        return 3.0 * self.target_duration

    def render(self) -> str:
        """The current playlist text (rendered at the last change, not now)."""
        return self._text

    async def playlist(self, msn: int | None, part: int | None, timeout_s: float) -> str:
        """The playlist, once it holds part ``part`` of segment ``msn`` (RFC 8216bis §6.2.5.2).

        Raises ``BadDirective`` for directives to refuse with 400, ``NotYet`` when
        ``timeout_s`` passes first (503).
        """
        if msn is None and part is None and not self._ended:
            return self._text  # the plain reload, every listener's: no state built for it
        now = self.state().answer_now(msn, part)
        if now is not None or msn is None:
            return self._text
        await self._wait(lambda: self._ended or self._holds(msn, part), timeout_s)
        # §6.2.5.2: "The Server MUST deliver the entire Playlist, even if the requested Media
        # Segment is not the last one in the Playlist, and even if it is no longer in the
        # Playlist."
        return self._text

    async def part(self, msn: int, index: int, timeout_s: float) -> bytes | None:
        """Part ``index`` of segment ``msn``; waits for it if it is the preload-hinted part.

        None means 404: unknown, expired, or never to be published.
        """
        data = self._find_part(msn, index)
        if data is not None or self._ended:
            return data
        # §6.2.6: "the server MUST refrain from transmitting any bytes belonging to a Partial
        # Segment until all bytes of that Partial Segment can be transmitted at the full speed
        # of the link to the client" — we hold the request until the whole part exists.
        if (msn, index) == self._hinted():
            await self._wait(
                lambda: self._ended or self._find_part(msn, index) is not None, timeout_s
            )
            return self._find_part(msn, index)
        # §6.2.6: "The server SHOULD respond with "Not Found" (such as HTTP 404) to a request
        # for a resource that it cannot find and that is not specified by an
        # EXT-X-PRELOAD-HINT tag in an active Media Playlist."
        return None

    def segment(self, msn: int) -> bytes | None:
        """The whole segment ``msn`` if it is complete and still kept, else None (404)."""
        found = self._find_complete(msn)
        return found.data if found is not None else None

    # --- internals --------------------------------------------------------------------------

    def _hinted(self) -> tuple[int, int]:
        """The part named by EXT-X-PRELOAD-HINT: the next one to be published."""
        if self._open is not None:
            return self._open.msn, len(self._open.parts)
        return self._next_msn, 0

    @property
    def _last_complete_msn(self) -> int:
        # Before its first segment completes, a stream counts the numbers before its first as
        # done: a player asking for that segment is then not "more than two ahead" (a 400),
        # whether it continues a dead stream or starts from program.fresh_msn.
        if self._complete:
            return self._complete[-1].msn
        return self._first_msn - 1

    def _find_complete(self, msn: int) -> _Segment | None:
        if not self._complete:
            return None
        i = msn - self._complete[0].msn
        return self._complete[i] if 0 <= i < len(self._complete) else None

    def _find_part(self, msn: int, index: int) -> bytes | None:
        segment = self._open if self._open is not None and self._open.msn == msn else None
        segment = segment or self._find_complete(msn)
        if segment is None or not 0 <= index < len(segment.parts):
            return None
        return segment.parts[index]

    def state(self) -> StreamState:
        """The stream as a reader on another node sees it (see StreamState)."""
        return StreamState(
            self._text,
            self._last_part,
            self._last_complete_msn,
            self._hinted(),
            self._ended,
            self.parts_per_segment,
            self.part_target_s,
            self._after[1] + 1 if self._after is not None else 0,
            self._anchor,
        )

    def _holds(self, msn: int, part: int | None) -> bool:
        return self.state().holds(msn, part)

    async def wait_until(self, ready: Callable[[StreamState], bool], timeout_s: float) -> None:
        """Return once ``ready(state)`` holds; ``NotYet`` if ``timeout_s`` passes first."""
        await self._wait(lambda: ready(self.state()), timeout_s)

    async def _wait(self, ready: Callable[[], bool], timeout_s: float) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                while not ready():
                    await self._changed.wait()
        except TimeoutError:
            raise NotYet(
                f"not available within {timeout_s:g} s", retry_after_s=self.part_target_s
            ) from None


# The state and its errors are imported from here by the HTTP handlers and the part store.
__all__ = [
    "INIT_URI",
    "PROTOCOL_VERSION",
    "Anchor",
    "BadDirective",
    "LiveStream",
    "NotYet",
    "OnChange",
    "StreamChange",
    "StreamState",
]
