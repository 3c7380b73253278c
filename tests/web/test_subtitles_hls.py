"""Captions as an HLS WebVTT rendition (issue 16): the multivariant playlist names it, its media
playlist follows the live audio segment for segment, each cue is in the one segment where it
starts, timed from that segment's media time; FFmpeg reads the whole presentation and hls.js
in Chromium shows the cues."""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import webvtt
from playwright.sync_api import Page

from majlis.media.hls.subtitles import SETTLE_S, read_audio_playlist
from majlis.media.plane.captions import keep_cue
from tests.support.client import Api, User
from tests.support.server import RunningServer
from tests.support.wait import eventually
from tests.web.conftest import ONE_SHAPE

pytestmark = ONE_SHAPE


def _vtt_time(text: str) -> float:
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@contextmanager
def _talking(server: RunningServer, space_id: str, host: User, started: float) -> Iterator[None]:
    """A cue every half second at the Space's current time, as live captions would arrive."""
    stop = threading.Event()
    ctx = server.services.ctx

    def feed() -> None:
        account = server.call(ctx.store.account_by_handle(host.handle))
        number = 0
        while not stop.wait(0.5):
            number += 1
            at = time.time() - started - 0.4
            server.call(keep_cue(ctx, space_id, account.id, at, at + 0.3, f"cue {number}", "ar"))

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def _captioned_space(api: Api) -> tuple[User, dict[str, object], float]:
    host = api.sign_up("host")
    space = host.create_space("مع ترجمة")
    changed = host.request(
        "PATCH", f"/api/v1/spaces/{space['id']}", json={"captions": True, "language": "ar"}
    )
    assert changed.status_code == 200
    started = datetime.fromisoformat(str(space["started_at"])).timestamp()
    return host, changed.json(), started


def test_the_subtitles_rendition_follows_the_audio_and_each_cue_is_in_its_segment(
    server: RunningServer, api: Api
) -> None:
    host, space, started = _captioned_space(api)
    sid = str(space["id"])
    main_url = str(space["hls_main_url"])
    assert main_url.endswith(f"/hls/{sid}/main.m3u8")
    main = api.http.get(main_url).text
    assert '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="captions",NAME="Captions",LANGUAGE="ar"' in main
    assert 'SUBTITLES="captions"' in main and main.rstrip().endswith("live.m3u8")

    with _talking(server, sid, host, started):

        def settled() -> str | None:
            text = api.http.get(f"/hls/{sid}/captions.m3u8").text
            return text if text.count(".vtt") >= 3 else None

        playlist = eventually(settled, timeout_s=30, message="three subtitle segments")
    audio = read_audio_playlist(api.http.get(f"/hls/{sid}/live.m3u8").text)
    listed = [line for line in playlist.splitlines() if line.endswith(".vtt")]
    found: dict[str, float] = {}
    for uri in listed:
        msn = int(uri.removeprefix("captions/").removesuffix(".vtt"))
        segment = audio.segment(msn)
        assert segment is not None, "a subtitle segment is an audio segment's stretch"
        # Listed only once its cues are in: the audio ended SETTLE_S before.
        assert segment.date + segment.duration + SETTLE_S <= time.time() + 0.5
        body = api.http.get(f"/hls/{sid}/{uri}")
        assert body.headers["content-type"].startswith("text/vtt")
        assert "X-TIMESTAMP-MAP=MPEGTS:" in body.text
        for caption in webvtt.from_buffer(io.StringIO(body.text)):
            assert caption.text not in found, "a cue is in one segment only"
            local = _vtt_time(caption.start)
            assert 0 <= local < segment.duration + 1e-3
            found[caption.text] = segment.date + local - started
    transcript = {
        c["text"]: c["start"]
        for c in api.http.get(f"/api/v1/spaces/{sid}/transcript").json()["cues"]
    }
    assert len(found) >= 3
    for text, at in found.items():
        assert abs(transcript[text] - at) < 0.002, text


def _streams(url: str) -> set[tuple[str, str]]:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {(s["codec_type"], s["codec_name"]) for s in json.loads(probe.stdout)["streams"]}


def test_ffmpeg_reads_the_presentation_and_hls_js_shows_the_cues(
    server: RunningServer, api: Api, page: Page
) -> None:
    host, space, started = _captioned_space(api)
    sid = str(space["id"])
    main_url = f"{server.base_url}/hls/{sid}/main.m3u8"
    with _talking(server, sid, host, started):
        eventually(
            lambda: api.http.get(f"/hls/{sid}/captions.m3u8").text.count(".vtt") >= 2,
            timeout_s=30,
            message="subtitle segments",
        )
        # FFmpeg reads the multivariant playlist's audio; Debian's FFmpeg 5.1 skips WebVTT
        # renditions ("Can't support the subtitle"), so it reads a subtitle segment apart.
        assert ("audio", "aac") in _streams(main_url)
        first = next(
            line
            for line in api.http.get(f"/hls/{sid}/captions.m3u8").text.splitlines()
            if line.endswith(".vtt")
        )
        assert _streams(f"{server.base_url}/hls/{sid}/{first}") == {("subtitle", "webvtt")}

        page.goto(f"{server.base_url}/")
        page.add_script_tag(url="/static/vendor/hls.min.js")
        page.evaluate(
            """(url) => {
                const media = document.createElement("video");
                media.muted = true;
                document.body.appendChild(media);
                const hls = new Hls({ lowLatencyMode: false, liveSyncDurationCount: 4,
                                      subtitleDisplay: true, renderTextTracksNatively: true });
                hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => { hls.subtitleTrack = 0; });
                hls.loadSource(url);
                hls.attachMedia(media);
                media.play().catch(() => {});
                window.captionsTest = { hls, media };
            }""",
            main_url,
        )
        page.wait_for_function(
            """() => {
                const tracks = Array.from(window.captionsTest.media.textTracks);
                return tracks.some((t) => t.cues && Array.from(t.cues).some(
                    (c) => /^(<v [^>]*>)?(<lang ar>)?cue \\d+/.test(c.text)));
            }""",
            timeout=30_000,
            polling=250,
        )
        language = page.evaluate(
            "() => Array.from(window.captionsTest.media.textTracks).map((t) => t.language)"
        )
        assert "ar" in language
        page.evaluate("() => window.captionsTest.hls.destroy()")
