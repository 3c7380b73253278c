"""Lean simulated LL-HLS and LL-DASH listeners: hundreds per core, for edge tests and benchmarks.

Each listener follows the live playlist the way hls.js does at the live edge: it starts
``PART-HOLD-BACK`` (three parts) behind the newest part, then for every part asks for the
preload-hinted part with a blocking reload (``_HLS_msn``/``_HLS_part``) and fetches it. A
playback-buffer model counts stalls: playback starts once the first parts are in, consumes
media in real time, and stalls whenever the next part arrives after the buffer ran dry.

It speaks HTTP/1.1 over raw asyncio streams with keep-alive (no HTTP library): httpx costs
about ten times the CPU per request, and the load generator must not be what is measured.
Bodies are read with Content-Length or chunked transfer (a DASH segment streamed as it grows).
"""

from __future__ import annotations

import asyncio
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from majlis.media.dash.chunks import Fragments
from majlis.media.dash.mpd import TIME_PATH
from majlis.media.dash.timeline import Timeline, read_timeline, xs_datetime_s

_PART = re.compile(r'#EXT-X-PART:DURATION=([\d.]+),URI="(\d+)\.(\d+)\.m4s"')
_HINT = re.compile(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"')
_SEGMENT = re.compile(r"#EXTINF:([\d.]+),\n(\d+)\.m4s")
_TARGET = re.compile(r"#EXT-X-TARGETDURATION:(\d+)")
START_PARTS = 3  # PART-HOLD-BACK is three part targets
#: A plain HLS player starts this many whole segments behind the newest (6 s of media): hls.js's
#: ``liveSyncDurationCount`` default, and RFC 8216's three target durations of HOLD-BACK.
START_SEGMENTS = 3


class HttpError(Exception):
    """The server answered something a listener cannot use (status in ``status``)."""

    def __init__(self, status: int, retry_after_s: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after_s = retry_after_s


def _head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ", 2)[1]), headers


class Connection:
    """One keep-alive HTTP/1.1 connection that GETs, whole bodies or streamed."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.requests = 0
        #: Bytes read from the socket: heads, bodies and chunk framing (what a listener pays).
        self.received = 0

    async def get(self, path: str) -> bytes:
        """The body of a 200, or HttpError; reconnects once if the server closed the socket."""
        for attempt in (0, 1):
            try:
                return await self._get(path)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _get(self, path: str) -> bytes:
        pieces: list[bytes] = []
        await self.stream(path, pieces.append)
        return b"".join(pieces)

    async def stream(self, path: str, on_bytes: Callable[[bytes], None]) -> dict[str, str]:
        """GET ``path`` and hand each piece of its body to ``on_bytes`` as it arrives: chunked
        transfer (a growing DASH segment) or Content-Length alike. Returns the response's
        headers (names in lower case); HttpError unless 200.

        A kept-alive connection the server closed meanwhile (nginx + Nchan closes one after
        each live segment, whatever its header said) is replaced and the request sent again,
        as browsers do for a GET that got no answer at all."""
        reused = self._streams is not None
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept-Encoding: gzip\r\n\r\n"
        try:
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if not reused:
                raise
            self._streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self._streams
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        status, headers = _head(head)
        self.received += len(head)
        if headers.get("content-encoding", "").lower() == "gzip":  # as a browser takes the MPD
            inflate, deliver = zlib.decompressobj(16 + zlib.MAX_WBITS), on_bytes

            def on_bytes(data: bytes) -> None:
                if plain := inflate.decompress(data):
                    deliver(plain)

        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                line = await reader.readuntil(b"\r\n")
                size = int(line.split(b";")[0], 16)
                self.received += len(line) + size + 2
                if not size:
                    break
                data = await reader.readexactly(size + 2)  # the chunk and its CRLF
                if status == 200:
                    on_bytes(data[:-2])
            await reader.readuntil(b"\r\n")  # no trailers are sent: the final CRLF
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.received += len(body)
            if status == 200 and body:
                on_bytes(body)
        if headers.get("connection", "").lower() == "close":
            self.close()
        if status != 200:
            retry = headers.get("retry-after")
            raise HttpError(status, float(retry) if retry else None)
        return headers

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


@dataclass
class ListenerStats:
    """What one listener (or, summed, an audience) experienced."""

    parts: int = 0
    #: Listeners who saw at least one stall, and stalls in all.
    stalled_listeners: int = 0
    stalls: int = 0
    stalled_s: float = 0.0
    errors: int = 0
    #: The first few errors, in words (what went wrong matters more than how often).
    error_samples: list[str] = field(default_factory=list)
    requests: int = 0
    bytes_received: int = 0
    #: DASH listeners, once tuned in (after their first two segments): bytes received over seconds
    #: listened, every request included (MPD reloads too): what a listener costs in egress.
    steady_bytes: int = 0
    steady_s: float = 0.0
    #: DASH listeners behind an edge: segment answers the edge marked ``X-Cache: MISS`` (each
    #: one origin fetch), and the numbers of the segments asked for.
    edge_misses: int = 0
    segments: set[int] = field(default_factory=set)
    #: DASH listeners: how many chose each Representation (by id) from the MPD.
    renditions: dict[str, int] = field(default_factory=dict)
    startup_s: list[float] = field(default_factory=list)
    #: DASH listeners: for each segment, how long after its first chunk's last sample was
    #: captured that chunk arrived (the edge's and origin's share of the latency).
    chunk_latency_s: list[float] = field(default_factory=list)
    #: DASH listeners: how far behind the speaker each one was playing when it stopped.
    playback_latency_s: list[float] = field(default_factory=list)

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{type(exc).__name__}: {exc}")

    def add(self, other: ListenerStats) -> None:
        self.parts += other.parts
        self.stalled_listeners += other.stalled_listeners
        self.stalls += other.stalls
        self.stalled_s += other.stalled_s
        self.errors += other.errors
        self.error_samples.extend(other.error_samples[: 10 - len(self.error_samples)])
        self.requests += other.requests
        self.bytes_received += other.bytes_received
        self.steady_bytes += other.steady_bytes
        self.steady_s += other.steady_s
        self.edge_misses += other.edge_misses
        self.segments |= other.segments
        for rendition, count in other.renditions.items():
            self.renditions[rendition] = self.renditions.get(rendition, 0) + count
        self.startup_s.extend(other.startup_s)
        self.chunk_latency_s.extend(other.chunk_latency_s)
        self.playback_latency_s.extend(other.playback_latency_s)


def _parts(playlist: str) -> list[tuple[int, int, float]]:
    return [(int(m[2]), int(m[3]), float(m[1])) for m in _PART.finditer(playlist)]


#: What ends a listener (counted as an error, never raised to the audience).
LISTENING_ERRORS = (HttpError, OSError, asyncio.IncompleteReadError, ValueError)


def _done(conn: Connection, playback: Playback | None, stats: ListenerStats) -> None:
    conn.close()
    stats.requests += conn.requests
    stats.bytes_received += conn.received
    if playback is not None:
        playback.count(stats)


def preload_hint(playlist: str) -> tuple[int, int] | None:
    """(msn, part index) of the EXT-X-PRELOAD-HINT part: the next one to be published."""
    m = _HINT.search(playlist)
    return (int(m[1]), int(m[2])) if m else None


class Playback:
    """The buffer model: media arrives in parts and plays in real time from the first start."""

    def __init__(self, clock: float) -> None:
        self.started = clock
        self.media_s = 0.0
        self.stalls = 0
        self.stalled_s = 0.0

    def count(self, stats: ListenerStats) -> None:
        """Add this listener's stalls to ``stats``."""
        stats.stalls += self.stalls
        stats.stalled_s += self.stalled_s
        stats.stalled_listeners += self.stalls > 0

    def arrived(self, duration_s: float, clock: float) -> None:
        played = clock - self.started - self.stalled_s
        if played > self.media_s:  # the buffer ran dry before this part came
            self.stalls += 1
            self.stalled_s += played - self.media_s
        self.media_s += duration_s


async def hls_listener(
    playlist_url: str, duration_s: float, stats: ListenerStats, start_parts: int = START_PARTS
) -> None:
    """Listen to ``playlist_url`` for ``duration_s``; add what happened to ``stats``.

    ``start_parts`` is how far behind the newest part playback starts (the hold-back), in parts.
    """
    url = urlsplit(playlist_url)
    base = url.path.rsplit("/", 1)[0]
    conn = Connection(url.hostname or "127.0.0.1", url.port or 80)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    end = begun + duration_s
    playback: Playback | None = None
    try:
        text = (await conn.get(url.path)).decode()
        listed = _parts(text)[-start_parts:]
        for msn, index, _ in listed:
            await conn.get(f"{base}/{msn}.{index}.m4s")
            stats.parts += 1
        playback = Playback(loop.time())
        playback.media_s = sum(d for _, _, d in listed)
        stats.startup_s.append(loop.time() - begun)
        last = (listed[-1][0], listed[-1][1]) if listed else (-1, -1)
        while (hint := preload_hint(text)) is not None and loop.time() < end:
            try:
                text = (
                    await conn.get(f"{url.path}?_HLS_msn={hint[0]}&_HLS_part={hint[1]}")
                ).decode()
                # Every part after the last one we have, in order: normally just the hinted one.
                for msn, index, duration in _parts(text):
                    if (msn, index) > last:
                        last = (msn, index)  # a part that failed is skipped, as a player would
                        await conn.get(f"{base}/{msn}.{index}.m4s")
                        playback.arrived(duration, loop.time())
                        stats.parts += 1
            except HttpError as exc:
                stats.error(exc)
                await asyncio.sleep(exc.retry_after_s or 0.25)
    except LISTENING_ERRORS as exc:
        stats.error(exc)
    finally:
        _done(conn, playback, stats)


async def segment_listener(playlist_url: str, duration_s: float, stats: ListenerStats) -> None:
    """A plain HLS listener (no low-latency features): whole segments, seconds more latency than
    LL-HLS and about a tenth of the requests.

    It reloads the playlist as RFC 8216 §6.3.4 has a client do (and hls.js does): one target
    duration after the start of a reload that brought something new, half of one after a reload
    that did not. Reloading more often than that would measure a client nobody ships."""
    url = urlsplit(playlist_url)
    base = url.path.rsplit("/", 1)[0]
    conn = Connection(url.hostname or "127.0.0.1", url.port or 80)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    playback: Playback | None = None
    last = -1
    try:
        while loop.time() - begun < duration_s:
            reloaded = loop.time()
            text = (await conn.get(url.path)).decode()
            segments = [(int(m[2]), float(m[1])) for m in _SEGMENT.finditer(text)]
            target = float(m[1]) if (m := _TARGET.search(text)) else 2.0
            if last < 0 and segments:
                last = segments[-START_SEGMENTS][0] - 1 if len(segments) >= START_SEGMENTS else -1
            changed = False
            for msn, duration in segments:
                if msn > last:
                    last, changed = msn, True
                    await conn.get(f"{base}/{msn}.m4s")
                    stats.parts += round(duration / 0.256)
                    if playback is None:
                        playback = Playback(loop.time())
                        playback.media_s = duration
                        stats.startup_s.append(loop.time() - begun)
                    else:
                        playback.arrived(duration, loop.time())
            wait = target if changed else target / 2
            await asyncio.sleep(max(0.0, reloaded + wait - loop.time()))
    except LISTENING_ERRORS as exc:
        stats.error(exc)
    finally:
        _done(conn, playback, stats)


#: A DASH listener this many segments behind live tunes in again at the live edge.
MAX_BEHIND_SEGMENTS = 3


async def dash_listener(
    mpd_url: str,
    duration_s: float,
    stats: ListenerStats,
    *,
    prefer: tuple[str, ...] = ("aac",),
    target_latency_s: float = 1.2,
) -> None:
    """A low-latency DASH listener, the way dash.js is one, for ``duration_s``.

    It reads the MPD (and again every ``minimumUpdatePeriod``), sets its clock by the MPD's
    ``UTCTiming`` URL, and asks for each segment when its first chunk is done, reading the rest
    as it streams in. Playback starts ``target_latency_s`` behind the speaker (dash.js's target
    comes from the MPD's ServiceDescription); the buffer model counts stalls as for LL-HLS."""
    url = urlsplit(mpd_url)
    base = url.path.rsplit("/", 1)[0]
    conn = Connection(url.hostname or "127.0.0.1", url.port or 80)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    playback: Playback | None = None
    origin: float | None = None  # the media time (epoch s) playback starts at
    steady: tuple[int, float] | None = None  # (bytes, clock) once the first segment is in
    try:
        timeline = read_timeline(await conn.get(url.path), prefer)
        stats.renditions[timeline.representation] = 1
        offset = xs_datetime_s((await conn.get(TIME_PATH)).decode()) - time.time()

        def now() -> float:
            return time.time() + offset

        await conn.get(f"{base}/{timeline.init_path()}")
        # Where dash.js starts: the target latency behind live, in whichever segment that is
        # (usually the one before the newest: its chunks all exist and come at once).
        origin = now() - target_latency_s
        number = first_number = min(timeline.newest_available(now()), timeline.number_at(origin))
        reload_at = begun + (timeline.update_period_s or duration_s)
        while loop.time() - begun < duration_s:
            if loop.time() >= reload_at:
                fresh = read_timeline(await conn.get(url.path), prefer)
                if fresh.start_number != timeline.start_number:  # a new Period: a failover
                    number = fresh.newest_available(now())
                timeline = fresh
                reload_at = loop.time() + (timeline.update_period_s or duration_s)
            if now() - timeline.available_at(number) > MAX_BEHIND_SEGMENTS * timeline.segment_s:
                stats.error(ValueError(f"fell behind live at segment {number}; tuned in again"))
                number = timeline.newest_available(now())
            await asyncio.sleep(max(0.0, timeline.available_at(number) - now()))
            asked = now()
            fragments = Fragments(timeline.timescale)
            held_s = 0.0  # media of this segment received so far

            def arrived(
                data: bytes,
                number: int = number,
                fragments: Fragments = fragments,
                timeline: Timeline = timeline,
                asked: float = asked,
            ) -> None:
                nonlocal playback, held_s
                for duration in fragments.feed(data):
                    held_s += duration
                    clock, end = loop.time(), timeline.media_end(number, 0) + held_s
                    stats.parts += 1
                    on_time = asked <= timeline.available_at(number) + timeline.chunk_s / 2
                    if fragments.done == 1 and on_time:
                        # (only for a segment asked for on time: one asked for late, at the
                        # start or after a stall, has its early chunks waiting already)
                        stats.chunk_latency_s.append(now() - end)
                    if playback is None:
                        if end <= origin:
                            continue  # older than where playback starts
                        playback = Playback(clock)
                        playback.media_s = min(duration, end - origin)
                        stats.startup_s.append(clock - begun)
                    else:
                        playback.arrived(duration, clock)

            try:
                headers = await conn.stream(f"{base}/{timeline.segment_path(number)}", arrived)
                stats.segments.add(number)
                stats.edge_misses += headers.get("x-cache") == "MISS"
                number += 1
                if steady is None and number - first_number == 2:
                    # Tuned in: the first segment (complete) and the newest one (what of it
                    # existed) filled the buffer at once; from here bytes come in real time.
                    steady = (conn.received, loop.time())
            except HttpError as exc:
                stats.error(exc)
                if exc.status == 404 and timeline.update_period_s is None:
                    break  # the presentation ended
                reload_at = loop.time()  # 404: gone or not yet; the MPD will say where live is
                await asyncio.sleep(exc.retry_after_s or timeline.chunk_s)
    except LISTENING_ERRORS as exc:
        stats.error(exc)
    finally:
        if steady is not None:
            stats.steady_bytes += conn.received - steady[0]
            stats.steady_s += loop.time() - steady[1]
        if playback is not None and origin is not None:
            played = min(loop.time() - playback.started - playback.stalled_s, playback.media_s)
            stats.playback_latency_s.append(time.time() + offset - (origin + played))
        _done(conn, playback, stats)


async def audience(
    playlist_url: str,
    listeners: int,
    duration_s: float,
    ramp_s: float = 2.0,
    *,
    low_latency: bool = True,
    start_parts: int = START_PARTS,
    dash: bool = False,
    prefer: tuple[str, ...] = ("aac",),
) -> ListenerStats:
    """``listeners`` listeners joining evenly over ``ramp_s``, each listening ``duration_s``:
    LL-HLS listeners, plain HLS ones (whole segments) with ``low_latency=False``, or LL-DASH
    ones with ``dash=True`` (then ``playlist_url`` is the MPD's, and ``prefer`` names the
    Representations they choose, in order)."""
    total = ListenerStats()

    async def one(i: int) -> None:
        await asyncio.sleep(ramp_s * i / max(1, listeners))
        mine = ListenerStats()
        if dash:
            await dash_listener(playlist_url, duration_s, mine, prefer=prefer)
        elif low_latency:
            await hls_listener(playlist_url, duration_s, mine, start_parts)
        else:
            await segment_listener(playlist_url, duration_s, mine)
        total.add(mine)

    await asyncio.gather(*(one(i) for i in range(listeners)))
    return total
