"""A real Squid running the configuration ``majlis edge-config --engine squid`` renders: in front
of a real origin process with a live Space (its speaker bot publishing over WHIP *through the
edge*), and in front of a scripted origin for what the real one cannot be made to show on demand
(a body held after its first chunk, a body that breaks off, an error held until a crowd waits).

What the edge must do, as the Varnish edge does (tests/delivery/test_edge_varnish.py): collapse
a crowd's requests for the same thing into one origin request, stream a fetch that is still
arriving to everyone waiting on it, keep errors for a second at most, pass writes, credentials
and SSE straight through, and tell the origin who the listener is. Squid marks a request that
joined another's fetch MISS, like the one that fetched: origin fetches are counted at the origin.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from majlis.api.routes.media import BLOCK_TIMEOUT_S
from majlis.api.sse import KEEPALIVE_S
from majlis.delivery.edge import parse_origin
from majlis.delivery.squid import ERROR_TTL_S, READ_TIMEOUT_S, SquidOptions, render_config
from tests.support.client import live_segments
from tests.support.edge_stage import (
    DASH_FIRST_CHUNK_WAIT_S,
    ISO_MS,
    Reader,
    Stage,
    a_crowd_reads_the_next_segment,
    dash_prefix,
    next_segment,
    read_all,
)
from tests.support.live_space import ahead, concurrently, hint, live_space, origin_process
from tests.support.scripted_origin import Held, ScriptedOrigin, Status
from tests.support.services import unavailable
from tests.support.squid import (
    SquidEdge,
    check_config,
    running_squid,
    squid_binary,
    squid_process,
    squid_workdir,
)
from tests.support.sse import EventReader
from tests.support.varnish import free_port
from tests.support.wait import eventually

#: A streamed answer's reader waits this long between bytes (the origin's longest hold, plus).
READ_S = BLOCK_TIMEOUT_S + 10


def _squid() -> str:
    binary = squid_binary()
    if binary is None:
        unavailable("squid is not installed (Debian package squid)")
        raise AssertionError("unreachable")
    return binary


# --- The rendered configuration -----------------------------------------------------------------


def test_squid_waits_for_the_origin_longer_than_it_holds_a_request_or_an_event_stream() -> None:
    # One read timeout for every path: a blocking reload, a DASH segment's first chunk and the
    # gap between SSE keepalives must all fit in it, or a listener's answer is cut off.
    assert READ_TIMEOUT_S > BLOCK_TIMEOUT_S
    assert READ_TIMEOUT_S > DASH_FIRST_CHUNK_WAIT_S
    assert READ_TIMEOUT_S > KEEPALIVE_S


@pytest.mark.parametrize(
    "urls",
    [
        ["http://127.0.0.1:8000"],
        ["http://[::1]:8000"],
        ["http://127.0.0.1:8000", "http://127.0.0.2:8000", "http://127.0.0.3:8000"],
    ],
    ids=["one", "ipv6", "several"],
)
def test_squid_parses_the_config(tmp_path: Path, urls: list[str]) -> None:
    binary = _squid()
    options = SquidOptions(
        origin=parse_origin(urls[0]), more_origins=tuple(parse_origin(u) for u in urls[1:])
    )
    conf = tmp_path / "squid.conf"
    conf.write_text(render_config(options))
    checked = check_config(binary, conf)
    assert checked.returncode == 0, checked.stderr
    assert "FATAL" not in checked.stderr and "ERROR" not in checked.stderr, checked.stderr
    assert ("round-robin" in conf.read_text()) == (len(urls) > 1)


def test_one_worker_and_a_memory_cache_only() -> None:
    """Squid collapses a crowd onto one fetch, and streams it, with one worker and no disk
    cache; ``workers 2`` measured ~16 origin fetches per segment."""
    conf = render_config(SquidOptions(origin=parse_origin("http://10.0.0.5:8000")))
    lines = [line for line in conf.splitlines() if line and not line.startswith("#")]
    assert "workers 1" in lines and "collapsed_forwarding on" in lines
    assert not any(line.startswith("cache_dir") for line in lines)
    assert "access_log none" in lines and "quick_abort_min -1 KB" in lines
    assert "cache_effective_user proxy" in lines and "max_filedescriptors 65536" in lines
    assert "negative_ttl 1 seconds" in lines
    # Passed through: writes, SSE and the DASH clock are denied the cache before listener paths
    # are allowed it, and everything not allowed is denied.
    rules = [line for line in lines if line.startswith("cache ")]
    assert rules[:3] == ["cache deny !reads", "cache deny sse", "cache deny dash_time"]
    assert rules[-1] == "cache deny all"


@pytest.mark.parametrize(
    ("engine", "args", "says"),
    [
        ("squid", ["--origin", "https://origin.example"], "plain http only"),
        ("squid", ["--origin", "origin.example:8000"], "http://"),
        ("squid", ["--origin", "http://10.0.0.5:8000", "--cache-size", "2t"], "--cache-size"),
        ("squid", ["--origin", "http://10.0.0.5:8000", "--listen", "0"], "--listen"),
        ("squid", ["--origin", "http://10.0.0.5:8000", "--snippet"], "--snippet: for --engine"),
        ("squid", ["--origin", "http://x", "--log-dir", "/a b"], "must not contain spaces"),
        ("varnish", ["--origin", "http://x", "--access-log"], "--access-log: for --engine squid"),
        ("nginx", ["--origin", "http://x", "--access-log"], "--access-log: for --engine squid"),
        ("varnish", ["--origin", "http://x", "--log-dir", "/l"], "nginx, squid or nchan only"),
    ],
)
def test_cli_refuses_what_an_engine_cannot_do_with_a_reason(
    engine: str, args: list[str], says: str
) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "majlis", "edge-config", "--engine", engine, "--no-mkdir", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("majlis edge-config: ") and says in refused.stderr
    assert "Traceback" not in refused.stderr


def test_several_origins_are_round_robin_parents_and_the_host_is_the_first_ones() -> None:
    conf = render_config(
        SquidOptions(
            origin=parse_origin("http://10.0.0.5:8000"),
            more_origins=(parse_origin("http://[fd00::6]"),),
            cache_size="2g",
            access_log=True,
            log_dir=Path("/var/log/edge"),
        )
    )
    assert "http_port 8080 accel defaultsite=10.0.0.5:8000 no-vhost" in conf
    peers = [line for line in conf.splitlines() if line.startswith("cache_peer ")]
    assert [line.split()[1:4] for line in peers] == [
        ["10.0.0.5", "parent", "8000"],
        ["fd00::6", "parent", "80"],
    ]
    assert all("round-robin" in line and "login=PASSTHRU" in line for line in peers)
    assert "cache_mem 2 GB" in conf and "access_log stdio:/var/log/edge/access.log squid" in conf


# --- In front of a real origin ------------------------------------------------------------------


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    _squid()
    tmp: Path = tmp_path_factory.mktemp("squid-edge")
    # The access log counts origin requests; the edge on 127.0.0.1 is a trusted proxy, so the
    # log shows the client address the origin believes (from X-Forwarded-For).
    with (
        origin_process(
            tmp, "--access-log", env={"MAJLIS_TRUSTED_PROXIES": "127.0.0.1/32"}
        ) as origin,
        running_squid(origin.url) as edge,
        live_space(origin.url, publish_to=edge.url, title="Through Squid") as space,
    ):
        yield Stage(origin, edge, space)  # type: ignore[arg-type]  # an edge is an edge


def test_whip_passes_through(stage: Stage) -> None:
    whip = stage.origin_requests(f"/api/v1/spaces/{stage.space.space_id}/whip", "POST")
    assert [m["status"] for m in whip] == ["201"]


def test_ll_hls_plays_through_the_edge_byte_for_byte(stage: Stage) -> None:
    with httpx.Client(timeout=READ_S) as http:
        playlist = http.get(f"{stage.edge.url}{stage.hls}/live.m3u8")
        assert playlist.status_code == 200 and "#EXT-X-PART:" in playlist.text
        msn, index = hint(stage.space.origin_playlist())
        reload = http.get(f"{stage.edge.url}{stage.hls}/live.m3u8?_HLS_msn={msn}&_HLS_part={index}")
        assert reload.status_code == 200 and f'URI="{msn}.{index}.m4s"' in reload.text
        complete = eventually(
            lambda: live_segments(stage.space.origin_playlist()),
            message="the origin listed no complete segment",
        )
        for name in ("init.mp4", f"{msn}.{index}.m4s", f"{max(complete)}.m4s"):
            through = http.get(f"{stage.edge.url}{stage.hls}/{name}")
            direct = http.get(f"{stage.origin.url}{stage.hls}/{name}")
            assert through.status_code == direct.status_code == 200, name
            assert through.content == direct.content, name


def test_a_hundred_blocking_reloads_cost_the_origin_one_request(stage: Stage) -> None:
    # Two parts past the hint: every request waits at the edge before the origin answers.
    msn, index = ahead(*hint(stage.space.origin_playlist()), 2)
    uri = f"{stage.hls}/live.m3u8?_HLS_msn={msn}&_HLS_part={index}"
    responses = concurrently([stage.edge.url + uri] * 100, timeout_s=READ_S)
    assert {r.status_code for r in responses} == {200}
    assert all(f'URI="{msn}.{index}.m4s"' in r.text for r in responses)
    assert len({r.text for r in responses}) == 1
    # Cached per full URL, the query kept: one origin request, with the directives.
    assert [m["target"] for m in stage.origin_requests(uri)] == [uri]


def test_a_hundred_fetches_of_the_hinted_part_cost_the_origin_one(stage: Stage) -> None:
    msn, index = hint(stage.space.origin_playlist())
    target = ahead(msn, index, 1)
    httpx.get(f"{stage.origin.url}{stage.hls}/live.m3u8?_HLS_msn={msn}&_HLS_part={index}")
    uri = f"{stage.hls}/{target[0]}.{target[1]}.m4s"
    responses = concurrently([stage.edge.url + uri] * 100, timeout_s=READ_S)
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert responses[0].content == httpx.get(stage.origin.url + uri).content
    assert [m["status"] for m in stage.origin_requests(uri)] == ["200", "200"]  # edge + ours


def test_a_404_is_kept_a_second_at_most(stage: Stage) -> None:
    for _ in range(5):
        msn, index = ahead(*hint(stage.space.origin_playlist()), 2)
        uri = f"{stage.hls}/{msn}.{index}.m4s"
        early = httpx.get(stage.edge.url + uri)
        if early.status_code != 200:  # a busy machine published it meanwhile: once more
            break
    assert early.status_code == 404, early.text
    httpx.get(
        f"{stage.origin.url}{stage.hls}/live.m3u8?_HLS_msn={msn}&_HLS_part={index}",
        timeout=READ_S,
    )
    eventually(
        lambda: httpx.get(stage.edge.url + uri).status_code == 200,
        timeout_s=ERROR_TTL_S + 9,
        message="the edge kept answering 404 for a part that exists",
    )
    # Every 404 came from the origin (none kept past the second), then one 200, kept.
    statuses = [m["status"] for m in stage.origin_requests(uri)]
    assert statuses[0] == "404" and statuses[-1] == "200" and statuses.count("200") == 1
    assert httpx.get(stage.edge.url + uri).status_code == 200
    assert len(stage.origin_requests(uri)) == len(statuses)


def test_writes_and_credentials_pass_through(stage: Stage) -> None:
    space_id = stage.space.space_id
    join = f"/api/v1/spaces/{space_id}/join"
    space = f"/api/v1/spaces/{space_id}"
    snapshot = f"/api/v1/spaces/{space_id}/snapshot"

    def sent() -> tuple[int, int, int]:
        lines = stage.origin_requests(space)
        return (
            sum(m["target"] == join and m["method"] == "POST" for m in lines),
            sum(m["target"] == space and m["method"] == "GET" for m in lines),
            sum(m["target"] == snapshot and m["status"] == "200" for m in lines),
        )

    before = sent()
    signed_in = stage.space.host.headers
    with httpx.Client(base_url=stage.edge.url) as http:
        joins = [http.post(join) for _ in range(2)]
        reads = [http.get(space, headers=signed_in) for _ in range(2)]
        listener = [http.get(snapshot, headers=signed_in) for _ in range(2)]
    assert [r.status_code for r in joins + reads + listener] == [200] * 6
    assert sent()[:2] == (before[0] + 2, before[1] + 2)
    # The snapshot is on the listener path, the same for everyone, signed in or not: one full
    # answer from the origin, the second served from the cache (or revalidated: a 304).
    assert sent()[2] == before[2] + 1
    assert listener[1].content == listener[0].content
    # A write to a listener path (a new comment) keeps its token on the way to the origin.
    with httpx.Client(base_url=stage.edge.url) as http:
        said = http.post(f"{space}/comments", json={"text": "via squid"}, headers=signed_in)
    assert said.status_code == 201, said.text


def test_the_origin_sees_the_listener_address(stage: Stage) -> None:
    join = f"/api/v1/spaces/{stage.space.space_id}/join"
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, base_url=stage.edge.url) as http:
        response = http.post(join, headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 200, response.text
    assert stage.origin_requests(join, "POST")[-1]["client"] == "127.0.0.2"


def test_the_dash_clock_is_the_origins_uncached(stage: Stage) -> None:
    # Squid cannot answer by itself (Varnish does): every request reaches the origin.
    before = len(stage.origin_requests("/dash/time"))
    for _ in range(2):
        asked = time.time()
        response = httpx.get(f"{stage.edge.url}/dash/time")
        answered = time.time()
        assert response.status_code == 200 and ISO_MS.fullmatch(response.text), response.text
        told = datetime.fromisoformat(response.text.replace("Z", "+00:00")).timestamp()
        assert asked - 0.002 <= told <= answered + 0.002
        assert response.headers["cache-control"] == "no-store"
    assert len(stage.origin_requests("/dash/time")) == before + 2


def test_the_mpd_is_kept_for_its_max_age(stage: Stage) -> None:
    path = f"/dash/{stage.space.space_id}/live.mpd"
    with httpx.Client(base_url=stage.edge.url, timeout=10) as http:
        first = http.get(path)
        assert first.status_code == 200 and first.text.startswith("<?xml")
        fetched = len(stage.origin_requests(path))
        again = http.get(path)
        # Judged by the copy's age, which the edge says, not by how fast this machine is.
        if int(again.headers.get("age", "99")) < 2:  # within max-age=2: from the cache
            assert len(stage.origin_requests(path)) == fetched
            assert again.text == first.text

        def refreshed() -> bool:
            http.get(path)
            return len(stage.origin_requests(path)) > fetched

        eventually(refreshed, message="the edge never refreshed the expired MPD")


def test_server_sent_events_stream_through_unbuffered(stage: Stage) -> None:
    space_id = stage.space.space_id
    reader = EventReader(stage.edge.url, f"/api/v1/spaces/{space_id}/events")
    try:
        assert reader.wait_for("snapshot")["id"] == space_id
        guest = stage.space.api.sign_up("guest")
        response = guest.post(f"/api/v1/spaces/{space_id}/requests")
        assert response.status_code == 201, response.text
        reader.wait_for("request", timeout=5)
    finally:
        reader.close()


# --- LL-DASH through the edge (the real origin) -------------------------------------------------


def test_dash_listeners_of_a_segment_not_yet_begun_cost_the_origin_one_request(
    stage: Stage,
) -> None:
    prefix = dash_prefix(stage)
    readers = a_crowd_reads_the_next_segment(stage, prefix)
    assert len(stage.origin_requests(readers[0].url.removeprefix(stage.edge.url))) == 1


def test_a_dash_listener_arriving_mid_segment_reads_it_before_it_is_complete(
    stage: Stage,
) -> None:
    prefix = dash_prefix(stage)
    uri = f"{prefix}/aac/{next_segment(stage)}.m4s"
    first, late = Reader(stage.edge.url + uri), Reader(stage.edge.url + uri)
    with httpx.Client(timeout=READ_S) as http:
        fetching = threading.Thread(target=first.run, args=(http,))
        fetching.start()
        assert first.started.wait(READ_S)  # its first chunk is in: mid-segment now
        late.run(http)
        fetching.join(READ_S)
    assert first.status == late.status == 200
    assert late.first_at < first.last_at  # streamed: before the fetch was complete
    assert late.body == first.body
    assert len(stage.origin_requests(uri)) == 1


# --- In front of a scripted origin --------------------------------------------------------------


@dataclass
class Scripted:
    origin: ScriptedOrigin
    edge: SquidEdge


@pytest.fixture(scope="module")
def scripted() -> Iterator[Scripted]:
    _squid()
    origin = ScriptedOrigin()
    # Two origin nodes, the first dead (see test_a_dead_origin_node_is_skipped).
    dead = f"http://127.0.0.1:{free_port()}"
    try:
        with running_squid([dead, origin.url]) as edge:
            yield Scripted(origin, edge)
    finally:
        origin.close()


def test_every_waiter_reads_a_held_fetch_as_it_grows(scripted: Scripted) -> None:
    path = "/dash/held/aac/7.m4s"
    held = Held([b"first chunk " * 50, b"second " * 100, b"third " * 100])
    scripted.origin.script(path, held)
    url = scripted.edge.url + path
    early = [Reader(url) for _ in range(10)]
    late = [Reader(url) for _ in range(10)]
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=20)) as http:
        threads = [threading.Thread(target=r.run, args=(http,)) for r in early]
        for thread in threads:
            thread.start()
        assert held.first_sent.wait(10)
        threads += [threading.Thread(target=r.run, args=(http,)) for r in late]
        for thread in threads[len(early) :]:
            thread.start()
        # Every one has the first chunk while the origin still holds the rest: streamed.
        eventually(
            lambda: all(len(r.body) >= len(held.chunks[0]) for r in early + late),
            message=lambda: f"received {[len(r.body) for r in early + late]}",
        )
        assert not any(r.done.is_set() for r in early + late)
        held.release.set()
        for thread in threads:
            thread.join(30)
    assert all(r.status == 200 and r.body == held.body for r in early + late)
    assert scripted.origin.requests(path) == 1


def test_a_body_that_breaks_off_is_not_kept(scripted: Scripted) -> None:
    path = "/dash/broken/aac/8.m4s"
    broken = Held([b"x" * 1000, b"never sent"], broken=True)
    scripted.origin.script(path, broken)
    reader = Reader(scripted.edge.url + path)
    with httpx.Client(base_url=scripted.edge.url, timeout=30) as http:
        reading = threading.Thread(target=reader.run, args=(http,))
        reading.start()
        assert reader.started.wait(10) and reader.body  # reading the first chunk, streamed
        broken.release.set()  # the origin's connection is cut mid-body
        reading.join(30)
        # The listener sees its answer cut (no closing chunk), not a short body that looks whole.
        assert reader.status == 200 and reader.error, reader
        assert reader.body == broken.chunks[0]
        whole = Held([b"y" * 1000, b"z" * 1000])
        whole.release.set()
        scripted.origin.script(path, whole)
        again = http.get(path)
    assert again.status_code == 200 and again.content == whole.body
    assert scripted.origin.requests(path) == 2


def test_a_503_reaches_every_waiter_and_is_kept_a_second_at_most(scripted: Scripted) -> None:
    path = "/dash/busy/aac/9.m4s"
    busy = Status(503, {"Retry-After": "7", "Cache-Control": "no-store"})
    busy.release.clear()  # held until the crowd waits for it
    scripted.origin.script(path, busy)
    readers = [Reader(scripted.edge.url + path) for _ in range(10)]
    crowd = threading.Thread(target=read_all, args=(readers,))
    crowd.start()
    eventually(  # one fetches, nine wait on its fetch
        lambda: scripted.edge.in_flight(path) == 10 and scripted.origin.requests(path) == 1,
        message="the crowd never queued behind one fetch",
    )
    busy.release.set()
    crowd.join(30)
    assert {r.status for r in readers} == {503}
    # One answer for the crowd that waited (no-store read as "a second at most" here).
    assert scripted.origin.requests(path) == 1
    with httpx.Client(base_url=scripted.edge.url) as http:
        assert http.get(path).headers["retry-after"] == "7"
        asked = scripted.origin.requests(path)

        def asked_again() -> bool:
            http.get(path)
            return scripted.origin.requests(path) > asked

        eventually(asked_again, timeout_s=ERROR_TTL_S + 9, message="the edge kept the 503")


def test_a_dead_origin_node_is_skipped(scripted: Scripted) -> None:
    # Round robin over [dead, alive]: a fetch that meets the dead node is retried on the other,
    # and after its connections fail the dead one is skipped; no GET fails.
    for number in range(6):
        path = f"/dash/rr/aac/{number}.m4s"
        whole = Held([b"r" * 100])
        whole.release.set()
        scripted.origin.script(path, whole)
        response = httpx.get(scripted.edge.url + path, timeout=30)
        assert response.status_code == 200 and response.content == whole.body


# --- The printed configuration -----------------------------------------------------------------


def test_the_printed_config_starts_squid_as_it_is() -> None:
    """What the docs say: edge-config > majlis-edge.conf, then the command line at its top."""
    binary = _squid()
    port, nobody = free_port(), free_port()
    with squid_workdir() as workdir:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "majlis", "edge-config", "--engine", "squid"),
                *("--origin", f"http://127.0.0.1:{nobody}", "--listen", str(port)),
                *("--log-dir", str(workdir), "--access-log"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        head = done.stdout.split("\n\n", 1)[0]
        assert all(line.startswith("#") for line in head.splitlines())
        assert "#   squid -N -f /etc/squid/majlis-edge.conf" in head
        conf = workdir / "majlis-edge.conf"
        conf.write_text(done.stdout.replace("/run/majlis-edge-squid.pid", f"{workdir}/squid.pid"))
        checked = check_config(binary, conf)
        assert checked.returncode == 0, checked.stderr
        with squid_process(binary, conf, port) as edge:
            # No origin listens there: Squid answers with an error page, and logs the request.
            assert httpx.get(f"{edge.url}/dash/s/aac/1.m4s").status_code in (502, 503)
            eventually(edge.access_log, message="--access-log logged nothing")
