"""Speech with a known transcript, made on the spot: espeak-ng speaks, PyAV resamples.

Why synthesized: a labelled recording needs no download and no stored audio in the repository,
and the words are exactly the text given. espeak-ng's voice is robotic (Arabic more so): a
recognizer scores worse on it than on people, which the benchmark states beside its figures.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

#: What recognizers take (Whisper's rate).
RATE = 16_000


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(
    text: str, voice: str, *, words_per_minute: int = 150, rate: int = RATE
) -> npt.NDArray[np.float32]:
    """``text`` spoken by espeak-ng's ``voice`` ("en-us", "ar"): mono float32 at ``rate``
    (16 kHz for a recognizer, 48 kHz for a speaker bot)."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "--stdout", text],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return _resampled(wav, rate)


def _resampled(wav: bytes, rate: int) -> npt.NDArray[np.float32]:
    chunks: list[npt.NDArray[np.float32]] = []
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    with av.open(io.BytesIO(wav), "r", format="wav") as container:
        for frame in container.decode(audio=0):
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def write_wav(path: Path, pcm: npt.NDArray[np.float32], rate: int = RATE) -> None:
    """16-bit mono WAV, for listening to what a test or benchmark heard."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())


def read_wav(path: Path) -> npt.NDArray[np.float32]:
    """A 16-bit mono WAV as written by ``write_wav``: float32 in [-1, 1]."""
    with wave.open(str(path), "rb") as source:
        if (source.getnchannels(), source.getsampwidth()) != (1, 2):
            raise ValueError(f"{path}: expected 16-bit mono")
        frames = source.readframes(source.getnframes())
    return (np.frombuffer(frames, "<i2").astype(np.float32) / 32768).astype(np.float32)
