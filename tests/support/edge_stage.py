"""An edge in front of a real origin process with a live Space, as the edge tests (Varnish,
Squid) stage it: the stage and its origin's access log, listeners reading a streamed answer, and
the Space's DASH paths."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from majlis.api.routes.media import BLOCK_TIMEOUT_S
from majlis.delivery.varnish import BACKEND_TIMEOUT_S
from tests.media.tones import decode_mp4, tone_strength
from tests.support.live_space import LiveSpace, Origin, hint
from tests.support.varnish import VarnishEdge
from tests.support.wait import eventually

#: How long a segment request may wait at the origin for the segment's first chunk (the origin's
#: ``open_segment`` wait) before it streams for a segment's duration (~2 s).
DASH_FIRST_CHUNK_WAIT_S = BLOCK_TIMEOUT_S
ACCESS = re.compile(
    r'uvicorn\.access: (?P<client>[\d.]+):\d+ - "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+"'
    r" (?P<status>\d+)"
)
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@dataclass
class Stage:
    origin: Origin
    edge: VarnishEdge
    space: LiveSpace

    @property
    def hls(self) -> str:
        return self.space.hls

    def origin_requests(self, target: str = "", method: str = "") -> list[re.Match[str]]:
        """The origin's access-log lines (``target`` a path prefix, query included)."""
        lines = (ACCESS.search(line) for line in self.origin.log.read_text().splitlines())
        return [
            m
            for m in lines
            if m and m["target"].startswith(target) and (not method or m["method"] == method)
        ]


@dataclass
class Reader:
    """One listener reading a streamed answer: when its first and last bytes came, and whether
    the answer broke off (``error``)."""

    url: str
    status: int = 0
    cache: str = ""
    body: bytes = b""
    first_at: float = 0.0
    last_at: float = 0.0
    error: str = ""
    started: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def run(self, http: httpx.Client) -> None:
        try:
            with http.stream("GET", self.url) as response:
                self.status, self.cache = response.status_code, response.headers.get("x-cache", "")
                for chunk in response.iter_raw():
                    if not self.body:
                        self.first_at = time.monotonic()
                        self.started.set()
                    self.body += chunk
                self.last_at = time.monotonic()
        except httpx.HTTPError as exc:
            self.error = repr(exc)
        finally:
            self.started.set()
            self.done.set()


def read_all(readers: list[Reader]) -> None:
    limits = httpx.Limits(max_connections=len(readers))
    with httpx.Client(timeout=BACKEND_TIMEOUT_S + 5, limits=limits) as http:
        threads = [threading.Thread(target=r.run, args=(http,)) for r in readers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(BACKEND_TIMEOUT_S * 2)


def dash_prefix(stage: Stage) -> str:
    """The Space's DASH path, or a skip naming the routes the origin does not have yet."""
    prefix = f"/dash/{stage.space.space_id}"
    mpd = httpx.get(f"{stage.origin.url}{prefix}/live.mpd", timeout=10)
    if mpd.status_code == 404:
        pytest.skip(
            "the origin has no LL-DASH routes yet (GET /dash/{space_id}/live.mpd, "
            "/dash/{space_id}/{rendition}/init.mp4 and /{number}.m4s answer 404)"
        )
    assert mpd.status_code == 200, mpd.text
    return prefix


def next_segment(stage: Stage) -> int:
    """A segment not begun yet (DASH numbers its segments as the HLS playlist does)."""
    msn, _index = hint(stage.space.origin_playlist())
    return msn + 1


def listeners_following(edge_url: str, prefix: str, numbers: range, listeners: int = 100) -> None:
    """``listeners`` listeners each read the segments ``numbers`` in a row through the edge,
    asking for the next as the last one ends (as an LL-DASH player at the live edge does); each
    segment reached all of them, whole and the same."""

    def follow(http: httpx.Client) -> list[Reader]:
        read = []
        for number in numbers:
            reader = Reader(f"{edge_url}{prefix}/aac/{number}.m4s")
            reader.run(http)
            read.append(reader)
        return read

    limits = httpx.Limits(max_connections=listeners)
    with (
        httpx.Client(timeout=BACKEND_TIMEOUT_S + 5, limits=limits) as http,
        ThreadPoolExecutor(listeners) as pool,
    ):
        followed = list(pool.map(lambda _: follow(http), range(listeners)))
    for index, number in enumerate(numbers):
        got = [listener[index] for listener in followed]
        seen = Counter((r.status, r.error, len(r.body)) for r in got)
        assert {(r.status, r.error) for r in got} == {(200, "")}, (number, seen)
        assert len({r.body for r in got}) == 1, (number, seen)


def a_crowd_reads_the_next_segment(stage: Stage, prefix: str, crowd: int = 100) -> list[Reader]:
    """``crowd`` listeners ask the edge at once for a segment not begun yet: each gets it whole,
    the same bytes as the segment the origin lists once complete, and it decodes to the speaker
    bot's tone with the init segment. The readers, for what else a test checks."""
    number = next_segment(stage)
    readers = [Reader(f"{stage.edge.url}{prefix}/aac/{number}.m4s") for _ in range(crowd)]
    read_all(readers)
    assert {(r.status, r.error) for r in readers} == {(200, "")}
    assert len({r.body for r in readers}) == 1
    complete = eventually(  # listed by the origin once complete
        lambda: httpx.get(f"{stage.origin.url}{stage.hls}/{number}.m4s").content,
        message=f"segment {number} never completed at the origin",
    )
    assert readers[0].body == complete
    init = httpx.get(f"{stage.edge.url}{prefix}/aac/init.mp4")
    assert init.status_code == 200
    pcm, rate = decode_mp4(init.content + readers[0].body)
    assert pcm.size >= rate and tone_strength(pcm, rate, 440) > 30
    return readers
