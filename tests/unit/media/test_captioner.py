"""A room's captioner: each speaker's utterances to the recognizer, its words back as timed,
attributed cues; a full recognizer drops words and says so, never holding the tick."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from majlis.media.captions.captioner import Captioner, Heard
from majlis.media.captions.engine import Segment
from majlis.media.captions.pool import RecognitionPool
from majlis.media.captions.utterances import LONG_PAUSE_S
from majlis.media.mixer import FRAME_S, FRAME_SAMPLES, Pcm

LOUD = (np.sin(np.arange(FRAME_SAMPLES) * 0.04) * 8000).astype(np.int16)


class ScriptedRecognizer:
    """Says which speaker's tone it was given, by its level, at a known place in the buffer."""

    def __init__(self) -> None:
        self.calls = 0

    def supports(self, language: str) -> bool:
        return True

    def transcribe(self, pcm: np.ndarray, language: str | None = None) -> list[Segment]:
        self.calls += 1
        level = float(np.max(np.abs(pcm)))
        words = "loud words" if level > 0.2 else "soft words"
        return [Segment(0.5, 1.0, words, language or "en")]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class HeldPool:
    """A pool whose recognitions finish only when the test says."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0

    async def transcribe(self, pcm: Pcm, language: str | None) -> list[Segment] | None:
        self.started += 1
        if self.started > 1:
            return None  # full
        await self.release.wait()
        return [Segment(0.0, 0.5, "first", "ar")]


def _tick(captioner: Captioner, clock: FakeClock, voices: dict[str, Pcm]) -> None:
    clock.now += FRAME_S
    captioner.feed(voices)


async def _each_speaker_is_captioned_apart_with_wall_clock_times() -> None:
    recognizer = ScriptedRecognizer()
    pool = RecognitionPool.in_process(recognizer, workers=1, pending=4)
    heard: list[Heard] = []
    got = asyncio.Event()

    async def on_heard(words: Heard) -> None:
        heard.append(words)
        if len(heard) == 2:
            got.set()

    async def on_delayed() -> None:
        raise AssertionError("nothing should be dropped")

    clock = FakeClock()
    accounts = {"amal": 1, "badr": 2}
    captioner = Captioner(pool, accounts.get, on_heard, on_delayed, clock=clock)
    start = clock.now
    soft = (LOUD // 4).astype(np.int16)
    for _ in range(round(1.5 / FRAME_S)):  # both talk at once for 1.5 s, then stop
        _tick(captioner, clock, {"amal": LOUD, "badr": soft})
    for _ in range(round(LONG_PAUSE_S / FRAME_S)):
        _tick(captioner, clock, {})
    async with asyncio.timeout(10):
        await got.wait()
    await captioner.close()
    pool.close()
    by_key = {h.key: h for h in heard}
    assert by_key["amal"].text == "loud words" and by_key["amal"].account_id == 1
    assert by_key["badr"].text == "soft words" and by_key["badr"].account_id == 2
    for words in heard:
        # The utterance started with the first frame (no preroll: they were loud at once);
        # its segment's times are offsets into it.
        assert words.start == pytest.approx(start + 0.5, abs=2 * FRAME_S)
        assert words.end == pytest.approx(start + 1.0, abs=2 * FRAME_S)
    assert captioner.utterances == 2 and captioner.dropped == 0


async def _a_full_recognizer_drops_words_says_so_once_and_never_blocks_a_tick() -> None:
    pool = HeldPool()
    heard: list[Heard] = []
    delayed = asyncio.Event()
    said = 0

    async def on_heard(words: Heard) -> None:
        heard.append(words)

    async def on_delayed() -> None:
        nonlocal said
        said += 1
        delayed.set()

    clock = FakeClock()
    captioner = Captioner(pool, lambda key: 7, on_heard, on_delayed, clock=clock)
    for _ in range(3):  # three utterances of 1.2 s, each followed by a long pause
        for _ in range(round(1.2 / FRAME_S)):
            _tick(captioner, clock, {"amal": LOUD})
        for _ in range(round(LONG_PAUSE_S / FRAME_S)):
            _tick(captioner, clock, {})
        await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await delayed.wait()
    assert said == 1, "captions_delayed is said at most every 10 s"
    pool.release.set()
    await captioner.close()
    assert [h.text for h in heard] == ["first"]
    assert captioner.utterances == 3 and captioner.dropped == 2


async def _a_speaker_who_is_not_on_the_stage_any_more_is_not_captioned() -> None:
    recognizer = ScriptedRecognizer()
    pool = RecognitionPool.in_process(recognizer)

    async def never(*_: object) -> None:
        raise AssertionError("no cue for an unknown speaker")

    clock = FakeClock()
    captioner = Captioner(pool, lambda key: None, never, never, clock=clock)
    for _ in range(round(1.5 / FRAME_S)):
        _tick(captioner, clock, {"ghost": LOUD})
    captioner.forget("ghost")
    await captioner.close()
    pool.close()
    assert recognizer.calls == 0


def test_each_speaker_is_captioned_apart_with_wall_clock_times() -> None:
    asyncio.run(_each_speaker_is_captioned_apart_with_wall_clock_times())


def test_a_full_recognizer_drops_words_says_so_once_and_never_blocks_a_tick() -> None:
    asyncio.run(_a_full_recognizer_drops_words_says_so_once_and_never_blocks_a_tick())


def test_a_speaker_who_is_not_on_the_stage_any_more_is_not_captioned() -> None:
    asyncio.run(_a_speaker_who_is_not_on_the_stage_any_more_is_not_captioned())
