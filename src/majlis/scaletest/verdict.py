"""Go / no-go for tonight's audience, from what this run measured.

Two questions, kept apart so the operator sees which one failed:

1. Did the deployment behave under this run's load? (no errors other than 503/429, everyone
   seated, stalls under 1 %, speaker → listener latency within budget, edge amplification
   <= 1.05 origin requests per part.) A failed check is NO-GO whatever the arithmetic says.
2. Does the arithmetic reach tonight's audience? The run measured one edge and one API node;
   audience cost per edge is flat (each edge costs the origin ~1 request per part whatever its
   audience), so tonight needs ``target / listeners-per-edge`` edges and
   ``target / surge-window / joins-per-second-per-node`` API nodes. Figures measured without
   saturating the node (no 503s, generator not pegged) are lower bounds on capacity, and the
   report says so: the honest extrapolation is conservative.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

STALL_RATIO_MAX = 0.01
LATENCY_P50_MAX_S = 1.5
AMPLIFICATION_MAX = 1.05
ERROR_RATIO_MAX = 0.001
GENERATOR_SATURATED_CPU = 90.0
#: A generator whose 1 s tick wakes this late was starved of CPU (by the box, not the load).
GENERATOR_STARVED_LAG_MS = 250.0


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
    amplification: float | None  # worst of playlist and part requests per part; None = no edge
    behind_edge: bool
    joins_per_s_peak: float
    shed_seen: bool
    generator_cpu_peak: float
    generator_lag_ms_peak: float = 0.0


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
        out.append(
            Check(
                "origin requests per part per edge",
                f.amplification is not None and f.amplification <= AMPLIFICATION_MAX,
                "n/a (no /metrics)" if f.amplification is None else f"{f.amplification:.3f}",
                f"<= {AMPLIFICATION_MAX}",
            )
        )
    return out


def plan_for(target: int, surge_window_s: float, f: Figures) -> dict[str, Any]:
    """How many edges and API nodes tonight's audience needs, from this run's figures."""
    per_edge = f.seated if f.behind_edge else None
    joins = f.joins_per_s_peak
    return {
        "target_audience": target,
        "surge_window_s": surge_window_s,
        "listeners_per_edge_measured": per_edge,
        "edges_needed": math.ceil(target / per_edge) if per_edge else None,
        "joins_per_s_per_node_measured": round(joins, 1),
        "joins_per_s_needed": round(target / surge_window_s, 1),
        "api_nodes_needed": math.ceil(target / surge_window_s / joins) if joins > 0 else None,
        "join_capacity_is_lower_bound": not f.shed_seen,
        "generator_saturated": f.generator_cpu_peak >= GENERATOR_SATURATED_CPU
        or f.generator_lag_ms_peak >= GENERATOR_STARVED_LAG_MS,
    }


def decide(target: int, surge_window_s: float, f: Figures) -> dict[str, Any]:
    results = checks(f)
    plan = plan_for(target, surge_window_s, f)
    go = all(c.ok for c in results)
    if not go:
        failed = ", ".join(c.name for c in results if not c.ok)
        summary = f"NO-GO: this run already failed {failed}; fix that before scaling out."
    elif target <= f.seated:
        summary = f"GO: this run held {f.seated:,} listeners, at least tonight's {target:,}."
    else:
        needs = []
        if plan["edges_needed"]:
            needs.append(f"{plan['edges_needed']:,} edges")
        if plan["api_nodes_needed"]:
            needs.append(f"{plan['api_nodes_needed']:,} API nodes")
        summary = (
            f"GO for {target:,} listeners with at least {' and '.join(needs)} "
            f"(extrapolated from this run; see the plan)."
        )
    return {"go": go, "summary": summary, "checks": [asdict(c) for c in results], "plan": plan}
