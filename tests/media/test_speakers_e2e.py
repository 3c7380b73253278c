"""Real media end to end: aiortc speaker bots publish over WHIP; the LL-HLS program, decoded by
PyAV, carries both; each bot hears the other and not itself; muting takes a tone out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from majlis.bots.sources import ToneSource
from majlis.bots.speaker import SpeakerBot
from tests.media.tones import decode_mp4, tone_strength
from tests.support.client import Api, on_stage, problem_of, wait_for_new_segment
from tests.support.program import PRESENT, hears_only, latest_program
from tests.support.sdp import GOOD
from tests.support.server import EMBEDDED_FAST_DISTRIBUTED_SLOW, RunningServer, run_server
from tests.support.wait import eventually_async


async def _two_speakers(server: RunningServer, api: Api) -> None:
    host, guest = api.sign_up("host"), api.sign_up("guest")
    space = host.create_space("tones")
    on_stage(host, guest, space["id"])
    a = SpeakerBot(server.base_url, space["id"], host.token, ToneSource(440))
    b = SpeakerBot(server.base_url, space["id"], guest.token, ToneSource(660))
    await a.connect()
    await b.connect()
    try:
        await eventually_async(  # the connections are up: media flows both ways
            lambda: a.frames_received and b.frames_received, message="no mix reached the bots"
        )
        # Past a whole segment of both talking that began a segment after their media did, so
        # the speakers' own ears and the speaking snapshot have caught up too.
        await asyncio.to_thread(wait_for_new_segment, api.http, space["id"], 2)
        # Their ears as they are now, before this test's own work (decoding, FFTs) holds up
        # the loop the bots send on: a late frame is a dropout in the other's ear.
        a_ear, b_ear = a.heard(2.0), b.heard(2.0)
        pcm, rate = await asyncio.to_thread(
            decode_mp4, await asyncio.to_thread(latest_program, server.base_url, space["id"])
        )
        assert tone_strength(pcm, rate, 440) > PRESENT and tone_strength(pcm, rate, 660) > PRESENT
        # Mix-minus: each hears the other, not themselves.
        hears_only(a_ear, present=660, absent=440)
        hears_only(b_ear, present=440, absent=660)
        snapshot = api.http.get(f"/api/v1/spaces/{space['id']}/snapshot").json()
        assert sorted(snapshot["speaking"]) == sorted([host.handle, guest.handle])

        assert (
            host.post(f"/api/v1/spaces/{space['id']}/stage/{guest.handle}/mute").status_code == 204
        )
        room = server.services.media.rooms[space["id"]]
        await eventually_async(
            lambda: guest.handle in room.mixer.muted, message="the mixer never muted the guest"
        )
        # A whole segment mixed after the mute (not the next one: the pipeline's last frames
        # may still be from before it).
        await asyncio.to_thread(wait_for_new_segment, api.http, space["id"], 2)
        pcm, rate = await asyncio.to_thread(
            decode_mp4, await asyncio.to_thread(latest_program, server.base_url, space["id"])
        )
        hears_only(pcm, present=440, absent=660, rate=rate)  # the host's late frames aside

        # Taken off the stage, the guest's connection closes.
        assert host.delete(f"/api/v1/spaces/{space['id']}/stage/{guest.handle}").status_code == 204
        await eventually_async(
            lambda: b._pc is not None and b._pc.connectionState in ("closed", "failed"),
            message="the guest's connection stayed up",
        )
        assert guest.handle not in room.sessions
    finally:
        await a.close()
        await b.close(hang_up=False)


#: ~12 s of real time (two tones, then a mute, each heard over whole 2 s segments): on the
#: distributed shape in CI only; speaking across Redis is checked fast by
#: tests/cluster/test_speaking_across_nodes.py.
@EMBEDDED_FAST_DISTRIBUTED_SLOW
def test_two_speakers_are_mixed_once_and_each_hears_the_other(
    server: RunningServer, api: Api
) -> None:
    asyncio.run(_two_speakers(server, api))


OFFER_PATH = "/api/v1/spaces/{}/whip"


def test_whip_refuses_bad_callers_and_bad_offers(server: RunningServer, api: Api) -> None:
    host, listener = api.sign_up("host"), api.sign_up("listener")
    space = host.create_space()
    path = OFFER_PATH.format(space["id"])
    sdp_headers = {"Content-Type": "application/sdp"}
    problem_of(api.http.post(path, content=b"v=0", headers=sdp_headers), 401)
    problem_of(listener.post(path, content=b"v=0\r\n", headers=sdp_headers), 403)
    problem_of(host.post(path, content=b"v=0\r\n", headers={"Content-Type": "text/plain"}), 415)
    problem_of(host.post(path, content=b"not sdp", headers=sdp_headers), 400)
    problem_of(host.post(path, content=b"v=0\r\n" + b"a=x\r\n" * 5000, headers=sdp_headers), 413)
    problem_of(host.post(OFFER_PATH.format("nope"), content=b"v=0\r\n", headers=sdp_headers), 404)
    problem_of(host.delete(f"{path}/no-such-session"), 404)


async def _whip_roles(server: RunningServer, api: Api) -> None:
    host, listener = api.sign_up("host"), api.sign_up("lis")
    space = host.create_space()
    bot = SpeakerBot(server.base_url, space["id"], listener.token, ToneSource(300))
    with pytest.raises(RuntimeError, match="403"):
        await bot.connect()
    await bot.close(hang_up=False)
    first = SpeakerBot(server.base_url, space["id"], host.token, ToneSource(300))
    await first.connect()
    second = SpeakerBot(server.base_url, space["id"], host.token, ToneSource(350))
    await second.connect()  # a new offer from the same member replaces the old session
    room = server.services.media.rooms[space["id"]]
    assert len(room.sessions) == 1 and room.sessions[host.handle].id in str(second.location)
    problem_of(listener.delete(str(second.location)), 403)
    assert host.delete(str(second.location)).status_code == 204
    assert host.handle not in room.sessions
    host.post(f"/api/v1/spaces/{space['id']}/end")
    ended = SpeakerBot(server.base_url, space["id"], host.token, ToneSource(300))
    with pytest.raises(RuntimeError, match="409"):
        await ended.connect()
    for b in (first, second, ended):
        await b.close(hang_up=False)


def test_only_stage_members_of_live_spaces_speak(server: RunningServer, api: Api) -> None:
    asyncio.run(_whip_roles(server, api))


@pytest.mark.slow  # ~13 s, the run above again with the baseline encoding (CI runs it)
def test_per_speaker_encoding_mixes_the_same(tmp_path: Path) -> None:
    """The baseline path (aiortc encodes each speaker's mix) stays correct for comparison."""
    with run_server(tmp_path, stage_encoding="per-speaker") as server:
        api = Api(server.base_url)
        asyncio.run(_two_speakers(server, api))
        api.close()


ODD_OFFERS = {
    "bad fingerprint": ("a=fingerprint:sha-256 00:11", "a=fingerprint:sha-256 zz"),
    "absurd payload type": ("111", "999999999999"),
    "bad setup role": ("a=setup:actpass", "a=setup:bogus"),
    "bundle of a missing mid": ("a=group:BUNDLE 0", "a=group:BUNDLE 7"),
}


@pytest.mark.parametrize("case", ODD_OFFERS)
def test_an_offer_that_passes_the_checks_but_aiortc_cannot_answer_is_400(
    server: RunningServer, api: Api, case: str
) -> None:
    """Well-formed enough for our checks, meaningless to a WebRTC stack: a 400 problem, and
    the node and the Space carry on."""
    host = api.sign_up("odd")
    space = host.create_space()
    old, new = ODD_OFFERS[case]
    response = host.post(
        OFFER_PATH.format(space["id"]),
        content=GOOD.replace(old, new).encode(),
        headers={"Content-Type": "application/sdp"},
    )
    assert "could not be answered" in problem_of(response, 400)["detail"]
    assert host.handle not in server.services.media.rooms[space["id"]].sessions
    assert api.http.get("/readyz").status_code == 200
    host.post(f"/api/v1/spaces/{space['id']}/end")
