"""Feeding an FFmpeg audio encoder PCM of any length, one fixed-size frame at a time.

What the AAC and the Opus encoders share: both take mono PCM in whatever chunks the mixer hands
over, keep the remainder of a frame for the next call, stamp each frame with its sample count as
pts, and drain the codec's look-ahead at the end. They differ only in how the codec is opened
and in which packets they keep (``_keep``: AAC drops its priming packet, Opus keeps it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import av
import numpy as np
import numpy.typing as npt


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


class FramedEncoder:
    """An opened mono audio encoder context, fed whole frames of ``frame_size`` samples."""

    def __init__(self, context: Any, sample_rate: int, frame_size: int, sample_format: str) -> None:
        self._context = context
        self.sample_rate = sample_rate
        self.frame_size = frame_size
        self._format = sample_format
        self._pending = np.zeros(0, dtype=np.float32)
        self._pts = 0
        self._flushed = False

    def encode(self, pcm: npt.NDArray[np.generic]) -> list[bytes]:
        """Buffer ``pcm`` (mono float32 or int16, any length) and encode every whole frame;
        returns the packets now available."""
        if self._flushed:
            raise RuntimeError("encoder already flushed")
        samples = as_float32_mono(pcm)
        if self._pending.size:
            samples = np.concatenate((self._pending, samples))
        size = self.frame_size
        whole = samples.size - samples.size % size
        out: list[bytes] = []
        for start in range(0, whole, size):
            out.extend(self._encode_frame(samples[start : start + size]))
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
            padded = np.zeros(self.frame_size, dtype=np.float32)
            padded[: self._pending.size] = self._pending
            self._pending = np.zeros(0, dtype=np.float32)
            out.extend(self._encode_frame(padded))
        self._flushed = True
        out.extend(self._keep(self._context.encode(None)))
        return out

    def _encode_frame(self, samples: npt.NDArray[np.float32]) -> list[bytes]:
        frame = av.AudioFrame.from_ndarray(
            samples.reshape(1, -1), format=self._format, layout="mono"
        )
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        self._pts += self.frame_size
        return self._keep(self._context.encode(frame))

    def _keep(self, packets: Sequence[av.Packet[Any]]) -> list[bytes]:
        """The packets to hand on (all, unless a codec says otherwise)."""
        return [bytes(p) for p in packets]
