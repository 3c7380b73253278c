"""One aiortc hop with no server: the floor under every WebRTC path a bot measures.

Speaker ↔ speaker through majlis is two WebRTC hops (speaker → server, server → speaker), and
aiortc's receiver holds each audio frame in its jitter buffer until ``prefetch`` (4) later frames
have arrived: about 80 ms per hop on loopback, before majlis does anything. Measuring the bare
hop in the same run says how much of the mouth-to-ear figure is aiortc's, and how much is ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from majlis.media.tracks import to_mono
from medialib.beeps import FREQS_HZ, BeepSource, Match, OnsetDetector, match


async def _read(track: MediaStreamTrack, detector: OnsetDetector) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            frame = await track.recv()
            detector.feed(to_mono(frame), time.time())  # type: ignore[arg-type]


async def aiortc_hop(seconds: float, interval_s: float = 2.0) -> list[Match]:
    """Beeps from one aiortc peer connection to another on loopback, matched per beep."""
    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    receiver = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    beeps, detector = BeepSource(interval_s), OnsetDetector()
    readers: list[asyncio.Task[None]] = []
    receiver.on("track", lambda track: readers.append(asyncio.create_task(_read(track, detector))))
    sender.addTrack(beeps)
    try:
        await sender.setLocalDescription(await sender.createOffer())
        assert sender.localDescription is not None
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        assert receiver.localDescription is not None
        await sender.setRemoteDescription(receiver.localDescription)
        await asyncio.sleep(seconds)
    finally:
        await sender.close()
        await receiver.close()
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    return match(beeps.sent, detector.onsets, len(FREQS_HZ) * interval_s - 0.5)
