"""The report's plots (matplotlib, Agg backend: no display, no GUI toolkit).

Each plot answers one operator question over the run's time axis: did everyone get in, how
long did joining take, did anyone stall, did the edge keep the origin's cost flat, how late was
the audio, and what did the origin's memory do.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from majlis.scaletest.metrics import Reading, join_latency_bound
from majlis.scaletest.verdict import AMPLIFICATION_MAX, LATENCY_P50_MAX_S

SIZE = (9.0, 3.4)
#: Seconds of audio in a part (12 AAC frames at 48 kHz): what one listener needs per part.
PART_S = 0.256


def _save(fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _axis(ax: Axes, ylabel: str) -> None:
    ax.set_xlabel("seconds since the load started")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0, top=max(ax.get_ylim()[1], 1.0))


def _legend(ax: Axes, twin: Axes) -> None:
    """One legend for a plot with two y axes, under the plot where it hides no data."""
    lines, labels = ax.get_legend_handles_labels()
    more, more_labels = twin.get_legend_handles_labels()
    twin.set_ylim(bottom=0, top=max(twin.get_ylim()[1], 1.0))
    ax.legend(
        lines + more,
        labels + more_labels,
        loc="upper center",
        fontsize=8,
        ncol=4,
        bbox_to_anchor=(0.5, -0.22),
        frameon=False,
    )


def audience(rows: list[dict[str, Any]], path: Path) -> str:
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
    ax.set_title("Audience: who arrived, who was seated, who was told to retry")
    return _save(fig, path)


def join_latency(
    rows: list[dict[str, Any]], origin: list[dict[str, Any]], started: float, path: Path
) -> str:
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
    ax.set_xlim(0, max(t, default=1))
    ax.legend(loc="upper center", fontsize=8, ncol=2, bbox_to_anchor=(0.5, -0.22), frameon=False)
    ax.set_title("Join latency per second (a saturated generator adds its own queueing)")
    return _save(fig, path)


def _reading(row: dict[str, Any]) -> Reading:
    data = dict(row)
    data["join_buckets"] = {float(k): v for k, v in row.get("join_buckets", {}).items()}
    return Reading(**data)


def stalls(rows: list[dict[str, Any]], path: Path) -> str:
    t = [r["t"] for r in rows]
    fig, ax = plt.subplots(figsize=SIZE)
    ax.bar(t, [r["stall"] for r in rows], width=0.9, color="tab:red", label="stalls / s")
    _axis(ax, "stalls per second")
    parts = ax.twinx()
    parts.plot(t, [r["part"] for r in rows], color="tab:gray", label="parts fetched / s")
    needed = [r["users"] / PART_S for r in rows]
    parts.plot(t, needed, color="tab:gray", linestyle=":", label="parts the audience needs / s")
    parts.set_ylabel("parts fetched per second")
    _legend(ax, parts)
    ax.set_title("Playback: stalls (buffer ran dry) against parts delivered")
    return _save(fig, path)


def amplification(origin: list[dict[str, Any]], started: float, path: Path) -> str:
    t, playlist, part = [], [], []
    for before, after in pairwise(origin):
        parts = after["parts_published"] - before["parts_published"]
        if parts <= 0:
            continue
        t.append(after["at"] - started)
        playlist.append((after["playlist_requests"] - before["playlist_requests"]) / parts)
        part.append((after["part_requests"] - before["part_requests"]) / parts)
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(t, playlist, color="tab:blue", marker=".", label="playlist requests per part")
    ax.plot(t, part, color="tab:green", marker=".", label="part requests per part")
    ax.axhline(
        AMPLIFICATION_MAX, color="tab:red", linestyle="--", label=f"limit {AMPLIFICATION_MAX}"
    )
    _axis(ax, "origin requests per published part")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("Origin request amplification (from the origin's /metrics)")
    return _save(fig, path)


def speaker_latency(pairs: list[list[float]], started: float, path: Path) -> str:
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
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("Speaker → listener latency (mark sent → part holding it arrived)")
    return _save(fig, path)


def origin_memory(origin: list[dict[str, Any]], started: float, path: Path) -> str:
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
    ax.set_title("Origin: memory and load shedding")
    return _save(fig, path)


def draw_all(report: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """Every plot as a PNG in ``out_dir``; returns {what: file name}."""
    rows = report["engine"]["timeline"]
    started = report["engine"]["started"]
    origin = report["origin"]
    pngs = {
        "audience": audience(rows, out_dir / "audience.png"),
        "join latency": join_latency(rows, origin, started, out_dir / "join-latency.png"),
        "stalls": stalls(rows, out_dir / "stalls.png"),
        "speaker to listener latency": speaker_latency(
            report["media"].get("probe_latencies", []), started, out_dir / "speaker-latency.png"
        ),
    }
    if len(origin) >= 2:
        pngs["amplification"] = amplification(origin, started, out_dir / "amplification.png")
        pngs["origin"] = origin_memory(origin, started, out_dir / "origin.png")
    return pngs
