"""The demo Space's speech clip (``demo-speech.ogg``, made by scripts/make_demo_clip.py).

About 14 s of synthetic speech, a sentence in English and one in Arabic, stored as Ogg/Opus and
decoded on demand to float32 mono 48 kHz, the mixer's format. The file is read through
``importlib.resources``, so it is found the same way from a checkout, an editable install or a
wheel.
"""

from __future__ import annotations

import functools
import io
from importlib import resources

import av
import numpy as np
import numpy.typing as npt

CLIP_NAME = "demo-speech.ogg"
SAMPLE_RATE = 48_000


def demo_clip_bytes() -> bytes:
    """The encoded clip (Ogg/Opus) as stored in the package."""
    return (resources.files("majlis.media") / "assets" / CLIP_NAME).read_bytes()


@functools.lru_cache(maxsize=1)
def _decoded() -> npt.NDArray[np.float32]:
    chunks: list[npt.NDArray[np.float32]] = []
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    with av.open(io.BytesIO(demo_clip_bytes()), "r") as container:
        stream = container.streams.audio[0]
        stream.codec_context.thread_count = 1
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    samples.flags.writeable = False
    return samples


def load_demo_clip() -> npt.NDArray[np.float32]:
    """The clip as float32 mono samples at 48 kHz in [-1, 1]; a fresh, writable copy each call."""
    return _decoded().copy()
