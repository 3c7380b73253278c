"""A media node's heartbeat: it registers before the node is ready, reports what it measures
(rooms, speakers, CPU, event-loop lag), survives a coordinator that fails, and leaves on stop."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
import redis
import redis.asyncio as aioredis

from majlis.cluster.heartbeat import LeaseSeams, NodeHeartbeat
from majlis.cluster.load import CpuMeter
from majlis.seams.nodes.memory import MemoryNodeRegistry
from majlis.seams.nodes.protocol import NodeInfo, NodeLoad
from majlis.seams.nodes.redis import ClusterKeys, RedisNodeRegistry
from majlis.seams.placement.memory import MemoryPlacement
from tests.support.services import redis_url
from tests.support.wait import eventually, eventually_async


def _node(rooms: tuple[int, int] = (0, 0), interval_s: float = 0.05) -> NodeHeartbeat:
    registry = MemoryNodeRegistry(lease_s=5.0)
    return NodeHeartbeat(
        "m1",
        "http://m1:8000",
        registry,
        MemoryPlacement(registry, lease_s=30.0),
        lambda: rooms,
        interval_s,
    )


async def _info(beat: NodeHeartbeat) -> NodeInfo:
    info = await beat.registry.node(beat.node_id)
    assert info is not None
    return info


def test_start_registers_at_once_and_stop_leaves() -> None:
    async def scenario() -> None:
        beat = _node(rooms=(2, 7), interval_s=30.0)  # no background beat during the test
        await beat.start()
        info = await _info(beat)
        assert info.url == "http://m1:8000"
        assert (info.load.spaces, info.load.speakers) == (2, 7)
        await beat.stop()
        assert await beat.registry.live_nodes() == []

    asyncio.run(scenario())


def test_heartbeats_renew_the_nodes_placements() -> None:
    async def scenario() -> None:
        registry = MemoryNodeRegistry(lease_s=5.0)
        placement = MemoryPlacement(registry, lease_s=0.3)
        beat = NodeHeartbeat("m1", "http://m1", registry, placement, lambda: (1, 0), 0.05)
        await beat.start()
        assert await placement.place("s") == "m1"
        await asyncio.sleep(0.6)  # twice the placement lease: only renewals keep it
        assert await placement.placement_of("s") == "m1"
        await beat.stop()

    asyncio.run(scenario())


def test_the_reported_loop_lag_catches_a_blocked_loop() -> None:
    async def scenario() -> None:
        beat = _node(interval_s=30.0)
        await beat.start()
        # Lateness is measured against real time, so these sleeps are the measurement: a few
        # unhurried probe periods (0.1 s) for the baseline, a stall, then one more round of the
        # loop, in which the probe's overdue wake-up runs first (timers run in deadline order).
        await asyncio.sleep(0.25)
        baseline = beat.load().loop_lag_ms
        await asyncio.sleep(0.05)
        time.sleep(0.4)  # noqa: ASYNC251  # the stall under test: a blocking call on the loop
        await asyncio.sleep(0.15)
        stalled = beat.load().loop_lag_ms
        assert stalled >= 300, (baseline, stalled)
        assert beat.load().loop_lag_ms < stalled  # the worst is reported once, then reset
        await beat.stop()

    asyncio.run(scenario())


def test_a_failing_registry_is_retried_not_fatal() -> None:
    class Flaky(MemoryNodeRegistry):
        down = True

        async def register(self, node_id: str, url: str, load: NodeLoad) -> None:
            if self.down:
                raise ConnectionError("coordinator unreachable")
            await super().register(node_id, url, load)

    async def scenario() -> None:
        registry = Flaky(lease_s=5.0)
        beat = NodeHeartbeat(
            "m1", "http://m1", registry, MemoryPlacement(registry, 30.0), lambda: (0, 0), 0.05
        )
        await beat.start()  # does not raise
        await eventually_async(lambda: beat.failures >= 2, message="the beat was not retried")
        assert await registry.live_nodes() == []
        registry.down = False
        await eventually_async(registry.live_nodes, message="the heartbeat did not come back")
        assert beat.failures == 0
        await beat.stop()

    asyncio.run(scenario())


def test_cpu_meter_reports_cpu_per_wall_second() -> None:
    meter = CpuMeter()
    wall_start, burned_start = time.monotonic(), time.thread_time()
    while time.thread_time() - burned_start < 0.2:  # 0.2 s of CPU, however long that takes
        pass
    burned = time.thread_time() - burned_start
    expected = burned / (time.monotonic() - wall_start)  # this thread alone, per wall second
    busy = meter.take()
    # The meter counts the whole process (>= this thread), per wall second, on a shared
    # machine where the loop may have had only a slice of a core.
    assert busy >= 0.9 * expected, (busy, expected)
    assert busy <= 8.0, busy  # a fraction of cores, not a percentage
    time.sleep(0.3)  # an idle interval, measured: less busy than the burn above
    assert meter.take() < busy


def _redis_lease_held(node_id: str, prefix: str) -> bool:
    """Whether ``node_id``'s lease is live now, read with a blocking client (the caller blocks
    the event loop on purpose: that is the stall under test)."""
    client = redis.Redis.from_url(redis_url())
    try:
        seconds, micros = client.time()
        expiry = client.zscore(ClusterKeys(prefix).nodes, node_id)
        return expiry is not None and expiry > seconds * 1000 + micros // 1000
    finally:
        client.close()


def _reported_lag_ms(node_id: str, prefix: str) -> float:
    client = redis.Redis.from_url(redis_url())
    try:
        lag = client.hget(ClusterKeys(prefix).node + node_id, "lag")
        return float(lag) if lag is not None else 0.0
    finally:
        client.close()


def _threaded_node(prefix: str, lease_s: float, stall_s: float) -> NodeHeartbeat:
    async def own_seams() -> LeaseSeams:
        client = aioredis.Redis.from_url(redis_url())
        registry = RedisNodeRegistry(client, lease_s, prefix)
        return registry, MemoryPlacement(registry, 30.0), client.aclose

    local = MemoryNodeRegistry(lease_s)  # the loop's seams: the first beat and the leaving
    return NodeHeartbeat(
        "m1",
        "http://m1",
        local,
        MemoryPlacement(local, 30.0),
        lambda: (1, 0),
        0.05,
        own_seams=own_seams,
        stall_s=stall_s,
    )


@pytest.mark.redis
def test_a_lease_beaten_on_its_own_thread_outlives_a_busy_loop() -> None:
    """A short lease (fast failover) survives an event loop stalled for 2.5 leases."""
    prefix = f"majlis-test-{secrets.token_hex(4)}:"

    async def scenario() -> None:
        # The default lease (1 s), so a busy CI machine gives the thread what production does.
        beat = _threaded_node(prefix, lease_s=1.0, stall_s=5.0)
        await beat.start()
        await asyncio.to_thread(
            eventually, lambda: _redis_lease_held("m1", prefix), message="never registered"
        )
        held = []
        lags = []
        stalled_until = time.monotonic() + 2.5
        while time.monotonic() < stalled_until:  # the loop is blocked all along
            held.append(_redis_lease_held("m1", prefix))
            lags.append(_reported_lag_ms("m1", prefix))
            time.sleep(0.05)  # noqa: ASYNC251  # the stall under test
        assert all(held), held
        # Alive, but reported as late as its loop is: a slow node is placed nothing new.
        assert max(lags) >= 1500, lags[-5:]
        await beat.stop()

    asyncio.run(scenario())


@pytest.mark.redis
def test_a_wedged_loop_lets_its_lease_lapse_and_recovers() -> None:
    """A loop stalled past ``stall_s`` gives the node's Spaces up; it comes back after."""
    prefix = f"majlis-test-{secrets.token_hex(4)}:"

    async def scenario() -> None:
        beat = _threaded_node(prefix, lease_s=0.5, stall_s=0.5)
        await beat.start()
        await asyncio.to_thread(
            eventually, lambda: _redis_lease_held("m1", prefix), message="never registered"
        )
        # Blocking the loop on purpose until the lease is gone (or 10 s, a failure).
        eventually(
            lambda: not _redis_lease_held("m1", prefix),
            timeout_s=10,
            message="a wedged loop kept its lease",
        )
        await asyncio.to_thread(
            eventually, lambda: _redis_lease_held("m1", prefix), message="never came back"
        )
        await beat.stop()

    asyncio.run(scenario())
