"""What answering a playlist request needs, without the stream that produced it.

A ``LiveStream`` on the media node and a ``RemoteStream`` mirroring it on another node
(``shared.py``) answer blocking reloads by the same RFC 8216bis §6.2.5.2 rules, so those rules
live on the state both hold (``StreamState``), apart from the part and segment bookkeeping that
only the encoding node has (``stream.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class BadDirective(ValueError):
    """A delivery directive the server must or should refuse: answer 400 Bad Request."""


class NotYet(Exception):
    """What was asked for did not appear in time: answer 503 Service Unavailable."""

    def __init__(self, detail: str, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a stream's media timeline sits on the wall clock: what a DASH MPD is made of.

    A DASH client computes when segment *n* exists from the MPD alone (no playlist reloads), so
    the MPD must carry one fixed mapping from segment numbers to wall-clock times. That mapping
    is taken once, when the stream's first part is published, from the program date of its
    first segment; it never moves afterwards (an MPD update must keep ``availabilityStartTime``),
    and a stream that continues a dead node's keeps the dead stream's ``availability_start``
    and starts a new Period instead.
    """

    #: Epoch seconds: the first sample of the Space's first stream (MPD@availabilityStartTime).
    availability_start: float
    #: This stream's first sample, in seconds after ``availability_start`` (Period@start).
    period_start_s: float
    #: The media sequence number of this stream's first segment (SegmentTemplate@startNumber).
    first_msn: int
    #: The decode time of this stream's first sample (@presentationTimeOffset), in ``timescale``.
    first_decode_time: int
    timescale: int


@dataclass(frozen=True, slots=True)
class StreamState:
    """Everything a reader needs to answer playlist requests (blocking ones included) without
    the stream itself: what another node receives from the shared part store (shared.py)."""

    text: str
    #: (msn, index) of the newest part, or None before the first.
    last_part: tuple[int, int] | None
    last_complete_msn: int
    #: The part EXT-X-PRELOAD-HINT names.
    hinted: tuple[int, int]
    ended: bool
    parts_per_segment: int
    part_target_s: float
    #: Discontinuities in the stream so far: where a successor's DISCONTINUITY-SEQUENCE starts.
    discontinuities: int = 0
    #: The stream's wall-clock anchor, once its first part is published (None before).
    anchor: Anchor | None = None

    @property
    def segment_s(self) -> float:
        """The duration of every segment but an ended stream's last."""
        return self.parts_per_segment * self.part_target_s

    def has_part(self, msn: int, index: int) -> bool:
        """Whether part ``index`` of segment ``msn`` has been published (it may have expired)."""
        if self.last_part is None:
            return False
        return msn <= self.last_complete_msn or (msn, index) <= self.last_part

    @property
    def advance_part_limit(self) -> float:
        # §6.2.5.2: "Advance Part Limit = 3 / Part Target Duration, if Part Target Duration < 1
        # second; otherwise Advance Part Limit = 3."
        return 3 / self.part_target_s if self.part_target_s < 1 else 3.0

    def answer_now(self, msn: int | None, part: int | None) -> str | None:
        """The playlist to answer a reload with at once, or None: wait until ``holds``.

        One place for the rules both the local stream and a mirror on another node follow.
        Raises BadDirective for directives to refuse with 400.
        """
        # §6.2.5.2: "A Server MUST ignore _HLS_msn and _HLS_part if the Playlist contains an
        # EXT-X-ENDLIST tag."
        if self.ended:
            return self.text
        # §6.2.5.2: "If the Playlist URI contains an _HLS_part directive but no _HLS_msn
        # directive, the Server MUST return Bad Request, such as HTTP 400."
        if msn is None:
            if part is not None:
                raise BadDirective("_HLS_part needs _HLS_msn")
            return self.text
        self.check_directives(msn, part)
        return None

    def check_directives(self, msn: int, part: int | None) -> None:
        """Raise BadDirective for the directives §6.2.5.2 says to refuse with 400."""
        if msn < 0 or (part is not None and part < 0):
            raise BadDirective("_HLS_msn and _HLS_part are never negative")
        # §6.2.5.2: "If the _HLS_msn is greater than the Media Sequence Number of the last Media
        # Segment in the current Playlist plus two, or if the _HLS_part exceeds the last Partial
        # Segment in the current Playlist by the Advance Part Limit, then the server SHOULD
        # immediately return Bad Request, such as HTTP 400."
        if msn > self.last_complete_msn + 2:
            raise BadDirective(f"_HLS_msn={msn} is more than two segments ahead")
        if part is not None:
            # Counted as given, before any roll-over to the next segment: an index far beyond
            # what a segment holds is a client that has lost track, not one waiting politely.
            pps = self.parts_per_segment
            if self.last_part is None:  # no part yet: the last is the one before the first
                last = (self.last_complete_msn + 1) * pps - 1
            else:
                last = self.last_part[0] * pps + self.last_part[1]
            if msn * pps + part - last > self.advance_part_limit:
                raise BadDirective(f"_HLS_part={part} of _HLS_msn={msn} is too far ahead")

    def holds(self, msn: int, part: int | None) -> bool:
        """Whether the playlist already satisfies the directives (§6.2.5.2)."""
        if part is None:
            # "When the Playlist URI contains an _HLS_msn directive and no _HLS_part directive,
            # the Server MUST defer responding to the request until the Playlist contains a
            # Media Segment with a Media Sequence Number of M or later"
            return self.last_complete_msn >= msn
        # "If the Client requests a Part Index greater than that of the final Partial Segment
        # of the Parent Segment, the Server MUST treat the request as one for Part Index 0 of
        # the following Parent Segment." (Only the last segment of an ended stream may hold
        # fewer parts, and an ended stream answers at once.)
        if part >= self.parts_per_segment:
            msn, part = msn + 1, 0
        # "... until the Playlist contains the Partial Segment with Part Index N and with a
        # Media Sequence Number of M or later"
        if msn <= self.last_complete_msn:
            return True
        return self.last_part is not None and (msn, part) <= self.last_part


@dataclass(frozen=True, slots=True)
class StreamChange:
    """One change of a live stream: its new state, the part just published (msn, index,
    bytes) and, when that part completed its segment, the whole segment's bytes."""

    state: StreamState
    part: tuple[int, int, bytes] | None
    segment: bytes | None


OnChange = Callable[[StreamChange], None]
