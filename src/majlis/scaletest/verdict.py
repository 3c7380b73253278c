"""Go / no-go for tonight's audience, from what this run measured.

Two questions, kept apart so the operator sees which one failed:

1. Did the deployment behave under this run's load? (no errors other than 503/429, everyone
   seated, stalls under 1 %, speaker → listener latency within budget, edge amplification
   <= 1.05 origin requests per part, or per segment for LL-DASH listeners.) A failed check is
   NO-GO whatever the arithmetic says.
2. Does the arithmetic reach tonight's audience? The run measured one edge and one API node;
   audience cost per edge is flat (each edge costs the origin ~1 request per part or segment
   whatever its audience), so tonight needs ``target / listeners-per-edge`` edges and
   ``target / surge-window / joins-per-second-per-node`` API nodes.

A count is only as good as the capacity it divides by. An API node that refused joins (503)
showed its capacity; one that refused none only showed what this run asked of it, a lower
bound, and dividing by it sizes nothing: the verdict is then NO VERDICT, and says how large a
run would find the capacity. No passing run finds an edge's limit (nothing on it refuses), but
``target / listeners-this-edge-held`` edges each carry no more than this run's did: that count
is given, in the headline, as the upper bound it is.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from majlis.scaletest.plan import PROFILES

STALL_RATIO_MAX = 0.01
LATENCY_P50_MAX_S = 1.5
AMPLIFICATION_MAX = 1.05
ERROR_RATIO_MAX = 0.001
GENERATOR_SATURATED_CPU = 90.0
#: A generator whose 1 s tick wakes this late was starved of CPU (by the box, not the load).
GENERATOR_STARVED_LAG_MS = 250.0
#: The arrival window suggested for a run that is to find a node's join capacity (a surge).
SIZING_RUN_OVER_S = PROFILES["surge"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    measured: str
    limit: str


@dataclass(frozen=True)
class Figures:
    """The run's headline numbers, as the verdict needs them."""

    listeners: int
    seated: int
    requests: int
    errors: int
    stall_ratio: float | None
    latency_p50_s: float | None
    #: LL-HLS: worst of playlist and part requests per part; LL-DASH: segment requests per
    #: segment (summary._worst). None: not measured.
    amplification: float | None
    behind_edge: bool
    joins_per_s_peak: float
    shed_seen: bool
    generator_cpu_peak: float
    generator_lag_ms_peak: float = 0.0
    #: The node's own join latency p50 (at most: a /metrics histogram bucket bound), seconds.
    join_p50_s: float | None = None
    #: What the listeners played: "dash" or "hls" (plan.PROTOCOLS).
    protocol: str = "hls"


def checks(f: Figures) -> list[Check]:
    out = [
        Check(
            "errors (other than 503/429)",
            f.requests > 0 and f.errors <= ERROR_RATIO_MAX * f.requests,
            f"{f.errors} of {f.requests} requests",
            f"<= {ERROR_RATIO_MAX:.1%}",
        ),
        Check(
            "every listener seated", f.seated >= f.listeners, f"{f.seated} of {f.listeners}", "all"
        ),
        Check(
            "stall ratio",
            f.stall_ratio is not None and f.stall_ratio <= STALL_RATIO_MAX,
            "n/a" if f.stall_ratio is None else f"{f.stall_ratio:.2%}",
            f"<= {STALL_RATIO_MAX:.0%}",
        ),
        Check(
            "speaker → listener latency p50",
            f.latency_p50_s is not None and f.latency_p50_s <= LATENCY_P50_MAX_S,
            "n/a (no probe heard a mark)"
            if f.latency_p50_s is None
            else f"{f.latency_p50_s:.2f} s",
            f"<= {LATENCY_P50_MAX_S} s",
        ),
    ]
    if f.behind_edge:
        unit = "segment" if f.protocol == "dash" else "part"
        out.append(
            Check(
                f"origin requests per {unit} per edge",
                f.amplification is not None and f.amplification <= AMPLIFICATION_MAX,
                "n/a (no /metrics)" if f.amplification is None else f"{f.amplification:.3f}",
                f"<= {AMPLIFICATION_MAX}",
            )
        )
    return out


def _round_up(value: float) -> int:
    """``value`` rounded up to two significant digits (a figure for a sentence, not a bill)."""
    if value <= 0:
        return 0
    step = 10 ** max(0, math.floor(math.log10(value)) - 1)
    return int(math.ceil(round(value / step, 9)) * step)


def _run_to_find(f: Figures) -> dict[str, Any]:
    """How hard a run must press one API node's joins to find its capacity.

    A join took the node ``join_p50_s`` at most (its own histogram, a bucket bound): part of
    that is the node's own work, part waiting on the database while it serves other requests.
    So one node admits at least ``1 / join_p50_s`` joins a second, and a run must ask at least
    that much to meet a refusal. Without that reading, or when it predicts no more than this
    run already asked, twice this run's rate is the next step.
    """
    estimate = 1 / f.join_p50_s if f.join_p50_s else 0.0
    rate = _round_up(max(estimate, 2 * f.joins_per_s_peak))
    return {
        "joins_per_s": rate,
        "listeners": math.ceil(rate * SIZING_RUN_OVER_S),
        "over_s": SIZING_RUN_OVER_S,
    }


def plan_for(target: int, surge_window_s: float, f: Figures) -> dict[str, Any]:
    """How many edges and API nodes tonight's audience needs, from this run's figures.

    A count is given only when this run sized it: API nodes when a node refused joins (503,
    its capacity found) or when one node already admitted tonight's rate; edges whenever
    listeners came through one (an upper bound unless it held the whole audience).
    """
    per_edge = f.seated if f.behind_edge else None
    joins = f.joins_per_s_peak
    needed = target / surge_window_s
    upper = math.ceil(needed / joins) if joins > 0 else None
    sized = f.shed_seen or (joins > 0 and joins >= needed)
    edges = math.ceil(target / per_edge) if per_edge else None
    return {
        "target_audience": target,
        "surge_window_s": surge_window_s,
        "listeners_per_edge_measured": per_edge,
        "edges_needed": edges,
        "edges_is_upper_bound": edges is not None and target > f.seated,
        "joins_per_s_per_node_measured": round(joins, 1),
        "joins_per_s_needed": round(needed, 1),
        "join_capacity_reached": f.shed_seen,
        "join_capacity_is_lower_bound": not f.shed_seen,
        "api_nodes_needed": upper if sized else None,
        "api_nodes_upper_bound": upper,
        "join_p50_s_at_most": f.join_p50_s,
        "run_to_find_join_capacity": None if f.shed_seen else _run_to_find(f),
        "generator_saturated": f.generator_cpu_peak >= GENERATOR_SATURATED_CPU
        or f.generator_lag_ms_peak >= GENERATOR_STARVED_LAG_MS,
    }


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _api_sized(f: Figures, plan: dict[str, Any]) -> str:
    needed = plan["joins_per_s_needed"]
    if plan["join_capacity_reached"]:
        return (
            f"An API node admitted {f.joins_per_s_peak:,.1f} joins/s and refused the rest "
            f"(503): {_count(plan['api_nodes_needed'], 'API node')} carry tonight's "
            f"{needed:,.1f} joins/s."
        )
    return (
        f"One API node admitted {f.joins_per_s_peak:,.1f} joins/s without refusing any, at "
        f"least tonight's {needed:,.1f} joins/s."
    )


def _api_not_sized(f: Figures, plan: dict[str, Any]) -> list[str]:
    run = plan["run_to_find_join_capacity"]
    how = (
        f"{run['listeners']:,} listeners arriving within {run['over_s']:g} s: "
        f"--listeners {run['listeners']} --profile surge --over {run['over_s']:g}"
    )
    out = [
        f"No join was refused, so the {f.joins_per_s_peak:,.1f} joins/s one node admitted is "
        f"a lower bound on its capacity, not a measure of it; tonight needs "
        f"{plan['joins_per_s_needed']:,.1f} joins/s."
    ]
    p50 = f.join_p50_s
    if p50 and 1 / p50 >= 2 * f.joins_per_s_peak:
        out.append(
            f"A join took the node at most {p50 * 1000:g} ms (p50), so one node "
            f"should admit about {_round_up(1 / p50):,} joins/s or more: a run of at least "
            f"{run['joins_per_s']:,} joins/s ({how}) would find its capacity."
        )
    else:
        why = (
            "this run read no join latency from /metrics to estimate further"
            if p50 is None
            else "the node's join latency predicts no more than this run already asked"
        )
        out.append(
            f"A run of at least {run['joins_per_s']:,} joins/s ({how}) is the next step, twice "
            f"what this one asked: {why}."
        )
    if plan["generator_saturated"]:
        out.append(
            f"This run's load generator was the limit ({f.generator_cpu_peak:.0f} % CPU, its "
            f"clock up to {f.generator_lag_ms_peak:.0f} ms late): give it cores "
            "(--generator-cpus) or distribute it (--master/--worker) for the larger run."
        )
    return out


def _edges_upper_bound(f: Figures, plan: dict[str, Any]) -> str:
    return (
        f"One edge held all {f.seated:,} listeners this run sent through it without reaching "
        f"its limit, so {plan['edges_needed']:,} edges (none carrying more) is an upper bound: "
        f"a run of more than {f.seated:,} listeners through one edge would show how many "
        "fewer will do."
    )


def decide(target: int, surge_window_s: float, f: Figures) -> dict[str, Any]:
    """GO, NO-GO or NO VERDICT, as a headline and the sentences that explain it.

    NO VERDICT is this run being too small to size tonight: it passed its checks but never
    reached a capacity the plan would have to extrapolate from. The headline names which, and
    the details say what it measured (a lower bound) and how large a run would find it.
    """
    results = checks(f)
    plan = plan_for(target, surge_window_s, f)
    details: list[str] = []
    api_sized = plan["api_nodes_needed"] is not None
    edges_sized = f.behind_edge or target <= f.seated
    if not all(c.ok for c in results):
        outcome = "no-go"
        failed = ", ".join(c.name for c in results if not c.ok)
        headline = f"NO-GO: this run already failed {failed}; fix that before scaling out."
    elif api_sized and edges_sized:
        outcome = "go"
        if target <= f.seated and f.joins_per_s_peak >= target / surge_window_s:
            headline = (
                f"GO: this run held {f.seated:,} listeners arriving at up to "
                f"{f.joins_per_s_peak:,.1f} joins/s, at least tonight's {target:,} within "
                f"{surge_window_s:g} s ({plan['joins_per_s_needed']:,.1f} joins/s)."
            )
        else:
            needs = [_count(plan["api_nodes_needed"], "API node")]
            if plan["edges_needed"]:
                bound = " (fewer edges may do)" if plan["edges_is_upper_bound"] else ""
                needs.append(_count(plan["edges_needed"], "edge") + bound)
            headline = f"GO for {target:,} listeners with {' and '.join(needs)}."
            details.append(_api_sized(f, plan))
            if plan["edges_is_upper_bound"]:
                details.append(_edges_upper_bound(f, plan))
    else:
        outcome = "no-verdict"
        reasons = []
        if not api_sized:
            reasons.append("was too small to find an API node's join capacity")
            details += _api_not_sized(f, plan)
        else:
            details.append(_api_sized(f, plan))
        if not edges_sized:
            reasons.append("sized no edges (its listeners fetched from the origin directly)")
            details.append(
                f"Rerun with --hls-url-base at an edge: the listeners one edge holds size the "
                f"edges for {target:,}."
            )
        headline = f"NO VERDICT for {target:,} listeners: this run {' and '.join(reasons)}."
    return {
        "go": outcome == "go",
        "outcome": outcome,
        "headline": headline,
        "details": details,
        "summary": " ".join([headline, *details]),
        "checks": [asdict(c) for c in results],
        "plan": plan,
    }
