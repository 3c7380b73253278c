"""Cutting one speaker's audio into utterances worth recognizing, as the mixer hands it over.

Why cut by pauses, with a ceiling: Whisper encodes a fixed 30 s window whatever it is given
(~1 CPU-second for ``base`` on this machine, for 2 s of speech as for 8 s), so every call costs
the same and short calls are dear. But a cue is shown only once its utterance is recognized, so
long utterances make captions late. An utterance therefore ends at a pause (``PAUSE_S`` of
quiet once ``MIN_S`` of speech is in), and at ``MAX_S`` at the latest, cut at the quietest
moment of its last ``SEEK_S`` so a word is not split if it can be helped. A short pause ends an
utterance only past ``MIN_S`` of speech (a long one always): at ~4.5 s an utterance, a speaker
talking on and on costs 0.25 of a core, and a cue is shown 1.6 s (p50; p95 4.5 s) after its
words end (bench/captions_live.py; with ``MIN_S`` 1 s and ``MAX_S`` 5 s: 0.37 core, p95 1.8 s).

Why an energy gate, not a neural VAD: the mixer already has each speaker's frames and their
levels, on a clean per-speaker channel (not a room recording): level is a good detector here,
and it costs nothing on the event loop, where this runs (one comparison and a list append per
20 ms frame). Everything heavier (resampling, recognizing) happens off the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from majlis.media.mixer import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, Pcm, level_dbfs

#: A frame above this level (dBFS) is speech (quieter than the speaking ring's threshold: the
#: ends of words are soft).
VOICE_DBFS = -48.0
#: Speech this long followed by this much quiet is an utterance.
MIN_S = 2.5
PAUSE_S = 0.5
#: Quiet this long ends any utterance with at least ``SHORTEST_S`` of speech in it ("yes.").
LONG_PAUSE_S = 1.0
SHORTEST_S = 0.3
#: No utterance is longer; the cut is at the quietest 100 ms of its last ``SEEK_S``.
MAX_S = 6.0
SEEK_S = 1.5
#: Kept before the first loud frame, so a soft first consonant is not cut off.
PREROLL_S = 0.2

#: What recognizers take: Whisper's rate.
TARGET_RATE = 16_000


def _frames(seconds: float) -> int:
    return round(seconds / FRAME_S)


@dataclass(frozen=True, slots=True)
class Utterance:
    """One speaker's stretch of speech: 48 kHz int16 PCM, and the tick its first frame played."""

    key: str
    start_tick: int
    pcm: Pcm

    @property
    def duration(self) -> float:
        return self.pcm.size / SAMPLE_RATE


class UtteranceCutter:
    """One speaker's frames in, utterances out. Silence (or no frame) is ``None``."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._frames: list[Pcm] = []
        self._loud: list[bool] = []
        self._start_tick = 0
        self._voiced = 0
        self._quiet_run = 0
        self._preroll: list[Pcm] = []

    def push(self, tick: int, frame: Pcm | None) -> Utterance | None:
        loud = frame is not None and level_dbfs(frame) > VOICE_DBFS
        if not self._frames:
            if not loud:
                if frame is not None:
                    self._preroll.append(frame)
                    del self._preroll[: -_frames(PREROLL_S)]
                else:
                    self._preroll.clear()
                return None
            self._start_tick = tick - len(self._preroll)
            self._frames = list(self._preroll)
            self._loud = [False] * len(self._preroll)
            self._preroll = []
            self._voiced = 0
            self._quiet_run = 0
        self._frames.append(frame if frame is not None else np.zeros(FRAME_SAMPLES, np.int16))
        self._loud.append(loud)
        if loud:
            self._voiced += 1
            self._quiet_run = 0
        else:
            self._quiet_run += 1
        if self._quiet_run >= _frames(PAUSE_S) and self._voiced >= _frames(MIN_S):
            return self._cut(len(self._frames) - self._quiet_run + _frames(PAUSE_S) // 2)
        if self._quiet_run >= _frames(LONG_PAUSE_S):
            if self._voiced >= _frames(SHORTEST_S):
                return self._cut(len(self._frames) - self._quiet_run + _frames(PAUSE_S) // 2)
            self._reset()
            return None
        if len(self._frames) >= _frames(MAX_S):
            return self._cut(self._quietest_cut())
        return None

    def flush(self) -> Utterance | None:
        """What is left when the speaker leaves or captions stop: an utterance if it has speech."""
        if self._voiced >= _frames(SHORTEST_S):
            return self._cut(len(self._frames))
        self._reset()
        return None

    def _quietest_cut(self) -> int:
        """Where to end an utterance that reached ``MAX_S``: after the quietest 100 ms window of
        its last ``SEEK_S`` (a pause between words, if there is one)."""
        window = _frames(0.1)
        first = max(window, len(self._frames) - _frames(SEEK_S))
        levels = [level_dbfs(f) for f in self._frames]
        best, best_level = len(self._frames), float("inf")
        for end in range(first, len(self._frames) + 1):
            level = max(levels[end - window : end])
            if level < best_level:
                best, best_level = end, level
        return best

    def _cut(self, end: int) -> Utterance:
        utterance = Utterance(self.key, self._start_tick, np.concatenate(self._frames[:end]))
        rest, rest_loud = self._frames[end:], self._loud[end:]
        start = self._start_tick + end
        self._reset()
        if any(rest_loud):
            # The speaker goes on past the cut: the rest starts the next utterance.
            self._frames, self._loud, self._start_tick = rest, rest_loud, start
            self._voiced = sum(rest_loud)
            self._quiet_run = 0
            for was_loud in reversed(rest_loud):
                if was_loud:
                    break
                self._quiet_run += 1
        else:
            self._preroll = rest[-_frames(PREROLL_S) :]
        return utterance

    def _reset(self) -> None:
        self._frames, self._loud = [], []
        self._voiced = self._quiet_run = 0


def _low_pass_taps() -> npt.NDArray[np.float64]:
    """A windowed-sinc low-pass at 7.2 kHz for 48 kHz input: below the 8 kHz Nyquist of the
    16 kHz output, so decimating by three folds (almost) nothing back into speech."""
    count = 97
    n = np.arange(count) - (count - 1) / 2
    cutoff = 7_200 / SAMPLE_RATE
    taps: npt.NDArray[np.float64] = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(count)
    return taps / float(taps.sum())


_TAPS = _low_pass_taps()


def to_recognizer_rate(pcm: Pcm) -> npt.NDArray[np.float32]:
    """48 kHz int16 to what recognizers take: 16 kHz float32 in [-1, 1]. Run it off the loop."""
    samples = pcm.astype(np.float32) / 32768.0
    filtered = np.convolve(samples, _TAPS.astype(np.float32), mode="same")
    return np.ascontiguousarray(filtered[:: SAMPLE_RATE // TARGET_RATE], dtype=np.float32)
