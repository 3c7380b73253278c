"""One contract for the cluster seams (NodeRegistry, Placement), run against every backend.

Leases run on real time here, because the Redis versions deliberately use the server's clock
(``TIME``), not an injectable one: TTLs are short (about a second) and every "it has
expired" check polls with a generous deadline, so a loaded machine is slower, never flaky.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from majlis.seams.nodes.memory import MemoryNodeRegistry
from majlis.seams.nodes.protocol import NodeLoad, NodeRegistry, NoMediaNode
from majlis.seams.nodes.redis import RedisNodeRegistry
from majlis.seams.placement.memory import MemoryPlacement
from majlis.seams.placement.policy import PlacementPolicy
from majlis.seams.placement.protocol import Placement
from majlis.seams.placement.redis import RedisPlacement
from majlis.seams.redis_client import redis_client
from tests.support.live_kit import REDIS_URL, need_redis
from tests.support.wait import eventually_async

LONG_S = 30.0  # a lease that cannot lapse during a test


@dataclass
class Kit:
    """Builds seams of one backend. ``client()`` is another API node's view of the same
    cluster: a separate Redis connection, or, in memory, the one process-wide instance."""

    backend: str
    prefix: str
    redis: list[Redis] = field(default_factory=list)
    _memory: dict[tuple[float, float, PlacementPolicy], tuple[NodeRegistry, Placement]] = field(
        default_factory=dict
    )

    def client(
        self,
        node_lease_s: float = LONG_S,
        placement_lease_s: float = LONG_S,
        policy: PlacementPolicy | None = None,
    ) -> tuple[NodeRegistry, Placement]:
        policy = policy or PlacementPolicy(max_heartbeat_age_s=LONG_S)
        if self.backend == "memory":
            key = (node_lease_s, placement_lease_s, policy)
            if key not in self._memory:
                registry = MemoryNodeRegistry(node_lease_s)
                self._memory[key] = (
                    registry,
                    MemoryPlacement(registry, placement_lease_s, policy),
                )
            return self._memory[key]
        redis = redis_client(REDIS_URL)
        self.redis.append(redis)
        redis_registry = RedisNodeRegistry(redis, node_lease_s, self.prefix)
        return redis_registry, RedisPlacement(
            redis, redis_registry, placement_lease_s, policy, self.prefix
        )


Scenario = Callable[[Kit], Awaitable[None]]
Run = Callable[[Scenario], None]


async def _in_backend(backend: str, scenario: Scenario) -> None:
    kit = Kit(backend, f"majlis-test:{uuid.uuid4().hex}:")
    try:
        await scenario(kit)
    finally:
        if kit.redis:
            stale = [key async for key in kit.redis[0].scan_iter(match=kit.prefix + "*")]
            if stale:
                await kit.redis[0].delete(*stale)
        for redis in kit.redis:
            await redis.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def run(request: pytest.FixtureRequest, redis_unreachable: str | None) -> Run:
    backend: str = request.param
    if backend == "redis":
        need_redis(redis_unreachable)
    return lambda scenario: asyncio.run(_in_backend(backend, scenario))


async def node_ids(registry: NodeRegistry) -> list[str]:
    return [n.node_id for n in await registry.live_nodes()]


# --- registry ----------------------------------------------------------------------------------


def test_registered_nodes_are_live_with_their_url_and_load(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, _ = kit.client()
        assert await registry.live_nodes() == []
        await registry.register("m2", "http://10.0.0.2:8000", NodeLoad(2, 5, 0.25, 3.5))
        await registry.register("m1", "http://10.0.0.1:8000", NodeLoad())
        nodes = await registry.live_nodes()
        assert [n.node_id for n in nodes] == ["m1", "m2"]
        m2 = nodes[1]
        assert m2.url == "http://10.0.0.2:8000"
        assert m2.load == NodeLoad(spaces=2, speakers=5, cpu=0.25, loop_lag_ms=3.5)
        assert 0 <= m2.heartbeat_age_s < 5
        again = await registry.node("m2")
        assert again is not None and (again.url, again.load) == (m2.url, m2.load)
        assert await registry.node("nobody") is None
        # Another API node sees the same registry.
        other, _ = kit.client()
        assert await node_ids(other) == ["m1", "m2"]

    run(scenario)


def test_a_heartbeat_updates_the_load_and_resets_the_age(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, _ = kit.client()
        await registry.register("m1", "http://m1", NodeLoad(spaces=1))
        await asyncio.sleep(0.3)  # the age under test
        aged = await registry.node("m1")
        assert aged is not None and aged.heartbeat_age_s >= 0.25
        await registry.register("m1", "http://m1", NodeLoad(spaces=3, loop_lag_ms=7.0))
        fresh = await registry.node("m1")
        assert fresh is not None and fresh.load.spaces == 3 and fresh.load.loop_lag_ms == 7.0
        assert fresh.heartbeat_age_s < aged.heartbeat_age_s

    run(scenario)


def test_a_lease_lapses_without_heartbeats_and_heartbeats_keep_it(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, _ = kit.client(node_lease_s=0.6)
        leased_at = time.monotonic()  # the lease starts no earlier than this
        await registry.register("dies", "http://dies", NodeLoad())
        await registry.register("lives", "http://lives", NodeLoad())

        async def gone() -> bool:
            await registry.register("lives", "http://lives", NodeLoad())  # its heartbeat
            return "dies" not in await node_ids(registry)

        await eventually_async(gone, message="an unrenewed lease never lapsed")
        lapsed_at = time.monotonic()
        assert lapsed_at - leased_at >= 0.59  # not before its time (ms clock rounding aside)
        assert await node_ids(registry) == ["lives"]
        assert await registry.node("dies") is None
        await registry.register("dies", "http://dies", NodeLoad())  # it comes back
        assert await node_ids(registry) == ["dies", "lives"]

    run(scenario)


def test_deregister_ends_the_lease_at_once(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, _ = kit.client()
        await registry.register("m1", "http://m1", NodeLoad())
        await registry.register("m2", "http://m2", NodeLoad())
        await registry.deregister("m1")
        await registry.deregister("never-registered")
        assert await node_ids(registry) == ["m2"]

    run(scenario)


# --- placement ---------------------------------------------------------------------------------


def test_place_picks_the_least_loaded_node_and_sticks(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, placement = kit.client()
        await registry.register("busy", "http://busy", NodeLoad(speakers=10))
        await registry.register("idle", "http://idle", NodeLoad())
        assert await placement.placement_of("s1") is None
        assert await placement.place("s1") == "idle"
        assert await placement.placement_of("s1") == "idle"
        assert await placement.place("s1") == "idle"  # placing again changes nothing
        # Placements count at once: idle now costs 1 Space, busy 10 speakers.
        for n in range(2, 9):
            await placement.place(f"s{n}")
        assert await placement.spaces_on("idle") == [f"s{n}" for n in range(1, 9)]
        assert await placement.spaces_on("busy") == []
        assert await placement.place("s9") == "idle"  # 8 x 1.2 = 9.6 < 10 x 1.5
        assert await placement.place("s10") == "idle"  # 9 x 1.2 = 10.8 < 15
        for n in range(11, 14):
            await placement.place(f"s{n}")
        assert await placement.place("s14") == "busy"  # 13 x 1.2 = 15.6 > 15

    run(scenario)


def test_place_spreads_a_burst_over_equal_nodes(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, placement = kit.client()
        for node in ("a", "b", "c"):
            await registry.register(node, f"http://{node}", NodeLoad())
        for n in range(9):
            await placement.place(f"s{n}")
        assert [len(await placement.spaces_on(node)) for node in ("a", "b", "c")] == [3, 3, 3]

    run(scenario)


def test_no_node_means_no_media_node_with_a_retry_hint(run: Run) -> None:
    """The seam says when to try again; the API answers it as 503 + Retry-After
    (tests/cluster/test_roles.py sees the problem on the wire)."""

    async def scenario(kit: Kit) -> None:
        _, placement = kit.client()
        with pytest.raises(NoMediaNode) as caught:
            await placement.place("s")
        assert caught.value.retry_after_s > 0
        assert await placement.placement_of("s") is None

    run(scenario)


def test_concurrent_placement_from_two_api_nodes_agrees(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, one = kit.client()
        _, two = kit.client()
        for node in ("a", "b", "c", "d"):
            await registry.register(node, f"http://{node}", NodeLoad())
        spaces = [f"s{n}" for n in range(40)]
        # Both API nodes place every Space at the same moment, each in its own order: the
        # atomic claim must make them agree.
        first, second = await asyncio.gather(
            asyncio.gather(*(one.place(s) for s in spaces)),
            asyncio.gather(*(two.place(s) for s in reversed(spaces))),
        )
        assert list(first) == list(reversed(second))
        for space, node in zip(spaces, first, strict=True):
            assert await one.placement_of(space) == node
            assert await two.placement_of(space) == node
        on_nodes = [await one.spaces_on(node) for node in ("a", "b", "c", "d")]
        assert sorted(s for group in on_nodes for s in group) == sorted(spaces)
        # Each claim counts every claim before it, in the same atomic step: a burst computed
        # from one stale view of the registry still spreads exactly.
        assert [len(group) for group in on_nodes] == [10, 10, 10, 10]

    run(scenario)


def test_a_slow_node_is_not_chosen(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        policy = PlacementPolicy(max_heartbeat_age_s=1.0, max_loop_lag_ms=100.0)
        registry, placement = kit.client(policy=policy)
        # Idlest by far, but its event loop lags: never chosen.
        await registry.register("lagging", "http://lagging", NodeLoad(loop_lag_ms=400.0))
        await registry.register("ok", "http://ok", NodeLoad(speakers=12))
        assert await placement.place("s1") == "ok"
        # "ok" stops heartbeating: its lease (30 s) holds, but it is late, hence slow.
        await registry.register("late", "http://late", NodeLoad(speakers=13))

        async def skipped() -> bool:
            await registry.register("late", "http://late", NodeLoad(speakers=13))
            node = await registry.node("ok")
            return node is not None and node.heartbeat_age_s > 1.0

        await eventually_async(skipped, message="a node without heartbeats never became slow")
        assert "ok" in await node_ids(registry)  # still live: slow is not dead
        assert await placement.place("s2") == "late"
        await registry.register("lagging", "http://lagging", NodeLoad(loop_lag_ms=5.0))
        assert await placement.place("s3") == "lagging"  # recovered

    run(scenario)


def test_replace_moves_a_space_off_a_dead_node_once(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, one = kit.client()
        _, two = kit.client()
        await registry.register("a", "http://a", NodeLoad())
        assert await one.place("s") == "a"
        for node in ("b", "c"):
            await registry.register(node, f"http://{node}", NodeLoad())
        await registry.deregister("a")
        # Two API nodes notice at once; both must end up with the same new node.
        moved = await asyncio.gather(one.replace("s", "a"), two.replace("s", "a"))
        assert moved[0] == moved[1] and moved[0] in ("b", "c")
        assert await one.placement_of("s") == moved[0]
        # A late failover for the same dead node does not move it again.
        assert await two.replace("s", "a") == moved[0]
        assert await one.spaces_on("a") == []

    run(scenario)


def test_replace_with_nowhere_to_go_keeps_the_placement(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, placement = kit.client()
        await registry.register("a", "http://a", NodeLoad())
        await placement.place("s")
        with pytest.raises(NoMediaNode):
            await placement.replace("s", "a")
        assert await placement.placement_of("s") == "a"

    run(scenario)


def test_a_dead_nodes_spaces_are_orphans_until_replaced(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, placement = kit.client(node_lease_s=1.0)
        await registry.register("dies", "http://dies", NodeLoad())
        await placement.place("s1")
        await placement.place("s2")
        await registry.register("lives", "http://lives", NodeLoad(speakers=13))
        assert await placement.orphaned() == {}

        async def orphaned() -> bool:
            await registry.register("lives", "http://lives", NodeLoad(speakers=13))
            return await placement.orphaned() == {"s1": "dies", "s2": "dies"}

        await eventually_async(orphaned, message="a dead node's Spaces were never found")
        for space in ("s1", "s2"):
            assert await placement.replace(space, "dies") == "lives"
        assert await placement.orphaned() == {}
        assert await placement.spaces_on("lives") == ["s1", "s2"]

    run(scenario)


def test_placement_leases_lapse_unless_their_node_renews_them(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, placement = kit.client(placement_lease_s=1.0)
        await registry.register("a", "http://a", NodeLoad())
        await registry.register("b", "http://b", NodeLoad())
        await placement.place("on-a")
        placed_at = time.monotonic()  # on-b's lease starts no earlier than this
        await placement.place("on-b")
        assert {await placement.placement_of(s) for s in ("on-a", "on-b")} == {"a", "b"}
        renewer = await placement.placement_of("on-a")
        assert renewer is not None

        async def lapsed() -> bool:
            await placement.renew(renewer)  # only this node keeps heartbeating
            return await placement.placement_of("on-b") is None

        await eventually_async(lapsed, message="an unrenewed placement never lapsed")
        lapsed_at = time.monotonic()
        assert lapsed_at - placed_at >= 0.99
        assert await placement.placement_of("on-a") == renewer
        assert await placement.spaces_on(renewer) == ["on-a"]

    run(scenario)


def test_release_forgets_a_placement(run: Run) -> None:
    async def scenario(kit: Kit) -> None:
        registry, placement = kit.client()
        await registry.register("a", "http://a", NodeLoad())
        await placement.place("s")
        await placement.release("s")
        await placement.release("never-placed")
        assert await placement.placement_of("s") is None
        assert await placement.spaces_on("a") == []

    run(scenario)


def test_keep_places_a_space_where_its_room_runs_unless_placed_already(run: Run) -> None:
    """After Redis came back empty, the node running a room keeps it, though another node is
    cheaper; a placement made meanwhile by someone else wins (the room then moves there)."""

    async def scenario(kit: Kit) -> None:
        registry, placement = kit.client()
        await registry.register("busy", "http://busy", NodeLoad(speakers=10))
        await registry.register("idle", "http://idle", NodeLoad())
        assert await placement.keep("s1", "busy") == "busy"
        assert await placement.placement_of("s1") == "busy"
        assert await placement.spaces_on("busy") == ["s1"]
        assert await placement.place("s2") == "idle"
        assert await placement.keep("s2", "busy") == "idle"  # placed already: unchanged
        _, other = kit.client()
        assert await other.placement_of("s1") == "busy"

    run(scenario)
