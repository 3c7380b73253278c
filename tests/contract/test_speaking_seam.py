"""The speaking seam's contract, run against the in-process and the Redis implementation.

Time is the fake clock of the live-seam suite: expiry is judged against it in both backends, so
"a dead node's set fades after the TTL" is checked without sleeping.
"""

from __future__ import annotations

from majlis.seams.speaking.memory import MemorySpeaking
from majlis.seams.speaking.protocol import Speaking
from majlis.seams.speaking.redis import RedisSpeaking
from tests.support.live_kit import Kit, Run

TTL_S = 3.0


def _speaking(kit: Kit) -> Speaking:
    if kit.redis is None:
        return MemorySpeaking(TTL_S, clock=kit.clock)
    return RedisSpeaking(kit.redis, TTL_S, clock=kit.clock, prefix=kit.prefix)


def test_nobody_speaks_until_a_set_is_published(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        speaking = _speaking(kit)
        assert await speaking.current("s") == ()
        await speaking.publish("s", ["amal", "omar"])
        assert await speaking.current("s") == ("amal", "omar")
        assert await speaking.current("other") == ()

    run(scenario)


def test_a_new_set_replaces_the_old_and_an_empty_one_clears_it(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        speaking = _speaking(kit)
        await speaking.publish("s", ["amal", "omar"])
        await speaking.publish("s", ["omar"])
        assert await speaking.current("s") == ("omar",)
        await speaking.publish("s", ())
        assert await speaking.current("s") == ()

    run(scenario)


def test_a_set_not_refreshed_expires_after_the_ttl(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        speaking = _speaking(kit)
        await speaking.publish("s", ["amal"])
        kit.clock.now += TTL_S - 0.1
        assert await speaking.current("s") == ("amal",)
        kit.clock.now += 0.1  # the media node that wrote it stopped refreshing: it is gone
        assert await speaking.current("s") == ()

    run(scenario)


def test_refreshing_keeps_a_set_alive_past_the_ttl(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        speaking = _speaking(kit)
        for _ in range(5):  # 5 s of refreshes every second
            await speaking.publish("s", ["amal"])
            kit.clock.now += 1.0
        assert await speaking.current("s") == ("amal",)

    run(scenario)


def test_forget_drops_one_space_only(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        speaking = _speaking(kit)
        await speaking.publish("s", ["amal"])
        await speaking.publish("t", ["omar"])
        await speaking.forget("s")
        await speaking.forget("never-seen")
        assert await speaking.current("s") == ()
        assert await speaking.current("t") == ("omar",)

    run(scenario)


def test_handles_round_trip_unchanged(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        speaking = _speaking(kit)
        handles = ["عمر", "a_b-9", "Zed"]  # order kept as published (the room sorts)
        await speaking.publish("s", handles)
        assert await speaking.current("s") == tuple(handles)

    run(scenario)


def test_two_readers_see_one_writer(run: Run) -> None:
    """Redis: another node's instance sees the set; memory: the same holds within one process."""

    async def scenario(kit: Kit) -> None:
        writer, reader = _speaking(kit), _speaking(kit)
        await writer.publish("s", ["amal"])
        if kit.redis is not None:
            assert await reader.current("s") == ("amal",)
            ttl = await kit.redis.pttl(f"{kit.prefix}speaking:s")
            assert 0 < ttl <= TTL_S * 1000  # a crashed writer leaves nothing behind
        else:
            assert await writer.current("s") == ("amal",)

    run(scenario)
