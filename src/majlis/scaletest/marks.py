"""Timing marks: short tone bursts at known wall-clock instants, and the probe that finds them.

The mark speaker plays a 60 ms burst at every multiple of ``INTERVAL_S`` of the wall clock
(``time.time()``), so a probe needs no channel back to the speaker: a burst heard at ``t`` was
sent at the latest mark instant before ``t`` with the same pitch. Pitches cycle through four
values, which keeps the pairing unambiguous up to ``4 x INTERVAL_S`` (8 s) of latency — well
past any LL-HLS budget. Speaker and probe share this machine's clock (or NTP across machines).

"Heard" is when a listener at the live edge could play the burst: the arrival of the part that
holds it plus the burst's offset inside the part. A player's own buffer (hls.js holds about three
parts) comes on top; the report says so.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from majlis.bots.sources import PacedSource
from majlis.media.mixer import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE

INTERVAL_S = 2.0
BURST_S = 0.06
FREQS_HZ: tuple[float, ...] = (700.0, 1000.0, 1400.0, 2000.0)
AMPLITUDE = 0.5
#: An onset is a 1 ms block above this RMS after at least ``QUIET_BLOCKS`` quiet ones.
ONSET_RMS = 0.05
QUIET_BLOCKS = 30
PITCH_SAMPLES = 960

Float = npt.NDArray[np.float32]


def mark_pcm(wall_start: float, samples: int = FRAME_SAMPLES) -> npt.NDArray[np.int16]:
    """The mark track's samples starting at wall-clock instant ``wall_start``."""
    t = wall_start + np.arange(samples) / SAMPLE_RATE
    k = np.floor(t / INTERVAL_S)
    phase = t - k * INTERVAL_S
    freqs = np.asarray(FREQS_HZ)[(k % len(FREQS_HZ)).astype(np.int64)]
    ramp = np.clip(np.minimum(phase, BURST_S - phase) / 0.002, 0.0, 1.0)  # 2 ms edges: no click
    wave = np.where(phase < BURST_S, AMPLITUDE * ramp * np.sin(2 * np.pi * freqs * phase), 0.0)
    return (wave * 32767).astype(np.int16)


class MarkSource(PacedSource):
    """Silence with a tone burst at each multiple of ``INTERVAL_S`` of the wall clock."""

    def __init__(self) -> None:
        super().__init__()
        self._wall0: float | None = None

    def next_pcm(self, index: int) -> npt.NDArray[np.int16]:
        # PacedSource calls this when frame ``index`` is due, i.e. when it is being sent.
        if self._wall0 is None:
            self._wall0 = time.time() - index * FRAME_S
        return mark_pcm(self._wall0 + index * FRAME_S)


def pitch_hz(samples: Float, rate: int = SAMPLE_RATE) -> float:
    """Frequency of a pure tone from its zero crossings."""
    signs = np.signbit(samples)
    return int(np.count_nonzero(signs[1:] != signs[:-1])) / 2 / (samples.size / rate)


def latency_of(heard_at: float, freq_hz: float) -> float | None:
    """Seconds since the mark with this pitch that precedes ``heard_at``; None if no pitch fits."""
    nearest = min(FREQS_HZ, key=lambda f: abs(f - freq_hz))
    if abs(nearest - freq_hz) > 0.1 * nearest:
        return None
    k = math.floor(heard_at / INTERVAL_S)
    for back in range(len(FREQS_HZ)):
        if FREQS_HZ[(k - back) % len(FREQS_HZ)] == nearest:
            return heard_at - (k - back) * INTERVAL_S
    return None


def decode_part(init: bytes, previous: bytes, part: bytes) -> Float:
    """The part's mono PCM. The previous part is decoded first so AAC's overlap is primed
    (decoded alone, a part's first 1024 samples fade in and a burst there is found late)."""
    with av.open(io.BytesIO(init + previous + part), mode="r", format="mp4") as container:
        stream = container.streams.audio[0]
        stream.codec_context.thread_count = 1
        chunks = [_mono(frame) for frame in container.decode(stream)]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def _mono(frame: av.AudioFrame) -> Float:
    data = frame.to_ndarray()
    mono = data[0] if frame.format.is_planar else data.reshape(-1)[:: len(frame.layout.channels)]
    return np.asarray(mono, dtype=np.float32)


@dataclass
class MarkFinder:
    """Finds burst onsets in consecutive parts and turns them into latencies."""

    rate: int = SAMPLE_RATE
    _tail: Float | None = None  # samples of earlier parts not yet fully scanned
    _tail_time: float = 0.0  # when the first sample of ``_tail`` plays
    _quiet: int = QUIET_BLOCKS  # start as if after silence

    def feed(self, pcm: Float, plays_at: float) -> list[float]:
        """Add a part whose first sample plays at ``plays_at``; latencies of bursts found."""
        if self._tail is None or self._tail.size == 0:
            buf, start = pcm, plays_at
        else:
            buf, start = np.concatenate((self._tail, pcm)), self._tail_time
        block = self.rate // 1000
        found: list[float] = []
        pos = 0
        while pos + block <= buf.size:
            loud = float(np.sqrt(np.mean(np.square(buf[pos : pos + block])))) > ONSET_RMS
            if loud and self._quiet >= QUIET_BLOCKS:
                onset = pos + int(np.argmax(np.abs(buf[pos : pos + block]) > ONSET_RMS))
                if onset + block + PITCH_SAMPLES > buf.size:
                    break  # keep it for the next part, which tells its pitch
                pitch = pitch_hz(buf[onset + block : onset + block + PITCH_SAMPLES], self.rate)
                latency = latency_of(start + onset / self.rate, pitch)
                if latency is not None:
                    found.append(latency)
            self._quiet = 0 if loud else self._quiet + 1
            pos += block
        self._tail = buf[pos:]
        self._tail_time = start + pos / self.rate
        return found
