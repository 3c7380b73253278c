"""Low-latency DASH: the MPD's rules, and a live Space's MPD and segments over HTTP.

The part store's contract (tests/contract/test_part_store.py) covers streaming a growing
segment on both backends; here are the MPD as a document, and the routes end to end, read by a
real player (FFmpeg's DASH demuxer) and decoded with PyAV.
"""

from __future__ import annotations

import asyncio
import io
import math
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from datetime import datetime

import av
import httpx
import pytest

from majlis.api.routes.dash import utc_time
from majlis.media.dash.chunks import Fragments
from majlis.media.dash.mpd import AAC, OPUS, TIME_SHIFT_BUFFER_S, Track, chunk_parts, render_mpd
from majlis.media.dash.timeline import read_timeline
from majlis.media.hls.stream import LiveStream
from tests.support.client import (
    Api,
    problem_of,
    segment_in_progress,
    wait_for_live_stream,
    wait_for_new_segment,
)
from tests.support.listener import ListenerStats, dash_listener
from tests.support.renditions import (
    NS,
    OPUS_PART_S,
    OPUS_PPS,
    OPUS_SEGMENT_S,
    PART_S,
    PPS,
    SEGMENT_S,
)
from tests.support.services import unavailable


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _published(stream: LiveStream, clock: Clock, parts: int) -> None:
    for _ in range(parts):
        clock.now += PART_S
        stream.publish(b"chunk", PART_S)


def _mpd(stream: LiveStream, now: float = 1_800_000_100.0) -> ET.Element:
    return ET.fromstring(render_mpd([Track(AAC, stream.state())], now))


def _seconds(duration: str) -> float:
    assert duration.startswith("PT") and duration.endswith("S")
    return float(duration[2:-1])


def _epoch(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def test_the_mpd_maps_segment_numbers_to_the_wall_clock() -> None:
    clock = Clock(1_800_000_000.0)
    stream = LiveStream(PART_S, PPS, clock=clock, pipeline_delay_s=0.05)
    stream.set_init(b"init", first_decode_time=96_000)  # a resumed timeline: 2 s in
    _published(stream, clock, 3)
    mpd = _mpd(stream)
    assert mpd.get("type") == "dynamic" and mpd.get("minimumUpdatePeriod")
    # The first sample was captured a part and the pipeline delay before it was published.
    assert _epoch(mpd.get("availabilityStartTime", "")) == pytest.approx(
        1_800_000_000.0 + PART_S - PART_S - 0.05, abs=0.001
    )
    template = mpd.find("d:Period/d:AdaptationSet/d:SegmentTemplate", NS)
    assert template is not None
    assert template.get("media") == "$RepresentationID$/$Number$.m4s"
    assert int(template.get("duration", "")) == round(PART_S * PPS * 48000)
    assert template.get("startNumber") == "0" and template.get("presentationTimeOffset") == "96000"
    # DASH-IF low latency: asked for once the first chunk is done, the rest over chunked transfer.
    assert float(template.get("availabilityTimeOffset", "")) == pytest.approx(PART_S * (PPS - 1))
    assert template.get("availabilityTimeComplete") == "false"
    latency = mpd.find("d:ServiceDescription/d:Latency", NS)
    reference = mpd.find("d:Period/d:AdaptationSet/d:ProducerReferenceTime", NS)
    assert latency is not None and reference is not None
    assert latency.get("referenceId") == reference.get("id")
    assert int(latency.get("target", "")) <= 1500
    timing = mpd.find("d:UTCTiming", NS)
    assert timing is not None and timing.get("value") == "/dash/time"
    representation = mpd.find("d:Period/d:AdaptationSet/d:Representation", NS)
    assert representation is not None and representation.get("codecs") == "mp4a.40.2"


def test_larger_chunks_make_a_segment_available_later() -> None:
    clock = Clock(1_800_000_000.0)
    stream = LiveStream(PART_S, PPS, clock=clock)
    stream.set_init(b"init")
    _published(stream, clock, 1)
    mpd = ET.fromstring(render_mpd([Track(AAC, stream.state(), 2)], clock.now))
    template = mpd.find("d:Period/d:AdaptationSet/d:SegmentTemplate", NS)
    assert template is not None
    assert float(template.get("availabilityTimeOffset", "")) == pytest.approx(PART_S * (PPS - 2))


def test_a_failover_is_a_new_period_on_the_same_availability_start() -> None:
    clock = Clock(1_800_000_000.0)
    dead = LiveStream(PART_S, PPS, clock=clock)
    dead.set_init(b"init")
    _published(dead, clock, PPS + 3)  # a segment and three parts
    clock.now += 4.0  # the time it took another node to take over
    heir = LiveStream(PART_S, PPS, clock=clock, continues=dead.state())
    heir.set_init(b"init")
    _published(heir, clock, 1)
    before, after = _mpd(dead), _mpd(heir)
    assert before.get("availabilityStartTime") == after.get("availabilityStartTime")
    old_period, new_period = before.find("d:Period", NS), after.find("d:Period", NS)
    assert old_period is not None and new_period is not None
    assert (old_period.get("id"), new_period.get("id")) == ("p0", "p1")
    gap = _seconds(new_period.get("start", "")) - _seconds(old_period.get("start", ""))
    assert gap == pytest.approx((PPS + 3) * PART_S + 4.0, abs=0.01)
    template = new_period.find("d:AdaptationSet/d:SegmentTemplate", NS)
    assert template is not None and template.get("startNumber") == "2"  # numbers run on


def test_a_client_reads_the_timeline_the_mpd_was_written_with() -> None:
    clock = Clock(1_800_000_000.0)
    stream = LiveStream(PART_S, PPS, clock=clock)
    stream.set_init(b"init")
    _published(stream, clock, PPS * 3 + 2)  # segment 3 has two chunks
    timeline = read_timeline(render_mpd([Track(AAC, stream.state())], clock.now))
    anchor = stream.state().anchor
    assert anchor is not None
    assert timeline.start == pytest.approx(anchor.availability_start + anchor.period_start_s)
    assert (timeline.segment_s, timeline.chunk_s) == pytest.approx((SEGMENT_S, PART_S))
    assert timeline.newest_available(clock.now) == 3
    assert timeline.available_at(3) == pytest.approx(timeline.start + 3 * SEGMENT_S + PART_S)
    assert timeline.segment_path(3) == "aac/3.m4s" and timeline.init_path() == "aac/init.mp4"
    assert timeline.media_end(3, 2) == pytest.approx(clock.now, abs=0.001)
    assert timeline.update_period_s is not None


def test_an_ended_stream_has_a_duration_and_no_more_updates() -> None:
    clock = Clock(1_800_000_000.0)
    stream = LiveStream(PART_S, PPS, clock=clock)
    stream.set_init(b"init")
    _published(stream, clock, PPS + 2)
    stream.end()
    mpd = _mpd(stream)
    assert mpd.get("minimumUpdatePeriod") is None
    assert _seconds(mpd.get("mediaPresentationDuration", "")) == pytest.approx((PPS + 2) * PART_S)


def _program(streams: list[LiveStream], clock: Clock, seconds: float) -> None:
    """``seconds`` of one program through every stream's encoder: the clock moves in 20 ms
    ticks, and each stream publishes a part as soon as the program holds all of it."""
    program_s, published = 0.0, [0.0] * len(streams)
    for _ in range(round(seconds / 0.02)):
        clock.now += 0.02
        program_s += 0.02
        for i, stream in enumerate(streams):
            while published[i] + stream.part_target_s <= program_s + 1e-9:
                stream.publish(b"chunk", stream.part_target_s)
                published[i] += stream.part_target_s


def _renditions(
    clock: Clock, continues: tuple[LiveStream, LiveStream] | None = None
) -> list[LiveStream]:
    aac = LiveStream(PART_S, PPS, clock=clock, continues=continues and continues[0].state())
    opus = LiveStream(
        OPUS_PART_S, OPUS_PPS, clock=clock, continues=continues and continues[1].state()
    )
    aac.set_init(b"aac")
    opus.set_init(b"opus")
    return [aac, opus]


def _both(streams: list[LiveStream], now: float) -> str:
    return render_mpd([Track(AAC, streams[0].state()), Track(OPUS, streams[1].state())], now)


def test_the_mpd_offers_opus_beside_aac_each_on_its_own_timeline() -> None:
    clock = Clock(1_800_000_000.0)
    streams = _renditions(clock)
    _program(streams, clock, 5.0)
    text = _both(streams, clock.now)
    mpd = ET.fromstring(text)
    assert len(mpd.findall("d:Period", NS)) == 1
    sets = mpd.findall("d:Period/d:AdaptationSet", NS)
    described = [
        (a.get("id"), a.get("selectionPriority"), r.get("id"), r.get("codecs"), r.get("bandwidth"))
        for a in sets
        for r in a.findall("d:Representation", NS)
    ]
    assert described == [
        ("0", "1", "aac", "mp4a.40.2", "64000"),
        ("1", "2", "opus", "opus", "36000"),
    ]
    templates = [a.find("d:SegmentTemplate", NS) for a in sets]
    assert [(t.get("duration"), t.get("startNumber")) for t in templates if t is not None] == [
        ("98304", "0"),  # 2.048 s
        ("92160", "0"),  # 1.92 s
    ]
    offsets = [float(t.get("availabilityTimeOffset", "")) for t in templates if t is not None]
    assert offsets == pytest.approx([SEGMENT_S - PART_S, OPUS_SEGMENT_S - OPUS_PART_S])
    # One Period, whose start is media time zero of both: the clients' timelines agree.
    aac, opus = read_timeline(text), read_timeline(text, prefer=("opus",))
    assert (aac.representation, opus.representation) == ("aac", "opus")
    assert opus.start == aac.start
    assert (opus.segment_s, opus.chunk_s) == pytest.approx((OPUS_SEGMENT_S, OPUS_PART_S))
    assert opus.segment_path(3) == "opus/3.m4s" and opus.init_path() == "opus/init.mp4"
    times = {
        r.get("wallClockTime")
        for r in mpd.iterfind("d:Period/d:AdaptationSet/d:ProducerReferenceTime", NS)
    }
    assert len(times) == 1


def test_a_chunk_lasts_about_as_long_in_either_rendition() -> None:
    """``MAJLIS_DASH_CHUNK_PARTS`` counts AAC parts; Opus chunks are its parts nearest that."""
    aac, opus = (s.state() for s in _renditions(Clock(0.0)))
    for parts, opus_parts in ((1, 1), (2, 1), (4, 2), (8, 4)):
        assert chunk_parts(aac, parts * PART_S) == parts
        assert chunk_parts(opus, parts * PART_S) == opus_parts


def test_a_failover_continues_each_rendition_in_a_new_period() -> None:
    clock = Clock(1_800_000_000.0)
    dead = _renditions(clock)
    _program(dead, clock, 5.0)  # AAC: 2 segments and 3 parts; Opus: 2 segments and 2 parts
    clock.now += 4.0
    heirs = _renditions(clock, continues=(dead[0], dead[1]))
    _program(heirs, clock, 1.0)
    mpd = ET.fromstring(_both(heirs, clock.now))
    period = mpd.find("d:Period", NS)
    assert period is not None and period.get("id") == "p1"
    numbers = [
        t.get("startNumber") for t in mpd.iterfind("d:Period/d:AdaptationSet/d:SegmentTemplate", NS)
    ]
    assert numbers == [str(dead[0].state().hinted[0] + 1), str(dead[1].state().hinted[0] + 1)]
    assert numbers == ["3", "3"]


# --- over HTTP, on a live Space -----------------------------------------------------------------


def _predicted_number(http: httpx.Client, mpd_url: str) -> int:
    """The number of the segment a client following the MPD would ask for now: the one whose
    first chunk is the newest available by the MPD's timeline and the origin's clock."""
    timeline = read_timeline(http.get(mpd_url).text)
    return timeline.newest_available(_epoch(http.get("/dash/time").text))


def test_a_live_space_is_listened_to_over_dash(api: Api) -> None:
    host = api.sign_up("dash")
    space = host.create_space("بث منخفض التأخير · Low-latency DASH")
    sid = space["id"]
    assert space["dash_url"].endswith(f"/dash/{sid}/live.mpd")
    join = api.http.post(f"/api/v1/spaces/{sid}/join").json()
    assert join["dash_url"] == space["dash_url"]
    wait_for_live_stream(api.http, sid)
    mpd = api.http.get(f"/dash/{sid}/live.mpd")
    assert mpd.status_code == 200
    assert mpd.headers["content-type"] == "application/dash+xml"
    assert "max-age" in mpd.headers["cache-control"]
    init = api.http.get(f"/dash/{sid}/aac/init.mp4")
    assert init.headers["cache-control"].endswith("immutable")

    producing = segment_in_progress(api.http, sid)
    # The MPD's timeline agrees with the encoder (which may lag it on a loaded machine).
    assert producing - 1 <= _predicted_number(api.http, f"/dash/{sid}/live.mpd") <= producing + 1
    upcoming = producing + 1  # not begun yet: the request waits for its first chunk
    chunks: list[bytes] = []
    complete_when_first_arrived: bool | None = None
    with api.http.stream("GET", f"/dash/{sid}/aac/{upcoming}.m4s", timeout=15) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["cache-control"] == "public, max-age=60"
        for chunk in response.iter_raw():
            if complete_when_first_arrived is None:
                # Streamed, not stored and forwarded: the whole segment does not exist yet.
                whole = api.http.get(f"/hls/{sid}/{upcoming}.m4s")
                complete_when_first_arrived = whole.status_code == 200
            chunks.append(chunk)
    assert complete_when_first_arrived is False
    body = b"".join(chunks)
    assert body == api.http.get(f"/hls/{sid}/{upcoming}.m4s").content  # the same CMAF bytes

    with av.open(io.BytesIO(init.content + body)) as container:
        frames = list(container.decode(audio=0))
    samples = sum(frame.samples for frame in frames)
    assert samples == PPS * 12 * 1024  # 2.048 s of 48 kHz AAC
    host.post(f"/api/v1/spaces/{sid}/end")


def test_bad_segment_requests_are_clear_404s_that_no_cache_keeps(api: Api) -> None:
    host = api.sign_up("dashbad")
    sid = host.create_space("Bad requests")["id"]
    wait_for_live_stream(api.http, sid)
    number = segment_in_progress(api.http, sid)
    for path in (
        f"/dash/{sid}/aac/{number + 50}.m4s",  # far ahead of live
        f"/dash/{sid}/flac/{number}.m4s",  # no such rendition
        f"/dash/{sid}/flac/init.mp4",
        f"/dash/{sid}/aac/-1.m4s",
        f"/dash/{sid}/aac/one.m4s",
        f"/dash/{sid}/aac/{'9' * 13}.m4s",
        f"/dash/{sid}/opus/{number + 50}.m4s",
        "/dash/nosuchspace/live.mpd",
        "/dash/nosuchspace/aac/1.m4s",
        "/dash/nosuchspace/opus/init.mp4",
        f"/dash/{sid}.opus/aac/init.mp4",  # a stream key is not a Space id (program_streams)
        f"/hls/{sid}.opus/live.m3u8",  # and LL-HLS never serves the Opus stream
    ):
        response = api.http.get(path)
        problem_of(response, 404)
        assert response.headers["cache-control"] == "no-store", path
    assert api.http.post(f"/dash/{sid}/live.mpd").status_code == 405
    host.post(f"/api/v1/spaces/{sid}/end")


def test_the_origin_tells_the_time() -> None:
    before = time.time()
    response = asyncio.run(utc_time())
    told = _epoch(bytes(response.body).decode())
    assert before - 0.002 <= told <= time.time() + 0.002
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.slow
@pytest.mark.parametrize("server", ["postgresql"], indirect=True)  # one is enough: 12 s each
def test_ffmpeg_plays_the_live_mpd(api: Api) -> None:
    """Debian's FFmpeg (5.1) reads a live MPD and decodes exactly what it asked for.

    FFmpeg 5.1's DASH demuxer computes the oldest segment as ``now - availabilityStartTime -
    timeShiftBufferDepth`` in unsigned arithmetic, so on a stream younger than the time-shift
    buffer it asks for segment 0 over and over; we let the stream age past the buffer first
    (12 s, hence slow). dash.js and GStreamer have no such limit."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        unavailable("Debian's ffmpeg (with its DASH demuxer) is not installed")
        return
    host = api.sign_up("dashff")
    sid = host.create_space("FFmpeg listens")["id"]
    wait_for_live_stream(api.http, sid)
    wait_for_new_segment(api.http, sid, ahead=math.ceil(TIME_SHIFT_BUFFER_S / SEGMENT_S) + 1)
    seconds = 3
    played = subprocess.run(
        [  # noqa: RUF005 (one argument list, written as two lines for the reader)
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            str(api.http.base_url.join(f"/dash/{sid}/live.mpd")),
        ]
        + ["-t", str(seconds), "-f", "s16le", "-ac", "1", "-ar", "48000", "-"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert played.returncode == 0, played.stderr.decode()
    assert len(played.stdout) == seconds * 48000 * 2
    host.post(f"/api/v1/spaces/{sid}/end")


def test_the_lean_dash_listener_counts_chunks_however_the_bytes_are_cut(api: Api) -> None:
    """The benchmarks' and scaletest's listener (tests/support/listener.py) knows how much media
    it holds by counting CMAF chunks in a stream of bytes, cut wherever TCP cuts it."""
    host = api.sign_up("dashcut")
    sid = host.create_space("Chunks")["id"]
    msn = wait_for_new_segment(api.http, sid)
    segment = api.http.get(f"/hls/{sid}/{msn}.m4s").content
    for step in (1, 7, 500, len(segment)):
        fragments = Fragments()
        durations = [
            d for i in range(0, len(segment), step) for d in fragments.feed(segment[i : i + step])
        ]
        assert durations == [PART_S] * PPS, step
    host.post(f"/api/v1/spaces/{sid}/end")


@pytest.mark.parametrize(
    ("rendition", "part_s", "segment_s"),
    [("aac", PART_S, SEGMENT_S), ("opus", OPUS_PART_S, OPUS_SEGMENT_S)],
    ids=["aac", "opus"],
)
def test_the_lean_dash_listener_hears_a_live_space_near_live(
    api: Api, rendition: str, part_s: float, segment_s: float
) -> None:
    host = api.sign_up("dashlean")
    sid = host.create_space("Lean listeners")["id"]
    wait_for_live_stream(api.http, sid)
    stats = [ListenerStats() for _ in range(5)]
    mpd_url = str(api.http.base_url.join(f"/dash/{sid}/live.mpd"))

    async def listen() -> None:
        await asyncio.gather(*(dash_listener(mpd_url, 5.0, s, prefer=(rendition,)) for s in stats))

    asyncio.run(listen())
    for s in stats:
        assert s.errors == 0, s.error_samples
        assert s.renditions == {rendition: 1}
        assert s.parts >= 5.0 / part_s  # five seconds of chunks, and those it started with
        assert s.requests <= 2 + 5.0 / segment_s + 2  # MPD, clock, init; one per segment
        # The first chunk of each segment arrives as soon as it exists (~0.1 s after its last
        # sample was captured), long before the segment is complete (1.8 s later): streamed,
        # not stored and forwarded. The bound leaves room for a loaded machine.
        assert s.chunk_latency_s and max(s.chunk_latency_s) < 1.5, s.chunk_latency_s
        # Playing 1.2 s behind the speaker (the MPD's target), plus whatever stalls added.
        assert s.playback_latency_s[0] <= 1.2 + s.stalled_s + 0.1, s.playback_latency_s
    host.post(f"/api/v1/spaces/{sid}/end")
