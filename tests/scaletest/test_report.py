"""The report an operator acts on: a verdict that never sizes tonight from a capacity the run
did not reach, and plots that show every sample whole (no line clipped against the frame).

No network and no load: the verdict is fed a run's figures, the plots a run's samples (the
committed example report's, and small made-up ones); axes are inspected, never pixel-compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from majlis.scaletest import plots
from majlis.scaletest.report import render_html, write_report
from majlis.scaletest.verdict import Figures, decide

EXAMPLE = Path(__file__).parents[2] / "docs" / "scaletest" / "report.json"


def _figures(**changes: object) -> Figures:
    """A 50-listener run straight at the origin: every check passed, no join refused."""
    base: dict[str, Any] = dict(
        listeners=50,
        seated=50,
        requests=4_000,
        errors=0,
        stall_ratio=0.0,
        latency_p50_s=0.5,
        amplification=None,
        behind_edge=False,
        joins_per_s_peak=5.0,
        shed_seen=False,
        generator_cpu_peak=20.0,
        join_p50_s=0.005,
    )
    return Figures(**{**base, **changes})


def _reached(**changes: object) -> Figures:
    """2,000 listeners through one edge; the API node refused joins past 400 a second."""
    return _figures(
        **{
            "listeners": 2_000,
            "seated": 2_000,
            "requests": 100_000,
            "amplification": 1.01,
            "behind_edge": True,
            "joins_per_s_peak": 400.0,
            "shed_seen": True,
            "join_p50_s": 0.001,
            **changes,
        }
    )


# --- the verdict --------------------------------------------------------------------------


def test_a_small_run_says_no_verdict_and_how_large_a_run_would_find_capacity() -> None:
    """The issue's run: 50 listeners, 5,000 tonight, no join refused. It used to headline
    'GO for 5,000 listeners with at least 17 API nodes'."""
    verdict = decide(5_000, 60, _figures())
    headline, summary = verdict["headline"], verdict["summary"]
    assert not verdict["go"] and verdict["outcome"] == "no-verdict"
    assert headline.startswith("NO VERDICT for 5,000 listeners")
    assert "GO for" not in summary and "17 API nodes" not in summary
    assert "API node's join capacity" in headline  # which capacity, in the headline itself
    # What the run measured is a lower bound, against what tonight needs ...
    assert "5.0 joins/s" in summary and "lower bound" in summary and "83.3 joins/s" in summary
    # ... and how large a run would find it: a join took <= 5 ms, so about 200 a second.
    assert "at least 200 joins/s" in summary
    assert "--listeners 2000 --profile surge --over 10" in summary
    assert "sized no edges" in headline  # straight at the origin: no edge count either
    plan = verdict["plan"]
    assert plan["api_nodes_needed"] is None and plan["api_nodes_upper_bound"] == 17
    assert plan["join_capacity_reached"] is False
    assert plan["run_to_find_join_capacity"] == {
        "joins_per_s": 200,
        "listeners": 2000,
        "over_s": 10.0,
    }


def test_a_run_that_reached_capacity_extrapolates_node_counts() -> None:
    verdict = decide(1_300_000, 60, _reached())
    assert verdict["go"] and verdict["outcome"] == "go"
    assert verdict["headline"] == (
        "GO for 1,300,000 listeners with 55 API nodes and 650 edges (fewer edges may do)."
    )
    summary = verdict["summary"]
    assert "refused the rest (503)" in summary and "21,666.7 joins/s" in summary
    # The edge never reached its limit: the headline says the count is an upper bound, and
    # the details say how large a run would tighten it.
    assert "more than 2,000 listeners through one edge" in summary
    assert verdict["plan"]["api_nodes_needed"] == 55 and verdict["plan"]["edges_needed"] == 650


def test_a_run_that_held_tonight_itself_is_a_plain_go() -> None:
    verdict = decide(40, 60, _figures())
    assert verdict["go"] and verdict["outcome"] == "go"
    assert verdict["headline"] == (
        "GO: this run held 50 listeners arriving at up to 5.0 joins/s, "
        "at least tonight's 40 within 60 s (0.7 joins/s)."
    )


def test_holding_the_audience_is_not_holding_its_arrival_rate() -> None:
    """Tonight's 50 arrive within one second: this run never asked a node for 50 joins/s."""
    verdict = decide(50, 1, _figures())
    assert verdict["outcome"] == "no-verdict"
    assert verdict["headline"] == (
        "NO VERDICT for 50 listeners: this run was too small to find an API node's join capacity."
    )
    assert "50.0 joins/s" in verdict["summary"]


def test_one_node_that_already_admitted_tonights_rate_needs_no_capacity_found() -> None:
    verdict = decide(40_000, 3_600, _reached(shed_seen=False))
    assert verdict["outcome"] == "go"
    assert verdict["headline"].startswith("GO for 40,000 listeners with 1 API node and 20 edges")
    assert "without refusing any" in verdict["summary"]


def test_without_a_latency_reading_the_run_to_find_capacity_is_larger_than_this_one() -> None:
    verdict = decide(5_000, 60, _figures(join_p50_s=None, behind_edge=True, amplification=1.0))
    assert verdict["headline"] == (
        "NO VERDICT for 5,000 listeners: this run was too small to find an API node's join "
        "capacity."
    )
    assert "at least 10 joins/s" in verdict["summary"]  # twice what it asked, as a start
    assert "no join latency" in verdict["summary"]


def test_a_starved_generator_is_named_as_the_limit() -> None:
    verdict = decide(5_000, 60, _figures(generator_cpu_peak=99.0))
    assert verdict["outcome"] == "no-verdict"
    assert "load generator was the limit" in verdict["summary"]


def test_rate_limited_joins_are_not_capacity() -> None:
    """The summary counts a join refused 429 (per-IP limit) as no capacity reached."""
    from majlis.scaletest.summary import summarize

    def entry(kind: str, count: int) -> dict[str, Any]:
        timings = {f"{q}_ms": 1.0 for q in ("p50", "p90", "p99", "max", "sum")}
        return {"type": kind, "count": count, "failures": 0, **timings}

    engine = {
        "started": 0.0,
        "timeline": [{"t": 1.0, "seated": 5, "first audio": 5}],
        "totals": {
            "join": entry("POST", 5),
            "join 429": entry("POST", 20),
            "seated": entry("metric", 5),
        },
    }
    _, figures = summarize(5, engine, {}, [], False)
    assert not figures.shed_seen


def test_a_failed_check_is_still_no_go_whatever_the_sizing() -> None:
    verdict = decide(5_000, 60, _figures(stall_ratio=0.2))
    assert verdict["outcome"] == "no-go" and verdict["headline"].startswith("NO-GO")


# --- the report page ----------------------------------------------------------------------


def _example() -> dict[str, Any]:
    report: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return report


def test_the_page_puts_the_whole_verdict_in_its_box(tmp_path: Path) -> None:
    report = {**_example(), "verdict": decide(5_000, 60, _figures())}
    html = write_report(tmp_path, report).read_text()
    box = html.split("<div class='verdict noverdict'>", 1)[1].split("</div>", 1)[0]
    assert "NO VERDICT for 5,000 listeners" in box and "lower bound" in box
    assert "at least 200 joins/s" in box
    plan_table = html.split("Tonight's plan", 1)[1].split("</table>", 1)[0]
    assert "not sized" in plan_table and "at most 17" in plan_table
    for png in json.loads((tmp_path / "report.json").read_text())["plots"].values():
        assert (tmp_path / png).stat().st_size > 5_000


def test_a_go_page_is_green_and_names_its_counts() -> None:
    report = {**_example(), "verdict": decide(1_300_000, 60, _reached())}
    html = render_html(report, {})
    assert "<div class='verdict go'><p><b>GO for 1,300,000 listeners" in html


# --- the plots ----------------------------------------------------------------------------


def _inside(fig: Figure, margin_px: float = 4.0) -> None:
    """Every plotted sample of every axes lies within its frame, ``margin_px`` clear of its
    sides and top (counts and bars stand on the bottom: zero)."""
    fig.canvas.draw()
    for ax in fig.axes:
        box = ax.get_window_extent()
        points = _points(ax)
        assert len(points), ax.get_title()
        x, y = ax.transData.transform(points).T
        where = (ax.get_title(), ax.get_xlim(), ax.get_ylim())
        assert x.min() >= box.x0 + margin_px and x.max() <= box.x1 - margin_px, where
        assert y.min() >= box.y0 - 0.5, where
        assert y.max() <= box.y1 - margin_px, where


def _points(ax: Axes) -> np.ndarray:
    """The data coordinates of an axes' lines, scatter points and bar corners."""
    rows = []
    for line in ax.lines:
        xy = np.asarray(line.get_xydata(), dtype=float)
        if line.get_transform() is not ax.transData:  # axhline: x spans the axes, not data
            xy[:, 0] = sum(ax.get_xlim()) / 2
        rows.append(xy)
    rows += [np.asarray(c.get_offsets(), dtype=float) for c in ax.collections]
    for patch in ax.patches:
        bar = patch.get_bbox()
        rows.append(np.array([[bar.x0, bar.y0], [bar.x1, bar.y1]], dtype=float))
    data = np.concatenate([r.reshape(-1, 2) for r in rows]) if rows else np.empty((0, 2))
    return data[np.isfinite(data).all(axis=1)]


def _origin(rss_mb: list[float], started: float, shed: list[float] | None = None) -> list[Any]:
    """/metrics readings a second apart, the first one second before the load started."""
    shed = shed or [0.0] * len(rss_mb)
    return [
        {
            "at": started - 1.1 + i,
            "parts_published": 4.0 * i,
            "playlist_requests": 4.0 * i,
            "part_requests": 4.0 * i,
            "other_hls_requests": 0.0,
            "admitted": 0.0,
            "shed": shed[i],
            "rss_bytes": mb * 2**20,
            "joins": 0.0,
            "join_buckets": {},
        }
        for i, mb in enumerate(rss_mb)
    ]


def test_origin_memory_shows_the_whole_line_with_room_above_it() -> None:
    """The example report's shape: 151 MB climbing to a 156 MB plateau, sampled from a second
    before the load started. It used to run along the frame's top edge, its start cut off."""
    started = 1_000.0
    rss = [151.3, 152.3, 153.3, 154.2, 155.2, 155.9, *[156.3] * 44]
    fig = plots.origin_memory(_origin(rss, started), started)
    memory, shed = fig.axes
    bottom, top = memory.get_ylim()
    assert bottom <= 0 and top >= max(rss) * 1.05
    assert shed.get_ylim() == (0.0, 1.0)  # nothing shed: the rate axis still reads 0 to 1
    left, right = memory.get_xlim()
    assert left < -1.1 and right > len(rss) - 1.1
    _inside(fig)


def test_origin_memory_with_shedding_keeps_both_axes_in_frame() -> None:
    started = 50.0
    fig = plots.origin_memory(
        _origin([80.0, 90.0, 400.0, 410.0], started, shed=[0.0, 0.0, 120.0, 121.0]), started
    )
    _inside(fig)


def test_every_plot_of_the_example_report_keeps_its_samples_in_frame() -> None:
    report = _example()
    figures = plots.figures(report)
    assert set(figures) == {
        "audience",
        "join latency",
        "stalls",
        "speaker to listener latency",
        "amplification",
        "origin",
    }
    for _, fig in figures.values():
        _inside(fig, margin_px=2.0)


@pytest.fixture(autouse=True)
def _close_figures() -> Any:
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
