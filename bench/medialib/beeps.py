"""Timed beeps: the marker both latency benchmarks send, and the detector that finds them.

A latency is the difference between two instants, so the signal is silence with short loud
beeps whose sending instant is known exactly: ``BeepSource`` notes ``time.time()`` when the
frame that starts a beep leaves ``recv()`` (that is when aiortc takes it to encode and send).

Each beep also carries an identity in its pitch, cycling through ``FREQS_HZ``. Matching a beep
heard to the beep sent on time alone would be ambiguous as soon as the latency could exceed one
interval (2 s, close to the LL-HLS budget); with four pitches it is unambiguous up to 8 s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from majlis.bots.sources import PacedSource
from majlis.media.mixer import FRAME_SAMPLES, SAMPLE_RATE

FREQS_HZ: tuple[float, ...] = (700.0, 1000.0, 1400.0, 2000.0)
#: Beeps start this many frames into each interval, so the very first frames (sent while the
#: receiver may still be starting up) are silence.
BEEP_OFFSET_FRAMES = 50
AMPLITUDE = 0.5
#: A detected onset: a 1 ms block above this RMS (full scale = 1.0) after ``QUIET_MS`` below it.
ONSET_RMS = 0.05
QUIET_MS = 20
#: Samples after the onset used to read the pitch (20 ms: 14 cycles of the lowest pitch).
PITCH_SAMPLES = 960

Float = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Sent:
    """One beep as sent: its running number and the wall-clock time it left ``recv()``."""

    number: int
    freq_hz: float
    at: float


@dataclass(frozen=True)
class Onset:
    """One beep as received: when the chunk holding its first sample arrived, and its pitch."""

    at: float
    freq_hz: float
    sample: int


def nearest_freq(freq_hz: float) -> float:
    """The beep pitch a measured frequency stands for."""
    return min(FREQS_HZ, key=lambda f: abs(f - freq_hz))


def pitch_hz(samples: Float, rate: int = SAMPLE_RATE) -> float:
    """Frequency of a pure tone from its zero crossings: exact enough, and cheap in JS too."""
    signs = np.signbit(samples)
    crossings = int(np.count_nonzero(signs[1:] != signs[:-1]))
    return crossings / 2 / (samples.size / rate)


class BeepSource(PacedSource):
    """Silence with a ``beep_s`` beep every ``interval_s``; remembers when each beep was sent."""

    def __init__(self, interval_s: float = 2.0, beep_s: float = 0.05) -> None:
        super().__init__()
        self.interval_frames = round(interval_s * SAMPLE_RATE / FRAME_SAMPLES)
        if self.interval_frames <= BEEP_OFFSET_FRAMES:
            raise ValueError("the interval must be longer than the offset of the beep")
        self.beep_samples = round(beep_s * SAMPLE_RATE)
        self.sent: list[Sent] = []
        self._wave_cache: dict[float, npt.NDArray[np.int16]] = {}

    def _wave(self, freq_hz: float) -> npt.NDArray[np.int16]:
        """The whole beep, with 1 ms raised-cosine edges so no click smears its pitch."""
        if freq_hz not in self._wave_cache:
            n = self.beep_samples
            t = np.arange(n) / SAMPLE_RATE
            ramp = min(48, n // 2)
            envelope = np.ones(n)
            edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
            envelope[:ramp], envelope[n - ramp :] = edge, edge[::-1]
            wave = AMPLITUDE * envelope * np.sin(2 * np.pi * freq_hz * t)
            self._wave_cache[freq_hz] = (wave * 32767).astype(np.int16)
        return self._wave_cache[freq_hz]

    def _beep_at(self, index: int) -> tuple[int, int]:
        """(beep number, first sample of that beep relative to frame ``index``)."""
        shifted = index - BEEP_OFFSET_FRAMES
        number = shifted // self.interval_frames
        offset = (shifted - number * self.interval_frames) * FRAME_SAMPLES
        return number, offset

    def next_pcm(self, index: int) -> npt.NDArray[np.int16]:
        pcm = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        number, offset = self._beep_at(index)
        if number >= 0 and offset < self.beep_samples:
            wave = self._wave(FREQS_HZ[number % len(FREQS_HZ)])
            chunk = wave[offset : offset + FRAME_SAMPLES]
            pcm[: chunk.size] = chunk
        return pcm

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        assert frame.pts is not None
        number, offset = self._beep_at(frame.pts // FRAME_SAMPLES)
        if number >= 0 and offset == 0:
            freq = FREQS_HZ[number % len(FREQS_HZ)]
            self.sent.append(Sent(number, freq, time.time()))
        return frame


class OnsetDetector:
    """Finds beep onsets in PCM fed chunk by chunk, each chunk stamped with its arrival time.

    An onset is reported only once ``PITCH_SAMPLES`` after it have arrived (to read the pitch),
    but it is dated by the chunk that held its first sample: that is when a listener could
    first have heard it.
    """

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        self.rate = rate
        self.block = rate // 1000
        self.onsets: list[Onset] = []
        self._buf: Float = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # absolute sample number of _buf[0]
        self._scan = 0  # absolute sample number of the next block to look at
        self._quiet_blocks = 0
        self._chunks: list[tuple[int, float]] = []  # (first absolute sample, arrival time)

    @property
    def total_samples(self) -> int:
        """Samples fed so far: the absolute number the next chunk starts at."""
        return self._buf_start + self._buf.size

    def feed(self, pcm: npt.NDArray[np.generic], at: float) -> None:
        """Add a chunk (int16, or float in [-1, 1]) that arrived at wall time ``at``."""
        samples = np.asarray(pcm).reshape(-1)
        if samples.dtype == np.int16:
            data = samples.astype(np.float32) / 32768.0
        else:
            data = samples.astype(np.float32)
        self._chunks.append((self.total_samples, at))
        self._buf = np.concatenate((self._buf, data))
        self._detect()
        self._trim()

    def _detect(self) -> None:
        end = self._buf_start + self._buf.size
        while self._scan + self.block <= end:
            block = self._slice(self._scan, self._scan + self.block)
            loud = float(np.sqrt(np.mean(np.square(block)))) > ONSET_RMS
            if not loud:
                self._quiet_blocks += 1
                self._scan += self.block
                continue
            if self._quiet_blocks >= QUIET_MS:
                start = self._scan + int(np.argmax(np.abs(block) > ONSET_RMS))
                if start + self.block + PITCH_SAMPLES > end:
                    return  # wait for the samples that tell its pitch
                pitch = self._slice(start + self.block, start + self.block + PITCH_SAMPLES)
                self.onsets.append(Onset(self._arrival(start), pitch_hz(pitch, self.rate), start))
            self._quiet_blocks = 0
            self._scan += self.block

    def _slice(self, start: int, stop: int) -> Float:
        return self._buf[start - self._buf_start : stop - self._buf_start]

    def _arrival(self, sample: int) -> float:
        at = self._chunks[0][1]
        for first, when in self._chunks:
            if first > sample:
                break
            at = when
        return at

    def _trim(self) -> None:
        """Keep one second behind the scan point; older samples can no longer matter."""
        keep_from = max(self._buf_start, self._scan - self.rate)
        self._buf = self._buf[keep_from - self._buf_start :]
        self._buf_start = keep_from
        while len(self._chunks) > 1 and self._chunks[1][0] <= keep_from:
            self._chunks.pop(0)


@dataclass(frozen=True)
class Match:
    """A beep sent and its onset heard: ``delay_s`` is the latency measured for it."""

    number: int
    sent_at: float
    heard_at: float
    #: The onset's absolute sample number in the stream it was found in (-1 if unknown).
    sample: int = -1

    @property
    def delay_s(self) -> float:
        return self.heard_at - self.sent_at


def match(sent: Sequence[Sent], onsets: Sequence[Onset], window_s: float) -> list[Match]:
    """Pair each onset with the latest earlier beep of the same pitch within ``window_s``.

    ``window_s`` must stay under ``len(FREQS_HZ)`` intervals, where pairing becomes ambiguous.
    An onset whose pitch is not within 10 % of a beep pitch (noise, a glitch) is left out, and
    a beep is matched at most once (a second onset for it is an echo or a false trigger).
    """
    matches: dict[int, Match] = {}
    for onset in onsets:
        freq = nearest_freq(onset.freq_hz)
        if abs(onset.freq_hz - freq) > 0.1 * freq:
            continue
        candidates = [s for s in sent if s.freq_hz == freq and 0 <= onset.at - s.at < window_s]
        if not candidates:
            continue
        best = max(candidates, key=lambda s: s.at)
        matches.setdefault(best.number, Match(best.number, best.at, onset.at, onset.sample))
    return sorted(matches.values(), key=lambda m: m.number)
