"""AAC-LC encoding of the program mix: PCM of any length in, raw AAC frames out.

One encoder per Space serves every listener (DESIGN.md "Encode once"), so this sits on the
encoder thread and must never surprise it: fixed frame size, one frame out per 1024 samples in,
no codec threads of its own.

Encoder delay, and what we do about it. FFmpeg's ``aac`` encoder declares 1024 samples of
``initial_padding`` and looks one frame ahead, so:

* its first packet (pts -1024) is *priming*: it carries the MDCT tail of silence before our
  first sample. We drop it (every packet with a negative pts), so the track's timeline starts at
  our first input sample and N samples in become exactly ceil(N / 1024) frames out after
  ``flush``, with no edit list needed (players ignore edit lists in live fMP4 anyway).
  The cost: the first 1024 decoded samples of a stream lack the overlap half the priming packet
  would have supplied, i.e. a 21 ms fade-in at stream start. A listener joining at any later
  part sees the same 21 ms fade-in, which is what "every frame is independent" means for AAC.
* the frame for input samples [k*1024, (k+1)*1024) comes out when frame k+2 goes in: a steady
  latency of ``LATENCY_SAMPLES`` (2048, 42.7 ms at 48 kHz). ``flush`` drains those two frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from majlis.media.hls.framing import FramedEncoder

FRAME_SIZE = 1024
"""Samples per AAC-LC frame; also each frame's duration in track ticks (timescale = rate)."""

LATENCY_SAMPLES = 2 * FRAME_SIZE
"""How long after its last sample went in a frame comes out (see the module docstring)."""

CODECS = "mp4a.40.2"
"""RFC 6381 codec string for AAC-LC, for a multivariant playlist's CODECS attribute."""

Pcm = npt.NDArray[np.float32] | npt.NDArray[np.int16]


class AacEncoder(FramedEncoder):
    """FFmpeg's native ``aac`` encoder at a fixed rate, mono, with its own input buffering."""

    def __init__(self, sample_rate: int = 48000, bitrate: int = 64000) -> None:
        context = av.CodecContext.create("aac", "w")
        context.sample_rate = sample_rate
        context.layout = "mono"
        context.format = "fltp"
        context.bit_rate = bitrate
        # PyAV 17+ starts one codec thread per CPU by default (FIELD-NOTES.md); a Space's encode
        # is 141 µs per frame and must not compete with other Spaces' threads for cores.
        context.thread_count = 1
        # Opened now, not at the first frame: the AudioSpecificConfig (extradata) only exists
        # once the codec is open, and the init segment must be served before any audio is.
        context.open()
        if context.frame_size != FRAME_SIZE:
            raise RuntimeError(f"aac encoder frame size is {context.frame_size}, not {FRAME_SIZE}")
        extradata = context.extradata
        if not extradata:
            raise RuntimeError("aac encoder produced no AudioSpecificConfig")
        super().__init__(context, sample_rate, FRAME_SIZE, "fltp")
        self._asc = bytes(extradata)
        self.bitrate = bitrate

    @property
    def audio_specific_config(self) -> bytes:
        """The codec's AudioSpecificConfig (ISO/IEC 14496-3), for the init segment's ``esds``."""
        return self._asc

    def _keep(self, packets: Sequence[av.Packet[Any]]) -> list[bytes]:
        # Negative pts = the encoder's priming; see the module docstring for why it is dropped.
        return [bytes(p) for p in packets if p.pts is None or p.pts >= 0]
