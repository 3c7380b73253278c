"""Reading a live MPD the way a low-latency DASH client does: which segment exists when.

The client side of ``mpd.py``, for the clients we write ourselves (``majlis scaletest``'s
listeners, the benchmarks' and tests' lean listeners): they must ask for each segment when
dash.js would, or they measure a different load. From the MPD alone, with the origin's clock:

- segment *n* begins at ``start + (n - startNumber) * duration`` (media time on the wall clock;
  ``start`` = availabilityStartTime + Period@start);
- it may be asked for once its first chunk is done, ``availabilityTimeOffset`` before its end;
- its chunks last ``duration - availabilityTimeOffset`` each (the offset is one chunk short of
  the segment), which is how a client that counts chunks knows how much media it holds.

Only what ``mpd.py`` writes is read (one Period, one SegmentTemplate per AdaptationSet, in the
Representation or above it); anything else raises ``ValueError``, since a client that guessed
would measure something else without saying so.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}


@dataclass(frozen=True, slots=True)
class Timeline:
    """One Representation of a live MPD, as a client schedules its requests."""

    #: Epoch seconds at which the Period's media time zero is (AST + Period@start).
    start: float
    start_number: int
    segment_s: float
    chunk_s: float
    #: Relative to the MPD's URL; ``$Number$`` still in it (see ``segment_path``).
    media: str
    initialization: str
    representation: str
    #: How often the MPD is to be reloaded (None once the presentation has ended).
    update_period_s: float | None
    #: Ticks per second of the media's decode times.
    timescale: int = 48000

    def available_at(self, number: int) -> float:
        """When segment ``number``'s first chunk is done (epoch s): the earliest to ask for it."""
        return self.start + (number - self.start_number) * self.segment_s + self.chunk_s

    def newest_available(self, now: float) -> int:
        """The newest segment whose first chunk is done at ``now`` (epoch s)."""
        elapsed = now - self.start - self.chunk_s
        return self.start_number + max(0, math.floor(elapsed / self.segment_s))

    def number_at(self, moment: float) -> int:
        """The segment whose media holds wall-clock time ``moment`` (epoch s)."""
        return self.start_number + max(0, math.floor((moment - self.start) / self.segment_s))

    def media_end(self, number: int, chunks: int) -> float:
        """The wall-clock time of the end of the first ``chunks`` chunks of segment ``number``:
        what a listener holding them could play up to, had there been no delay at all."""
        return self.start + (number - self.start_number) * self.segment_s + chunks * self.chunk_s

    def segment_path(self, number: int) -> str:
        return _substitute(self.media, self.representation, number)

    def init_path(self) -> str:
        return _substitute(self.initialization, self.representation, None)


def _substitute(template: str, representation: str, number: int | None) -> str:
    path = template.replace("$RepresentationID$", representation)
    if number is not None:
        path = path.replace("$Number$", str(number))
    if "$" in path:
        raise ValueError(f"unsupported template {template!r}")
    return path


def xs_duration_s(value: str) -> float:
    """An ``xs:duration`` of the form mpd.py writes (``PT<seconds>S``), in seconds."""
    if not (value.startswith("PT") and value.endswith("S")):
        raise ValueError(f"unsupported duration {value!r}")
    return float(value[2:-1])


def xs_datetime_s(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def read_timeline(mpd_text: str | bytes, prefer: tuple[str, ...] = ()) -> Timeline:
    """The Timeline of the first Representation whose id is in ``prefer`` (in that order of
    preference), or of the first Representation of the first AdaptationSet."""
    mpd = ET.fromstring(mpd_text)
    period = mpd.find("d:Period", NS)
    if period is None:
        raise ValueError("the MPD has no Period")
    start = xs_datetime_s(mpd.get("availabilityStartTime", "")) + xs_duration_s(
        period.get("start", "PT0S")
    )
    choices: list[tuple[ET.Element, ET.Element]] = [
        (adaptation, representation)
        for adaptation in period.findall("d:AdaptationSet", NS)
        for representation in adaptation.findall("d:Representation", NS)
    ]
    if not choices:
        raise ValueError("the MPD has no Representation")
    ranked = sorted(
        choices,
        key=lambda c: prefer.index(c[1].get("id", "")) if c[1].get("id") in prefer else len(prefer),
    )
    adaptation, representation = ranked[0]
    template = representation.find("d:SegmentTemplate", NS)
    if template is None:
        template = adaptation.find("d:SegmentTemplate", NS)
    if template is None:
        raise ValueError("the Representation has no SegmentTemplate")
    timescale = int(template.get("timescale", "1"))
    segment_s = int(template.get("duration", "0")) / timescale
    offset = float(template.get("availabilityTimeOffset", "0"))
    if segment_s <= 0 or not 0 <= offset < segment_s:
        raise ValueError("the SegmentTemplate needs a duration and an offset shorter than it")
    update = mpd.get("minimumUpdatePeriod")
    return Timeline(
        start=start,
        start_number=int(template.get("startNumber", "1")),
        segment_s=segment_s,
        chunk_s=segment_s - offset,
        media=template.get("media", ""),
        initialization=template.get("initialization", ""),
        representation=representation.get("id", ""),
        update_period_s=xs_duration_s(update) if update else None,
        timescale=timescale,
    )
