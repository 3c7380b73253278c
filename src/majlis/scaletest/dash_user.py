"""The simulated LL-DASH listener, as a Locust user: what the web client's dash.js does.

After joining (``users.BaseListener``) it reads the MPD the join answer names (``dash_url``, through
``--hls-url-base``: the edge, like every listener's media), picks the rendition the run plays
(``--dash-rendition``: Opus, as dash.js does where the browser plays it, or AAC), sets its clock by
the MPD's ``UTCTiming`` URL (``/dash/time``), fetches the init segment, then follows the stream as
``dash.Follower`` schedules it: each segment asked for once its first chunk is done and read as it
streams in, chunk by chunk, into the playback-buffer model (first audio, stalls), the MPD re-read
every ``minimumUpdatePeriod``. Requests are named ``mpd``, ``clock``, ``init``,
``segment`` (``segment 503``/``429`` when told to come back later, waited out with the jittered
Retry-After; a 404 is an error, and has the MPD re-read). Besides the measurements every
listener reports, it reports ``chunk latency`` (per segment asked for on time: its first
chunk's arrival minus that chunk's end on the MPD's timeline) and ``playback latency`` (at
stop: how far behind the speaker its modelled player was playing).

Reading a growing body with geventhttpclient (2.6), measured: ``response.read(n)`` does not
return what has arrived; it returns once ``n`` bytes of body are in, or the body ended. Against
``majlis serve`` (one chunk every 0.256 s, ~0.1 to 2 KB each), a segment read with
``read(4096)`` or ``read(65536)`` came in one piece at its end: its chunks arrived
1.86, 1.60, ... 0.32, 0.07 s after their ends on the timeline instead of ~0.07 s each; with
``read(256)`` most chunks waited a chunk (~0.32 s) for the next one's bytes to make up the
count. Only ``read(1)`` would be exact, at one system call per byte. So the user reads box by
box (``dash.boxes``): the 8-byte header, then exactly the rest of the box; a chunk's ``mdat``
is then complete the moment its last byte is in, and nothing waits on bytes that are not sent
yet: 64-82 ms for every chunk (its encoding and packaging). Two reads per box, 4 per chunk; at
100 listeners it cost 82-98 µs of generator CPU per chunk, against 70-85 µs for reading
whatever the socket holds through geventhttpclient's private buffer, not worth depending on.
"""

from __future__ import annotations

import http.client
import time
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import task

from majlis.media.dash.timeline import read_timeline, xs_datetime_s
from majlis.scaletest import playlist
from majlis.scaletest.backoff import RETRYABLE, retry_delay
from majlis.scaletest.dash import Chunk, Follower, Segment, boxes, service_of
from majlis.scaletest.users import BaseListener

#: What a segment body that breaks off raises (the socket, the HTTP parser, ``dash.boxes``).
BROKEN = (OSError, ValueError, http.client.HTTPException)


class DashListenerUser(BaseListener):
    """An LL-DASH listener, the way dash.js is one in low-latency mode."""

    def on_start(self) -> None:
        self.finished = False
        body = self.join()
        base = self.config["hls_url_base"]
        self.mpd_url = base + playlist.path_of(body["dash_url"])
        self.media_base = self.mpd_url.split("?", 1)[0].rsplit("/", 1)[0] + "/"
        while (response := self.get(self.mpd_url, "mpd")) is None:
            pass
        text = _text(response)
        # The rendition the run plays (--dash-rendition); an MPD without it has only AAC.
        self.prefer = (str(self.config.get("dash_rendition") or "aac"),)
        timeline = read_timeline(text, self.prefer)
        service = service_of(text)
        self.offset = 0.0
        self.set_clock(service.time_url)
        while self.get(self.media_base + timeline.init_path(), "init") is None:
            pass
        self.follower = Follower(timeline, self.now(), service.target_latency_s)

    def now(self) -> float:
        """The origin's clock (epoch seconds): segment availability is a wall-clock time."""
        return time.time() + self.offset

    def _url(self, url: str) -> str:
        """An URL the MPD gave: the run decides the host (the edge), as for the join answer."""
        if url.startswith("/") or "://" in url:
            return str(self.config["hls_url_base"]) + playlist.path_of(url)
        return str(self.media_base) + url

    def set_clock(self, time_url: str) -> None:
        """The offset to the origin's clock, from ``UTCTiming`` (halfway through the request)."""
        while True:
            sent = time.time()
            response = self.get(self._url(time_url), "clock")
            if response is not None:
                server = xs_datetime_s(_text(response).strip())
                self.offset = server - (sent + time.time()) / 2
                return

    @task
    def step(self) -> None:
        self.heartbeat()
        follower = self.follower
        if self.finished:
            gevent.sleep(1.0)
            return
        if follower.reload_due(self.now()):
            self.reload()
            return
        if follower.fell_behind(self.now()):
            self.metric("resync", 0)
        gevent.sleep(max(0.0, follower.ask_at() - self.now()))
        self.stream()

    def reload(self) -> None:
        follower = self.follower
        response = self.get(self.mpd_url, "mpd")
        if response is None:  # waited out or failed: try again a segment later
            follower.reload_at = self.now() + follower.timeline.segment_s
            return
        follower.reloaded(read_timeline(_text(response), self.prefer), self.now())

    def stream(self) -> None:
        """Ask for the next segment and read it as it streams in."""
        follower = self.follower
        asked = self.now()
        url = self.media_base + follower.segment_path()
        with self.client.get(url, name="segment", stream=True, catch_response=True) as response:
            status = response.status_code
            if status == 200:
                self.read(response, follower.begin(asked))
                follower.done()
                return
            if status:
                _ = response.content  # the error's body: the connection is then reusable
            if status in RETRYABLE:
                response.request_meta["name"] = f"segment {status}"
                response.success()
                wait = retry_delay(response.headers.get("retry-after"))
            else:
                response.failure(f"segment {status}")
                follower.refused(status, self.now())
                # An ended presentation's segments past its end are 404: nothing more to hear.
                self.finished = status == 404 and follower.ended
                wait = follower.timeline.chunk_s
        gevent.sleep(wait)

    def read(self, response: Any, segment: Segment) -> None:
        """Each chunk into the buffer model the moment its last byte is in."""
        received = 0
        try:
            for box in boxes(response.read):
                received += len(box)
                for chunk in segment.feed(box, self.now()):
                    self.chunk(chunk)
        except BROKEN as exc:  # the origin breaks a segment off when its producer died
            response.failure(f"segment broke off: {type(exc).__name__}: {exc}")
        response.request_meta["response_length"] = received

    def chunk(self, chunk: Chunk) -> None:
        if chunk.latency_s is not None:
            self.metric("chunk latency", chunk.latency_s * 1000)
        if chunk.played_s > 0:
            self.heard(chunk.played_s, chunk.first_audio, chunk.stalls)

    def on_stop(self) -> None:
        super().on_stop()
        follower = getattr(self, "follower", None)
        latency = follower.playback_latency(self.now()) if follower is not None else None
        if latency is not None:
            self.metric("playback latency", latency * 1000)


def _text(response: Any) -> str:
    """The body as UTF-8 (no charset sniffing: a fifth of the generator's CPU, see users.py)."""
    return bytes(response.content).decode("utf-8", errors="replace")
