"""The nginx + Nchan LL-DASH edge (``majlis edge-config --engine nchan``) and its feeder
(``majlis edge-feed``), as real processes in front of a real origin with a live Space.

What the edge must do for LL-DASH: one origin fetch per segment per rendition whatever the
audience, every listener of a growing segment receiving each chunk as it is produced and the
whole segment byte for byte, a complete segment served as a file, the MPD collapsed onto the
feeder (which follows the Space from it), the DASH clock answered by nginx, and the feeder's
publishing location closed to everyone but the feeder. Everything that is not DASH is the
nginx edge's (``test_edge_nginx.py``); one pass-through check here shows it is still there.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from majlis.delivery.fanout import PUBLISH_PATH
from majlis.delivery.nchan import NchanOptions, render
from tests.support.edge_stage import (
    Reader,
    Stage,
    a_crowd_reads_the_next_segment,
    dash_prefix,
    listeners_following,
    next_segment,
)
from tests.support.listener import audience
from tests.support.live_space import live_space, origin_process
from tests.support.nchan_edge import NchanEdge, nchan_missing, running_nchan_edge
from tests.support.network import network_address
from tests.support.nginx import check_config, edge_options, free_port, nginx_binary
from tests.support.services import unavailable

ISO_MS_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)")


def _require_nchan() -> str:
    binary = nginx_binary()
    missing = "nginx is not installed" if binary is None else nchan_missing()
    if binary is None or missing:
        unavailable(missing or "nginx is not installed")
        raise AssertionError("unreachable")
    return binary


@pytest.mark.parametrize(
    "origins", [["http://127.0.0.1:8000"], ["http://127.0.0.2:8000", "http://127.0.0.3:8000"]]
)
def test_nginx_accepts_the_rendered_configuration(tmp_path: Path, origins: list[str]) -> None:
    binary = _require_nchan()
    options = edge_options(origins, tmp_path, free_port())
    for directory in (options.cache_dir / "tmp", options.log_dir):
        directory.mkdir(parents=True)
    config = tmp_path / "nginx.conf"
    config.write_text(render(NchanOptions(options, segments_dir=tmp_path / "dash")))
    checked = check_config(binary, config, tmp_path)
    assert checked.returncode == 0, checked.stderr


def _majlis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "majlis", *args], capture_output=True, text=True, timeout=30
    )


def test_the_printed_config_starts_nginx_as_it_is(tmp_path: Path) -> None:
    binary = _require_nchan()
    cache, segments = tmp_path / "deep" / "cache", tmp_path / "deep" / "dash"
    done = _majlis(
        *("edge-config", "--engine", "nchan", "--origin", "http://127.0.0.1:8000"),
        *("--cache-dir", str(cache), "--log-dir", str(tmp_path / "log")),
        *("--segments-dir", str(segments), "--feed-port", "18090", "--no-access-log"),
    )
    assert done.returncode == 0, done.stderr
    assert f"root {segments};" in done.stdout and "127.0.0.1:18090;" in done.stdout
    config = tmp_path / "nginx.conf"
    config.write_text(done.stdout.replace("pid /run/majlis-edge.pid;", f"pid {tmp_path}/e.pid;"))
    checked = check_config(binary, config, tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert (cache / "tmp").is_dir() and segments.is_dir()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--engine", "nchan", "--snippet"], "--snippet: for --engine nginx"),
        (["--engine", "nchan", "--feed-port", "0"], "--feed-port must be a port"),
        (["--engine", "nginx", "--feed-port", "8090"], "--feed-port: for --engine nchan"),
        (["--engine", "varnish", "--segments-dir", "/d"], "--segments-dir: for --engine nchan"),
    ],
)
def test_cli_refuses_what_the_nchan_edge_cannot_do_with_a_reason(
    args: list[str], says: str
) -> None:
    refused = _majlis("edge-config", "--origin", "http://10.0.0.5:8000", "--no-mkdir", *args)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("majlis edge-config: ") and says in refused.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--origin", "https://origin.example"], "plain http only"),
        (["--origin", "origin.example"], "http://"),
        (["--origin", "http://10.0.0.5:8000", "--port", "70000"], "--port must be a port"),
    ],
)
def test_the_feeder_refuses_what_it_cannot_follow(args: list[str], says: str) -> None:
    refused = _majlis("edge-feed", *args)
    assert refused.returncode == 2 and says in refused.stderr, refused.stderr


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    _require_nchan()
    tmp: Path = tmp_path_factory.mktemp("nchan-edge")
    with (
        origin_process(
            tmp, "--access-log", env={"MAJLIS_TRUSTED_PROXIES": "127.0.0.1/32"}
        ) as origin,
        # Two workers, as production runs one per core: a channel lives in one worker's
        # memory and reaches subscribers of the other through Nchan's IPC.
        running_nchan_edge(origin.url, tmp / "edge", workers=2) as edge,
        live_space(origin.url, publish_to=edge.url, title="Through Nchan") as space,
    ):
        yield Stage(origin, edge, space)  # type: ignore[arg-type]  # (.url is what it uses)


def _edge(stage: Stage) -> NchanEdge:
    edge = stage.edge
    assert isinstance(edge, NchanEdge)
    return edge


def _following(stage: Stage) -> dict[str, object]:
    answer: dict[str, object] = httpx.get(_edge(stage).feed_url + "/healthz").json()
    return answer


def test_whip_and_hls_pass_through(stage: Stage) -> None:
    whip = stage.origin_requests(f"/api/v1/spaces/{stage.space.space_id}/whip", "POST")
    assert [m["status"] for m in whip] == ["201"]  # the speaker bot's, through the edge
    playlist = httpx.get(f"{stage.edge.url}{stage.hls}/live.m3u8")
    assert playlist.status_code == 200 and "#EXTM3U" in playlist.text


def test_the_edge_tells_the_dash_clock(stage: Stage) -> None:
    before = time.time()
    response = httpx.get(f"{stage.edge.url}/dash/time")
    after = time.time()
    assert response.status_code == 200
    # ISO-8601 to the millisecond, with nginx's UTC offset (+00:00 on a server in UTC).
    assert ISO_MS_OFFSET.fullmatch(response.text), response.text
    told = datetime.fromisoformat(response.text.replace("Z", "+00:00")).timestamp()
    # nginx's clock is its cached time, updated once per event-loop turn: a few ms at most.
    assert before - 0.05 <= told <= after + 0.002
    assert response.headers["cache-control"] == "no-store"
    assert not stage.origin_requests("/dash/time")


def test_a_crowd_asking_for_the_mpd_costs_the_origin_one_request_a_second(stage: Stage) -> None:
    prefix = dash_prefix(stage)
    before = len(stage.origin_requests(f"{prefix}/live.mpd"))
    with ThreadPoolExecutor(50) as pool:
        answers = list(
            pool.map(lambda _: httpx.get(f"{stage.edge.url}{prefix}/live.mpd"), range(50))
        )
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) <= 2  # (the cached copy may be refreshed once)
    asked = len(stage.origin_requests(f"{prefix}/live.mpd")) - before
    assert asked <= 2, asked  # the feeder's fetch for the cache (and perhaps one refresh)
    assert stage.space.space_id in _following(stage)["following"]  # type: ignore[operator]


def test_the_mpd_is_gzipped_for_players_that_take_it_and_plain_for_the_rest(
    stage: Stage,
) -> None:
    url = f"{stage.edge.url}{dash_prefix(stage)}/live.mpd"
    with httpx.Client() as http:
        raw = http.get(url, headers={"Accept-Encoding": "gzip"})
        plain = http.get(url, headers={"Accept-Encoding": "identity"})
    assert raw.status_code == plain.status_code == 200
    assert raw.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    # The same document (the cache may have refreshed it between the two: its publishTime).
    assert raw.text.startswith("<?xml") and _unpublished(raw.text) == _unpublished(plain.text)
    assert raw.num_bytes_downloaded * 2 < plain.num_bytes_downloaded


def _unpublished(mpd: str) -> str:
    return re.sub(r' publishTime="[^"]*"', "", mpd)


def test_dash_listeners_of_a_segment_not_yet_begun_cost_the_origin_one_request(
    stage: Stage,
) -> None:
    prefix = dash_prefix(stage)
    httpx.get(f"{stage.edge.url}{prefix}/live.mpd")  # what a player does first: follows it
    readers = a_crowd_reads_the_next_segment(stage, prefix)
    uri = readers[0].url.removeprefix(stage.edge.url)
    assert len(stage.origin_requests(uri)) == 1  # the feeder's, for a hundred listeners


def test_a_dash_listener_arriving_mid_segment_reads_it_before_it_is_complete(
    stage: Stage,
) -> None:
    prefix = dash_prefix(stage)
    httpx.get(f"{stage.edge.url}{prefix}/live.mpd")
    uri = f"{prefix}/aac/{next_segment(stage)}.m4s"
    first, late = Reader(stage.edge.url + uri), Reader(stage.edge.url + uri)
    with httpx.Client(timeout=20) as http:
        fetching = threading.Thread(target=first.run, args=(http,))
        fetching.start()
        assert first.started.wait(15)  # its first chunk is in: mid-segment now
        late.run(http)
        fetching.join(15)
    assert first.status == late.status == 200
    # The late listener's first bytes came while the segment was still being produced (before
    # the first listener's last byte): the chunks so far at once, then the rest as they came.
    assert late.first_at < first.last_at
    assert late.body == first.body


def test_a_complete_segment_is_a_file_the_edge_serves_as_it_is(stage: Stage) -> None:
    prefix = dash_prefix(stage)
    httpx.get(f"{stage.edge.url}{prefix}/live.mpd")
    number = next_segment(stage)
    live = httpx.get(f"{stage.edge.url}{prefix}/aac/{number}.m4s", timeout=20)
    done = httpx.get(f"{stage.edge.url}{prefix}/aac/{number}.m4s")
    assert live.status_code == done.status_code == 200
    assert "content-length" not in live.headers  # streamed, chunked
    assert done.headers["content-length"] == str(len(live.content))
    assert done.content == live.content
    assert done.headers["cache-control"] == "public, max-age=60"
    assert done.headers["access-control-allow-origin"] == "*"


def test_a_segment_gone_or_far_ahead_is_a_404_at_once(stage: Stage) -> None:
    """Only the segments the feeder produces or will produce next may be waited for: a made-up
    number would otherwise hold a request and a channel in Nchan's memory."""
    prefix = dash_prefix(stage)
    httpx.get(f"{stage.edge.url}{prefix}/live.mpd")
    number = next_segment(stage)
    for made_up in (number + 50, 1, number - 1000):
        began = time.monotonic()
        answer = httpx.get(f"{stage.edge.url}{prefix}/aac/{made_up}.m4s", timeout=20)
        assert answer.status_code == 404, made_up
        assert time.monotonic() - began < 2  # at once, not after a wait
        assert answer.json()["status"] == 404


def test_nobody_but_the_feeder_may_publish(stage: Stage) -> None:
    """The publisher location answers loopback only: from this machine's own network address
    (not 127.0.0.1) a publish is refused and reaches no listener."""
    address = network_address()
    port = _edge(stage).edge.port
    channel = f"{PUBLISH_PATH}/{stage.space.space_id}/aac/1"
    answer = httpx.post(f"http://{address}:{port}{channel}", content=b"forged")
    assert answer.status_code == 403


def test_listeners_play_the_live_edge_without_a_stall(stage: Stage) -> None:
    """Twenty LL-DASH listeners (each as dash.js schedules its requests) for 8 s: none stalls,
    none errs, each plays at the MPD's 1.2 s target, receiving ~the rendition's bitrate."""
    stats = asyncio.run(
        audience(f"{stage.edge.url}{dash_prefix(stage)}/live.mpd", 20, 8.0, 2.0, dash=True)
    )
    assert stats.errors == 0, stats.error_samples
    assert stats.stalled_listeners == 0
    assert len(stats.playback_latency_s) == 20
    assert max(stats.playback_latency_s) < 1.5, stats.playback_latency_s


@pytest.mark.slow
def test_dash_listeners_following_the_live_edge_cost_one_origin_request_per_segment(
    stage: Stage,
) -> None:
    """100 listeners each read five segments in a row, asking for the next as the last one
    ends (as an LL-DASH player at the live edge does): one origin fetch per segment."""
    prefix = dash_prefix(stage)
    httpx.get(f"{stage.edge.url}{prefix}/live.mpd")
    start = next_segment(stage)
    numbers = range(start, start + 5)

    listeners_following(stage.edge.url, prefix, numbers)
    sent = [len(stage.origin_requests(f"{prefix}/aac/{n}.m4s")) for n in numbers]
    assert sum(sent) / len(sent) <= 1.05, sent
