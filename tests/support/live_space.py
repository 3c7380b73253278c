"""The stage of the edge tests (nginx, Varnish): a real origin process with a live Space whose
speaker bot publishes over WHIP through the edge, and helpers that read its LL-HLS playlist.

    with origin_process(tmp) as origin, running_edge(origin.url, tmp) as edge:
        with live_space(origin.url, publish_to=edge.url) as space:
            hint(space.origin_playlist())

The bot publishing *through the edge* is itself a check: WHIP must pass straight through.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.media.bot_thread import BotThread
from tests.support.client import Api, User
from tests.support.server import free_port, serve_process
from tests.support.wait import eventually

PARTS_PER_SEGMENT = 8
_HINT = re.compile(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"')
_PARTS = re.compile(r'URI="(\d+)\.(\d+)\.m4s",INDEPENDENT')


def hint(playlist: str) -> tuple[int, int]:
    """The preload-hinted part: (msn, part index)."""
    found = _HINT.search(playlist)
    assert found, playlist
    return int(found[1]), int(found[2])


def listed_parts(playlist: str) -> list[tuple[int, int]]:
    return [(int(msn), int(index)) for msn, index in _PARTS.findall(playlist)]


def newest_part(playlist: str) -> int:
    """The newest listed part as a count of parts since the stream began."""
    msn, index = listed_parts(playlist)[-1]
    return msn * PARTS_PER_SEGMENT + index


def ahead(msn: int, index: int, parts: int) -> tuple[int, int]:
    """The part ``parts`` after (msn, index)."""
    total = msn * PARTS_PER_SEGMENT + index + parts
    return divmod(total, PARTS_PER_SEGMENT)


def concurrently(urls: Sequence[str], timeout_s: float = 15) -> list[httpx.Response]:
    """GET every URL at once, each on its own connection."""
    limits = httpx.Limits(max_connections=len(urls))
    with (
        httpx.Client(timeout=timeout_s, limits=limits) as http,
        ThreadPoolExecutor(len(urls)) as pool,
    ):
        return list(pool.map(http.get, urls))


@dataclass
class Origin:
    """``majlis serve`` in its own process; its output (the access log, if asked) in ``log``."""

    url: str
    log: Path
    process: subprocess.Popen[bytes]


@contextmanager
def origin_process(tmp: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Origin]:
    port = free_port()
    process = serve_process(tmp, port, *args, env=env)
    try:
        yield Origin(f"http://127.0.0.1:{port}", tmp / "serve.log", process)
    finally:
        process.terminate()
        process.wait(15)


@dataclass
class LiveSpace:
    origin: str
    space_id: str
    api: Api
    host: User

    @property
    def hls(self) -> str:
        return f"/hls/{self.space_id}"

    def origin_playlist(self) -> str:
        response = httpx.get(f"{self.origin}{self.hls}/live.m3u8", timeout=10)
        assert response.status_code == 200, response.text
        return response.text


@contextmanager
def live_space(
    origin: str, publish_to: str, title: str = "Through the edge"
) -> Iterator[LiveSpace]:
    """A Space live on ``origin`` whose speaker bot publishes via ``publish_to`` (an edge), once
    its playlist lists a few parts."""
    api = Api(origin)
    try:
        host = api.sign_up("host")
        space = host.create_space(title)
        bot = BotThread(publish_to, space["id"], host.token, 440)
        try:
            running = LiveSpace(origin, space["id"], api, host)
            eventually(
                lambda: len(listed_parts(running.origin_playlist())) >= 6,
                message="the live Space published no parts",
            )
            yield running
        finally:
            bot.close()
    finally:
        api.close()
