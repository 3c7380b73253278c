"""The headline figures of a run, computed from the engine's totals, the probes and /metrics.

Pure functions over the JSON the three processes produced, so the report and the verdict read
the same numbers and the arithmetic is tested without running a load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from majlis.scaletest.metrics import Reading, amplification, join_latency_bound
from majlis.scaletest.verdict import Figures

HTTP_TYPES = frozenset({"GET", "POST"})
#: Seconds after the last listener started playing before the steady state starts.
SETTLE_S = 2.0
#: The fewest segments a DASH steady state must span to count: the origin counts a segment
#: request when its answer ends, a segment after it began, so a window of a segment or two
#: holds 0, 1 or 2 of them per edge by where its edges fall.
DASH_STEADY_MIN_SEGMENTS = 3


def _count(totals: dict[str, Any], name: str) -> int:
    entry = totals.get(name)
    return int(entry["count"]) if entry else 0


def _field(totals: dict[str, Any], name: str, key: str) -> float | None:
    entry = totals.get(name)
    return None if not entry or entry[key] is None else float(entry[key])


def _quantiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None, "count": 0}
    arr = np.asarray(values, dtype=float)
    return {
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "max": float(arr.max()),
        "count": len(values),
    }


def peak_rate(timeline: Sequence[dict[str, Any]], key: str, window: int = 3) -> float:
    """The highest ``window``-second moving average of a per-second count."""
    counts = [float(row.get(key, 0)) for row in timeline]
    if not counts:
        return 0.0
    if len(counts) < window:
        return max(counts)
    return max(sum(counts[i : i + window]) / window for i in range(len(counts) - window + 1))


def steady_readings(
    engine: dict[str, Any], listeners: int, readings: Sequence[Reading]
) -> list[Reading]:
    """The /metrics readings from ``SETTLE_S`` after every listener was playing (first audio)
    until the load stopped.

    Arrivals cost an edge a few extra origin requests (each newcomer's first, plain playlist
    is cached for a second only; a DASH newcomer's first segment is an older one, its chunks
    all there), at most one a second per edge whatever the crowd; a saturated generator
    spreads its listeners' first requests well past their join. The steady state is what an
    audience of this size costs per part (or segment) once it is all listening, so the check
    uses it.
    """
    playing, at = 0, None
    for row in engine["timeline"]:
        playing += int(row.get("first audio", 0))
        if playing >= listeners:
            at = engine["started"] + row["t"] + SETTLE_S
            break
    if at is None or not engine["timeline"]:
        return []
    end = engine["started"] + engine["timeline"][-1]["t"]
    return [r for r in readings if at <= r.at <= end]


def _worst(amp: dict[str, Any] | None, protocol: str = "hls") -> float | None:
    """The figure the amplification check reads: for LL-HLS the worse of playlist and part
    requests per part; for LL-DASH segment requests per segment (each listener's one request a
    segment; the MPD is reloaded every 6 s and cached 2 s at an edge, whatever the audience)."""
    if protocol == "dash":
        if not amp or not amp.get("segments_published"):
            return None
        # The origin counts a segment request when its answer ends, a segment after it began,
        # and the window's ends cut a segment: its requests and its published segments differ
        # by up to one whatever the edge does. One is forgiven, or a short rehearsal of an edge
        # that fetched each segment once reads 12 requests over 11.3 segments: 1.059 (measured).
        requests = max(0.0, float(amp["segment_requests"]) - 1.0)
        return requests / float(amp["segments_published"])
    if not amp or amp["playlist_per_part"] is None:
        return None
    return float(max(amp["playlist_per_part"], amp["part_per_part"]))


def _timings(totals: dict[str, Any], name: str) -> dict[str, float | None]:
    """A request name's percentiles and count, in ms, from the engine's totals."""
    out: dict[str, float | None] = {
        q: _field(totals, name, f"{q}_ms") for q in ("p50", "p90", "p99", "max")
    }
    out["count"] = _count(totals, name)
    return out


def summarize(
    listeners: int,
    engine: dict[str, Any],
    media: dict[str, Any],
    readings: Sequence[Reading],
    behind_edge: bool,
    protocol: str = "hls",
    rendition: str = "aac",
) -> tuple[dict[str, Any], Figures]:
    """The summary and the verdict's figures; ``rendition`` is the DASH listeners' (its
    segments are what origin segment requests are counted against)."""
    totals: dict[str, Any] = engine["totals"]
    http = {k: v for k, v in totals.items() if isinstance(v, dict) and v.get("type") in HTTP_TYPES}
    requests = sum(int(v["count"]) for v in http.values())
    errors = sum(int(v["failures"]) for v in http.values())
    # "join" counts admitted attempts and real failures; refusals are named by their status.
    attempts = sum(_count(totals, n) for n in ("join", "join 503", "join 429"))
    audio_ms = _field(totals, "audio", "sum_ms") or 0.0
    stall_ms = _field(totals, "stall", "sum_ms") or 0.0
    stall_ratio = stall_ms / (audio_ms + stall_ms) if audio_ms + stall_ms > 0 else None
    latencies = [float(pair[1]) for pair in media.get("probe_latencies", [])]
    amp = amplification(readings[0], readings[-1], rendition) if len(readings) >= 2 else None
    steady = steady_readings(engine, listeners, readings)
    steady_amp = amplification(steady[0], steady[-1], rendition) if len(steady) >= 2 else None
    if (
        protocol == "dash"
        and steady_amp
        and steady_amp["segments_published"] < DASH_STEADY_MIN_SEGMENTS
    ):
        steady_amp = None  # too short to say (the check reads the whole run instead)
    worst = _worst(steady_amp, protocol)
    if worst is None:
        worst = _worst(amp, protocol)
    rss = [r.rss_bytes for r in readings if r.rss_bytes is not None]
    seated = _count(totals, "seated")
    summary = {
        "protocol": protocol,
        "dash_rendition": rendition if protocol == "dash" else None,
        "listeners": listeners,
        "seated": seated,
        "requests": requests,
        "errors": errors,
        "join_attempts": attempts,
        "join_503": _count(totals, "join 503"),
        "join_429": _count(totals, "join 429"),
        "join_503_ratio": _count(totals, "join 503") / attempts if attempts else None,
        "join_429_ratio": _count(totals, "join 429") / attempts if attempts else None,
        "origin_join_s_at_most": {
            f"p{round(q * 100)}": join_latency_bound(readings[0], readings[-1], q)
            if len(readings) >= 2
            else None
            for q in (0.5, 0.99)
        },
        "join_attempt_ms": {
            q: _field(totals, "join", f"{q}_ms") for q in ("p50", "p90", "p99", "max")
        },
        "seated_ms": {q: _field(totals, "seated", f"{q}_ms") for q in ("p50", "p90", "p99", "max")},
        "first_audio_ms": {
            q: _field(totals, "first audio", f"{q}_ms") for q in ("p50", "p90", "p99", "max")
        },
        "parts_fetched": _count(totals, "part"),
        "playlist_reloads": _count(totals, "playlist"),
        "heartbeats": _count(totals, "heartbeat"),
        "segments_fetched": _count(totals, "segment"),
        "mpd_reloads": _count(totals, "mpd"),
        # LL-DASH: first chunk of each segment asked for on time, arrival - end on the timeline
        "chunk_latency_ms": _timings(totals, "chunk latency"),
        # LL-DASH: how far behind the speaker each listener's player was when the run stopped
        "playback_latency_ms": _timings(totals, "playback latency"),
        "stalls": _count(totals, "stall"),
        "stalled_s": stall_ms / 1000,
        "audio_s": audio_ms / 1000,
        "stall_ratio": stall_ratio,
        "speaker_to_listener_s": _quantiles(latencies),
        "probe_parts": media.get("probe_parts", []),
        "speakers_connected": media.get("speakers_connected", 0),
        "amplification": amp,
        "amplification_steady": steady_amp,
        "resyncs": _count(totals, "resync"),
        "origin_peak_rss_mb": max(rss) / 2**20 if rss else None,
        "origin_shed": readings[-1].shed - readings[0].shed if len(readings) >= 2 else None,
        "joins_per_s_peak": peak_rate(engine["timeline"], "seated"),
        "generator_cpu_peak": float(engine.get("peak_generator_cpu", 0.0)),
        "generator_lag_ms_peak": float(engine.get("peak_generator_lag_ms", 0.0)),
        "workers": engine.get("workers", 0),
    }
    figures = Figures(
        listeners=listeners,
        seated=seated,
        requests=requests,
        errors=errors,
        stall_ratio=stall_ratio,
        latency_p50_s=summary["speaker_to_listener_s"]["p50"],
        amplification=worst,
        behind_edge=behind_edge,
        joins_per_s_peak=summary["joins_per_s_peak"],
        # A 429 is the per-IP limit (one generator address), not the node at its capacity.
        shed_seen=bool(summary["join_503"]),
        generator_cpu_peak=summary["generator_cpu_peak"],
        generator_lag_ms_peak=summary["generator_lag_ms_peak"],
        join_p50_s=summary["origin_join_s_at_most"]["p50"],
        protocol=protocol,
    )
    return summary, figures
