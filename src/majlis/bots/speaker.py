"""A WHIP speaker bot: publishes a source to a Space and records what it hears back.

It speaks the public protocol only (HTTP + WHIP + WebRTC), so it exercises exactly the path a
browser or OBS takes, and honours 503 + Retry-After with jitter like every client we ship.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
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
    _pc: RTCPeerConnection | None = None
    _reader: asyncio.Task[None] | None = None

    async def connect(self, attempts: int = 5) -> None:
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
        async with httpx.AsyncClient(timeout=20) as http:
            for attempt in range(attempts):
                response = await http.post(url, content=pc.localDescription.sdp, headers=headers)
                if response.status_code != 503 or attempt == attempts - 1:
                    break
                delay = float(response.headers.get("retry-after", "1"))
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
        if response.status_code != 201:
            await pc.close()
            raise RuntimeError(f"WHIP refused: {response.status_code} {response.text}")
        self.location = response.headers["location"]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))

    async def _read(self, track: MediaStreamTrack) -> None:
        keep = int(self.keep_s * 50)
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.frames_received += 1
                self.received.append(to_mono(frame))  # type: ignore[arg-type]
                if len(self.received) > keep:
                    del self.received[: len(self.received) - keep]

    def heard(self, last_s: float) -> npt.NDArray[np.int16]:
        frames = self.received[-int(last_s * 50) :]
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)

    async def close(self, hang_up: bool = True) -> None:
        if hang_up and self.location is not None:
            async with httpx.AsyncClient(timeout=5) as http:
                with contextlib.suppress(httpx.HTTPError):
                    await http.delete(
                        self.base_url + self.location,
                        headers={"Authorization": f"Bearer {self.token}"},
                    )
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pc is not None:
            await self._pc.close()
        self.source.stop()
