"""A node killed mid-Space (SIGKILL, no shutdown) leaves a playable recording up to its last
part; restarted, it resumes the same Space and the same recording, and no URL it served as
immutable answers with other bytes (issue 14, finding 4: the media sequence began at 0 again)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import signal
from pathlib import Path

import httpx

from majlis.bots.sources import ToneSource
from majlis.bots.speaker import SpeakerBot
from majlis.media.recording import RecordingIndex
from tests.media.tones import decode_mp4, tone_strength
from tests.support.client import Api
from tests.support.program import fetch_vod
from tests.support.server import free_port, serve_process


async def _speak(base: str, space_id: str, token: str, seconds: float) -> None:
    bot = SpeakerBot(base, space_id, token, ToneSource(440))
    await bot.connect()
    await asyncio.sleep(seconds)  # real-time audio: the recording's length is checked against it
    await bot.close(hang_up=False)


def _immutable_media(base: str, space_id: str) -> dict[str, str]:
    """Every part and segment the live playlist names (served ``immutable``), and the DASH
    segments of the same numbers, with the sha256 of their bytes."""
    playlist = httpx.get(f"{base}/hls/{space_id}/live.m3u8").text
    names = re.findall(r'URI="([^"]+\.m4s)"', playlist)
    names += [line for line in playlist.splitlines() if line.endswith(".m4s")]
    urls = [f"/hls/{space_id}/{name}" for name in names]
    urls += [f"/dash/{space_id}/aac/{name}" for name in names if name.count(".") == 1]
    found = {}
    for url in urls:
        response = httpx.get(base + url)
        assert response.status_code == 200, (url, response.status_code)
        if url.startswith("/hls/"):  # DASH segments are cached for a minute, not for ever
            assert "immutable" in response.headers["cache-control"], url
        found[url] = hashlib.sha256(response.content).hexdigest()
    assert sum(url.startswith("/dash/") for url in found) >= 1, found
    return found


def test_a_killed_node_leaves_a_playable_recording_and_resumes_it(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = serve_process(tmp_path, port)
    try:
        api = Api(base)
        host = api.sign_up("crash")
        space = host.create_space("about to crash")
        asyncio.run(_speak(base, space["id"], host.token, 4.0))
        served = _immutable_media(base, space["id"])
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    recording = tmp_path / "recordings" / f"{space['id']}.m4a"
    data = recording.read_bytes()
    whole = RecordingIndex.read(recording).complete_length
    pcm, rate = decode_mp4(data[:whole])
    assert 3.0 < pcm.size / rate < 6.5
    assert tone_strength(pcm, rate, 440) > 30

    process = serve_process(tmp_path, port)  # the Space is still live: its room reopens
    try:
        asyncio.run(_speak(base, space["id"], host.token, 3.0))
        for url, digest in served.items():  # the same bytes, or gone: never other audio
            again = httpx.get(base + url)
            assert again.status_code == 404 or (
                again.status_code == 200 and hashlib.sha256(again.content).hexdigest() == digest
            ), (url, again.status_code)
        ended = host.post(f"/api/v1/spaces/{space['id']}/end").json()
        _, media = fetch_vod(base, ended["replay_url"])
        replay, rate = decode_mp4(media)
        # Both stretches are in the one replay; the downtime itself is not.
        assert pcm.size / rate + 2.5 < replay.size / rate < pcm.size / rate + 8
        api.close()
    finally:
        process.terminate()
        process.wait(15)
