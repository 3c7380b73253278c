"""The live MPD of a Space: low-latency DASH over the CMAF chunks the LL-HLS stream already has.

Why DASH beside LL-HLS (docs/scaling.md): an LL-HLS listener makes ~8 requests a second (a
blocking playlist reload and a part every 0.256 s) and receives a playlist as large as the audio.
A low-latency DASH listener reads this MPD once, computes from it when each segment begins, asks
for each segment once, when its first chunk exists, and receives the rest of it over chunked
transfer as the chunks are produced: one request per 2 s segment, bytes ≈ the audio's bitrate,
and an edge that streams one origin fetch to every listener waiting on it (Varnish).

What the DASH-IF low-latency guidelines (IOP v5 part 5, "Low-latency Modes") ask, and where:

- ``SegmentTemplate`` with ``$Number$`` and a fixed ``duration``: the segment timeline is the
  stream's ``Anchor`` (stream.py), fixed when the first part is published, so the MPD never needs
  reloading to find the next segment;
- ``availabilityTimeOffset`` = segment duration - chunk duration and
  ``availabilityTimeComplete="false"``: a segment may be requested as soon as its first chunk is
  done, and the rest arrives over chunked transfer;
- a ``ServiceDescription`` with a ``Latency`` target (and the ``ProducerReferenceTime`` its
  ``referenceId`` names) and a ``PlaybackRate`` range, which dash.js's catch-up uses;
- ``UTCTiming`` with ``urn:mpeg:dash:utc:http-iso:2014``: clients' clocks are off by seconds, and
  a segment's availability is a wall-clock time.

A failover (the Space's room restarts on another node) is a new ``Period``: a new encoder and a
new decode timeline, where LL-HLS has ``EXT-X-DISCONTINUITY``. Only the current Period is listed:
the dead node's segments are not served any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from majlis.media.hls.stream import Anchor, StreamState

#: How often clients re-read the MPD: only to learn of a new Period (a failover) or the end.
MINIMUM_UPDATE_PERIOD_S = 6.0
#: How far behind live a segment may still be asked for (the origin keeps more, stream.py).
TIME_SHIFT_BUFFER_S = 10.0
#: The latency dash.js aims for and the range it may drift in before catching up, in ms.
LATENCY_TARGET_MS = 1200
LATENCY_MIN_MS = 800
LATENCY_MAX_MS = 2500
#: dash.js changes the playback rate by at most this much to catch up: ±4 % is inaudible on
#: speech (no pitch correction needed at that rate).
PLAYBACK_RATE_MIN = 0.96
PLAYBACK_RATE_MAX = 1.04
#: Where the origin (and an edge) tells the time (DASH UTCTiming, http-iso).
TIME_PATH = "/dash/time"


@dataclass(frozen=True, slots=True)
class Rendition:
    """One Representation: its id is also its path segment (``{id}/init.mp4``)."""

    id: str
    codecs: str
    bandwidth: int
    sample_rate: int = 48000
    channels: int = 1


AAC = Rendition("aac", "mp4a.40.2", 64000)


def xs_datetime(epoch_s: float) -> str:
    """An ``xs:dateTime`` in UTC with milliseconds, as DASH-IF asks for wall-clock times."""
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def xs_duration(seconds: float) -> str:
    return f"PT{max(0.0, seconds):.3f}S"


def availability_time_offset(state: StreamState, chunk_parts: int = 1) -> float:
    """A segment is available once its first chunk (``chunk_parts`` parts) is: its duration
    less one chunk."""
    return state.segment_s - chunk_parts * state.part_target_s


def render_mpd(
    state: StreamState,
    renditions: tuple[Rendition, ...],
    now: float,
    time_url: str = TIME_PATH,
    chunk_parts: int = 1,
) -> str:
    """The MPD of a stream whose first part is published (``state.anchor`` is set), whose
    segments are sent in chunks of ``chunk_parts`` parts (segments.open_segment)."""
    anchor = state.anchor
    if anchor is None:
        raise ValueError("the stream has no anchor before its first part")
    ended = state.ended
    top = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"',
        ' profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019"',
        ' type="dynamic"',
        f' availabilityStartTime="{xs_datetime(anchor.availability_start)}"',
        f' publishTime="{xs_datetime(now)}"',
        f' maxSegmentDuration="{xs_duration(state.segment_s)}"',
        f' minBufferTime="{xs_duration(state.part_target_s * 2)}"',
        f' timeShiftBufferDepth="{xs_duration(TIME_SHIFT_BUFFER_S)}"',
    ]
    if ended:
        # DASH-IF IOP 4.6: a live presentation ends by gaining a duration and losing its
        # update period; the MPD stays dynamic so clients keep the live timeline.
        top.append(f' mediaPresentationDuration="{xs_duration(_end_s(state, anchor))}"')
    else:
        top.append(f' minimumUpdatePeriod="{xs_duration(MINIMUM_UPDATE_PERIOD_S)}"')
    top.append(">\n")
    body = [
        '  <ServiceDescription id="0">\n',
        f'    <Latency referenceId="0" target="{LATENCY_TARGET_MS}" min="{LATENCY_MIN_MS}"'
        f' max="{LATENCY_MAX_MS}"/>\n',
        f'    <PlaybackRate min="{PLAYBACK_RATE_MIN}" max="{PLAYBACK_RATE_MAX}"/>\n',
        "  </ServiceDescription>\n",
        f'  <Period id="p{state.discontinuities}" start="{xs_duration(anchor.period_start_s)}">\n',
        '    <AdaptationSet id="0" contentType="audio" mimeType="audio/mp4" lang="und"'
        ' segmentAlignment="true" startWithSAP="1">\n',
        '      <ProducerReferenceTime id="0" type="encoder"'
        f' wallClockTime="{xs_datetime(anchor.availability_start + anchor.period_start_s)}"'
        f' presentationTime="{anchor.first_decode_time}">\n',
        f'        <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="{time_url}"/>\n',
        "      </ProducerReferenceTime>\n",
        # (The schema orders an AdaptationSet's children: ProducerReferenceTime, then Role.)
        '      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>\n',
        _template(state, anchor, chunk_parts),
        *(_representation(r) for r in renditions),
        "    </AdaptationSet>\n",
        "  </Period>\n",
        f'  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="{time_url}"/>\n',
        "</MPD>\n",
    ]
    return "".join(top + body)


def _template(state: StreamState, anchor: Anchor, chunk_parts: int) -> str:
    duration = round(state.segment_s * anchor.timescale)
    return (
        f'      <SegmentTemplate timescale="{anchor.timescale}" duration="{duration}"'
        f' startNumber="{anchor.first_msn}"'
        f' presentationTimeOffset="{anchor.first_decode_time}"'
        f' availabilityTimeOffset="{availability_time_offset(state, chunk_parts):.3f}"'
        ' availabilityTimeComplete="false"'
        ' initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number$.m4s"/>\n'
    )


def _representation(rendition: Rendition) -> str:
    return (
        f'      <Representation id="{rendition.id}" codecs="{rendition.codecs}"'
        f' bandwidth="{rendition.bandwidth}" audioSamplingRate="{rendition.sample_rate}">\n'
        "        <AudioChannelConfiguration"
        ' schemeIdUri="urn:mpeg:mpegB:cicp:ChannelConfiguration"'
        f' value="{rendition.channels}"/>\n'
        "      </Representation>\n"
    )


def _end_s(state: StreamState, anchor: Anchor) -> float:
    """Where an ended stream's timeline stops, from the availability start: its last part's end
    (every part but the very last is full, so this is exact to within that one part)."""
    if state.last_part is None:
        return anchor.period_start_s
    msn, index = state.last_part
    media = (msn - anchor.first_msn) * state.segment_s + (index + 1) * state.part_target_s
    return anchor.period_start_s + media
