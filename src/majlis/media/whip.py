"""One speaker's WebRTC session, negotiated by WHIP (RFC 9725): offer in, answer out.

The session decodes what the speaker sends into the mixer's input for them, and sends back
their mix-minus. ``iceServers=[]`` matters: aiortc otherwise asks a public STUN server, which
on a closed network stalls candidate gathering for seconds; majlis answers with host candidates
(put a TURN server in front for speakers behind strict NATs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from majlis.media.mixer import SpeakerInput
from majlis.media.tracks import MixMinusTrack, to_mono

log = logging.getLogger(__name__)
NEGOTIATION_TIMEOUT_S = 10.0


class NegotiationFailed(Exception):
    """aiortc could not answer the offer (it passed our checks but still made no sense)."""


class SpeakerSession:
    def __init__(
        self,
        key: str,
        account_id: int,
        source: SpeakerInput,
        on_gone: Callable[[SpeakerSession], None],
    ) -> None:
        self.id = secrets.token_urlsafe(12)
        self.key = key
        self.account_id = account_id
        #: The signed-in session (device) the offer was made with: ending it ends this.
        self.auth_session = ""
        self.source = source
        self.outbound = MixMinusTrack()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._on_gone = on_gone
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        self.answer = ""
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self._reader is None:
            self._shorten_jitter_buffer()
            self._reader = asyncio.ensure_future(self._read(track))

    def _shorten_jitter_buffer(self) -> None:
        """aiortc prefetches 4 frames (80 ms) per receiver; the mixer's own input FIFO already
        holds a 40 ms cushion that adapts, so one frame here is enough (measured: speaker to
        speaker 321 ms → 154-167 ms with this and the mixer's drain, bench/media_latency.py).
        aiortc offers no setting for it, hence the name-mangled attribute."""
        for receiver in self.pc.getReceivers():
            if receiver.track is not None and receiver.track.kind == "audio":
                receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(capacity=16, prefetch=1)  # type: ignore[attr-defined]

    async def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self._on_gone(self)

    async def _read(self, track: MediaStreamTrack) -> None:
        frames = 0
        try:
            while True:
                frame = await track.recv()
                self.source.push(to_mono(frame))  # type: ignore[arg-type]
                frames += 1
        except MediaStreamError:
            pass
        except Exception:
            log.exception("speaker %s: decoding failed after %d frames", self.key, frames)

    async def negotiate(self, offer: str) -> str:
        try:
            async with asyncio.timeout(NEGOTIATION_TIMEOUT_S):
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
                self.pc.addTrack(self.outbound)
                await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:
            # Whatever aiortc chokes on, the offer was not one we can answer: a 400, not a 500.
            await self.close()
            raise NegotiationFailed(str(exc) or type(exc).__name__) from exc
        answer = self.pc.localDescription
        assert answer is not None
        return answer.sdp

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.outbound.stop()
        await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
