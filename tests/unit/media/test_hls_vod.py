"""The replay playlist: byte ranges into the one recording file."""

from __future__ import annotations

import pytest

from majlis.media.hls.vod import SegmentRange, vod_playlist

GOLDEN_VOD = """\
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:3
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="/api/v1/spaces/abc/recording.m4a",BYTERANGE="595@0"
#EXTINF:2.048,
#EXT-X-BYTERANGE:17887@595
/api/v1/spaces/abc/recording.m4a
#EXTINF:2.048,
#EXT-X-BYTERANGE:17700@18482
/api/v1/spaces/abc/recording.m4a
#EXTINF:0.917,
#EXT-X-BYTERANGE:7813@36182
/api/v1/spaces/abc/recording.m4a
#EXT-X-ENDLIST
"""


def test_golden_vod_playlist() -> None:
    segments = [(595, 17887, 2.048), (18482, 17700, 2.048), SegmentRange(36182, 7813, 0.917333)]
    assert vod_playlist(segments, "/api/v1/spaces/abc/recording.m4a") == GOLDEN_VOD


def test_target_duration_covers_the_longest_segment() -> None:
    text = vod_playlist([(10, 5, 0.5), (15, 5, 4.2)], "r.m4a")
    assert "#EXT-X-TARGETDURATION:5\n" in text


def test_an_empty_recording_has_no_replay() -> None:
    with pytest.raises(ValueError):
        vod_playlist([], "r.m4a")
