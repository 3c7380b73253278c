"""A real nginx edge, rendered by ``majlis edge-config``, in front of a real origin process with a
live Space whose speaker bot publishes over WHIP *through the edge*.

What the edge must do for the audience path to cost the origin O(1): collapse concurrent
blocking playlist reloads and part fetches into one origin request, keep serving parts from
its cache, ignore cache-busters, keep the playlist and snapshot fresh within their TTL while
serving stale copies during a refresh, and pass POSTs and SSE straight through.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from majlis.delivery.edge import LIVE_INACTIVE_S, LOCK_S
from tests.support.listener import Connection, audience
from tests.support.live_space import PARTS_PER_SEGMENT, LiveSpace, concurrently, origin_process
from tests.support.live_space import ahead as _ahead
from tests.support.live_space import hint as _hint
from tests.support.live_space import live_space as live_space_via
from tests.support.live_space import newest_part as _newest_part
from tests.support.nginx_edge import Edge, origin_requests, run_nginx_edge
from tests.support.sse import EventReader
from tests.support.wait import eventually


@dataclass
class Stage(LiveSpace):
    edge: Edge


def _concurrently(urls: list[str]) -> list[httpx.Response]:
    return concurrently(urls, timeout_s=LOCK_S + 5)


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    tmp: Path = tmp_path_factory.mktemp("edge")
    with (
        origin_process(tmp) as origin,
        run_nginx_edge(origin.url, tmp) as edge,
        # The speaker publishes over WHIP through the edge: WHIP passes straight through.
        live_space_via(origin.url, publish_to=edge.url) as space,
    ):
        yield Stage(space.origin, space.space_id, space.api, space.host, edge)


def test_whip_passes_through_and_parts_carry_the_speaker(stage: Stage) -> None:
    whip = [e for e in stage.edge.entries() if e["uri"].endswith("/whip") and e["method"] == "POST"]
    assert [(e["status"], e["cache"]) for e in whip] == [(201, "")]
    assert whip[0]["upstream"]


def test_concurrent_blocking_reloads_cost_the_origin_one_request(stage: Stage) -> None:
    # Two parts past the hint: every request is parked at the edge before the origin answers.
    msn, index = _ahead(*_hint(stage.origin_playlist()), 2)
    directive = f"_HLS_msn={msn}&_HLS_part={index}"
    urls = [f"{stage.edge.url}{stage.hls}/live.m3u8?{directive}" for _ in range(10)]
    # Cache-busters ride along on the other half: they must not make a second origin request.
    urls += [f"{stage.edge.url}{stage.hls}/live.m3u8?{directive}&nocache={i}" for i in range(10)]
    responses = _concurrently(urls)
    for response in responses:
        assert response.status_code == 200, response.text
        assert f'URI="{msn}.{index}.m4s"' in response.text
    statuses = sorted(r.headers["x-cache-status"] for r in responses)
    assert statuses.count("MISS") == 1, statuses
    path = f"{stage.hls}/live.m3u8?{directive}"
    sent = origin_requests(stage.edge.logged(path, len(urls)), path)
    assert len(sent) == 1, sent


def test_more_than_a_thousand_parked_reloads_still_cost_one_origin_request(stage: Stage) -> None:
    """nginx counts an entry's requests in 10 bits: with the default ``proxy_cache_min_uses 1``
    the 1,024th request parked on an entry still being fetched wraps the count to 0, is judged
    "not used enough to cache" and goes to the origin past the lock (1.4-1.6 origin reloads per
    part at 2,000 listeners an edge). The edge sets it to 0; 1,100 parked requests prove it."""
    waiters = 1100
    # Eight parts past the hint (~2 s): time to park them all, within the Advance Part Limit.
    msn, index = _ahead(*_hint(stage.origin_playlist()), 8)
    path = f"{stage.hls}/live.m3u8?_HLS_msn={msn}&_HLS_part={index}"

    async def park_all() -> list[bytes]:
        connections = [Connection("127.0.0.1", stage.edge.port) for _ in range(waiters)]
        try:
            return await asyncio.gather(*(c.get(path) for c in connections))
        finally:
            for connection in connections:
                connection.close()

    bodies = asyncio.run(park_all())
    assert all(f'URI="{msn}.{index}.m4s"'.encode() in body for body in bodies)
    entries = [e for e in stage.edge.entries() if e["uri"] == path]
    sent = origin_requests(entries)
    assert len(sent) == 1, [(e["t"], e["request_time"], e["cache"]) for e in sent]
    # The test means something only if more than 1,024 were parked while the origin held it.
    parked = [e for e in entries if e["t"] - e["request_time"] < sent[0]["t"]]
    assert len(parked) > 1024, len(parked)


def test_parts_come_from_the_cache_and_busters_do_not_miss(stage: Stage) -> None:
    msn, index = _newest_part(stage.origin_playlist()) // 8, 0  # a part of the newest segment
    uri = f"{stage.hls}/{msn}.{index}.m4s"
    expected = httpx.get(stage.origin + uri).content
    first = httpx.get(stage.edge.url + uri)
    second = httpx.get(stage.edge.url + uri)
    busted = httpx.get(f"{stage.edge.url}{uri}?v={time.time()}")
    assert first.content == second.content == busted.content == expected
    assert (second.headers["x-cache-status"], busted.headers["x-cache-status"]) == ("HIT", "HIT")
    assert "immutable" in second.headers["cache-control"]
    assert len(origin_requests(stage.edge.logged(uri, 3), uri)) == 1


def test_the_hinted_part_is_fetched_once_for_everyone(stage: Stage) -> None:
    # Two parts past the hint: not yet the hinted part, so the origin answers 404, and the edge
    # must not keep that answer. (One past the hint raced the next part's publication, every
    # 0.256 s, on a loaded machine: it became the hinted part before the request and was a 200.)
    for _ in range(5):
        hint = _hint(stage.origin_playlist())
        msn, index = _ahead(*hint, 2)
        uri = f"{stage.hls}/{msn}.{index}.m4s"
        early = httpx.get(stage.edge.url + uri)
        if early.status_code != 200:
            break
    assert early.status_code == 404
    # Once the part before it is out, it is the hinted part: the origin holds requests for it.
    before = _ahead(*hint, 1)
    httpx.get(f"{stage.origin}{stage.hls}/live.m3u8?_HLS_msn={before[0]}&_HLS_part={before[1]}")
    responses = _concurrently([stage.edge.url + uri] * 12)
    assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
    assert len({r.content for r in responses}) == 1
    sent = origin_requests(stage.edge.logged(uri, 1 + len(responses)), uri)
    assert [e["status"] for e in sent] == [404, 200], sent


@pytest.mark.parametrize("what", ["playlist", "snapshot"])
def test_short_lived_answers_are_fresh_and_stale_while_updating(stage: Stage, what: str) -> None:
    uri = (
        f"{stage.hls}/live.m3u8"
        if what == "playlist"
        else f"/api/v1/spaces/{stage.space_id}/snapshot"
    )

    def refreshes() -> list[dict[str, Any]]:
        return [e for e in origin_requests(stage.edge.entries(), uri) if e["uri"] == uri]

    with httpx.Client(base_url=stage.edge.url, timeout=10) as http:
        http.get(uri)
        assert http.get(uri).headers["x-cache-status"] == "HIT"
        time.sleep(2.2)  # past max-age=1 (nginx counts whole seconds): the expiry under test
        refreshed_before = len(refreshes())
        expired = http.get(uri)
        # One request refreshes in the background; this one is answered from the old copy.
        assert expired.status_code == 200
        assert expired.headers["x-cache-status"] in ("STALE", "UPDATING"), expired.headers
        eventually(  # the background refresh is logged once its answer is in the cache
            lambda: len(refreshes()) > refreshed_before,
            message="the edge never refreshed the expired copy",
        )
        fresh = http.get(uri)
        assert fresh.headers["x-cache-status"] == "HIT"
        if what == "playlist":
            assert _newest_part(fresh.text) > _newest_part(expired.text)
            # Fresh within its TTL: at most ~2 s (8 parts) behind the origin.
            lag = _newest_part(stage.origin_playlist()) - _newest_part(http.get(uri).text)
            assert lag <= 10, lag
        else:
            etag = fresh.headers["etag"]
            assert http.get(uri, headers={"If-None-Match": etag}).status_code == 304
    assert 2 <= len(refreshes()) <= 4, refreshes()


def test_after_a_quiet_spell_the_edge_does_not_serve_an_old_playlist(stage: Stage) -> None:
    # "use_stale updating" would serve a copy of any age; unused entries leave the cache.
    uri = f"{stage.hls}/live.m3u8"
    httpx.get(stage.edge.url + uri)
    # The quiet spell under test: nobody asks for LIVE_INACTIVE_S, and the cache manager's own
    # round passes too (any request would be the end of the quiet).
    time.sleep(LIVE_INACTIVE_S + 3)
    after = httpx.get(stage.edge.url + uri)
    assert after.headers["x-cache-status"] == "MISS", after.headers
    lag = _newest_part(stage.origin_playlist()) - _newest_part(after.text)
    assert lag <= 2, lag


def test_posts_pass_through(stage: Stage) -> None:
    join = f"/api/v1/spaces/{stage.space_id}/join"
    for _ in range(2):
        response = httpx.post(stage.edge.url + join)
        assert response.status_code == 200, response.text
        assert response.json()["hls_url"].endswith("/live.m3u8")
    posts = [e for e in stage.edge.entries() if e["uri"] == join]
    assert len(posts) == 2 and all(e["upstream"] and e["cache"] == "" for e in posts)


def test_bad_directives_reach_the_origin_and_are_not_cached(stage: Stage) -> None:
    uri = f"{stage.hls}/live.m3u8?_HLS_msn=soon"
    for _ in range(2):
        response = httpx.get(stage.edge.url + uri)
        assert response.status_code in (400, 422)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert len(origin_requests(stage.edge.logged(uri, 2), uri)) == 2


def test_server_sent_events_stream_through_unbuffered(stage: Stage) -> None:
    reader = EventReader(stage.edge.url, f"/api/v1/spaces/{stage.space_id}/events")
    try:
        assert reader.wait_for("snapshot")["id"] == stage.space_id
        guest = stage.api.sign_up("guest")
        asked = time.monotonic()
        response = guest.post(f"/api/v1/spaces/{stage.space_id}/requests")
        assert response.status_code == 201, response.text
        reader.wait_for("request", timeout=3)
        assert time.monotonic() - asked < 3
    finally:
        reader.close()


@pytest.mark.slow
@pytest.mark.parametrize("listeners", [100, 2000])
def test_listeners_cost_the_origin_one_request_per_part(stage: Stage, listeners: int) -> None:
    """Issue 5's acceptance: 100 and then 2,000 LL-HLS listeners (blocking reloads + part
    fetches) for 15 s through one edge; the origin sees <= 1.05 of each per part. nginx's
    1,024-waiter wrap (the test above forces it) shows here only when arrivals bunch onto one
    part, as with the bench's generator pinned to its own core (1.4-1.6 per part before the fix);
    this run is the acceptance figure, the test above the guard."""
    started = time.time()
    url = f"{stage.edge.url}{stage.hls}/live.m3u8"
    stats = asyncio.run(audience(url, listeners, 15.0, ramp_s=2.0 if listeners <= 100 else 5.0))
    entries = [e for e in stage.edge.entries() if e["t"] >= started]
    sent = origin_requests(entries, stage.hls)
    part_uris = {e["uri"] for e in entries if re.search(r"/\d+\.\d+\.m4s$", e["uri"])}
    part_fetches = [e for e in sent if re.search(r"/\d+\.\d+\.m4s$", e["uri"])]
    reloads = [e for e in sent if "_HLS_msn=" in e["uri"]]
    parts = len(part_uris)
    assert parts >= 40, parts  # 15 s of 0.256 s parts, give or take the ramp
    assert stats.errors == 0 and stats.parts >= listeners * 40, stats
    assert len(part_fetches) / parts <= 1.05, (len(part_fetches), parts)
    assert len(reloads) / parts <= 1.05, (len(reloads), parts)
    # Everything else the origin saw (joins' plain playlists, their refreshes, init) is small.
    assert len(sent) / parts <= 2.5, (len(sent), parts)
    # Stalls are reported, not asserted: on a loaded 2-core machine they measure the neighbours
    # (bench/listeners_vs_icecast.py measures them with a control listener at the origin).


def test_plain_hls_listeners_fetch_whole_segments_through_the_edge(stage: Stage) -> None:
    """The bench's plain-HLS listener (whole segments, a reload per half segment) works too."""
    started = time.time()
    stats = asyncio.run(
        audience(f"{stage.edge.url}{stage.hls}/live.m3u8", 20, 5.0, 1.0, low_latency=False)
    )
    assert stats.errors == 0, stats.error_samples
    # At least a whole segment each (two is usual; a loaded machine has delivered 312 of 320).
    assert stats.parts >= 20 * PARTS_PER_SEGMENT, stats
    segments = [
        e
        for e in origin_requests(stage.edge.entries(), stage.hls)
        if e["t"] >= started and re.search(r"/\d+\.m4s$", e["uri"])
    ]
    # 20 listeners, one origin fetch per segment. How many segments they fetch depends on how
    # long the Space has been live (a plain HLS player starts a few segments back), so the
    # property is per segment: none fetched twice (run after the module's other tests, 7
    # distinct segments were fetched once each; run alone, 4).
    fetched = Counter(e["uri"] for e in segments)
    assert fetched and max(fetched.values()) == 1, fetched


def test_a_crowd_reading_the_newest_comments_costs_the_origin_one_request_a_second(
    stage: Stage,
) -> None:
    """Issue 15: a large audience (no event stream) polls the newest comments; the edge
    collapses them to about one origin request per second. A comment posted through the edge
    passes through with its token, and an older page (a cursor) is never cached."""
    uri = f"/api/v1/spaces/{stage.space_id}/comments"
    said = httpx.post(
        stage.edge.url + uri, json={"text": "through the edge"}, headers=stage.host.headers
    )
    assert said.status_code == 201, said.text
    before = len(origin_requests(stage.edge.entries(), uri))
    urls = [stage.edge.url + uri] * 50
    started = time.monotonic()
    rounds = 0
    while time.monotonic() - started < 4.0:  # 50 readers polling every 0.25 s, for 4 s
        answers = _concurrently(urls)
        assert all(a.status_code == 200 for a in answers)
        rounds += 1
        time.sleep(0.25)  # the readers' poll interval (the load under test)
    elapsed = time.monotonic() - started
    seen = answers[-1].json()["items"]
    assert [c["text"] for c in seen][:1] == ["through the edge"]
    to_origin = [e for e in origin_requests(stage.edge.entries(), uri)[before:] if e["uri"] == uri]
    print(f"{rounds * 50} reads in {elapsed:.1f} s, {len(to_origin)} reached the origin")
    assert len(to_origin) <= 1.05 * elapsed + 1, (len(to_origin), elapsed)
    older = f"{uri}?cursor=forged"
    for _ in range(2):
        assert httpx.get(stage.edge.url + older).status_code == 400
    assert len(origin_requests(stage.edge.logged(older, 2), older)) == 2


def test_captions_playlists_and_segments_are_cached_as_the_origin_says(stage: Stage) -> None:
    main = f"{stage.hls}/main.m3u8"
    first, second = httpx.get(stage.edge.url + main), httpx.get(stage.edge.url + main)
    assert first.status_code == second.status_code == 200
    assert second.text.rstrip().endswith("live.m3u8")
    assert second.headers["x-cache-status"] in ("HIT", "UPDATING", "STALE")

    def listed() -> str | None:
        text = httpx.get(f"{stage.edge.url}{stage.hls}/captions.m3u8").text
        return next((line for line in text.splitlines() if line.endswith(".vtt")), None)

    vtt = f"{stage.hls}/{eventually(listed, message='a subtitle segment')}"
    answers = [httpx.get(stage.edge.url + vtt) for _ in range(3)]
    assert {a.status_code for a in answers} == {200}
    assert answers[0].text.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:")
    assert answers[-1].headers["x-cache-status"] == "HIT"
    assert len(origin_requests(stage.edge.logged(vtt, 3), vtt)) == 1
