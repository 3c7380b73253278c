"""Where recognition runs: a bounded pool the event loop hands utterances to, and never waits on.

Why a separate process by default: Whisper is seconds of CPU per utterance. In a process of its
own, started at a lower priority (``nice``), it takes only what the mixer, the encoders and the
HTTP loop leave: the audio is never late because of captions, and a crash in CTranslate2 costs
captions, not the node. Why bounded: speech arrives at the rate people talk, recognition at the
rate the CPU allows; when the pool is full, an utterance is refused at once (its words are lost
and the room says "captions delayed") instead of queueing into ever later captions.

``in_process`` runs a given recognizer on threads: the tests' scripted recognizer, or a model
that must not be loaded twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from majlis.media.captions.engine import Recognizer, Segment, open_recognizer
from majlis.media.captions.models import ModelUnavailable
from majlis.media.captions.utterances import to_recognizer_rate
from majlis.media.mixer import Pcm

log = logging.getLogger(__name__)

#: How much lower than the node the recognizer process runs (``nice``).
NICENESS = 10


class RecognitionPool:
    """Utterances in, segments out, at most ``workers`` at a time and ``pending`` waiting."""

    def __init__(
        self,
        executor: Executor,
        work: Callable[[Pcm, str | None], list[Segment]],
        load: Callable[[], None],
        *,
        workers: int,
        pending: int,
        description: str,
    ) -> None:
        self._executor = executor
        self._work = work
        self._load = load
        self.capacity = workers + pending
        self.description = description
        self._busy = 0
        self._loaded: asyncio.Future[None] | None = None
        #: Why recognition is unavailable (the model did not load); None while it is.
        self.failure: str | None = None
        self.refused = 0

    @classmethod
    def in_process(
        cls, recognizer: Recognizer, *, workers: int = 1, pending: int = 1
    ) -> RecognitionPool:
        def work(pcm: Pcm, language: str | None) -> list[Segment]:
            return _recognize(recognizer, pcm, language)

        executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="captions")
        return cls(
            executor, work, lambda: None, workers=workers, pending=pending, description="threads"
        )

    @classmethod
    def subprocess(
        cls,
        setting: str,
        data_dir: Path,
        *,
        workers: int = 1,
        cpu_threads: int = 1,
        pending: int = 1,
    ) -> RecognitionPool:
        """A pool of ``workers`` processes, each loading ``setting``'s model once, niced."""
        executor = concurrent.futures.ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_child_start,
            initargs=(setting, str(data_dir), cpu_threads),
        )
        return cls(
            executor,
            _child_transcribe,
            _child_load,
            workers=workers,
            pending=pending,
            description=f"{workers} process(es), model {setting!r}",
        )

    async def ready(self) -> bool:
        """Load the model (once, in the workers); False, logged once, if it cannot be."""
        if self._loaded is None:
            self._loaded = asyncio.ensure_future(self._load_once())
        await asyncio.shield(self._loaded)
        return self.failure is None

    async def _load_once(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._load)
        except ModelUnavailable as exc:
            self.failure = str(exc)
        except Exception as exc:  # a broken worker process, an import that crashed
            self.failure = f"the captions worker failed to start: {exc!r}"
        if self.failure is not None:
            log.error("captions: unavailable, majlis runs without them: %s", self.failure)
        else:
            log.info("captions: recognizer ready (%s)", self.description)

    async def transcribe(self, pcm: Pcm, language: str | None) -> list[Segment] | None:
        """The segments of ``pcm`` (48 kHz int16); None at once when the pool is full or the
        recognizer is unavailable (the caller says "captions delayed")."""
        if self.failure is not None or self._busy >= self.capacity:
            self.refused += 1
            return None
        self._busy += 1
        try:
            if not await self.ready():
                return None
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._work, pcm, language)
        finally:
            self._busy -= 1

    def close(self) -> None:
        """Stop at once: a recognition in flight is abandoned, not waited for (a stopping node
        must not wait seconds on captions)."""
        # ProcessPoolExecutor joins its workers at exit, each finishing its utterance first:
        # end them now (Python 3.14 has terminate_workers() for this). Taken before shutdown,
        # which forgets them.
        workers = list((getattr(self._executor, "_processes", None) or {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.terminate()


# In the worker process: one recognizer, loaded on the first call.
_setting = ""
_data_dir = ""
_threads = 1
_recognizer: Recognizer | None = None


def _child_start(setting: str, data_dir: str, cpu_threads: int) -> None:
    global _setting, _data_dir, _threads
    _setting, _data_dir, _threads = setting, data_dir, cpu_threads
    with contextlib.suppress(OSError):  # a platform without nice: the node's priority
        os.nice(NICENESS)


def _child_load() -> None:
    global _recognizer
    if _recognizer is None:
        # The pool cuts utterances at pauses already: Whisper's own VAD would only cost time.
        _recognizer = open_recognizer(
            _setting, Path(_data_dir), cpu_threads=_threads, vad_filter=False
        )


def _child_transcribe(pcm: Pcm, language: str | None) -> list[Segment]:
    _child_load()
    assert _recognizer is not None
    return _recognize(_recognizer, pcm, language)


def _recognize(recognizer: Recognizer, pcm: Pcm, language: str | None) -> list[Segment]:
    """A language the model does not know (Arabic for tiny.en) is detected instead."""
    if language is not None and not recognizer.supports(language):
        language = None
    return recognizer.transcribe(to_recognizer_rate(pcm), language)
