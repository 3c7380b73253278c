"""Cutting a speaker's frames into utterances, and the 48 -> 16 kHz step before recognizing."""

from __future__ import annotations

import itertools

import numpy as np

from majlis.media.captions.utterances import (
    MAX_S,
    PREROLL_S,
    Utterance,
    UtteranceCutter,
    to_recognizer_rate,
)
from majlis.media.mixer import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, Pcm

SPEECH = (np.sin(np.arange(FRAME_SAMPLES) * 2 * np.pi * 300 / SAMPLE_RATE) * 8000).astype(np.int16)
QUIET = np.zeros(FRAME_SAMPLES, dtype=np.int16)


def _frames(seconds: float) -> int:
    return round(seconds / FRAME_S)


def _feed(cutter: UtteranceCutter, pattern: list[tuple[Pcm | None, float]]) -> list[Utterance]:
    out, tick = [], 0
    for frame, seconds in pattern:
        for _ in range(_frames(seconds)):
            tick += 1
            utterance = cutter.push(tick, frame)
            if utterance is not None:
                out.append(utterance)
    return out


def test_a_sentence_then_a_pause_is_one_utterance_with_its_preroll() -> None:
    cutter = UtteranceCutter("amal")
    found = _feed(cutter, [(QUIET, 1.0), (SPEECH, 2.0), (QUIET, 1.0)])
    assert len(found) == 1
    utterance = found[0]
    assert utterance.key == "amal"
    # Starts PREROLL_S before the first loud frame (tick 51), ends a quarter second after.
    assert utterance.start_tick == 51 - _frames(PREROLL_S)
    assert PREROLL_S + 2.0 <= utterance.duration <= PREROLL_S + 2.0 + 0.3


def test_a_cough_is_not_an_utterance_and_silence_costs_nothing() -> None:
    cutter = UtteranceCutter("amal")
    assert _feed(cutter, [(SPEECH, 0.1), (None, 3.0), (QUIET, 3.0)]) == []
    assert cutter.flush() is None


def test_talking_without_pause_is_cut_at_most_every_max_s_and_nothing_is_lost() -> None:
    cutter = UtteranceCutter("amal")
    quiet_gap = [(QUIET, 0.1)]
    pattern: list[tuple[Pcm | None, float]] = []
    for _ in range(12):  # 12 s of words with 0.1 s gaps between them (no pause of 0.5 s)
        pattern += [(SPEECH, 0.9), *quiet_gap]
    found = _feed(cutter, pattern)
    rest = cutter.flush()
    assert rest is not None
    found.append(rest)
    assert all(u.duration <= MAX_S + 1e-9 for u in found)
    assert len(found) >= 3
    # Contiguous: each utterance starts where the last ended.
    for before, after in itertools.pairwise(found):
        assert after.start_tick == before.start_tick + before.pcm.size // FRAME_SAMPLES
    assert sum(u.pcm.size for u in found) == _frames(12.0) * FRAME_SAMPLES
    # Cut in a gap between words where one was near: the cut's last frame is quiet.
    assert all(not np.any(u.pcm[-FRAME_SAMPLES:]) for u in found[:-1])


def test_a_speaker_who_leaves_mid_sentence_is_still_captioned() -> None:
    cutter = UtteranceCutter("amal")
    assert _feed(cutter, [(SPEECH, 0.8)]) == []
    rest = cutter.flush()
    assert rest is not None and abs(rest.duration - 0.8) < 0.05


def _tone(hz: float, seconds: float = 1.0) -> Pcm:
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    return (np.sin(2 * np.pi * hz * t) * 16000).astype(np.int16)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x[1000:-1000], dtype=np.float64))))


def test_resampling_keeps_speech_and_removes_what_would_alias() -> None:
    speech_band = to_recognizer_rate(_tone(1_000))
    assert speech_band.dtype == np.float32 and speech_band.size == SAMPLE_RATE // 3
    assert abs(_rms(speech_band) - 16000 / 32768 / np.sqrt(2)) < 0.01
    # A 12 kHz tone would fold to 4 kHz at 16 kHz: it must be all but gone.
    assert _rms(to_recognizer_rate(_tone(12_000))) < 0.01 * _rms(speech_band)
    spectrum = np.abs(np.fft.rfft(speech_band))
    assert abs(np.argmax(spectrum) * 16_000 / speech_band.size - 1_000) < 2
