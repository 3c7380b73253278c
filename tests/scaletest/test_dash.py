"""The LL-DASH listener's pieces, without a network or Locust: what it asks for when (a fake
clock and a real MPD from ``render_mpd``), what each chunk means for its playback, how it reads a
growing body, and what the report computes and shows of a DASH run."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pytest

from majlis.media.dash import mpd
from majlis.media.dash.timeline import Timeline, read_timeline
from majlis.media.hls import fmp4
from majlis.media.hls.stream import LiveStream, StreamState
from majlis.scaletest import metrics, plots
from majlis.scaletest.dash import MAX_BEHIND_SEGMENTS, Follower, boxes, service_of
from majlis.scaletest.plan import add_arguments, from_args
from majlis.scaletest.report import render_html
from majlis.scaletest.summary import summarize
from majlis.scaletest.verdict import decide

PART_S = 0.256
PPS = 8
SEGMENT_S = PART_S * PPS
T0 = 1_800_000_000.0
#: 12 AAC frames of 1,024 samples at 48 kHz: one part, one chunk (MAJLIS_DASH_CHUNK_PARTS=1).
FRAMES = 12
PREFER = ("aac",)
OPUS_PART_S = 0.48


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _render(state: StreamState, now: float, opus: StreamState | None = None) -> str:
    """The MPD of an AAC stream (and an Opus one)."""
    tracks = [mpd.Track(mpd.AAC, state)]
    if opus is not None:
        tracks.append(mpd.Track(mpd.OPUS, opus))
    return mpd.render_mpd(tracks, now)


def _live(seconds: float) -> tuple[LiveStream, Clock]:
    """A stream that began at T0 and has published ``seconds`` of parts."""
    clock = Clock(T0)
    stream = LiveStream(PART_S, PPS, clock=clock)
    stream.set_init(b"init")
    for _ in range(round(seconds / PART_S)):
        clock.now += PART_S
        stream.publish(b"part", PART_S)
    return stream, clock


def _timeline(seconds: float = 20.0) -> tuple[Timeline, float]:
    stream, clock = _live(seconds)
    return read_timeline(_render(stream.state(), clock.now), PREFER), clock.now


def _segment(timeline: Timeline, number: int) -> list[bytes]:
    """Segment ``number``'s chunks as the origin streams them: CMAF fragments of one part."""
    first = (number - timeline.start_number) * PPS
    return [
        fmp4.fragment(first + i + 1, (first + i) * FRAMES * 1024, [b"\x21" * 40] * FRAMES)
        for i in range(PPS)
    ]


# --- what it asks for when --------------------------------------------------------------------


def test_the_mpd_tells_the_latency_target_and_the_clock() -> None:
    stream, clock = _live(4.0)
    service = service_of(_render(stream.state(), clock.now))
    assert service.target_latency_s == pytest.approx(1.2)
    assert service.time_url == "/dash/time"


def test_it_tunes_in_at_the_target_latency_in_the_segment_holding_that_point() -> None:
    timeline, now = _timeline()
    assert timeline.segment_s == pytest.approx(SEGMENT_S)
    assert timeline.chunk_s == pytest.approx(PART_S)
    for into in (0.1, 0.6, 1.3, 1.9):  # wherever live is in its segment
        at = now + into
        follower = Follower(timeline, at, 1.2)
        assert follower.start_at == pytest.approx(at - 1.2)
        assert follower.number == timeline.number_at(at - 1.2)
        # That segment exists: it is asked for at once, its chunks up to now come at once.
        assert follower.ask_at() <= at
        assert follower.number <= timeline.newest_available(at)


def test_each_next_segment_is_asked_for_when_its_first_chunk_is_done() -> None:
    timeline, now = _timeline()
    follower = Follower(timeline, now, 1.2)
    asks = []
    for _ in range(4):
        follower.done()
        asks.append(follower.ask_at())
        # Its first chunk ends one chunk into the segment: that is when it may be asked for.
        begins = timeline.start + (follower.number - timeline.start_number) * SEGMENT_S
        assert follower.ask_at() == pytest.approx(begins + PART_S)
    assert [b - a for a, b in itertools.pairwise(asks)] == [pytest.approx(SEGMENT_S)] * 3
    assert follower.segment_path() == f"aac/{follower.number}.m4s"
    assert timeline.init_path() == "aac/init.mp4"


def test_an_opus_listener_follows_the_opus_timeline() -> None:
    """Opus is its own stream: 0.48 s parts (chunks), 1.92 s segments, its own numbers."""
    clock = Clock(T0)
    aac = LiveStream(PART_S, PPS, clock=clock)
    opus = LiveStream(OPUS_PART_S, 4, clock=clock)
    aac.set_init(b"init")
    opus.set_init(b"init")
    for tick in range(1, 80):
        clock.now = T0 + tick * 0.032  # both published as their parts complete
        if tick % 8 == 0:
            aac.publish(b"part", PART_S)
        if tick % 15 == 0:
            opus.publish(b"part", OPUS_PART_S)
    text = _render(aac.state(), clock.now, opus.state())
    timeline = read_timeline(text, ("opus",))
    assert timeline.representation == "opus"
    assert timeline.segment_s == pytest.approx(1.92) and timeline.chunk_s == pytest.approx(0.48)
    follower = Follower(timeline, clock.now, 1.2)
    follower.done()
    begins = timeline.start + (follower.number - timeline.start_number) * 1.92
    assert follower.ask_at() == pytest.approx(begins + 0.48)
    assert follower.segment_path() == f"opus/{follower.number}.m4s"
    assert read_timeline(text, PREFER).representation == "aac"


def test_the_mpd_is_reread_every_update_period_and_after_a_404() -> None:
    timeline, now = _timeline()
    follower = Follower(timeline, now, 1.2)
    assert timeline.update_period_s == mpd.MINIMUM_UPDATE_PERIOD_S
    assert not follower.reload_due(now + 5.9) and follower.reload_due(now + 6.0)
    follower.refused(503, now + 1)  # waited out, the same segment again
    assert not follower.reload_due(now + 1)
    follower.refused(404, now + 1)  # gone or not yet: the MPD says where live is
    assert follower.reload_due(now + 1)
    number = follower.number
    follower.reloaded(timeline, now + 1)  # the same Period: carry on where it was
    assert follower.number == number and not follower.reload_due(now + 6.9)


def test_a_new_period_starts_again_at_its_newest_segment() -> None:
    timeline, now = _timeline()
    follower = Follower(timeline, now, 1.2)
    failover = Timeline(**{**_fields(timeline), "start_number": timeline.start_number + 40})
    follower.reloaded(failover, now + 6)
    assert follower.number == failover.newest_available(now + 6)


def test_an_ended_presentation_is_no_longer_reloaded() -> None:
    stream, clock = _live(6.0)
    stream.end()
    timeline = read_timeline(_render(stream.state(), clock.now), PREFER)
    follower = Follower(timeline, clock.now, 1.2)
    assert follower.ended and not follower.reload_due(clock.now + 3600)


def test_far_behind_live_it_tunes_in_again() -> None:
    timeline, now = _timeline()
    follower = Follower(timeline, now, 1.2)
    late = follower.ask_at() + MAX_BEHIND_SEGMENTS * SEGMENT_S
    assert not follower.fell_behind(late - 0.01)
    assert follower.fell_behind(late + 0.5)
    assert follower.number == timeline.number_at(late + 0.5 - 1.2)
    assert follower.start_at == pytest.approx(late + 0.5 - 1.2)


def _fields(timeline: Timeline) -> dict[str, Any]:
    return {name: getattr(timeline, name) for name in Timeline.__dataclass_fields__}


# --- what each chunk means --------------------------------------------------------------------


def test_chunks_play_from_the_target_and_each_on_time_segment_reports_its_latency() -> None:
    timeline, _ = _timeline()
    at = timeline.start + 10 * SEGMENT_S + 0.7  # live is 0.7 s into segment 10's media
    follower = Follower(timeline, at, 1.2)
    tuned = follower.number
    assert tuned == timeline.number_at(at - 1.2) == timeline.start_number + 9
    # Tune-in: segment 9 was asked for late; its chunks all come at once. Those before the
    # start point are not played; the one holding it is, from there; no latency is reported.
    segment = follower.begin(at)
    heard = [c for data in _segment(timeline, tuned) for c in segment.feed(data, at + 0.01)]
    assert [c.latency_s for c in heard] == [None] * PPS
    start_in_segment = at - 1.2 - timeline.media_end(tuned, 0)
    assert sum(c.played_s for c in heard) == pytest.approx(SEGMENT_S - start_in_segment)
    assert [c.first_audio for c in heard].count(True) == 1
    follower.done()
    # Segment 10 is live: asked for at once (late), its first chunks come at once, the others
    # as they are produced (70 ms after their end on the timeline); no latency reported.
    number = follower.number
    segment = follower.begin(at + 0.01)
    for i, data in enumerate(_segment(timeline, number)):
        arrived = max(at + 0.01, timeline.media_end(number, i + 1) + 0.07)
        [chunk] = segment.feed(data, arrived)
        assert chunk.latency_s is None and chunk.played_s == pytest.approx(PART_S)
    follower.done()
    # Segment 11, asked for the moment its first chunk was done: that chunk's latency, once.
    number = follower.number
    segment = follower.begin(follower.ask_at())
    for i, data in enumerate(_segment(timeline, number)):
        arrived = timeline.media_end(number, i + 1) + 0.07
        [chunk] = segment.feed(data, arrived)
        assert chunk.played_s == pytest.approx(PART_S)
        assert chunk.latency_s == (pytest.approx(0.07) if i == 0 else None)
        assert not chunk.stalls and not chunk.first_audio
    follower.done()
    # It plays 1.2 s behind the speaker (the target; started 10 ms after tuning in), in real
    # time, and never ran dry.
    end = timeline.media_end(number, PPS) + 0.07
    assert follower.playback_latency(end) == pytest.approx(1.21, abs=0.001)
    assert follower.buffer.stalls == 0


def test_a_late_chunk_is_a_stall_and_a_late_segment_reports_no_latency() -> None:
    timeline, now = _timeline()
    follower = Follower(timeline, now, 1.2)
    segment = follower.begin(now)
    for data in _segment(timeline, follower.number):
        segment.feed(data, now)
    follower.done()
    number = follower.number
    segment = follower.begin(follower.ask_at() + SEGMENT_S)  # asked a whole segment late
    chunks = [segment.feed(data, follower.ask_at() + 3.0) for data in _segment(timeline, number)]
    assert all(c.latency_s is None for [c] in chunks)
    stalls = [s for [c] in chunks for s in c.stalls]
    assert len(stalls) == 1 and stalls[0][1] > 0.5  # the buffer ran dry, then refilled


# --- reading a growing body -------------------------------------------------------------------


def _growing(chunks: list[bytes]) -> tuple[Callable[[int], bytes], list[int]]:
    """A ``read(n)`` over the chunks that fails the test if it would wait on bytes past the
    chunk being read: what a blocking read of a body still being produced would do."""
    data = b"".join(chunks)
    ends = [sum(len(c) for c in chunks[: i + 1]) for i in range(len(chunks))]
    position = [0]
    asked: list[int] = []

    def read(n: int) -> bytes:
        at = position[0]
        asked.append(n)
        if at == len(data):
            return b""  # the body ended
        boundary = next((end for end in ends if end > at), len(data))
        assert at + n <= boundary, f"read({n}) at {at} waits past the chunk ending at {boundary}"
        position[0] = at + n
        return data[at : at + n]

    return read, asked


def test_boxes_are_read_without_waiting_past_a_chunk() -> None:
    timeline, _ = _timeline()
    chunks = _segment(timeline, timeline.start_number + 3)
    read, asked = _growing(chunks)
    got = list(boxes(read))
    assert b"".join(got) == b"".join(chunks)
    assert [box[4:8] for box in got] == [b"moof", b"mdat"] * PPS
    assert len(asked) == 4 * PPS + 1  # header and payload per box, then the end
    # A fixed-size read would have: 4,096 bytes is more than a chunk.
    assert len(chunks[0]) < 4096


def test_a_body_that_breaks_off_inside_a_box_is_an_error() -> None:
    timeline, _ = _timeline()
    data = b"".join(_segment(timeline, timeline.start_number))[:-10]
    stream = iter([data])
    buffer = bytearray()

    def read(n: int) -> bytes:
        buffer.extend(next(stream, b""))
        out = bytes(buffer[:n])
        del buffer[:n]
        return out

    with pytest.raises(ValueError, match="ended inside a box"):
        list(boxes(read))


# --- what a DASH run computes and shows ---------------------------------------------------------


def test_the_protocol_is_dash_unless_told_otherwise() -> None:
    def plan(*argv: str) -> Any:
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        return from_args(parser.parse_args(["--api-url", "http://x", *argv]))

    assert plan().protocol == "dash" and plan().dash_rendition == "opus"
    assert plan("--protocol", "hls").protocol == "hls"
    assert plan("--dash-rendition", "aac").dash_rendition == "aac"
    assert plan().to_json()["protocol"] == "dash"
    with pytest.raises(SystemExit):
        plan("--protocol", "icecast")


ROUTES = {
    "mpd": "/dash/{space_id}/live.mpd",
    "segment": "/dash/{space_id}/{rendition}/{name}",
    "init": "/dash/{space_id}/{rendition}/init.mp4",
    "clock": "/dash/time",
    "part": "/hls/{space_id}/{name}",
}


def _metrics(parts: float, **requests: float) -> str:
    """/metrics text: these requests by route, and the parts published."""
    lines = ["# TYPE majlis_http_requests_total counter"]
    for name, count in requests.items():
        route = ROUTES[name]
        lines.append(
            f'majlis_http_requests_total{{route="{route}",method="GET",status="200"}} {count}'
        )
    lines += ["# TYPE majlis_hls_parts_published_total counter"]
    lines += [f"majlis_hls_parts_published_total {parts}", ""]
    return "\n".join(lines)


def test_origin_segment_requests_are_counted_per_segment_published() -> None:
    first = metrics.parse(_metrics(80, mpd=1, segment=10, init=3, clock=3, part=0), T0)
    last = metrics.parse(_metrics(240, mpd=6, segment=30, init=3, clock=3, part=40), T0 + 41)
    assert (first.mpd_requests, first.segment_requests, first.other_dash_requests) == (1, 10, 6)
    amp = metrics.amplification(first, last)
    assert amp["segments_published"] == 20  # 160 parts, 8 a segment
    assert amp["segment_per_segment"] == 1.0 and amp["mpd_per_segment"] == 0.25
    assert amp["part_per_part"] == 0.25  # the LL-HLS figures are as they were
    assert amp["playlist_per_part"] == 0.0


def test_part_and_segment_durations_are_the_programs() -> None:
    from majlis.media import program

    aac = program.PART_TARGET_S * program.PARTS_PER_SEGMENT
    opus = program.OPUS_PART_TARGET_S * program.OPUS_PARTS_PER_SEGMENT
    assert (metrics.PART_S, metrics.SEGMENT_S["aac"], metrics.SEGMENT_S["opus"]) == (
        pytest.approx(program.PART_TARGET_S),
        pytest.approx(aac),
        pytest.approx(opus),
    )
    assert set(metrics.SEGMENT_S) == {mpd.AAC.id, mpd.OPUS.id}


def test_opus_listeners_are_counted_against_opus_segments() -> None:
    first = metrics.parse(_metrics(0, segment=0), T0)
    last = metrics.parse(_metrics(75, segment=10), T0 + 19.2)  # 19.2 s: 10 Opus segments
    amp = metrics.amplification(first, last, "opus")
    assert amp["segments_published"] == pytest.approx(10)
    assert amp["segment_per_segment"] == pytest.approx(1.0)
    assert metrics.amplification(first, last)["segments_published"] == pytest.approx(75 / 8)


def _entry(kind: str, count: int, p50: float = 1.0) -> dict[str, Any]:
    timings = {f"{q}_ms": p50 for q in ("p50", "p90", "p99", "max")}
    return {"type": kind, "count": count, "failures": 0, "sum_ms": p50 * count, **timings}


def _row(t: int) -> dict[str, Any]:
    """A second of a 20-listener DASH run: everyone seated and playing in the first."""
    return {
        **dict.fromkeys(("stall", "join 503", "join 429"), 0),
        **{"join p50": 5.0, "join p99": 9.0, "seated p99": 9.0},
        "t": float(t),
        "users": 20,
        "seated": 20 if t == 1 else 0,
        "first audio": 20 if t == 1 else 0,
        "segment": 10 * (t % 2),
        "chunk latency p50": 70.0 + t,
        "chunk latency p99": 90.0 + t,
    }


def _dash_run() -> tuple[dict[str, Any], list[metrics.Reading]]:
    engine = {
        "started": T0,
        "timeline": [_row(t) for t in range(1, 21)],
        "totals": {
            "join": _entry("POST", 20),
            "seated": _entry("METRIC", 20),
            "first audio": _entry("METRIC", 20, 40.0),
            "mpd": _entry("GET", 60),
            "clock": _entry("GET", 20),
            "init": _entry("GET", 20),
            "segment": _entry("GET", 200),
            "heartbeat": _entry("POST", 20),
            "chunk latency": _entry("METRIC", 180, 72.0),
            "playback latency": _entry("METRIC", 20, 1210.0),
            "audio": _entry("METRIC", 20, 20_000.0),
        },
    }
    readings = [
        metrics.parse(_metrics(4 * i, mpd=3 * i, segment=2 * i, part=i), T0 + i - 0.5)
        for i in range(0, 22)
    ]
    return engine, readings


def test_a_dash_run_is_summed_up_and_checked_per_segment() -> None:
    engine, readings = _dash_run()
    summary, figures = summarize(20, engine, {}, readings, True, "dash", "aac")
    assert summary["protocol"] == "dash" and figures.protocol == "dash"
    assert summary["dash_rendition"] == "aac"
    assert summary["segments_fetched"] == 200 and summary["mpd_reloads"] == 60
    assert summary["chunk_latency_ms"]["p50"] == 72.0
    assert summary["chunk_latency_ms"]["count"] == 180
    assert summary["playback_latency_ms"]["p99"] == 1210.0
    # 2 segment requests a second over half a segment published a second: 4 per segment
    # (the HLS figure, 1 part request per part, would have passed), less the one request the
    # window's ends may cut (summary._worst).
    steady = summary["amplification_steady"]
    assert steady["segment_per_segment"] == pytest.approx(4.0)
    expected = (steady["segment_requests"] - 1) / steady["segments_published"]
    assert figures.amplification == pytest.approx(expected) and expected > 3.5
    verdict = decide(20, 60, figures)
    check = next(c for c in verdict["checks"] if "per edge" in c["name"])
    assert check["name"] == "origin requests per segment per edge" and not check["ok"]


def test_a_dash_steady_state_too_short_to_count_segments_is_not_read() -> None:
    """The origin counts a segment request when its answer ends, 2 s after it began: a steady
    window of a segment or two says 0 or 2 requests a segment by where it falls."""
    engine, readings = _dash_run()
    short = [r for r in readings if r.at <= T0 + 6.5]  # everyone playing at 1 s, settled at 3 s
    summary, figures = summarize(20, engine, {}, short, True, "dash", "aac")
    assert summary["amplification_steady"] is None
    whole = summary["amplification"]  # the whole run's, less the one request its ends may cut
    expected = (whole["segment_requests"] - 1) / whole["segments_published"]
    assert figures.amplification == pytest.approx(expected)


def test_the_report_of_a_dash_run_shows_its_dash_figures() -> None:
    engine, readings = _dash_run()
    summary, figures = summarize(20, engine, {}, readings, True, "dash", "aac")
    report = {
        "plan": {"profile": "steady", "listeners": 20, "over_s": 1.0, "hold_s": 19.0,
                 "speakers": 1, "probes": 0, "api_url": "http://o", "hls_url_base": "http://e",
                 "protocol": "dash", "dash_rendition": "aac"},
        "summary": summary,
        "verdict": decide(20, 60, figures),
        "engine": engine,
        "media": {},
        "origin": [asdict(r) for r in readings],
    }  # fmt: skip
    html = render_html(report, {})
    assert "LL-DASH (AAC)\nlisteners on" in html
    assert "chunk arrival latency" in html and "72 ms / 72 ms / 72 ms (180)" in html
    assert "segments fetched / MPD reloads / heartbeats" in html and "200 / 60 / 20" in html
    assert "segment / MPD requests per segment" in html
    assert "parts fetched" not in html
    drawn = plots.figures(report)
    assert "chunk latency" in drawn
    amplification = drawn["amplification"][1]
    labels = [line.get_label() for line in amplification.axes[0].lines]
    assert "segment requests per segment" in labels and "MPD requests per segment" in labels
    import matplotlib.pyplot as plt

    plt.close("all")
