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

FRAME_SIZE = 1024
"""Samples per AAC-LC frame; also each frame's duration in track ticks (timescale = rate)."""

LATENCY_SAMPLES = 2 * FRAME_SIZE
"""How long after its last sample went in a frame comes out (see the module docstring)."""

CODECS = "mp4a.40.2"
"""RFC 6381 codec string for AAC-LC, for a multivariant playlist's CODECS attribute."""

Pcm = npt.NDArray[np.float32] | npt.NDArray[np.int16]


def as_float32_mono(pcm: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    """Mono PCM as float32 in [-1, 1]: int16 is scaled by 1/32768, floats are taken as they are.

    Accepts shape ``(n,)`` or ``(1, n)``; anything else is refused rather than guessed at, since a
    stereo array flattened into "mono" would play at half speed without any error.
    """
    if pcm.ndim == 2 and pcm.shape[0] == 1:
        pcm = pcm[0]
    if pcm.ndim != 1:
        raise ValueError(f"expected mono PCM of shape (n,) or (1, n), got {pcm.shape}")
    if pcm.dtype == np.int16:
        return pcm.astype(np.float32) * np.float32(1.0 / 32768.0)
    if np.issubdtype(pcm.dtype, np.floating):
        return pcm.astype(np.float32, copy=False)
    raise TypeError(f"expected float32 or int16 PCM, got {pcm.dtype}")


class AacEncoder:
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
        self._context = context
        self._asc = bytes(extradata)
        self.sample_rate = sample_rate
        self.bitrate = bitrate
        self._pending = np.zeros(0, dtype=np.float32)
        self._pts = 0
        self._flushed = False

    @property
    def audio_specific_config(self) -> bytes:
        """The codec's AudioSpecificConfig (ISO/IEC 14496-3), for the init segment's ``esds``."""
        return self._asc

    def encode(self, pcm: npt.NDArray[np.generic]) -> list[bytes]:
        """Buffer ``pcm`` (mono float32 or int16, any length) and encode every whole frame.

        Returns the raw AAC frames now available: one per 1024 samples in steady state, none
        for the first two frames (the encoder's lookahead, see the module docstring).
        """
        if self._flushed:
            raise RuntimeError("encoder already flushed")
        samples = as_float32_mono(pcm)
        if self._pending.size:
            samples = np.concatenate((self._pending, samples))
        whole = samples.size - samples.size % FRAME_SIZE
        out: list[bytes] = []
        for start in range(0, whole, FRAME_SIZE):
            out.extend(self._encode_frame(samples[start : start + FRAME_SIZE]))
        self._pending = samples[whole:].copy()
        return out

    def flush(self) -> list[bytes]:
        """Encode what is buffered (zero-padded to a whole frame) and drain the encoder.

        After this the encoder is finished; a new stream needs a new encoder.
        """
        if self._flushed:
            return []
        out: list[bytes] = []
        if self._pending.size:
            padded = np.zeros(FRAME_SIZE, dtype=np.float32)
            padded[: self._pending.size] = self._pending
            self._pending = np.zeros(0, dtype=np.float32)
            out.extend(self._encode_frame(padded))
        self._flushed = True
        out.extend(self._keep(self._context.encode(None)))
        return out

    def _encode_frame(self, samples: npt.NDArray[np.float32]) -> list[bytes]:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        self._pts += FRAME_SIZE
        return self._keep(self._context.encode(frame))

    @staticmethod
    def _keep(packets: Sequence[av.Packet[Any]]) -> list[bytes]:
        # Negative pts = the encoder's priming; see the module docstring for why it is dropped.
        return [bytes(p) for p in packets if p.pts is None or p.pts >= 0]
