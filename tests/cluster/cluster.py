"""A cluster on this machine: 2 API nodes + 2 media nodes as ``majlis serve`` processes on a
fresh PostgreSQL database and the machine's Redis (a private key prefix per cluster).

Shared by the failover acceptance and the end-to-end scenarios run over a cluster; the
``cluster`` fixture (tests/cluster/conftest.py) starts one per test, ``running_cluster`` one
for whatever scope a test module needs. The media nodes share one data directory, as they
must share a volume in a deployment (docs/deploy.md): a re-placed Space keeps recording there;
the API nodes see the same recordings (they answer replays).
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from majlis.media.hls.parts.redis import state_of
from majlis.media.hls.stream import StreamState
from majlis.seams.nodes.redis import RedisNodeRegistry
from majlis.seams.placement.policy import PlacementPolicy
from majlis.seams.placement.redis import RedisPlacement
from tests.support.server import free_port, serve_process
from tests.support.services import postgres_database, redis_url


def shared_node_settings(database_url: str, redis: str | None = None) -> dict[str, Any]:
    """What every in-process node of one test cluster shares: the database and Redis under a
    private key prefix (so clusters of other tests never see it). No MAJLIS_SECRET: nodes given
    none sign with the one their database recorded (security/shared_secret.py), as in
    production; the database may be the session's, which other servers of the test run use."""
    return {
        "database_url": database_url,
        "redis_url": redis or redis_url(),
        "redis_prefix": f"majlis-test-{secrets.token_hex(4)}:",
    }


class Cluster:
    def __init__(self, prefix: str, root: Path) -> None:
        self.prefix = prefix
        self.media_dir = root / "media"  # the media nodes' shared data directory
        self.nodes: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
        self._started: dict[str, tuple[Path, str]] = {}

    def start(self, data_dir: Path, role: str, node_id: str) -> None:
        port = free_port()
        data_dir.mkdir(exist_ok=True)
        mount = data_dir / "recordings"
        if data_dir != self.media_dir and not mount.exists():
            # Every node mounts the recordings volume (deploy.md).
            shared = self.media_dir / "recordings"
            shared.mkdir(parents=True, exist_ok=True)
            mount.symlink_to(shared, target_is_directory=True)
        process = serve_process(data_dir, port, "--role", role, "--node-id", node_id)
        self.nodes[node_id] = (process, f"http://127.0.0.1:{port}")
        self._started[node_id] = (data_dir, role)

    def restart(self, node_id: str) -> None:
        """Start a node again (after a kill), as itself, on a new port."""
        data_dir, role = self._started[node_id]
        self.start(data_dir, role, node_id)

    def url(self, node_id: str) -> str:
        return self.nodes[node_id][1]

    def stop(self) -> None:
        for process, _ in self.nodes.values():
            if process.poll() is None:
                process.terminate()
        for process, _ in self.nodes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)  # gone before its database is dropped


#: The deployment shape most tests run: two API nodes and two media nodes.
SPLIT = (("api", "api-1"), ("api", "api-2"), ("media", "media-1"), ("media", "media-2"))


@contextmanager
def running_cluster(
    root: Path,
    layout: tuple[tuple[str, str], ...] = SPLIT,
    database: str | None = None,
    redis: str | None = None,
) -> Iterator[Cluster]:
    """The nodes of ``layout`` ((role, node id), the first migrates the database; media nodes
    share one data directory), ready; stopped (and the database dropped) on exit. On a fresh
    database of the machine's PostgreSQL and the machine's Redis, unless given others."""
    prefix = f"majlis-test-{secrets.token_hex(4)}:"
    fresh = postgres_database() if database is None else nullcontext(database)
    with fresh as database_url, pytest.MonkeyPatch.context() as env:
        for key, value in {
            "MAJLIS_DATABASE_URL": database_url,
            "MAJLIS_REDIS_URL": redis or redis_url(),
            "MAJLIS_REDIS_PREFIX": prefix,
            "MAJLIS_SECRET": "shared by every node " + secrets.token_hex(8),
            # The default lease and heartbeat (failover is timed with them). Slowness is not
            # under test here: the machine runs 4 nodes and many listeners.
            "MAJLIS_SLOW_NODE_LOOP_LAG_MS": "5000",
        }.items():
            env.setenv(key, value)
        nodes = Cluster(prefix, root)
        try:
            for role, node_id in layout:
                nodes.start(nodes.media_dir if role == "media" else root / node_id, role, node_id)
            yield nodes
        finally:
            nodes.stop()


async def placed(prefix: str, space_id: str, redis_at: str | None = None) -> str | None:
    """The media node a Space is placed on, as the cluster's Redis says."""
    redis = Redis.from_url(redis_at or redis_url())
    try:
        registry = RedisNodeRegistry(redis, lease_s=1.0, prefix=prefix)
        lenient = PlacementPolicy(max_heartbeat_age_s=5.0, max_loop_lag_ms=60_000)
        return await RedisPlacement(redis, registry, 60.0, lenient, prefix).placement_of(space_id)
    finally:
        await redis.aclose()


async def stream_state(prefix: str, space_id: str) -> StreamState | None:
    """The newest playlist state in the shared part store (ended ones included)."""
    redis = Redis.from_url(redis_url())
    try:
        raw = await redis.get(f"{prefix}hls:state:{space_id}")
        if raw is None:
            return None
        return state_of(orjson.loads(raw))
    finally:
        await redis.aclose()
