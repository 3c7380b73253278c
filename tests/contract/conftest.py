"""Fixtures of the live-seam contracts: ``run`` drives a scenario on each backend.

A suite with a kit of its own (the cluster seams) defines its own ``run`` and reuses
``redis_unreachable``.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.support.live_kit import Run, in_backend, need_redis, redis_unreachable_reason


@pytest.fixture(scope="session")
def redis_unreachable() -> str | None:
    return asyncio.run(redis_unreachable_reason())


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def run(request: pytest.FixtureRequest, redis_unreachable: str | None) -> Run:
    """``run(scenario)`` awaits ``scenario(kit)`` in a fresh event loop for this backend."""
    backend: str = request.param
    if backend == "redis":
        need_redis(redis_unreachable)
    return lambda scenario: asyncio.run(in_backend(backend, scenario))
