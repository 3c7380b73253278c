"""The report's plots (matplotlib, Agg backend: no display, no GUI toolkit).

Each plot answers one operator question over the run's time axis: did everyone get in, how
long did joining take, did anyone stall, did the edge keep the origin's cost flat, how late was
the audio, and what did the origin's memory do. Every y axis starts at zero, and every axis'
limits are set from all of its data with a margin (``_frame``), so no sample is drawn on or past
the frame: not the /metrics baseline read before the load started, nor a line at its plateau.
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from majlis.scaletest.metrics import PART_S as METRICS_PART_S
from majlis.scaletest.metrics import SEGMENT_S, Reading, join_latency_bound
from majlis.scaletest.verdict import AMPLIFICATION_MAX, LATENCY_P50_MAX_S

SIZE = (9.0, 3.4)
#: Seconds of audio in a part (12 AAC frames at 48 kHz): what one listener needs per part.
PART_S = 0.256
#: Room around the data, as a share of each axis' span: above the highest value, and on the
#: time axis before a sample taken before the load started and after the last one.
MARGIN = 0.08


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _axis(ax: Axes, ylabel: str) -> None:
    ax.set_xlabel("seconds since the load started")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)


def _finite(*values: float) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _frame(ax: Axes, *twins: Axes) -> None:
    """Limits that show every sample of ``ax`` and its twins whole, with a margin.

    Matplotlib's autoscale puts its 5 % margin around the data's own span, so forcing the
    bottom to 0 afterwards left a plateau (origin memory at 151-156 MB) on the frame's top edge;
    and starting time at 0 cut off what was sampled before the load started. Here time spans
    0, or the earliest sample when that is earlier, to the last sample, and every y axis runs
    from 0 (or its lowest value) to its highest value; each gets ``MARGIN`` of room (y only
    above: counts and bars stand on zero).
    """
    axes = (ax, *twins)
    xs = _finite(*(v for a in axes for v in (a.dataLim.x0, a.dataLim.x1)))
    left = min([0.0, *xs])
    right = max([left + 1.0, *xs])
    pad = MARGIN * (right - left)
    ax.set_xlim(left - pad, right + pad)
    for each in axes:
        ys = _finite(each.dataLim.y0, each.dataLim.y1)
        low = min([0.0, *ys])
        high = max([low, *ys])
        pad = MARGIN * (high - low)
        each.set_ylim(low - pad if low < 0 else 0.0, max(high + pad, 1.0))


def _legend(ax: Axes, twin: Axes) -> None:
    """One legend for a plot with two y axes, under the plot where it hides no data."""
    lines, labels = ax.get_legend_handles_labels()
    more, more_labels = twin.get_legend_handles_labels()
    ax.legend(
        lines + more,
        labels + more_labels,
        loc="upper center",
        fontsize=8,
        ncol=4,
        bbox_to_anchor=(0.5, -0.22),
        frameon=False,
    )


def audience(rows: list[dict[str, Any]]) -> Figure:
    t = [r["t"] for r in rows]
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(t, [r["users"] for r in rows], color="tab:blue", label="simulated listeners")
    _axis(ax, "listeners")
    rates = ax.twinx()
    rates.bar(
        t, [r["seated"] for r in rows], width=0.9, color="tab:green", alpha=0.5, label="seated / s"
    )
    rates.plot(t, [r["join 503"] for r in rows], color="tab:red", label="503 / s")
    rates.plot(t, [r["join 429"] for r in rows], color="tab:orange", label="429 / s")
    rates.set_ylabel("per second")
    _legend(ax, rates)
    _frame(ax, rates)
    ax.set_title("Audience: who arrived, who was seated, who was told to retry")
    return fig


def join_latency(
    rows: list[dict[str, Any]], origin: list[dict[str, Any]], started: float
) -> Figure:
    t = [r["t"] for r in rows]
    fig, ax = plt.subplots(figsize=SIZE)
    for key, color, label in (
        ("join p50", "tab:blue", "join request p50 (generator)"),
        ("join p99", "tab:purple", "join request p99 (generator)"),
        ("seated p99", "tab:red", "seated, retries included, p99"),
    ):
        ax.plot(t, [r[key] if r[key] is not None else float("nan") for r in rows], color=color,
                marker=".", label=label)  # fmt: skip
    at, bound = [], []
    for before, after in pairwise(origin):
        p99 = join_latency_bound(_reading(before), _reading(after), 0.99)
        if p99 is not None:
            at.append(after["at"] - started)
            bound.append(p99 * 1000)
    ax.step(at, bound, where="pre", color="tab:green", label="origin's own p99 (at most)")
    _axis(ax, "milliseconds")
    _frame(ax)
    ax.legend(loc="upper center", fontsize=8, ncol=2, bbox_to_anchor=(0.5, -0.22), frameon=False)
    ax.set_title("Join latency per second (a saturated generator adds its own queueing)")
    return fig


def _reading(row: dict[str, Any]) -> Reading:
    data = dict(row)
    data["join_buckets"] = {float(k): v for k, v in row.get("join_buckets", {}).items()}
    return Reading(**data)


def stalls(rows: list[dict[str, Any]], protocol: str = "hls", rendition: str = "aac") -> Figure:
    """Stalls against the media fetched: parts (LL-HLS) or segments (LL-DASH) a second."""
    key, unit, every = ("segment", "segments", SEGMENT_S[rendition]) if protocol == "dash" else (
        "part", "parts", PART_S
    )  # fmt: skip
    t = [r["t"] for r in rows]
    fig, ax = plt.subplots(figsize=SIZE)
    ax.bar(t, [r["stall"] for r in rows], width=0.9, color="tab:red", label="stalls / s")
    _axis(ax, "stalls per second")
    parts = ax.twinx()
    parts.plot(t, [r.get(key, 0) for r in rows], color="tab:gray", label=f"{unit} fetched / s")
    needed = [r["users"] / every for r in rows]
    parts.plot(t, needed, color="tab:gray", linestyle=":", label=f"{unit} the audience needs / s")
    parts.set_ylabel(f"{unit} fetched per second")
    _legend(ax, parts)
    _frame(ax, parts)
    ax.set_title("Playback: stalls (buffer ran dry) against parts delivered")
    return fig


def amplification(
    origin: list[dict[str, Any]], started: float, protocol: str = "hls", rendition: str = "aac"
) -> Figure:
    """Origin requests per published part (LL-HLS: playlists, parts) or segment of the
    listeners' rendition (LL-DASH: MPDs, segments), between successive /metrics readings."""
    dash = protocol == "dash"
    keys, per, unit = (
        (("mpd_requests", "MPD"), ("segment_requests", "segment")),
        SEGMENT_S[rendition] / METRICS_PART_S,
        "segment",
    ) if dash else (
        (("playlist_requests", "playlist"), ("part_requests", "part")),
        1,
        "part",
    )  # fmt: skip
    t: list[float] = []
    lines: tuple[list[float], list[float]] = ([], [])
    for before, after in pairwise(origin):
        published = (after["parts_published"] - before["parts_published"]) / per
        if published <= 0:
            continue
        t.append(after["at"] - started)
        for line, (key, _) in zip(lines, keys, strict=True):
            line.append((after.get(key, 0.0) - before.get(key, 0.0)) / published)
    fig, ax = plt.subplots(figsize=SIZE)
    for line, (_, name), color in zip(lines, keys, ("tab:blue", "tab:green"), strict=True):
        ax.plot(t, line, color=color, marker=".", label=f"{name} requests per {unit}")
    ax.axhline(
        AMPLIFICATION_MAX, color="tab:red", linestyle="--", label=f"limit {AMPLIFICATION_MAX}"
    )
    _axis(ax, f"origin requests per published {unit}")
    _frame(ax)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("Origin request amplification (from the origin's /metrics)")
    return fig


def chunk_latency(rows: list[dict[str, Any]]) -> Figure:
    """LL-DASH: how late each segment's first chunk arrived, per second of the run."""
    t = [r["t"] for r in rows]
    fig, ax = plt.subplots(figsize=SIZE)
    for key, color in (("chunk latency p50", "tab:blue"), ("chunk latency p99", "tab:purple")):
        values = [v if (v := r.get(key)) is not None else float("nan") for r in rows]
        label = key.replace("chunk latency", "first chunk's arrival,")
        ax.plot(t, values, color=color, marker=".", label=label)
    _axis(ax, "milliseconds after its end")
    _frame(ax)
    ax.legend(loc="upper center", fontsize=8, ncol=2, bbox_to_anchor=(0.5, -0.22), frameon=False)
    ax.set_title("LL-DASH chunk arrival latency per second (segments asked for on time)")
    return fig


def speaker_latency(pairs: list[list[float]], started: float) -> Figure:
    fig, ax = plt.subplots(figsize=SIZE)
    ax.scatter(
        [p[0] - started for p in pairs],
        [p[1] for p in pairs],
        s=12,
        color="tab:blue",
        label="timing mark heard by a probe",
    )
    ax.axhline(
        LATENCY_P50_MAX_S,
        color="tab:red",
        linestyle="--",
        label=f"p50 budget {LATENCY_P50_MAX_S} s",
    )
    _axis(ax, "seconds")
    _frame(ax)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("Speaker → listener latency (mark sent → part holding it arrived)")
    return fig


def origin_memory(origin: list[dict[str, Any]], started: float) -> Figure:
    t = [r["at"] - started for r in origin if r["rss_bytes"] is not None]
    rss = [r["rss_bytes"] / 2**20 for r in origin if r["rss_bytes"] is not None]
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(t, rss, color="tab:purple", label="origin resident memory (MB)")
    _axis(ax, "MB")
    shed_t = [b["at"] - started for b in origin[1:]]
    shed = [a["shed"] - b["shed"] for b, a in pairwise(origin)]
    rates = ax.twinx()
    rates.bar(shed_t, shed, width=0.9, color="tab:red", alpha=0.4, label="shed (503) per sample")
    rates.set_ylabel("requests shed")
    _legend(ax, rates)
    _frame(ax, rates)
    ax.set_title("Origin: memory and load shedding")
    return fig


def figures(report: dict[str, Any]) -> dict[str, tuple[str, Figure]]:
    """Every plot of a report, drawn but not saved: {what: (file name, figure)}."""
    rows = report["engine"]["timeline"]
    started = report["engine"]["started"]
    origin = report["origin"]
    pairs = report["media"].get("probe_latencies", [])
    protocol = report["plan"].get("protocol") or "hls"  # (reports from before it were LL-HLS)
    rendition = report["plan"].get("dash_rendition") or "aac"
    out = {
        "audience": ("audience.png", audience(rows)),
        "join latency": ("join-latency.png", join_latency(rows, origin, started)),
        "stalls": ("stalls.png", stalls(rows, protocol, rendition)),
        "speaker to listener latency": ("speaker-latency.png", speaker_latency(pairs, started)),
    }
    if protocol == "dash":
        out["chunk latency"] = ("chunk-latency.png", chunk_latency(rows))
    if len(origin) >= 2:
        out["amplification"] = (
            "amplification.png",
            amplification(origin, started, protocol, rendition),
        )
        out["origin"] = ("origin.png", origin_memory(origin, started))
    return out


def draw_all(report: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """Every plot as a PNG in ``out_dir``; returns {what: file name}."""
    return {what: _save(fig, out_dir / name) for what, (name, fig) in figures(report).items()}
