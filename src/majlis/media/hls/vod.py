"""The replay playlist: a whole recorded Space as byte ranges of its one recording file.

A recording is one fragmented .m4a (init segment, then every part in order), so the replay needs
no files of its own: each segment is a byte range of that file, the init segment its first
bytes. The same URL serves the ``recording.m4a`` download and the VOD playlist's media, and edge
caches hold one object per Space instead of thousands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple


class SegmentRange(NamedTuple):
    """One segment of a recording: where its bytes are and how long it plays."""

    offset: int
    length: int
    duration: float


def vod_playlist(segments: Sequence[tuple[int, int, float]], uri: str) -> str:
    """A VOD media playlist of ``segments`` (offset, length, seconds) of the file at ``uri``.

    The init segment is taken to be the bytes before the first segment.
    """
    if not segments:
        raise ValueError("a replay needs at least one segment")
    ranges = [SegmentRange(*s) for s in segments]
    # §4.4.3.1: "The EXTINF duration of each Media Segment in a Playlist file, when rounded to
    # the nearest integer, MUST be less than or equal to the Target Duration."
    target = max(1, math.ceil(max(r.duration for r in ranges) - 1e-9))
    lines = [
        "#EXTM3U",
        # EXT-X-MAP in a playlist without EXT-X-I-FRAMES-ONLY needs version 6 (§8); BYTERANGE
        # needs 4. §6.2.1: the version "SHOULD NOT be greater than what is required".
        "#EXT-X-VERSION:6",
        f"#EXT-X-TARGETDURATION:{target}",
        # §6.2.1: "An EXT-X-PLAYLIST-TYPE tag with a value of VOD indicates that the Playlist
        # file MUST NOT change." A replay is rendered once the Space has ended.
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{uri}",BYTERANGE="{ranges[0].offset}@0"',
    ]
    for r in ranges:
        lines.append(f"#EXTINF:{r.duration:.3f},")
        lines.append(f"#EXT-X-BYTERANGE:{r.length}@{r.offset}")
        lines.append(uri)
    # §6.2.1: "If the Media Playlist contains the final Media Segment of the presentation,
    # then the Playlist file MUST contain the EXT-X-ENDLIST tag."
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
