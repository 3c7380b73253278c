"""The recognizer seam: PCM in, timed text out; and its implementation over faster-whisper.

Why a Protocol: the captions pipeline (per-speaker queues, worker pool, cue timing) is tested
with a scripted recognizer in milliseconds, and another engine (whisper.cpp, a GPU server) can
stand in without the pipeline knowing.

Why faster-whisper: CTranslate2 runs Whisper with int8 weights on a CPU at several times real
time for the small models, on the operator's own machine, with no audio leaving it. It is an
optional extra (``majlis[captions]``) that pulls in CTranslate2 and ONNX Runtime, so it is
imported only when a recognizer is made: majlis runs, and this module imports, without it.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from majlis.media.captions.models import ModelUnavailable, ResolvedModel, resolve_model

#: What every recognizer takes: mono float32 samples in [-1, 1] at this rate (Whisper's own).
SAMPLE_RATE = 16_000

Pcm = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of recognized speech; times in seconds from the start of the PCM given."""

    start: float
    end: float
    text: str
    #: ISO 639-1 code: the language asked for, or the one the model detected.
    language: str


class Recognizer(Protocol):
    """Speech to text, one buffer at a time. Blocking and CPU-bound: call it off the event loop."""

    def supports(self, language: str) -> bool:
        """Whether ``language`` (ISO 639-1) can be asked for (an English-only model: "en")."""
        ...

    def transcribe(self, pcm: Pcm, language: str | None = None) -> list[Segment]:
        """The speech in ``pcm`` (mono float32, 16 kHz); ``language=None`` detects it."""
        ...


class WhisperRecognizer:
    """Whisper on CTranslate2 (faster-whisper), int8 on the CPU.

    ``cpu_threads`` bounds the cores one transcription uses; ``workers`` how many transcriptions
    run at once (from as many calling threads; more wait their turn inside CTranslate2).
    ``vad_filter`` skips the silences between words with Silero VAD (shipped inside
    faster-whisper) before decoding: cheaper, and Whisper does not invent words for silence.
    ``beam_size`` 1 is greedy decoding, the cheapest; 5 is Whisper's own default.
    """

    def __init__(
        self,
        model: ResolvedModel,
        *,
        cpu_threads: int = 1,
        workers: int = 1,
        beam_size: int = 1,
        vad_filter: bool = True,
        compute_type: str = "int8",
    ) -> None:
        self.model = model
        self.beam_size = beam_size
        self.vad_filter = vad_filter
        whisper = _faster_whisper(model.setting)
        try:
            # local_files_only: belt and braces; resolve_model already gave an existing directory,
            # the one kind of argument faster-whisper never tries to download.
            self._whisper: Any = whisper.WhisperModel(
                str(model.path),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                num_workers=workers,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelUnavailable(
                model.setting, f"faster-whisper could not load {model.path}: {exc}"
            ) from exc
        self.languages: frozenset[str] = frozenset(self._whisper.supported_languages)
        self.multilingual = len(self.languages) > 1

    def supports(self, language: str) -> bool:
        return language in self.languages

    def transcribe(self, pcm: Pcm, language: str | None = None) -> list[Segment]:
        if language is not None and not self.supports(language):
            # faster-whisper would quietly transcribe as English: say so instead.
            raise ValueError(f"model {self.model.name!r} does not recognize {language!r}")
        samples = np.ascontiguousarray(pcm, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected mono PCM (one dimension), got shape {samples.shape}")
        if samples.size == 0:
            return []
        pieces, info = self._whisper.transcribe(
            samples,
            language=language,
            beam_size=self.beam_size,
            vad_filter=self.vad_filter,
            # Each call is a fresh buffer: text carried over from an earlier one only helps
            # Whisper repeat itself.
            condition_on_previous_text=False,
        )
        found = str(info.language)
        segments = (
            Segment(float(p.start), float(p.end), str(p.text).strip(), found) for p in pieces
        )
        return [s for s in segments if s.text]


def open_recognizer(
    setting: str,
    data_dir: Path,
    *,
    cpu_threads: int = 1,
    workers: int = 1,
    beam_size: int = 1,
    vad_filter: bool = True,
) -> WhisperRecognizer:
    """The recognizer for ``MAJLIS_CAPTIONS_MODEL=setting``, loaded; ``ModelUnavailable`` if
    the model or faster-whisper is missing or does not load (say so at start, run without)."""
    return WhisperRecognizer(
        resolve_model(setting, data_dir),
        cpu_threads=cpu_threads,
        workers=workers,
        beam_size=beam_size,
        vad_filter=vad_filter,
    )


_import_lock = threading.Lock()


def _faster_whisper(setting: str) -> ModuleType:
    """faster-whisper, imported on first use (it has no type hints: typed ``Any`` here)."""
    with _import_lock:  # two workers' first imports at once would each run its module code
        try:
            return importlib.import_module("faster_whisper")
        except ImportError as exc:
            raise ModelUnavailable(
                setting,
                f"faster-whisper is not installed ({exc}): pip install 'majlis[captions]'",
            ) from exc
