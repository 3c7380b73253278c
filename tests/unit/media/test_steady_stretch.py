"""The ear check of the mix-minus tests: it looks past dropouts and clicks, never past a leak."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from tests.media.tones import FRAME, steadiest_stretch, tone_strength
from tests.support.program import hears_only

RATE = 48_000


def tone(hz: float, seconds: float, amplitude: float = 8000.0) -> npt.NDArray[np.float64]:
    t = np.arange(int(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * hz * t)


def pcm(signal: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    return np.clip(signal, -32768, 32767).astype(np.int16)


def with_dropouts(signal: npt.NDArray[np.float64], frames: list[int]) -> npt.NDArray[np.float64]:
    """Silence whole frames where the mixer had nothing from the other speaker."""
    out = signal.copy()
    for frame in frames:
        out[frame * FRAME : (frame + 1) * FRAME] = 0.0
    return out


def separation(ear: npt.NDArray[np.int16]) -> float:
    return tone_strength(ear, RATE, 660) / tone_strength(ear, RATE, 440)


def test_dropouts_make_a_clean_tone_look_like_a_leak_over_the_whole_window() -> None:
    """Why the helper exists: three dropouts in 2 s cost the whole window two orders of
    magnitude of separation from a tone nobody sent (more on a busy machine: 22x in CI)."""
    clean = pcm(tone(660, 2.0))
    glitched = pcm(with_dropouts(tone(660, 2.0), [10, 40, 75]))
    assert separation(glitched) < separation(clean) / 100


def test_the_steadiest_stretch_skips_dropouts_and_their_neighbours() -> None:
    ear = pcm(with_dropouts(tone(660, 2.0), [10, 40, 75]))
    stretch = steadiest_stretch(ear)
    assert stretch.size == (75 - 1 - (40 + 2)) * FRAME  # frames 42..73
    hears_only(ear, present=660, absent=440)


def test_a_phase_jump_is_a_click_and_is_skipped() -> None:
    signal = tone(660, 2.0)
    signal[30 * FRAME + 17 :] = tone(660, 2.0, 8000.0)[: signal.size - 30 * FRAME - 17] * -1
    stretch = steadiest_stretch(pcm(signal))
    assert stretch.size == (100 - 32) * FRAME


def test_a_leak_in_every_frame_still_fails() -> None:
    """A mixer that sends a speaker their own voice, even 30x down, fails the check."""
    ear = pcm(with_dropouts(tone(660, 2.0) + tone(440, 2.0, 8000.0 / 30), [10, 40]))
    with pytest.raises(AssertionError, match="440 Hz present"):
        hears_only(ear, present=660, absent=440)


def test_an_ear_with_no_half_second_of_steady_audio_is_a_failure_not_a_pass() -> None:
    ear = pcm(with_dropouts(tone(660, 2.0), list(range(0, 100, 20))))
    with pytest.raises(AssertionError, match=r"no 0\.5 s of steady audio"):
        steadiest_stretch(ear)
