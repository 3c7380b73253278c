"""Live captions end to end, with every real part: aiortc speaker bots speak espeak-ng sentences
over WHIP, the room cuts each speaker's audio before the mix, Whisper base (the default model,
from its packages) recognizes it in its own process, and the transcript API answers with cues
attributed to the right speaker, their words recognized."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jiwer
import pytest

from majlis.bots.sources import ClipSource
from majlis.bots.speaker import SpeakerBot
from majlis.media.mixer import SAMPLE_RATE
from majlis.text_folding import normalize
from tests.support.client import Api, User, on_stage
from tests.support.server import run_server
from tests.support.speech import espeak_available, speak
from tests.support.wait import eventually, eventually_async

pytestmark = [
    pytest.mark.slow,
    # Two Spaces of real speech, and the first load of the recognizer's process.
    pytest.mark.timeout(300),
    pytest.mark.skipif(not espeak_available(), reason="espeak-ng speaks the sentences"),
]

#: Two Harvard sentences Whisper base recognizes word for word in espeak-ng's voice (the
#: benchmark's set, bench/captions_wer.py; some others lose half their words to the voice).
ENGLISH = {
    "host": "The boy was there when the sun rose.",
    "guest": "Help the woman get back to her feet.",
}
#: The best-recognized of the benchmark's Arabic sentences with Whisper base (character error
#: rate 0.29-0.33 on espeak-ng's voice, bench/captions_wer.py); espeak's Arabic is robotic.
ARABIC = "شُكْرًا جَزِيلًا عَلَى حُضُورِكُمْ."


def _transcript(user: User, space_id: str) -> list[dict[str, Any]]:
    response = user.get(f"/api/v1/spaces/{space_id}/transcript")
    assert response.status_code == 200, response.text
    cues: list[dict[str, Any]] = response.json()["cues"]
    return cues


def _close(said: str, heard: str, measure: Callable[[str, str], float], most: float) -> bool:
    return bool(normalize(heard)) and measure(normalize(said), normalize(heard)) <= most


async def _speak_until_captioned(
    base_url: str,
    space_id: str,
    speakers: list[tuple[User, str]],
    voice: str,
    matches: Callable[[str, str], bool],
) -> list[dict[str, Any]]:
    bots = [
        SpeakerBot(
            base_url,
            space_id,
            user.token,
            ClipSource(speak(text, voice, rate=SAMPLE_RATE), gap_s=1.5),
        )
        for user, text in speakers
    ]
    for bot in bots:
        await bot.connect()
    reader = speakers[0][0]
    try:

        def each_speaker_heard() -> list[dict[str, Any]] | None:
            cues = _transcript(reader, space_id)
            for user, text in speakers:
                theirs = [c for c in cues if c["speaker"]["handle"] == user.handle]
                if not any(matches(text, c["text"]) for c in theirs):
                    return None
            return cues

        # The first captioned Space of a node starts the recognizer's process and loads the
        # model (seconds); then each sentence is cued a second or two after it is said.
        cues: list[dict[str, Any]] = await eventually_async(
            lambda: asyncio.to_thread(each_speaker_heard),
            timeout_s=120,
            message="the speakers' words were not captioned",
        )
        return cues
    finally:
        for bot in bots:
            await bot.close()


def test_two_speakers_are_captioned_apart_in_english_and_one_in_arabic(tmp_path: Path) -> None:
    with run_server(tmp_path, captions_default=True) as server:
        api = Api(server.base_url)
        host, guest = api.sign_up("host"), api.sign_up("guest")

        space = host.create_space("captions in English")
        assert space["captions"] is True  # MAJLIS_CAPTIONS_DEFAULT=on
        patched = host.request("PATCH", f"/api/v1/spaces/{space['id']}", json={"language": "en"})
        assert patched.status_code == 200 and patched.json()["language"] == "en"
        on_stage(host, guest, space["id"])
        cues = asyncio.run(
            _speak_until_captioned(
                server.base_url,
                space["id"],
                [(host, ENGLISH["host"]), (guest, ENGLISH["guest"])],
                "en-us",
                lambda said, heard: _close(said, heard, jiwer.wer, 0.5),
            )
        )
        for cue in cues:
            assert cue["language"] == "en"
            assert 0 <= cue["start"] <= cue["end"]
            said = ENGLISH["host" if cue["speaker"]["handle"] == host.handle else "guest"]
            other = ENGLISH["guest" if cue["speaker"]["handle"] == host.handle else "host"]
            # Never the other speaker's words: each is heard before the mix.
            assert not _close(other, cue["text"], jiwer.wer, 0.5) or _close(
                said, cue["text"], jiwer.wer, 0.5
            ), cue
        assert host.post(f"/api/v1/spaces/{space['id']}/end").status_code == 200

        space = host.create_space("captions in Arabic")
        assert (
            host.request(
                "PATCH", f"/api/v1/spaces/{space['id']}", json={"language": "ar"}
            ).status_code
            == 200
        )
        cues = asyncio.run(
            _speak_until_captioned(
                server.base_url,
                space["id"],
                [(host, ARABIC)],
                "ar",
                lambda said, heard: _close(said, heard, jiwer.cer, 0.6),
            )
        )
        assert {cue["language"] for cue in cues} == {"ar"}
        api.close()
        # Left live: the node stops with the Space's room open and the recognizer busy.
        stopping = time.monotonic()
    # A stopping node does not wait on captions: the recognizer's process is ended, not joined.
    assert time.monotonic() - stopping < 5
    eventually(lambda: not multiprocessing.active_children(), message="the recognizer lives on")
