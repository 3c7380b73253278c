"""The placement policy, shared by every backend: which nodes may take a Space, and which one.

Why a cost model rather than "fewest Spaces": speakers are what a Space costs. The media
benchmark (docs/benchmarks.md, "Results: CPU") measured a live Space with nobody on stage at
~1.2 % of a core and each connected speaker at ~1-1.5 % more (13 speakers: 15.8-20 %). So the
estimated cost of a node is ``spaces * SPACE_COST + speakers * SPEAKER_COST`` in % of a core.

The choice is made in two steps, because the two halves of the cost age differently:
``candidates`` turns the registry's view (a heartbeat old) into a base cost per eligible node
(speakers), and ``cheapest`` adds the Spaces placed on each node *at the moment of the claim*,
inside the backend's atomic step (one Lua script on Redis). A burst of placements (two API
nodes, or many Spaces starting at the top of the hour) therefore sees every earlier claim and
spreads evenly, instead of every caller picking the node that looked idlest in the same stale
snapshot. Among equally cheap nodes the pick is random. Measured CPU is reported, not used: it
is noisy, a heartbeat old, and counts whatever else shares the machine.

A slow node is never chosen, even with a valid lease: its event loop lags (it would deliver
late parts and jittery mixes) or its heartbeats stopped arriving on time (partitioned, or
stalled in a long pause).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from majlis.seams.nodes.protocol import NodeInfo, NoMediaNode

#: Percent of one core, from docs/benchmarks.md (shared stage encoding).
SPACE_COST = 1.2


SPEAKER_COST = 1.5


#: Costs closer than this are equal (float sums of the constants above).
COST_EPSILON = 1e-6


@dataclass(frozen=True)
class PlacementPolicy:
    #: A node whose last heartbeat is older than this is slow (its lease may still be valid).
    max_heartbeat_age_s: float = 2.5
    #: A node whose event loop ran later than this is slow: a 20 ms mixer clock cannot keep up.
    max_loop_lag_ms: float = 250.0
    #: Retry-After for a placement that found no node: about one heartbeat.
    retry_after_s: int = 2


def is_slow(node: NodeInfo, policy: PlacementPolicy) -> bool:
    return (
        node.heartbeat_age_s > policy.max_heartbeat_age_s
        or node.load.loop_lag_ms > policy.max_loop_lag_ms
    )


def candidates(
    nodes: Iterable[NodeInfo], policy: PlacementPolicy, exclude: Collection[str] = ()
) -> dict[str, float]:
    """``{node_id: base cost}`` for every node that may take a Space: live, not slow, not
    excluded. Raises NoMediaNode when there is none."""
    eligible = {
        n.node_id: n.load.speakers * SPEAKER_COST
        for n in nodes
        if n.node_id not in exclude and not is_slow(n, policy)
    }
    if not eligible:
        raise NoMediaNode(
            "no media node can take this Space right now; try again in a few seconds",
            retry_after_s=policy.retry_after_s,
        )
    return eligible


def cheapest(base: Mapping[str, float], placed: Mapping[str, int], pick: float) -> str:
    """The candidate whose base cost plus its placed Spaces is lowest; ``pick`` (uniform in
    [0, 1)) chooses among equals. The Redis claim script is this function in Lua."""
    costs = {node: b + placed.get(node, 0) * SPACE_COST for node, b in base.items()}
    lowest = min(costs.values())
    ties = sorted(node for node, c in costs.items() if c - lowest < COST_EPSILON)
    return ties[int(pick * len(ties))]


def random_pick() -> float:
    return random.random()  # spreads ties; not security-sensitive
