"""What a listener gets of a Space, and which tones are in it.

The live program's newest segments, a replay fetched the way a player does (byte ranges), and
the check that one tone is heard and another is not: the evidence that the mixer put each
speaker where it belongs.
"""

from __future__ import annotations

import re

import httpx
import numpy as np
import numpy.typing as npt

from tests.media.tones import steadiest_stretch, tone_strength

PRESENT = 30.0  # a present tone stands this far above the median of the spectrum
#: An absent tone is at least this much weaker than a present one (40 dB): codec artifacts
#: put every frequency a few tens above the median of a pure tone's spectrum, so an absolute
#: threshold would measure Opus, not the mixer.
ABSENT_RATIO = 100.0


def only(pcm: object, rate: int, present: float, absent: float) -> None:
    strong = tone_strength(pcm, rate, present)  # type: ignore[arg-type]
    weak = tone_strength(pcm, rate, absent)  # type: ignore[arg-type]
    assert strong > PRESENT, f"{present} Hz missing (strength {strong:.0f})"
    assert weak * ABSENT_RATIO < strong, f"{absent} Hz present ({weak:.0f} vs {strong:.0f})"


def hears_only(
    ear: npt.NDArray[np.int16] | npt.NDArray[np.float32],
    present: float,
    absent: float,
    rate: int = 48_000,
) -> None:
    """``only`` over the steadiest stretch of a tone (see ``steadiest_stretch``: a dropout's
    click is not a leaked voice). For what a speaker hears back over WebRTC, and for a program
    whose speaker's frames a loaded machine delivered late (the mixer leaves a gap)."""
    only(steadiest_stretch(ear, rate=rate), rate, present=present, absent=absent)


def latest_program(base_url: str, space_id: str, segments: int = 1) -> bytes:
    """init + the newest complete segments of the live playlist."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        playlist = http.get(f"/hls/{space_id}/live.m3u8")
        assert playlist.status_code == 200, playlist.text
        names = re.findall(r"^(\d+\.m4s)$", playlist.text, re.M)
        assert names, playlist.text
        init = http.get(f"/hls/{space_id}/init.mp4").content
        return init + b"".join(http.get(f"/hls/{space_id}/{n}").content for n in names[-segments:])


def fetch_vod(base_url: str, playlist_url: str) -> tuple[str, bytes]:
    """Fetch a byte-range VOD playlist's init and segments the way a player does."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        playlist = http.get(playlist_url)
        assert playlist.status_code == 200
        assert playlist.headers["content-type"].startswith("application/vnd.apple.mpegurl")
        text = playlist.text
        uri = re.search(r'#EXT-X-MAP:URI="([^"]+)",BYTERANGE="(\d+)@(\d+)"', text)
        assert uri is not None, text
        chunks = []
        ranges = [(int(uri.group(2)), int(uri.group(3)))]
        ranges += [(int(n), int(o)) for n, o in re.findall(r"#EXT-X-BYTERANGE:(\d+)@(\d+)", text)]
        for length, offset in ranges:
            response = http.get(
                uri.group(1), headers={"Range": f"bytes={offset}-{offset + length - 1}"}
            )
            assert response.status_code == 206 and len(response.content) == length
            chunks.append(response.content)
    return text, b"".join(chunks)
