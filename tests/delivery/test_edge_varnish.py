"""A real varnishd running the VCL ``majlis edge-config --engine varnish`` renders: in front of a
real origin process with a live Space (its speaker bot publishing over WHIP *through the edge*),
and in front of a scripted origin for what the real one cannot be made to show on demand (a
body held after its first chunk, a body that breaks off, an error held until a crowd waits).

What the edge must do: collapse every listener's request for the same thing into one origin
request, stream a fetch that is still arriving to everyone waiting on it (LL-DASH segments are
sent while they are produced), keep errors for a second at most, ignore cache-busters, pass
writes, credentials and SSE straight through, tell the origin who the listener is, and answer
the DASH clock itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from majlis.api.routes.media import BLOCK_TIMEOUT_S
from majlis.delivery.edge import parse_origin
from majlis.delivery.varnish import (
    BACKEND_TIMEOUT_S,
    ERROR_TTL_S,
    LIVE_GRACE_S,
    VarnishOptions,
    render_vcl,
)
from tests.support.client import live_segments
from tests.support.edge_stage import (
    DASH_FIRST_CHUNK_WAIT_S,
    ISO_MS,
    Reader,
    Stage,
    a_crowd_reads_the_next_segment,
    dash_prefix,
    listeners_following,
    next_segment,
    read_all,
)
from tests.support.live_space import (
    ahead,
    concurrently,
    hint,
    live_space,
    newest_part,
    origin_process,
)
from tests.support.scripted_origin import Held, ScriptedOrigin, Status
from tests.support.services import unavailable
from tests.support.sse import EventReader
from tests.support.varnish import (
    VarnishEdge,
    check_vcl,
    free_port,
    running_varnish,
    varnishd_binary,
)
from tests.support.wait import eventually


def _varnishd() -> str:
    binary = varnishd_binary()
    if binary is None:
        unavailable("varnishd is not installed (Debian package varnish)")
        raise AssertionError("unreachable")
    return binary


# --- The rendered VCL -------------------------------------------------------------------------


def test_the_backend_waits_longer_than_the_origin_holds_a_request() -> None:
    # A blocking reload is held up to BLOCK_TIMEOUT_S; a DASH segment request up to as long for
    # its first chunk, then the segment streams for ~2 s with a chunk every ~0.26 s. A timeout
    # shorter than either would cut a listener's answer off (and, for a segment, fail the
    # fetch every waiter reads).
    assert BACKEND_TIMEOUT_S > BLOCK_TIMEOUT_S
    assert BACKEND_TIMEOUT_S > DASH_FIRST_CHUNK_WAIT_S


@pytest.mark.parametrize(
    "urls",
    [
        ["http://127.0.0.1:8000"],
        ["http://[::1]:8000"],
        ["http://127.0.0.1:8000", "http://127.0.0.2:8000", "http://127.0.0.3:8000"],
    ],
    ids=["one", "ipv6", "several"],
)
def test_varnishd_compiles_the_vcl(tmp_path: Path, urls: list[str]) -> None:
    binary = _varnishd()
    options = VarnishOptions(
        origin=parse_origin(urls[0]), more_origins=tuple(parse_origin(u) for u in urls[1:])
    )
    vcl = tmp_path / "edge.vcl"
    vcl.write_text(render_vcl(options))
    compiled = check_vcl(binary, vcl, tmp_path / "work")
    assert compiled.returncode == 0, compiled.stderr


def test_listener_answers_never_become_uncacheable() -> None:
    """The builtin VCL would mark a TTL-less, no-store or Set-Cookie answer hit-for-miss for two
    minutes: every waiter, and every request after, would go to the origin. Listener answers
    leave vcl_backend_response with a TTL above zero before the builtin code runs."""
    vcl = render_vcl(VarnishOptions(origin=parse_origin("http://10.0.0.5:8000")))
    response = vcl[vcl.index("sub vcl_backend_response") : vcl.index("sub vcl_backend_error")]
    assert "set beresp.do_stream = true;" in response
    before_static = response[: response.index("Static files the origin did not say")]
    assert "uncacheable = true" not in before_static
    # Passes as they are; errors with 0 < TTL <= 1 s; listener answers with TTL > 0.
    assert before_static.count("return (deliver);") == 3
    assert before_static.count("if (beresp.ttl <= 0s") == 2
    recv = vcl[vcl.index("sub vcl_recv") : vcl.index("sub vcl_hash")]
    # The only pass on a listener path is for directives that are not numbers.
    assert recv.count("return (pass);") == 4  # writes, bad directives, SSE, the rest


# --- In front of a real origin ------------------------------------------------------------------


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    _varnishd()
    tmp: Path = tmp_path_factory.mktemp("varnish-edge")
    # The access log counts origin requests; the edge on 127.0.0.1 is a trusted proxy, so the
    # log shows the client address the origin believes (from X-Forwarded-For).
    with (
        origin_process(
            tmp, "--access-log", env={"MAJLIS_TRUSTED_PROXIES": "127.0.0.1/32"}
        ) as origin,
        running_varnish(origin.url, tmp / "varnish") as edge,
        live_space(origin.url, publish_to=edge.url, title="Through Varnish") as space,
    ):
        yield Stage(origin, edge, space)


def test_whip_passes_through(stage: Stage) -> None:
    whip = stage.origin_requests(f"/api/v1/spaces/{stage.space.space_id}/whip", "POST")
    assert [m["status"] for m in whip] == ["201"]


def test_ll_hls_plays_through_the_edge_byte_for_byte(stage: Stage) -> None:
    with httpx.Client(timeout=BACKEND_TIMEOUT_S) as http:
        playlist = http.get(f"{stage.edge.url}{stage.hls}/live.m3u8")
        assert playlist.status_code == 200 and "#EXT-X-PART:" in playlist.text
        msn, index = hint(stage.space.origin_playlist())
        reload = http.get(f"{stage.edge.url}{stage.hls}/live.m3u8?_HLS_msn={msn}&_HLS_part={index}")
        assert reload.status_code == 200 and f'URI="{msn}.{index}.m4s"' in reload.text
        complete = eventually(  # a Space just gone live lists parts before a whole segment
            lambda: live_segments(stage.space.origin_playlist()),
            message="the origin listed no complete segment",
        )
        segment = max(complete)
        for name in ("init.mp4", f"{msn}.{index}.m4s", f"{segment}.m4s"):
            through = http.get(f"{stage.edge.url}{stage.hls}/{name}")
            direct = http.get(f"{stage.origin.url}{stage.hls}/{name}")
            assert through.status_code == direct.status_code == 200, name
            assert through.content == direct.content, name
            assert "immutable" in through.headers["cache-control"]


def test_a_hundred_blocking_reloads_cost_the_origin_one_request(stage: Stage) -> None:
    # Two parts past the hint: every request is parked at the edge before the origin answers.
    msn, index = ahead(*hint(stage.space.origin_playlist()), 2)
    directive = f"_HLS_msn={msn}&_HLS_part={index}"
    urls = [f"{stage.edge.url}{stage.hls}/live.m3u8?{directive}" for _ in range(50)]
    # Cache-busters (and the directives in another order) on the other half.
    urls += [
        f"{stage.edge.url}{stage.hls}/live.m3u8?v={i}&_HLS_part={index}&_HLS_msn={msn}"
        for i in range(50)
    ]
    responses = concurrently(urls, timeout_s=BACKEND_TIMEOUT_S + 5)
    assert {r.status_code for r in responses} == {200}
    assert all(f'URI="{msn}.{index}.m4s"' in r.text for r in responses)
    assert len({r.text for r in responses}) == 1
    assert [r.headers["x-cache"] for r in responses].count("MISS") == 1
    # Every request the origin had for this part, however its query was written (the module's
    # earlier tests asked the same stage for other parts of this segment: not these).
    sent = [
        m["target"]
        for m in stage.origin_requests(f"{stage.hls}/live.m3u8?")
        if parse_qs(urlsplit(m["target"]).query).get("_HLS_part") == [str(index)]
        and parse_qs(urlsplit(m["target"]).query).get("_HLS_msn") == [str(msn)]
    ]
    assert sent == [f"{stage.hls}/live.m3u8?{directive}"]


def test_a_hundred_fetches_of_the_hinted_part_cost_the_origin_one(stage: Stage) -> None:
    msn, index = hint(stage.space.origin_playlist())
    # Once the part before it is out, the target is the hinted part: the origin holds
    # requests for it until it exists.
    target = ahead(msn, index, 1)
    httpx.get(f"{stage.origin.url}{stage.hls}/live.m3u8?_HLS_msn={msn}&_HLS_part={index}")
    uri = f"{stage.hls}/{target[0]}.{target[1]}.m4s"
    responses = concurrently([stage.edge.url + uri] * 100, timeout_s=BACKEND_TIMEOUT_S + 5)
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert responses[0].content == httpx.get(stage.origin.url + uri).content
    assert [m["status"] for m in stage.origin_requests(uri)] == ["200", "200"]  # edge + ours


def test_cache_busters_on_parts_hit(stage: Stage) -> None:
    msn = newest_part(stage.space.origin_playlist()) // 8
    uri = f"{stage.hls}/{msn}.0.m4s"
    # The stage is shared by the module: an earlier test may have fetched this part already
    # (at the edge or straight from the origin), so count only what these two requests cost.
    before = len(stage.origin_requests(uri))
    with httpx.Client(base_url=stage.edge.url) as http:
        first = http.get(uri)
        busted = http.get(f"{uri}?v={time.time()}")
    assert first.status_code == busted.status_code == 200
    assert busted.headers["x-cache"] == "HIT" and busted.content == first.content
    assert len(stage.origin_requests(uri)) - before <= 1


def test_a_404_is_kept_a_second_at_most(stage: Stage) -> None:
    # Two parts past the hint: the origin says 404 at once. The edge may hand that answer to
    # the requests that waited for it, but must not keep answering 404 once the part exists.
    for _ in range(5):
        msn, index = ahead(*hint(stage.space.origin_playlist()), 2)
        uri = f"{stage.hls}/{msn}.{index}.m4s"
        early = httpx.get(stage.edge.url + uri)
        if early.status_code != 200:  # a busy machine published it meanwhile: once more
            break
    assert early.status_code == 404, early.text
    httpx.get(  # until the part exists at the origin
        f"{stage.origin.url}{stage.hls}/live.m3u8?_HLS_msn={msn}&_HLS_part={index}",
        timeout=BACKEND_TIMEOUT_S,
    )
    # Varnish keeps a 404 without Cache-Control for default_ttl (120 s); the edge for 1 s.
    eventually(
        lambda: httpx.get(stage.edge.url + uri).status_code == 200,
        timeout_s=ERROR_TTL_S + 9,
        message="the edge kept answering 404 for a part that exists",
    )
    assert [m["status"] for m in stage.origin_requests(uri)] == ["404", "200"]


def test_bad_directives_reach_the_origin_and_are_not_cached(stage: Stage) -> None:
    uri = f"{stage.hls}/live.m3u8?_HLS_msn=soon"
    for _ in range(2):
        response = httpx.get(stage.edge.url + uri)
        assert response.status_code in (400, 422), response.text
        assert response.headers["x-cache"] == "PASS"
    assert len(stage.origin_requests(uri)) == 2


def test_writes_and_credentials_pass_through(stage: Stage) -> None:
    space_id = stage.space.space_id
    join = f"/api/v1/spaces/{space_id}/join"
    space = f"/api/v1/spaces/{space_id}"
    snapshot = f"/api/v1/spaces/{space_id}/snapshot"

    def sent() -> tuple[int, int]:
        lines = stage.origin_requests(space)
        return (
            sum(m["target"] == join and m["method"] == "POST" for m in lines),
            sum(m["target"] == space and m["method"] == "GET" for m in lines),
        )

    before = sent()
    signed_in = stage.space.host.headers
    with httpx.Client(base_url=stage.edge.url) as http:
        joins = [http.post(join) for _ in range(2)]
        reads = [http.get(space, headers=signed_in) for _ in range(2)]
        listener = [http.get(snapshot, headers=signed_in) for _ in range(2)]
    assert [(r.status_code, r.headers["x-cache"]) for r in joins + reads] == [(200, "PASS")] * 4
    assert sent() == (before[0] + 2, before[1] + 2)
    # The snapshot is on the listener path: the same for everyone, signed in or not.
    assert listener[1].status_code == 200 and listener[1].headers["x-cache"] == "HIT"


def test_the_origin_sees_the_listener_address(stage: Stage) -> None:
    # The listener on 127.0.0.2 claims to be 203.0.113.9; the edge appends what it saw, and
    # the origin (trusting 127.0.0.1, the edge) believes the edge.
    join = f"/api/v1/spaces/{stage.space.space_id}/join"
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, base_url=stage.edge.url) as http:
        response = http.post(join, headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 200, response.text
    assert stage.origin_requests(join, "POST")[-1]["client"] == "127.0.0.2"


def test_the_edge_tells_the_dash_clock(stage: Stage) -> None:
    before = time.time()
    response = httpx.get(f"{stage.edge.url}/dash/time")
    after = time.time()
    assert response.status_code == 200 and response.headers["x-cache"] == "SYNTH"
    assert ISO_MS.fullmatch(response.text), response.text
    told = datetime.fromisoformat(response.text.replace("Z", "+00:00")).timestamp()
    assert before - 0.002 <= told <= after + 0.002  # the same clock, to the millisecond
    assert response.headers["cache-control"] == "no-store"
    assert not stage.origin_requests("/dash/time")


def test_the_mpd_is_gzipped_for_players_that_take_it_and_plain_for_the_rest(
    stage: Stage,
) -> None:
    url = f"{stage.edge.url}/dash/{stage.space.space_id}/live.mpd"
    raw = httpx.get(url, headers={"Accept-Encoding": "gzip"})  # httpx decodes it for us
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert raw.status_code == plain.status_code == 200
    assert raw.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert raw.text.startswith("<?xml") and raw.text == plain.text
    assert raw.num_bytes_downloaded * 2 < plain.num_bytes_downloaded  # a third, or so


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


def test_the_playlist_is_fresh_within_its_ttl_and_stale_while_updating(stage: Stage) -> None:
    uri = f"{stage.hls}/live.m3u8"
    with httpx.Client(base_url=stage.edge.url, timeout=10) as http:
        # What the edge did depends on the age of its copy, which the edge says (Age): judged
        # by that, not by how fast this (possibly loaded) machine sent the requests.
        http.get(uri)
        again = http.get(uri)
        copy_fetched = time.monotonic() - int(again.headers["age"])  # to the second
        if int(again.headers["age"]) < 1:  # within max-age=1
            assert again.headers["x-cache"] == "HIT", again.headers
        time.sleep(1.2)  # past max-age=1: the expiry under test
        asked = time.monotonic()
        expired = http.get(uri)
        assert expired.status_code == 200
        if asked - copy_fetched < LIVE_GRACE_S:  # surely within max-age + grace: stale
            assert expired.headers["x-cache"] == "STALE", expired.headers

        def refreshed() -> bool:
            fresh = http.get(uri)
            assert fresh.headers["x-cache"] == "HIT", fresh.headers["x-cache"]
            return newest_part(fresh.text) > newest_part(expired.text)

        eventually(refreshed, message="the edge never refreshed the expired playlist")


# --- LL-DASH through the edge (the real origin) -------------------------------------------------


def test_dash_listeners_of_a_segment_not_yet_begun_cost_the_origin_one_request(
    stage: Stage,
) -> None:
    prefix = dash_prefix(stage)
    # Complete: the same bytes as the segment the origin lists once it is done (the parts are
    # its CMAF chunks), and decodable with the init segment: 2 s of the speaker's tone.
    readers = a_crowd_reads_the_next_segment(stage, prefix)
    uri = readers[0].url.removeprefix(stage.edge.url)
    assert [r.cache for r in readers].count("MISS") == 1
    assert len(stage.origin_requests(uri)) == 1  # <= 1.05 per segment, for a hundred


@pytest.mark.slow
def test_dash_listeners_following_the_live_edge_cost_one_origin_request_per_segment(
    stage: Stage,
) -> None:
    """100 listeners each read five segments in a row, asking for the next as the last one
    ends (as an LL-DASH player at the live edge does): ~10 s, one origin fetch per segment."""
    prefix = dash_prefix(stage)
    start = next_segment(stage)
    numbers = range(start, start + 5)

    listeners_following(stage.edge.url, prefix, numbers)
    sent = [len(stage.origin_requests(f"{prefix}/aac/{n}.m4s")) for n in numbers]
    assert sum(sent) / len(sent) <= 1.05, sent


def test_a_dash_listener_arriving_mid_segment_reads_it_before_it_is_complete(
    stage: Stage,
) -> None:
    prefix = dash_prefix(stage)
    uri = f"{prefix}/aac/{next_segment(stage)}.m4s"
    first, late = Reader(stage.edge.url + uri), Reader(stage.edge.url + uri)
    with httpx.Client(timeout=BACKEND_TIMEOUT_S + 5) as http:
        fetching = threading.Thread(target=first.run, args=(http,))
        fetching.start()
        assert first.started.wait(BACKEND_TIMEOUT_S)  # its first chunk is in: mid-segment now
        late.run(http)
        fetching.join(BACKEND_TIMEOUT_S)
    assert first.status == late.status == 200
    assert (first.cache, late.cache) == ("MISS", "HIT")
    # The streaming property: the late listener's first bytes came while the segment was still
    # being fetched (before the first listener's last byte), and then all of it.
    assert late.first_at < first.last_at
    assert late.body == first.body
    assert len(stage.origin_requests(uri)) == 1


# --- In front of a scripted origin --------------------------------------------------------------


@dataclass
class Scripted:
    origin: ScriptedOrigin
    edge: VarnishEdge


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scripted]:
    _varnishd()
    origin = ScriptedOrigin()
    # Two origin nodes, the first dead (see test_a_dead_origin_node_is_skipped).
    dead = f"http://127.0.0.1:{free_port()}"
    try:
        with running_varnish([dead, origin.url], tmp_path_factory.mktemp("scripted")) as edge:
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
        # Arriving while the origin holds the rest of the body:
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
    assert sorted(r.cache for r in early + late).count("MISS") == 1
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
        # The listener sees its answer cut (the closing chunk never comes), not a short body
        # that looks whole.
        assert reader.status == 200 and reader.error, reader
        assert reader.body == broken.chunks[0]
        whole = Held([b"y" * 1000, b"z" * 1000])
        whole.release.set()
        scripted.origin.script(path, whole)
        again = http.get(path)
    assert again.status_code == 200 and again.content == whole.body
    assert again.headers["x-cache"] == "MISS"
    assert scripted.origin.requests(path) == 2


def test_a_503_reaches_every_waiter_with_its_retry_after_and_is_kept_a_second_at_most(
    scripted: Scripted,
) -> None:
    path = "/dash/busy/aac/9.m4s"
    busy = Status(503, {"Retry-After": "7", "Cache-Control": "no-store"})
    busy.release.clear()  # held until the crowd waits for it
    scripted.origin.script(path, busy)
    sleeping = scripted.edge.counters("MAIN.busy_sleep")["MAIN.busy_sleep"]
    readers = [Reader(scripted.edge.url + path) for _ in range(10)]
    crowd = threading.Thread(target=read_all, args=(readers,))
    crowd.start()
    eventually(  # one fetches, nine wait on its fetch
        lambda: scripted.edge.counters("MAIN.busy_sleep")["MAIN.busy_sleep"] >= sleeping + 9,
        message="the crowd never queued behind one fetch",
    )
    busy.release.set()
    crowd.join(30)
    assert {r.status for r in readers} == {503}
    assert scripted.origin.requests(path) == 1
    with httpx.Client(base_url=scripted.edge.url) as http:
        assert http.get(path).headers["retry-after"] == "7"
        # Not kept past ERROR_TTL_S: a later request reaches the origin again.

        def asked_again() -> bool:
            http.get(path)
            return scripted.origin.requests(path) >= 2

        eventually(asked_again, timeout_s=ERROR_TTL_S + 9, message="the edge kept the 503")


def test_a_dead_origin_node_is_skipped(scripted: Scripted) -> None:
    # Round robin over [dead, alive]: a fetch that meets the dead node is retried on the other
    # until the /readyz probe has taken the dead one out (after a few seconds); no GET fails.
    for number in range(6):
        path = f"/dash/rr/aac/{number}.m4s"
        whole = Held([b"r" * 100])
        whole.release.set()
        scripted.origin.script(path, whole)
        response = httpx.get(scripted.edge.url + path, timeout=30)
        assert response.status_code == 200 and response.content == whole.body
