"""The Opus speech rendition of a live Space over low-latency DASH, end to end: streamed chunk by
chunk and decoded with PyAV, and the same audio at the same times as the AAC rendition.

The MPD as a document (both AdaptationSets, their timelines, a failover) is in test_dash.py; the
Opus codec and its CMAF boxes in test_opus.py; dash.js choosing Opus in Chromium in
tests/web/test_browser_media.py.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import av
import httpx
import numpy as np
import numpy.typing as npt
import pytest

from majlis.bots.sources import ToneSource
from majlis.media.dash.chunks import Fragments
from majlis.media.dash.mpd import AAC, OPUS
from majlis.media.dash.timeline import Timeline, read_timeline
from majlis.media.hls import fmp4
from majlis.media.hls.stream import StreamState
from majlis.media.program_streams import stream_key
from tests.media.bot_thread import BotThread
from tests.media.tones import decode_mp4
from tests.support.audio import PRE_SKIP, lag_ms, peak_hz, rms_db
from tests.support.client import Api, wait_for_live_stream, wait_for_new_segment
from tests.support.renditions import NS, OPUS_PART_S, OPUS_PPS, OPUS_SEGMENT_S, SEGMENT_S
from tests.support.server import RunningServer
from tests.support.wait import eventually


def _state(server: RunningServer, sid: str, rendition: str = OPUS.id) -> StreamState:
    """A rendition's stream state, as the node serving it sees it (asked on its own loop)."""

    async def state() -> StreamState:
        source = await server.services.media.parts.source(stream_key(sid, rendition))
        assert source is not None, f"no {rendition} stream"
        return source.current()

    return server.call(state())


def test_a_live_space_is_listened_to_in_opus_over_dash(server: RunningServer, api: Api) -> None:
    host = api.sign_up("dashopus")
    sid = host.create_space("Opus · أوبوس")["id"]
    wait_for_live_stream(api.http, sid)
    text = api.http.get(f"/dash/{sid}/live.mpd").text
    sets = ET.fromstring(text).findall("d:Period/d:AdaptationSet", NS)
    assert [(a.get("id"), a.get("selectionPriority")) for a in sets] == [("0", "1"), ("1", "2")]
    timeline = read_timeline(text, prefer=("opus",))
    assert (timeline.representation, timeline.segment_s) == ("opus", OPUS_SEGMENT_S)
    init = api.http.get(f"/dash/{sid}/opus/init.mp4")
    assert init.headers["cache-control"].endswith("immutable")
    assert fmp4.read_opus_config(init.content).pre_skip == PRE_SKIP

    upcoming = _state(server, sid).hinted[0] + 1  # not begun: waits for its first chunk
    chunks: list[bytes] = []
    complete_when_first_arrived: bool | None = None
    with api.http.stream("GET", f"/dash/{sid}/opus/{upcoming}.m4s", timeout=15) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_raw():
            if complete_when_first_arrived is None:  # streamed as it is produced
                complete_when_first_arrived = _state(server, sid).last_complete_msn >= upcoming
            chunks.append(chunk)
    assert complete_when_first_arrived is False
    body = b"".join(chunks)
    assert [d for d in Fragments().feed(body)] == [OPUS_PART_S] * OPUS_PPS
    with av.open(io.BytesIO(init.content + body)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        samples = sum(frame.samples for frame in container.decode(audio=0))
    # 1.92 s of 48 kHz Opus, less the PreSkip FFmpeg drops where its decoder starts.
    assert samples == OPUS_PPS * 24 * 960 - PRE_SKIP
    host.post(f"/api/v1/spaces/{sid}/end")


class _ToneBursts(ToneSource):
    """440 Hz with a 40 ms gap every 260 ms: mostly tone (what Opus spends most bytes on), with
    edges that pin the time alignment of two decodes down (a steady tone only does so modulo its
    period, 2.3 ms)."""

    def next_pcm(self, index: int) -> npt.NDArray[np.int16]:
        pcm = super().next_pcm(index)
        return pcm if index % 13 < 11 else np.zeros_like(pcm)


def _decoded(
    http: httpx.Client, sid: str, timeline: Timeline, numbers: range
) -> tuple[npt.NDArray[np.float32], float]:
    """Segments ``numbers`` of a rendition, decoded from its init segment on, and where the first
    sample is on the wall clock by the MPD's timeline. (The first decoded sample is the first
    segment's first: FFmpeg, like Chromium, drops Opus's PreSkip where its decoder starts.)"""
    base = f"/dash/{sid}"
    data = http.get(f"{base}/{timeline.init_path()}").content + b"".join(
        http.get(f"{base}/{timeline.segment_path(n)}").content for n in numbers
    )
    pcm, _ = decode_mp4(data)
    return pcm, timeline.start + (numbers[0] - timeline.start_number) * timeline.segment_s


def test_aac_and_opus_carry_the_same_audio_at_the_same_times(
    server: RunningServer, api: Api
) -> None:
    host = api.sign_up("dashsame")
    sid = host.create_space("Two renditions")["id"]
    bot = BotThread(server.base_url, sid, host.token, 440, source=_ToneBursts(440))
    try:
        msn = wait_for_new_segment(api.http, sid, ahead=3)  # two whole AAC segments of bursts
        text = api.http.get(f"/dash/{sid}/live.mpd").text
        aac, opus = read_timeline(text), read_timeline(text, prefer=("opus",))
        aac_pcm, aac_at = _decoded(api.http, sid, aac, range(msn - 1, msn + 1))
        first, last = opus.number_at(aac_at), opus.number_at(aac_at + 2 * SEGMENT_S)
        eventually(lambda: _state(server, sid).last_complete_msn >= last)
        opus_pcm, opus_at = _decoded(api.http, sid, opus, range(first, last + 1))
        opus_bytes = sum(
            len(api.http.get(f"/dash/{sid}/opus/{n}.m4s").content) for n in range(first, last + 1)
        )
        anchors = [_state(server, sid, r.id).anchor for r in (AAC, OPUS)]
    finally:
        bot.close()
        host.post(f"/api/v1/spaces/{sid}/end")
    # The same stretch of the program, placed on the wall clock by each rendition's timeline.
    begin, end = (
        max(aac_at, opus_at) + 0.1,
        min(aac_at + aac_pcm.size / 48000, opus_at + opus_pcm.size / 48000) - 0.1,
    )
    assert end - begin > 3.5
    stretches = [
        pcm[round((begin - at) * 48000) : round((end - at) * 48000)]
        for pcm, at in ((aac_pcm, aac_at), (opus_pcm, opus_at))
    ]
    same = min(s.size for s in stretches)
    aac_stretch, opus_stretch = (s[:same] for s in stretches)
    assert peak_hz(aac_stretch) == pytest.approx(440, abs=2)
    assert peak_hz(opus_stretch) == pytest.approx(peak_hz(aac_stretch), abs=1)
    assert abs(rms_db(opus_stretch) - rms_db(aac_stretch)) < 1.0
    assert abs(lag_ms(aac_stretch, opus_stretch)) <= 3  # the two timelines agree to a few ms
    # That is the assumption render_mpd states (both start at the same program sample), and
    # the lag says it holds to the sample. Each stream's own anchor is dated from the program's
    # first frame, not from when its first part was published: estimated, they once differed
    # by 179 ms beside a second test suite (a cold encoder's first part published late).
    starts = [a.availability_start + a.period_start_s for a in anchors if a is not None]
    assert len(starts) == 2 and abs(starts[0] - starts[1]) < 1e-6, starts
    # @bandwidth is honest: the Opus segments, container included, fit in it.
    assert opus_bytes * 8 / ((last + 1 - first) * OPUS_SEGMENT_S) <= OPUS.bandwidth
