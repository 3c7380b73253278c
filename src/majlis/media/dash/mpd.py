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

Renditions: one ``AdaptationSet`` per codec, each cut from its own stream (``Track``): AAC-LC
(id 0, the LL-HLS stream's CMAF chunks) and Opus (id 1, the speech rendition, ~32 kb/s). Each
has its own ``SegmentTemplate``, from its own stream's ``Anchor``: its segments last 1.92 s,
not 2.048 s, and number on their own. The Period's start is the AAC stream's. Opus plays in the
browsers that can (dash.js drops an AdaptationSet whose codec ``MediaSource.isTypeSupported``
refuses, then picks the highest ``@selectionPriority``); the others play AAC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from majlis.media.hls import aac, opus
from majlis.media.hls.stream import Anchor, StreamState
from majlis.media.program_streams import AAC as AAC_ID
from majlis.media.program_streams import OPUS as OPUS_ID

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
    #: Its AdaptationSet's id (and its ProducerReferenceTime's), the same in every Period.
    set_id: int
    codecs: str
    #: Bits per second a listener receives of it (``@bandwidth``).
    bandwidth: int
    sample_rate: int = 48000
    channels: int = 1
    #: ``AdaptationSet@selectionPriority`` (ISO/IEC 23009-1 5th edition, AdaptationSet
    #: semantics): among the sets a client can play, the highest is chosen first; 1 if absent.
    #: dash.js 5 honours it before its ``selectionModeForInitialTrack`` (MediaController.js).
    selection_priority: int = 1


AAC = Rendition(AAC_ID, 0, aac.CODECS, 64000)
#: Opus is preferred where it plays: half the bytes for speech. Its bandwidth is the segments'
#: bytes, container included, on the costliest content: a steady tone, which libopus's
#: constrained VBR codes at 4,054 B/s (``hls.opus``), plus 417 B/s of moof and mdat headers
#: (200 B per 0.48 s part) is 35.8 kb/s; a live Space with a bot's tone measured 35.7 kb/s.
#: Speech costs ~31.9 kb/s, silence ~17.3. (tests/media/test_dash_opus.py checks the bound.)
OPUS = Rendition(OPUS_ID, 1, opus.CODECS, 36000, selection_priority=2)


@dataclass(frozen=True, slots=True)
class Track:
    """One AdaptationSet: a rendition, the state of the stream it is cut from, and how many of
    that stream's parts make a chunk (``segments.open_segment``)."""

    rendition: Rendition
    state: StreamState
    chunk_parts: int = 1

    @property
    def anchor(self) -> Anchor:
        if self.state.anchor is None:
            raise ValueError(f"the {self.rendition.id} stream has no anchor before its first part")
        return self.state.anchor


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


def chunk_parts(state: StreamState, chunk_s: float) -> int:
    """How many of the stream's parts make the chunk closest to ``chunk_s`` seconds: at least
    one, at most a segment, and a whole fraction of the segment.

    Why by duration: ``MAJLIS_DASH_CHUNK_PARTS`` counts AAC parts (0.256 s), chosen because
    Varnish wakes every streaming listener once per chunk; Opus parts last 0.48 s, so 1 or 2 AAC
    parts make one Opus part, 4 make two and 8 (a whole segment) make four. A listener of either
    rendition then costs the edge about as many wake-ups a second.
    """
    whole = [n for n in range(1, state.parts_per_segment + 1) if state.parts_per_segment % n == 0]
    return min(whole, key=lambda n: (abs(n * state.part_target_s - chunk_s), n))


def render_mpd(tracks: Sequence[Track], now: float, time_url: str = TIME_PATH) -> str:
    """The MPD of a Space's streams, one AdaptationSet per track, each stream with its first
    part published (its anchor set).

    The first track (AAC) is the reference: its anchor gives ``availabilityStartTime`` and the
    Period's start, its state the Period's id and, once ended, the presentation's duration.
    Every other track shares that Period start because every stream of the program starts at
    the same program sample (``program.ProgramOutput`` hands both encoders the same PCM from the
    first frame, on this node and after a failover alike): media time zero of each track's
    ``presentationTimeOffset`` is the same instant. Their own anchors are dated from the same
    program frame (``program.ProgramOutput``) and agree; taking one value still keeps the
    Period one whatever a stream's anchor says (tests/media/test_dash_opus.py decodes both
    over the same stretch: 0 ms apart).
    """
    if not tracks:
        raise ValueError("an MPD needs at least one track")
    reference = tracks[0]
    state, anchor = reference.state, reference.anchor
    ended = state.ended
    top = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"',
        ' profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019"',
        ' type="dynamic"',
        f' availabilityStartTime="{xs_datetime(anchor.availability_start)}"',
        f' publishTime="{xs_datetime(now)}"',
        f' maxSegmentDuration="{xs_duration(max(t.state.segment_s for t in tracks))}"',
        f' minBufferTime="{xs_duration(max(t.state.part_target_s for t in tracks) * 2)}"',
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
        *(
            _adaptation_set(track, anchor.availability_start + anchor.period_start_s, time_url)
            for track in tracks
        ),
        "  </Period>\n",
        f'  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="{time_url}"/>\n',
        "</MPD>\n",
    ]
    return "".join(top + body)


def _adaptation_set(track: Track, period_start: float, time_url: str) -> str:
    """The track's AdaptationSet: ``period_start`` (epoch s) is its media time zero."""
    anchor, rendition = track.anchor, track.rendition
    index = rendition.set_id
    return "".join(
        (
            f'    <AdaptationSet id="{index}" contentType="audio" mimeType="audio/mp4" lang="und"'
            ' segmentAlignment="true" startWithSAP="1"'
            f' selectionPriority="{rendition.selection_priority}">\n',
            # Its own id, as the schema asks; both map the Period start alike (offset 0).
            f'      <ProducerReferenceTime id="{index}" type="encoder"'
            f' wallClockTime="{xs_datetime(period_start)}"'
            f' presentationTime="{anchor.first_decode_time}">\n',
            '        <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014"'
            f' value="{time_url}"/>\n',
            "      </ProducerReferenceTime>\n",
            # (The schema orders an AdaptationSet's children: ProducerReferenceTime, then Role.)
            '      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>\n',
            _template(track.state, anchor, track.chunk_parts),
            _representation(rendition),
            "    </AdaptationSet>\n",
        )
    )


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
