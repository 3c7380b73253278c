"""Measuring decoded 48 kHz audio: pitch, level, and how far one decode lags another."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RATE = 48000
PRE_SKIP = 312  # libopus's look-ahead at 48 kHz, whatever the application or bitrate


def peak_hz(samples: npt.NDArray[np.float32]) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * RATE / samples.size)


def rms_db(samples: npt.NDArray[np.float32]) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))))


def envelope(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Level in 1 ms steps (mean absolute value over 2 ms windows), for aligning two decodes."""
    window = RATE // 500
    smooth = np.convolve(np.abs(samples.astype(np.float64)), np.ones(window) / window, "same")
    return smooth[:: RATE // 1000]


def lag_ms(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], within_ms: int = 30) -> int:
    """By how many ms ``b`` lags ``a``: the peak of their envelopes' cross-correlation."""
    ea, eb = envelope(a), envelope(b)
    n = min(ea.size, eb.size) - 2 * within_ms
    ea = ea[within_ms : within_ms + n] - ea.mean()

    def score(lag: int) -> float:
        segment = eb[within_ms + lag : within_ms + lag + n] - eb.mean()
        return float(np.dot(ea, segment))

    return max(range(-within_ms, within_ms + 1), key=score)
