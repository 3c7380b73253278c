"""The simulated LL-HLS listener, as a Locust user, and what every simulated listener shares.
Imported only by the engine process (gevent).

``BaseListener`` is a listener of either protocol up to its first media request: it joins
(waiting out 503/429 with the jittered Retry-After), heartbeats at the interval the join answer
gave, and turns what its playback-buffer model hears into measurements. ``ListenerUser``
(LL-HLS, hls.js's way) fetches the init segment and the last parts of the live playlist (a
player starts a few parts behind the live edge), then follows the stream part by part: a
blocking playlist reload for the next part, then that part. ``dash_user.DashListenerUser``
is the LL-DASH one (dash.js's way, what the web client plays).

Measurements travel as Locust request events, so a distributed run aggregates them on the
master like any request: real requests are named ``join``, ``playlist``, ``part``, ``init``,
``heartbeat`` (DASH: ``mpd``, ``clock``, ``init``, ``segment``); refusals ``join 503`` /
``join 429`` (and ``playlist 503``, ``segment 503`` ...); derived figures use request type
``METRIC``: ``seated`` (first join attempt → 200), ``first audio`` (first attempt → playback
starts), ``stall`` (one per stall, its length), ``audio`` (seconds of audio received, reported
every 16 parts or chunks and at stop), ``resync`` (the part asked for was gone, or far behind
live: tuned in again at the live edge); DASH adds ``chunk latency`` and ``playback latency``
(dash_user.py).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import gevent  # type: ignore[import-untyped]
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from majlis.scaletest import playlist
from majlis.scaletest.backoff import RETRYABLE, retry_delay
from majlis.scaletest.buffer import PlaybackBuffer

#: Parts a player holds before it starts (hls.js starts about three parts behind the edge).
START_PARTS = 3
#: Parts behind the newest one past which a listener jumps back to the live edge (~3 s).
MAX_BEHIND_PARTS = 12
#: Audio received is reported in batches: one stats event per part would cost the generator
#: a third of its events at 2,000 listeners.
AUDIO_REPORT_PARTS = 16


class BaseListener(FastHttpUser):
    """Join, heartbeat, and the measurements every listener reports, whatever it plays."""

    abstract = True
    wait_time = constant(0)
    #: Set by the engine (local) or by the master's ``majlis_config`` message (workers).
    config: ClassVar[dict[str, Any]] = {}
    network_timeout = 30.0
    connection_timeout = 10.0

    def metric(self, name: str, ms: float) -> None:
        self.environment.events.request.fire(
            request_type="METRIC",
            name=name,
            response_time=ms,
            response_length=0,
            exception=None,
            context={},
        )

    def get(self, url: str, name: str) -> Any | None:
        """GET ``url``; on 503/429 wait the jittered Retry-After and say so (None)."""
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code in RETRYABLE:
                response.request_meta["name"] = f"{name} {response.status_code}"
                response.success()
                wait = retry_delay(response.headers.get("retry-after"))
            elif response.status_code == 200:
                return response
            else:
                response.failure(f"{name} {response.status_code}")
                wait = 1.0
        gevent.sleep(wait)
        return None

    def join(self) -> dict[str, Any]:
        """Join until seated (the join answer), and get ready to heartbeat and count audio."""
        cfg = self.config
        self.api = cfg["api_url"]
        self.first_attempt = time.time()
        join = f"{self.api}/api/v1/spaces/{cfg['space_id']}/join"
        while True:
            with self.client.post(join, name="join", catch_response=True) as response:
                status = response.status_code
                if status == 200:
                    body: dict[str, Any] = response.json()
                    break
                if status in RETRYABLE:
                    response.request_meta["name"] = f"join {status}"
                    response.success()
                    wait = retry_delay(response.headers.get("retry-after"))
                else:
                    response.failure(f"join {status}")
                    wait = retry_delay(None, 2.0)
            gevent.sleep(wait)
        self.metric("seated", (time.time() - self.first_attempt) * 1000)
        self.heartbeat_url = self.api + playlist.path_of(body["heartbeat_url"])
        self.heartbeat_every = float(body["heartbeat_interval_s"])
        self.next_heartbeat = time.time() + self.heartbeat_every
        self.audio_unreported, self.parts_unreported = 0.0, 0
        return body

    def heartbeat(self) -> None:
        """Heartbeat if it is time to."""
        if time.time() >= self.next_heartbeat:
            self.next_heartbeat = time.time() + self.heartbeat_every
            self.client.post(self.heartbeat_url, name="heartbeat")

    def heard(self, duration_s: float, started: bool, stalls: list[tuple[float, float]]) -> None:
        """The buffer model took ``duration_s`` of audio (``started``: it began playing)."""
        if started:
            self.metric("first audio", (time.time() - self.first_attempt) * 1000)
        self.audio_unreported += duration_s
        self.parts_unreported += 1
        if self.parts_unreported >= AUDIO_REPORT_PARTS:
            self.report_audio()
        for _began, gap in stalls:
            self.metric("stall", gap * 1000)

    def report_audio(self) -> None:
        if self.parts_unreported:
            self.metric("audio", self.audio_unreported * 1000)
        self.audio_unreported, self.parts_unreported = 0.0, 0

    def on_stop(self) -> None:
        if hasattr(self, "parts_unreported"):  # (a user stopped before it was seated has none)
            self.report_audio()


class ListenerUser(BaseListener):
    """An LL-HLS listener, the way hls.js is one in low-latency mode."""

    def on_start(self) -> None:
        self.hls_url = ""
        body = self.join()
        self.hls_url = self.config["hls_url_base"] + playlist.path_of(body["hls_url"])
        self.base = playlist.hls_base(self.hls_url)
        self.buffer = PlaybackBuffer(start_s=0.0)
        self.next: tuple[int, int] | None = None
        self.last: tuple[int, int] | None = None  # the newest part in the buffer
        while self.get(self.base + "init.mp4", "init") is None:
            pass
        self.tune_in()

    def tune_in(self) -> None:
        """Start a few parts behind the live edge, from the plain playlist, like a player."""
        response = self.get(self.hls_url, "playlist")
        if response is not None:
            self.jump_to_live(playlist.Playlist.of(_text(response)))

    def jump_to_live(self, listing: playlist.Playlist) -> None:
        """Take the newest parts ``text`` lists (those not yet buffered) and wait at its hint.

        A listener that fell behind jumps from the playlist it already holds: asking for the
        plain playlist again would cost the edge an origin request a second while anyone is
        catching up, and a player has no reason to.
        """
        listed = listing.parts[-START_PARTS:]
        if self.buffer.start_s == 0.0:
            self.buffer.start_s = sum(p.duration_s for p in listed) or 0.256
        for ref in listed:
            if self.last is None or ref.key > self.last:
                self.fetch(ref)
        self.next = listing.hint

    def fetch(self, ref: playlist.PartRef) -> bool:
        if self.get(self.base + ref.name, "part") is None:
            return False
        self.last = ref.key
        started = self.buffer.add(time.time(), ref.duration_s)
        self.heard(ref.duration_s, started, self.buffer.take_stalls())
        return True

    @task
    def step(self) -> None:
        self.heartbeat()
        if self.next is None:
            gevent.sleep(0.25)
            self.tune_in()
            return
        msn, index = self.next
        url = f"{self.hls_url}?_HLS_msn={msn}&_HLS_part={index}"
        response = self.get(url, "playlist")
        if response is None:
            return
        listing = playlist.Playlist.of(_text(response))
        ref = listing.find(msn, index)
        if ref is None or listing.behind(ref) > MAX_BEHIND_PARTS:
            # Fell out of the window, or so far behind live that a player would jump to the
            # live edge (hls.js catches up too): start over there, like it.
            self.metric("resync", 0)
            self.jump_to_live(listing)
            return
        if self.fetch(ref):
            self.next = listing.following(ref)


def _text(response: Any) -> str:
    """The body as text. Playlists are UTF-8 (RFC 8216 §4.1); ``response.text`` would run
    charset detection on every answer, a sixth of the generator's CPU at 400 listeners."""
    return bytes(response.content).decode("utf-8", errors="replace")
