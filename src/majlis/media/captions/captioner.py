"""One room's captions: each speaker's frames, as the mixer takes them, into timed cues.

Why before the mix: the room has each stage member's audio apart, so every cue is one person's
words and names them, with no diarization guesswork, and two people talking at once are both
captioned. Muted speakers are not in ``voices``: what nobody hears is never transcribed.

``feed`` runs on the event loop once per mixer tick and does only list appends; an utterance
goes to the node's ``RecognitionPool``, which refuses it at once when full. Then the words are
lost and the room is told ``captions_delayed``, rather than the audio ever waiting on captions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from majlis.media.captions.engine import Segment
from majlis.media.captions.utterances import Utterance, UtteranceCutter
from majlis.media.mixer import FRAME_S, Pcm

log = logging.getLogger(__name__)

#: "captions delayed" is said at most this often a room.
DELAYED_EVERY_S = 10.0
#: How long a closing room waits for the recognitions in flight.
CLOSE_WAIT_S = 5.0


@dataclass(frozen=True, slots=True)
class Heard:
    """A recognized stretch of one speaker's words; times are wall-clock (``time.time()``)."""

    key: str
    account_id: int
    start: float
    end: float
    text: str
    language: str


class Recognition(Protocol):
    """What the captioner needs of a recognition pool (``pool.RecognitionPool``): segments of
    48 kHz PCM, or None at once when it cannot take the utterance now."""

    async def transcribe(self, pcm: Pcm, language: str | None) -> list[Segment] | None: ...


class Captioner:
    def __init__(
        self,
        pool: Recognition,
        account_of: Callable[[str], int | None],
        on_heard: Callable[[Heard], Awaitable[None]],
        on_delayed: Callable[[], Awaitable[None]],
        language: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._account_of = account_of
        self._on_heard = on_heard
        self._on_delayed = on_delayed
        self.language = language
        self._clock = clock
        self._cutters: dict[str, UtteranceCutter] = {}
        self._tick = 0
        self._delayed_at = float("-inf")
        self._work: set[asyncio.Task[None]] = set()
        self.utterances = 0
        self.dropped = 0

    def feed(self, voices: Mapping[str, Pcm]) -> None:
        """One mixer tick: ``voices`` is each unmuted speaker's frame that had sound."""
        self._tick += 1
        for key in voices.keys() - self._cutters.keys():
            self._cutters[key] = UtteranceCutter(key)
        for key, cutter in self._cutters.items():
            utterance = cutter.push(self._tick, voices.get(key))
            if utterance is not None:
                self._recognize(utterance)

    def forget(self, key: str) -> None:
        """The speaker left the stage: what they were saying is still captioned."""
        cutter = self._cutters.pop(key, None)
        if cutter is not None and (utterance := cutter.flush()) is not None:
            self._recognize(utterance)

    def _recognize(self, utterance: Utterance) -> None:
        account_id = self._account_of(utterance.key)
        if account_id is None:
            return
        # The wall-clock moment the utterance's first frame was mixed.
        started = self._clock() - (self._tick - utterance.start_tick + 1) * FRAME_S
        self.utterances += 1
        task = asyncio.ensure_future(self._recognized(utterance, account_id, started))
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _recognized(self, utterance: Utterance, account_id: int, started: float) -> None:
        try:
            segments = await self._pool.transcribe(utterance.pcm, self.language)
        except Exception:
            log.exception("captions: recognizing %s's words failed", utterance.key)
            segments = None
        if segments is None:
            self.dropped += 1
            now = self._clock()
            if now - self._delayed_at >= DELAYED_EVERY_S:
                self._delayed_at = now
                await self._on_delayed()
            return
        for segment in segments:
            end = min(segment.end, utterance.duration)
            heard = Heard(
                utterance.key,
                account_id,
                started + segment.start,
                started + max(end, segment.start),
                segment.text,
                segment.language,
            )
            try:
                await self._on_heard(heard)
            except Exception:
                log.exception("captions: a cue of %s could not be kept", utterance.key)

    async def close(self, finish: bool = True) -> None:
        """``finish``: caption what is still being said and wait (bounded) for the recognitions
        in flight: the Space ended or captions were switched off. Otherwise (the node stops,
        and another continues the room) drop them at once."""
        if finish:
            for key in list(self._cutters):
                self.forget(key)
        self._cutters.clear()
        if not self._work:
            return
        if finish:
            # Bounded: a recognizer stuck in its process must not hold the room's closing.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_WAIT_S):
                    await asyncio.gather(*self._work, return_exceptions=True)
        for task in list(self._work):
            task.cancel()
        await asyncio.gather(*self._work, return_exceptions=True)
