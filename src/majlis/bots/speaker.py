"""A WHIP speaker bot: publishes a source to a Space and records what it hears back.

It speaks the public protocol only (HTTP + WHIP + WebRTC), so it exercises exactly the path a
browser or OBS takes, and honours 503 + Retry-After with jitter like every client we ship.

With ``reconnect`` it heals itself as issue 6 asks of speakers' clients: when the media node
that ran its Space dies, the mix it hears back stops (or ICE fails) and it offers again, with
backoff, to ``base_url``, whose 307 leads to the node the Space moved to.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field

import httpx
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from majlis.media.tracks import to_mono


@dataclass
class SpeakerBot:
    base_url: str
    space_id: str
    token: str
    source: MediaStreamTrack
    #: Seconds of received audio to keep (the mix-minus this bot hears).
    keep_s: float = 10.0
    received: list[npt.NDArray[np.int16]] = field(default_factory=list)
    frames_received: int = 0
    location: str | None = None
    #: Offer again when the connection fails or the mix stops arriving (see the docstring).
    reconnect: bool = False
    #: The mix heard back stopped for this long: the media node is gone.
    stall_s: float = 1.5
    reconnects: int = 0
    _pc: RTCPeerConnection | None = None
    _reader: asyncio.Task[None] | None = None
    _watchdog: asyncio.Task[None] | None = None
    _heard_at: float = 0.0

    async def connect(self, attempts: int = 5) -> None:
        await self._connect(attempts)
        if self.reconnect and self._watchdog is None:
            self._watchdog = asyncio.ensure_future(self._keep_connected())

    async def _keep_connected(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            state = self._pc.connectionState if self._pc is not None else "closed"
            stalled = time.monotonic() - self._heard_at > self.stall_s
            if state not in ("failed", "closed") and not stalled:
                continue
            await self._drop_connection()
            delay = 0.25
            while True:
                try:
                    await self._connect(attempts=1)
                except Exception:
                    await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                    delay = min(delay * 2, 4.0)
                else:
                    self.reconnects += 1
                    break

    async def _drop_connection(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._pc is not None:
            with contextlib.suppress(Exception):
                await self._pc.close()
            self._pc = None
        self.location = None

    async def _connect(self, attempts: int) -> None:
        self._heard_at = time.monotonic()  # the mix has until stall_s to start arriving
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pc = pc
        pc.addTransceiver(self.source, direction="sendrecv")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._reader = asyncio.ensure_future(self._read(track))

        await pc.setLocalDescription(await pc.createOffer())
        assert pc.localDescription is not None
        url = f"{self.base_url}/api/v1/spaces/{self.space_id}/whip"
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/sdp"}
        # WHIP may answer 307 to the node that runs the Space's room (RFC 9725 §4.5).
        try:
            async with httpx.AsyncClient(timeout=20, follow_redirects=True) as http:
                for attempt in range(attempts):
                    sdp = pc.localDescription.sdp
                    response = await http.post(url, content=sdp, headers=headers)
                    if response.status_code != 503 or attempt == attempts - 1:
                        break
                    delay = float(response.headers.get("retry-after", "1"))
                    await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            if response.status_code != 201:
                raise RuntimeError(f"WHIP refused: {response.status_code} {response.text}")
            # Relative to the node that answered, which after a redirect is not ``base_url``.
            self.location = str(response.url.join(response.headers["location"]))
            await pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))
        except BaseException:
            # E.g. redirected to a media node that just died: its sockets must not leak.
            self._pc = None
            await pc.close()
            raise

    async def _read(self, track: MediaStreamTrack) -> None:
        keep = int(self.keep_s * 50)
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.frames_received += 1
                self._heard_at = time.monotonic()
                self.received.append(to_mono(frame))  # type: ignore[arg-type]
                if len(self.received) > keep:
                    del self.received[: len(self.received) - keep]

    def heard(self, last_s: float) -> npt.NDArray[np.int16]:
        frames = self.received[-int(last_s * 50) :]
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)

    async def close(self, hang_up: bool = True) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        if hang_up and self.location is not None:
            async with httpx.AsyncClient(timeout=5, follow_redirects=True) as http:
                with contextlib.suppress(httpx.HTTPError):
                    await http.delete(
                        self.location,
                        headers={"Authorization": f"Bearer {self.token}"},
                    )
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pc is not None:
            await self._pc.close()
        self.source.stop()
