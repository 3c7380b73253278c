"""LiveStream: the live LL-HLS playlist, its blocking reloads, and the parts it serves.

Golden text pins the exact playlist; the rest checks the RFC 8216bis rules over a stream that
slides through many segments, and measures that a blocked request wakes as soon as the part it
waits for is published.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from majlis.media.hls.stream import BadDirective, LiveStream, NotYet

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z

# Production shape: 12 AAC frames of 1024 samples at 48 kHz per part, 8 parts per segment.
PART_S = 12 * 1024 / 48000
PPS = 8


class Feeder:
    """Publishes numbered parts while a fake wall clock advances in step with the media."""

    def __init__(self, stream: LiveStream, clock: list[float]) -> None:
        self.stream = stream
        self.clock = clock
        self.count = 0

    def publish(self, duration: float) -> bytes:
        self.clock[0] += duration
        data = f"part-{self.count}".encode()
        self.count += 1
        self.stream.publish(data, duration)
        return data


def make_stream(
    part_target_s: float = PART_S,
    parts_per_segment: int = PPS,
    window_segments: int = 6,
    **kwargs: Any,
) -> tuple[LiveStream, Feeder]:
    clock = [T0]
    stream = LiveStream(
        part_target_s, parts_per_segment, window_segments, clock=lambda: clock[0], **kwargs
    )
    return stream, Feeder(stream, clock)


def attributes(value: str) -> dict[str, str]:
    """An attribute list (``A=1,B="x"``) as a dict; quoted values keep their quotes."""
    return dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', value))


def tag_values(text: str, tag: str) -> list[str]:
    return [line.split(":", 1)[1] for line in text.splitlines() if line.startswith(tag + ":")]


GOLDEN_LIVE = """\
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:1
#EXT-X-PART-INF:PART-TARGET=0.500
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-MAP:URI="init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:21.000Z
#EXTINF:1.000,
1.m4s
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:22.000Z
#EXT-X-PART:DURATION=0.500,URI="2.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI="2.1.m4s",INDEPENDENT=YES
#EXTINF:1.000,
2.m4s
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:23.000Z
#EXT-X-PART:DURATION=0.500,URI="3.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI="3.1.m4s",INDEPENDENT=YES
#EXTINF:1.000,
3.m4s
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:24.000Z
#EXT-X-PART:DURATION=0.500,URI="4.0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="4.1.m4s"
"""

GOLDEN_ENDED = """\
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:1
#EXT-X-PART-INF:PART-TARGET=0.500
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA-SEQUENCE:2
#EXT-X-MAP:URI="init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:22.000Z
#EXTINF:1.000,
2.m4s
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:23.000Z
#EXT-X-PART:DURATION=0.500,URI="3.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI="3.1.m4s",INDEPENDENT=YES
#EXTINF:1.000,
3.m4s
#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:24.000Z
#EXT-X-PART:DURATION=0.500,URI="4.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.250,URI="4.1.m4s",INDEPENDENT=YES
#EXTINF:0.750,
4.m4s
#EXT-X-ENDLIST
"""


def test_golden_live_playlist() -> None:
    stream, feed = make_stream(0.5, 2, 3, part_segments=2)
    for _ in range(9):
        feed.publish(0.5)
    assert stream.render() == GOLDEN_LIVE


def test_golden_ended_playlist_closes_the_short_last_segment() -> None:
    stream, feed = make_stream(0.5, 2, 3, part_segments=2)
    for _ in range(9):
        feed.publish(0.5)
    feed.publish(0.25)
    stream.end()
    assert stream.render() == GOLDEN_ENDED
    assert stream.segment(4) == b"part-8part-9"


def test_production_header_values() -> None:
    stream, feed = make_stream()
    feed.publish(PART_S)
    text = stream.render()
    assert tag_values(text, "#EXT-X-TARGETDURATION") == ["3"]  # ceil(8 * 0.256 s)
    assert tag_values(text, "#EXT-X-PART-INF") == ["PART-TARGET=0.256"]
    assert tag_values(text, "#EXT-X-SERVER-CONTROL") == [
        "CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.768"
    ]
    assert stream.block_timeout_s == 9.0


def test_sliding_window_keeps_rfc_invariants() -> None:
    stream, feed = make_stream()
    previous_sequence = 0
    for n in range(20 * PPS + 3):
        feed.publish(PART_S)
        text = stream.render()
        part_target = float(attributes(tag_values(text, "#EXT-X-PART-INF")[0])["PART-TARGET"])
        control = attributes(tag_values(text, "#EXT-X-SERVER-CONTROL")[0])
        # Safari refuses a playlist whose part outlasts PART-TARGET.
        for part in tag_values(text, "#EXT-X-PART"):
            assert float(attributes(part)["DURATION"]) <= part_target
        assert float(control["PART-HOLD-BACK"]) >= 3 * part_target - 1e-9
        # Media sequence: never decreases, advances by one per removed segment, and the
        # listed segments are exactly MEDIA-SEQUENCE, MEDIA-SEQUENCE + 1, ...
        sequence = int(tag_values(text, "#EXT-X-MEDIA-SEQUENCE")[0])
        assert sequence - previous_sequence in (0, 1)
        previous_sequence = sequence
        listed = [int(line[:-4]) for line in text.splitlines() if re.fullmatch(r"\d+\.m4s", line)]
        assert listed == list(range(sequence, sequence + len(listed)))
        assert len(listed) == min(6, (n + 1) // PPS)
        assert len(tag_values(text, "#EXT-X-PROGRAM-DATE-TIME")) == len(listed) + (
            (n + 1) % PPS != 0
        )
        # Parts are listed for the last three complete segments and the open one.
        part_uris = [attributes(p)["URI"] for p in tag_values(text, "#EXT-X-PART")]
        assert len(part_uris) == min(3, len(listed)) * PPS + (n + 1) % PPS
        hint = attributes(tag_values(text, "#EXT-X-PRELOAD-HINT")[0])
        assert hint["URI"] == f'"{(n + 1) // PPS}.{(n + 1) % PPS}.m4s"'
    assert previous_sequence == 20 - 6


def test_memory_is_bounded_and_old_media_expires() -> None:
    stream, feed = make_stream()
    first = feed.publish(PART_S)
    for _ in range(100 * PPS):
        feed.publish(PART_S)
    assert stream.segment(0) is None
    assert asyncio.run(stream.part(0, 0, 1.0)) is None
    assert first == b"part-0"
    # Retained: the window, plus what RFC 8216bis makes us keep serving after removal.
    kept = [msn for msn in range(101) if stream.segment(msn) is not None]
    assert kept == list(range(100 - len(kept), 100))
    assert 6 < len(kept) <= 12


def test_segment_is_its_parts_concatenated() -> None:
    stream, feed = make_stream()
    parts = [feed.publish(PART_S) for _ in range(PPS)]
    assert stream.segment(0) == b"".join(parts)
    assert stream.segment(1) is None  # not complete yet (not even started)
    assert asyncio.run(stream.part(0, 3, 1.0)) == parts[3]


def test_program_date_follows_the_media_clock_and_resyncs_after_a_stall() -> None:
    stream, feed = make_stream()
    for _ in range(2 * PPS):
        feed.publish(PART_S)
    # Jitter in delivery does not move dates: segment 2 starts exactly 2 * 2.048 s in.
    feed.clock[0] += 0.05
    for _ in range(PPS):
        feed.publish(PART_S)
    # A real stall (the mixer stopped for 3 s) shows on every part of a segment...
    feed.clock[0] += 3.0
    for _ in range(2 * PPS):
        feed.publish(PART_S)
    dates = tag_values(stream.render(), "#EXT-X-PROGRAM-DATE-TIME")
    assert dates == [
        "2023-11-14T22:13:20.000Z",
        "2023-11-14T22:13:22.048Z",
        "2023-11-14T22:13:24.096Z",
        "2023-11-14T22:13:26.144Z",  # the stalled segment: detected from its parts
        "2023-11-14T22:13:31.242Z",  # ...so the next one is re-anchored (+3.05 s)
    ]


def test_a_known_origin_dates_the_first_segment_however_late_its_part_is() -> None:
    """Two renditions of one program, the second's first part published 0.18 s late (a cold
    encoder on a busy machine): given the program's origin, both start at the same date."""
    origin = T0 - 1.0

    def first_date(late_s: float) -> str:
        stream, feed = make_stream(origin=lambda: origin)
        feed.clock[0] += late_s
        for _ in range(2 * PPS):
            feed.publish(PART_S)
        return tag_values(stream.render(), "#EXT-X-PROGRAM-DATE-TIME")[0]

    assert first_date(0.0) == first_date(0.18) == "2023-11-14T22:13:19.000Z"
    unknown, feed = make_stream(origin=lambda: None)  # not known yet: estimated, as before
    feed.publish(PART_S)
    assert tag_values(unknown.render(), "#EXT-X-PROGRAM-DATE-TIME") == ["2023-11-14T22:13:20.000Z"]


def test_blocking_reload_returns_at_once_when_already_satisfied() -> None:
    stream, feed = make_stream()
    for _ in range(PPS + 2):
        feed.publish(PART_S)

    async def main() -> None:
        assert await stream.playlist(0, None, 0.01) == stream.render()
        assert await stream.playlist(1, 1, 0.01) == stream.render()
        assert await stream.playlist(0, 7, 0.01) == stream.render()
        # A part index past the segment's last counts as part 0 of the next (§6.2.5.2).
        assert await stream.playlist(0, 8, 0.01) == stream.render()

    asyncio.run(main())


def test_blocking_reload_times_out_with_not_yet() -> None:
    stream, feed = make_stream()
    feed.publish(PART_S)

    async def main() -> None:
        with pytest.raises(NotYet):
            await stream.playlist(0, 1, 0.05)
        with pytest.raises(NotYet):
            await stream.playlist(0, None, 0.05)  # segment 0 is not complete
        with pytest.raises(NotYet):
            await stream.part(0, 1, 0.05)  # the hinted part, never published

    asyncio.run(main())


@pytest.mark.parametrize(
    ("msn", "part", "why"),
    [
        (None, 0, "_HLS_part without _HLS_msn"),
        (4, None, "more than two segments past the last (segment 1)"),
        (4, 0, "more than two segments past the last"),
        (3, 7, "13 parts ahead: beyond the Advance Part Limit (3 / 0.256 s = 11.7)"),
        (1, 100, "a part index far beyond what a segment holds"),
        (-1, None, "negative"),
        (1, -1, "negative"),
    ],
)
def test_bad_directives_are_refused(msn: int | None, part: int | None, why: str) -> None:
    stream, feed = make_stream()
    for _ in range(2 * PPS + 3):  # segments 0 and 1 complete, segment 2 has parts 0..2
        feed.publish(PART_S)

    async def main() -> None:
        with pytest.raises(BadDirective):
            await stream.playlist(msn, part, 0.01)

    asyncio.run(main())


def test_directives_within_the_limits_wait() -> None:
    stream, feed = make_stream()
    for _ in range(2 * PPS + 3):
        feed.publish(PART_S)

    async def main() -> None:
        for msn, part in [(3, 4), (3, None), (2, 3)]:
            with pytest.raises(NotYet):
                await stream.playlist(msn, part, 0.01)

    asyncio.run(main())


def test_directives_are_ignored_once_the_stream_ended() -> None:
    stream, feed = make_stream()
    feed.publish(PART_S)
    stream.end()

    async def main() -> None:
        # §6.2.5.2: "A Server MUST ignore _HLS_msn and _HLS_part if the Playlist contains an
        # EXT-X-ENDLIST tag."
        assert (await stream.playlist(50, 3, 0.01)).endswith("#EXT-X-ENDLIST\n")
        assert (await stream.playlist(None, 3, 0.01)).endswith("#EXT-X-ENDLIST\n")
        assert "PRELOAD-HINT" not in stream.render()
        assert await stream.part(0, 1, 0.01) is None

    asyncio.run(main())


def test_end_wakes_waiters() -> None:
    stream, feed = make_stream()
    feed.publish(PART_S)

    async def main() -> None:
        waiting = asyncio.ensure_future(stream.playlist(0, 5, 5.0))
        hinted = asyncio.ensure_future(stream.part(0, 1, 5.0))
        # Time for both to park (nothing to ask: had they not yet, end() would answer them all
        # the same, so this cannot flake, only test less).
        await asyncio.sleep(0.01)
        stream.end()
        assert (await waiting).endswith("#EXT-X-ENDLIST\n")
        assert await hinted is None

    asyncio.run(main())


def test_unknown_parts_are_not_held() -> None:
    stream, feed = make_stream()
    feed.publish(PART_S)

    async def main() -> None:
        started = time.monotonic()
        assert await stream.part(0, 2, 5.0) is None  # one past the hinted part
        assert await stream.part(7, 0, 5.0) is None
        assert time.monotonic() - started < 0.1

    asyncio.run(main())


def _publish_from_thread(
    loop: asyncio.AbstractEventLoop, publish: Callable[[], None], delay_s: float
) -> threading.Thread:
    """Publish as the encoder thread does: from another thread, via call_soon_threadsafe."""

    def run() -> None:
        time.sleep(delay_s)  # while the reader blocks: its wake-up is what is timed
        loop.call_soon_threadsafe(publish)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


async def _wake_latency_scenario() -> None:
    stream, feed = make_stream()
    for _ in range(PPS + 3):  # next part: segment 1, part 3
        feed.publish(PART_S)
    loop = asyncio.get_running_loop()
    published: list[float] = []

    def publish() -> None:
        feed.publish(PART_S)
        published.append(time.monotonic())

    thread = _publish_from_thread(loop, publish, 0.15)
    text = await stream.playlist(1, 3, 2.0)
    woke = time.monotonic()
    thread.join()
    assert '"1.3.m4s"' in text
    assert published and 0 <= woke - published[0] < PART_S
    # The same for a preload-hinted part request.
    thread = _publish_from_thread(loop, publish, 0.15)
    data = await stream.part(1, 4, 2.0)
    woke = time.monotonic()
    thread.join()
    assert data == f"part-{PPS + 4}".encode()
    assert 0 <= woke - published[1] < PART_S


def test_blocking_reload_wakes_within_a_part_of_publication() -> None:
    asyncio.run(_wake_latency_scenario())


def test_publish_refuses_a_part_longer_than_the_target() -> None:
    stream, _ = make_stream()
    with pytest.raises(ValueError, match="exceeds the part target"):
        stream.publish(b"x", PART_S + 0.01)


def test_window_shorter_than_three_target_durations_is_refused() -> None:
    # §6.2.2: a live playlist must keep at least three target durations of segments.
    with pytest.raises(ValueError, match="three target durations"):
        LiveStream(PART_S, PPS, window_segments=2)


def test_init_segment_is_kept() -> None:
    stream, _ = make_stream()
    assert stream.init is None
    stream.set_init(b"init")
    assert stream.init == b"init"
