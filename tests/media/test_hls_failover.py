"""A stream that continues a dead node's stream (failover): the next media sequence number,
behind an EXT-X-DISCONTINUITY, with EXT-X-DISCONTINUITY-SEQUENCE counting on (RFC 8216bis
§4.4.3.3, §4.4.4.3, §6.2.2)."""

from __future__ import annotations

import re

from majlis.media.hls.stream import LiveStream

PART_S = 0.256
PPS = 4


def _stream(**kwargs: object) -> LiveStream:
    return LiveStream(PART_S, PPS, **kwargs)  # type: ignore[arg-type]


def _publish(stream: LiveStream, count: int) -> None:
    for _ in range(count):
        stream.publish(b"part", PART_S)


def _tag(text: str, name: str) -> int | None:
    found = re.search(rf"^#EXT-X-{name}:(\d+)$", text, re.M)
    return int(found.group(1)) if found else None


def test_a_continued_stream_follows_the_dead_one_across_a_discontinuity() -> None:
    old = _stream()
    _publish(old, 2 * PPS + 3)  # died three parts into segment 2
    last = old.state()
    assert last.hinted == (2, 3) and last.discontinuities == 0
    assert "DISCONTINUITY" not in old.render()

    new = _stream(continues=last)
    _publish(new, 1)
    text = new.render()
    # Segment 2 never completes; the new stream starts at 3, after the discontinuity.
    assert _tag(text, "MEDIA-SEQUENCE") == 3 and _tag(text, "DISCONTINUITY-SEQUENCE") == 0
    assert re.search(
        r"#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n"
        r'#EXT-X-PART:DURATION=0.256,URI="3.0.m4s"',
        text,
    ), text
    # A player blocked on the old stream's next part is answered by the new stream's first,
    # and its next blocking request (the new hint) is a polite one, not a 400.
    assert new.state().holds(2, 3)
    new.state().check_directives(3, 1)
    new.state().check_directives(4, 0)
    assert new.state().discontinuities == 1

    _publish(new, 7 * PPS - 1)  # segment 3 leaves the window: its tag now counts in the sequence
    text = new.render()
    assert _tag(text, "MEDIA-SEQUENCE") == 4 and _tag(text, "DISCONTINUITY-SEQUENCE") == 1
    assert "#EXT-X-DISCONTINUITY\n" not in text

    third = _stream(continues=new.state())  # a second failover counts on from there
    _publish(third, 1)
    assert _tag(third.render(), "DISCONTINUITY-SEQUENCE") == 1
    assert "#EXT-X-DISCONTINUITY\n" in third.render()
    assert third.state().discontinuities == 2


def test_a_fresh_stream_names_no_discontinuity() -> None:
    stream = _stream()
    _publish(stream, PPS * 6)
    assert "DISCONTINUITY" not in stream.render()
