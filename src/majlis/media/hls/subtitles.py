"""Captions where HLS players look for them: a multivariant playlist whose audio variant has a
WebVTT subtitles rendition (RFC 8216bis §4.4.6.1 ``EXT-X-MEDIA:TYPE=SUBTITLES``), whose media
playlist follows the audio playlist segment for segment.

Why derived from the audio playlist's text: it is what every node can serve for a Space (the
shared part store carries it between nodes), and it already says each segment's number,
``EXT-X-PROGRAM-DATE-TIME``, duration and discontinuities. The subtitles playlist lists the
same segments, numbered alike, with the same dates, so a player lines them up exactly.

Why it trails the audio by ``SETTLE_S``: a cue is recognized a second or two after its words
end, so a subtitle segment is listed only once the cues of its stretch are in (a segment
served earlier would be empty, and players do not fetch a segment twice). A player at LL-HLS
latency (~1.2 s) plays past a stretch before its subtitles are listed: live, the web client's
caption line (the event stream) is the fast path; players at ordinary HLS latency (Safari,
VLC: three target durations and more) show them in time, and a replay or DVR always does.

Each WebVTT segment maps its local time 0 to the media time where its audio segment starts
(``X-TIMESTAMP-MAP``, RFC 8216bis §3.1.4: MPEG-2 90 kHz ticks of the fMP4 decode time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from majlis.domain.model import Cue
from majlis.domain.subtitles import cue_block
from majlis.media.hls.stream import program_date

#: How long after a segment's audio ends its subtitle segment is listed: cues are recognized
#: ~1.6 s after their words end (p95 1.8 s, bench/captions_live.py), plus a margin.
SETTLE_S = 3.0
#: What the audio variant needs: AAC-LC at 64 kb/s in CMAF (peak, with the boxes).
AUDIO_BANDWIDTH = 72_000
AUDIO_CODECS = "mp4a.40.2"
SUBTITLES_URI = "captions.m3u8"
GROUP = "captions"
_MPEG_TS_WRAP = 1 << 33

_SEGMENT_URI = re.compile(r"^(\d+)\.m4s$")


@dataclass(frozen=True, slots=True)
class ListedSegment:
    """One complete segment of an audio media playlist."""

    msn: int
    #: Its EXT-X-PROGRAM-DATE-TIME, epoch seconds.
    date: float
    duration: float
    discontinuity: bool


@dataclass(frozen=True, slots=True)
class AudioPlaylist:
    target_duration: int
    discontinuity_sequence: int | None
    segments: tuple[ListedSegment, ...]
    ended: bool

    def segment(self, msn: int) -> ListedSegment | None:
        return next((s for s in self.segments if s.msn == msn), None)


def read_audio_playlist(text: str) -> AudioPlaylist:
    """The complete segments an LL-HLS media playlist lists (its parts are left aside)."""
    target, discontinuities, ended = 2, None, False
    segments: list[ListedSegment] = []
    date: float | None = None
    duration: float | None = None
    broken = False
    for line in text.splitlines():
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:"):
            discontinuities = int(line.split(":", 1)[1])
        elif line == "#EXT-X-DISCONTINUITY":
            broken = True
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            stamp = line.split(":", 1)[1].replace("Z", "+00:00")
            date = datetime.fromisoformat(stamp).timestamp()
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif (match := _SEGMENT_URI.match(line)) and date is not None and duration is not None:
            segments.append(ListedSegment(int(match.group(1)), date, duration, broken))
            date, duration, broken = None, None, False
    return AudioPlaylist(target, discontinuities, tuple(segments), ended)


def multivariant(language: str | None, captions: bool) -> str:
    """The multivariant playlist: the audio, and with captions on their WebVTT rendition."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    stream = f'#EXT-X-STREAM-INF:BANDWIDTH={AUDIO_BANDWIDTH},CODECS="{AUDIO_CODECS}"'
    if captions:
        tag = f'LANGUAGE="{language}",' if language else ""
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{GROUP}",NAME="Captions",{tag}'
            f'DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI="{SUBTITLES_URI}"'
        )
        stream += f',SUBTITLES="{GROUP}"'
    lines += [stream, "live.m3u8", ""]
    return "\n".join(lines)


def subtitles_playlist(audio: AudioPlaylist, now: float) -> str:
    """The subtitles media playlist: the audio's segments whose cues are in by now."""
    settled = [s for s in audio.segments if audio.ended or s.date + s.duration + SETTLE_S <= now]
    first = settled[0].msn if settled else (audio.segments[0].msn if audio.segments else 0)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        f"#EXT-X-TARGETDURATION:{audio.target_duration}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
    ]
    if audio.discontinuity_sequence is not None:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{audio.discontinuity_sequence}")
    for segment in settled:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [
            f"#EXT-X-PROGRAM-DATE-TIME:{program_date(segment.date)}",
            f"#EXTINF:{segment.duration:.5f},",
            f"captions/{segment.msn}.vtt",
        ]
    if audio.ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def webvtt_segment(
    cues: Iterable[Cue], segment: ListedSegment, space_started: float, decode_time_s: float
) -> str:
    """The WebVTT of one segment: the cues that start within its stretch (a cue belongs to one
    segment, so a player never shows it twice), timed from the segment's start."""
    mpegts = round(decode_time_s * 90_000) % _MPEG_TS_WRAP
    lines = ["WEBVTT", f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000", ""]
    start = segment.date - space_started  # the segment's start, in the cues' time
    for cue in cues:
        if start <= cue.start < start + segment.duration:
            lines += cue_block(cue, start)
    return "\n".join(lines) + "\n"
