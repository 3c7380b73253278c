"""Listeners per core without stalls: majlis (origin + nginx edge) vs Icecast2, in one run.

Target (DESIGN.md): listeners served per core without stalls >= Icecast2 on the same machine.
Each majlis delivery gets its own verdict (``summary.verdicts``); the exit status is that of the
delivery a large audience gets (segment-paced HLS) when it was measured, else LL-HLS's.

How, and why this way:

* Both systems run at the same time on core 0 and stream the same bitrate (AAC-LC 64 kb/s):
  ``majlis serve`` with a live Space whose speaker bot sends a tone over WHIP, behind one nginx
  worker configured by ``majlis edge-config``; ``icecast2`` (Debian package, minimal config) fed
  by ffmpeg. The sources (the bot, ffmpeg) and the load generator run on core 1 (``taskset``).
* Phases alternate (majlis, icecast, majlis, icecast ...) within the run, so drifts of the
  machine hit both alike. Each phase starts a fresh load-generator process (this script with
  ``--generate``) whose listeners join over ``--ramp`` seconds and listen ``--duration``.
* Server cost is CPU time from /proc (utime + stime of every serving process: the majlis
  origin, nginx's master and worker; icecast2) over the window when every listener is
  listening, in cores per 1,000 listeners. The origin's own idle cost (mixing and encoding the
  Space, which no listener changes) is measured first with no listeners and reported apart:
  "marginal" is what the audience adds.
* Listeners: majlis's are LL-HLS clients (blocking reload for the hinted part, then the part;
  ``tests.support.listener``); Icecast's read the stream. Both count stalls with the same
  playback-buffer model (0.768 s start-up buffer, real-time playback).
* LL-DASH listeners through Varnish choose the AAC Representation (``majlis_dash``) or the Opus
  speech rendition (``majlis_dash_opus``, 32 kb/s, 1.92 s segments of 0.48 s chunks): bytes per
  listener-second are reported against each one's own bitrate (``bytes_over_bitrate``).
* The same two through Squid (``majlis_dash_squid``, ``majlis_dash_opus_squid``): one Squid
  worker (``majlis edge-config --engine squid``), pinned to core 0 like Varnish. Origin fetches
  per segment are counted at the origin (``origin_dash_requests_per_segment``) for every edge;
  ``edge_misses_per_segment`` (listeners told X-Cache: MISS) only for Varnish: Squid says MISS
  to every request that joined another's fetch.

Usage::

    python bench/listeners_vs_icecast.py [--listeners 1000] [--duration 25] [--rounds 2]

Needs nginx, varnish, squid, icecast2, ffmpeg and taskset.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx

from medialib.icecast import icecast_listener, running_icecast
from medialib.majlis_origin import LOAD_CPU, SERVER_CPU, live_space, origin_process
from medialib.phases import idle_cores, measured_window, process_tree
from medialib.report import base_machine, pin_to, run_main, write_result
from tests.support.listener import (
    Connection,
    ListenerStats,
    audience,
    dash_listener,
    hls_listener,
    preload_hint,
)
from tests.support.nchan_edge import running_nchan_edge
from tests.support.nginx import running_edge
from tests.support.squid import running_squid
from tests.support.varnish import running_varnish

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "listeners_vs_icecast.json"
BITRATE_KBPS = 64  # majlis's AAC (media/program.py)
OPUS_KBPS = 32  # majlis's Opus rendition (media/hls/opus.py), what majlis_dash_opus hears
PARTS_PER_SEGMENT = 8  # media/program.py
#: An Opus segment (1.92 s, media/program.py) in AAC parts, the unit the origin counts.
OPUS_SEGMENT_PARTS = 1.92 / 0.256
#: "Without stalls": at most this share of listeners saw a stall.
STALL_SHARE = 0.01
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("max", 1.0))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=25.0, help="seconds each listens")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds over which they join")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--hold-back-parts",
        type=int,
        default=3,
        help="LL-HLS listeners start this many parts behind the newest (PART-HOLD-BACK: 3)",
    )
    parser.add_argument(
        "--systems",
        default="majlis,majlis_quiet_edge,majlis_segments,icecast",
        help="which to measure, comma-separated",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--generate",
        choices=["hls", "segments", "dash", "dash_opus", "icecast"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--control", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the load generator (a child process on core 1) ------------------------------------------


def generate(args: argparse.Namespace) -> int:
    """Run one audience and print its stats as one JSON line (the parent reads it)."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    async def icecast_audience() -> ListenerStats:
        total = ListenerStats()

        async def one(i: int) -> None:
            await asyncio.sleep(args.ramp * i / args.listeners)
            await icecast_listener(args.url, BITRATE_KBPS, args.duration, total)

        await asyncio.gather(*(one(i) for i in range(args.listeners)))
        return total

    print(f"START {time.time()}", flush=True)
    began = time.monotonic()
    control = ListenerStats()
    opus = args.generate == "dash_opus"
    prefer = ("opus",) if opus else ("aac",)
    if args.generate in ("hls", "segments", "dash", "dash_opus"):
        low_latency, dash = args.generate == "hls", args.generate.startswith("dash")

        async def with_control() -> ListenerStats:
            # One listener of the same kind straight at the origin: if it stalls too, the
            # source did.
            listening = audience(
                args.url,
                args.listeners,
                args.duration,
                args.ramp,
                low_latency=low_latency,
                start_parts=args.hold_back_parts,
                dash=dash,
                prefer=prefer,
            )
            direct = (
                dash_listener(args.control, args.duration + args.ramp, control, prefer=prefer)
                if dash
                else hls_listener(args.control, args.duration + args.ramp, control)
            )
            stats, _ = await asyncio.gather(listening, direct)
            return stats

        stats = asyncio.run(with_control())
    else:
        stats = asyncio.run(icecast_audience())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = asdict(stats)
    # Origin fetches per segment, as the edge marked them (one MISS per fetch it made).
    numbers = result.pop("segments")
    result["edge_misses_per_segment"] = stats.edge_misses / len(numbers) if numbers else None
    result["startup_s"] = statistics.median(stats.startup_s) if stats.startup_s else None
    for name in ("chunk_latency_s", "playback_latency_s"):
        samples = sorted(result.pop(name))
        result[name] = (
            {q: samples[min(len(samples) - 1, int(len(samples) * f))] for q, f in QUANTILES}
            if samples
            else None
        )
    # Bytes each listener received per second of listening, against the audio's bitrate: for
    # DASH listeners once tuned in (see ListenerStats.steady_bytes), else over the whole run.
    if stats.steady_s:
        per_s = stats.steady_bytes / stats.steady_s
    else:
        per_s = stats.bytes_received / (args.listeners * args.duration)
    result["bytes_per_listener_s"] = per_s
    result["bitrate_kbps"] = OPUS_KBPS if opus else BITRATE_KBPS
    result["bytes_over_bitrate"] = per_s * 8 / (result["bitrate_kbps"] * 1000)
    result["control_stalls"] = control.stalls
    result["generator_busy"] = (usage.ru_utime + usage.ru_stime) / (time.monotonic() - began)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# --- the parent: servers, sources, phases ----------------------------------------------------


def phase(
    args: argparse.Namespace,
    kind: str,
    url: str,
    control: str,
    pids: dict[str, list[int]],
    origin: str,
) -> dict[str, Any]:
    """One audience of ``kind``; CPU of each serving process over the all-listening window."""
    window = measured_window(
        [
            *("taskset", "-c", str(LOAD_CPU), sys.executable, __file__, "--generate", kind),
            *("--url", url, "--control", control, "--listeners", str(args.listeners)),
            *("--duration", str(args.duration), "--ramp", str(args.ramp)),
            *("--hold-back-parts", str(args.hold_back_parts)),
        ],
        pids,
        lambda: origin_counts(origin),
        from_s=args.ramp + 1,
        to_s=args.duration - 1,
    )
    segment_parts = OPUS_SEGMENT_PARTS if kind == "dash_opus" else PARTS_PER_SEGMENT
    return {
        "window_s": window.seconds,
        "cores": window.cores,
        "origin": amplification(window.before, window.after, segment_parts),
        "listeners": window.result,
    }


def origin_counts(origin: str) -> dict[str, float]:
    """The origin's own count (its /metrics) of listener-path requests and parts published."""
    from prometheus_client.parser import text_string_to_metric_families

    counts = {"playlist": 0.0, "media": 0.0, "dash_segments": 0.0, "parts_published": 0.0}
    text = httpx.get(f"{origin}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "majlis_http_requests_total":
                route = sample.labels.get("route", "")
                if route.endswith("/live.m3u8"):
                    counts["playlist"] += sample.value
                elif route.startswith("/hls/"):
                    counts["media"] += sample.value
                elif route.startswith("/dash/") and route.endswith("/{name}"):
                    counts["dash_segments"] += sample.value
            elif sample.name == "majlis_hls_parts_published_total":
                counts["parts_published"] += sample.value
    return counts


def amplification(
    before: dict[str, float], after: dict[str, float], segment_parts: float = PARTS_PER_SEGMENT
) -> dict[str, float]:
    """Origin requests per published part over a window, from the origin's own counters,
    less the control listener's own (one blocking reload and one part fetch per part, or one
    DASH segment request per segment: only one of them runs in a phase, and the other kind's
    figure then says nothing). The origin counts AAC parts; a DASH segment of the rendition
    listened to lasts ``segment_parts`` of them."""
    parts = max(1.0, after["parts_published"] - before["parts_published"])
    playlist = after["playlist"] - before["playlist"] - parts
    media = after["media"] - before["media"] - parts
    segments = parts / segment_parts
    dash = after["dash_segments"] - before["dash_segments"] - segments
    return {
        "parts_published": parts,
        "origin_playlist_requests_per_part": playlist / parts,
        "origin_part_requests_per_part": media / parts,
        "origin_dash_requests_per_segment": dash / segments,
    }


async def lock_lag(
    origin_playlist: str, edge_playlist: str, rounds: int = 20, waiters: int = 20
) -> dict[str, float]:
    """How late collapsed blocking reloads come back through the edge, against the origin.

    Each round parks one request at the origin and ``waiters`` at the edge, all for the part
    after the hinted one; the edge's lag is when each of its answers arrives minus when the
    origin's does. Stock nginx wakes lock waiters by a 500 ms poll, not on completion.
    """
    origin, edge = urlsplit(origin_playlist), urlsplit(edge_playlist)
    loop = asyncio.get_running_loop()
    lags: list[float] = []

    async def done(url: SplitResult, query: str) -> float:
        conn = Connection(url.hostname or "", url.port or 80)
        try:
            await conn.get(url.path + query)
            return loop.time()
        finally:
            conn.close()

    for _ in range(rounds):
        hint = preload_hint(await _text(origin))
        assert hint is not None
        msn, index = divmod(hint[0] * 8 + hint[1] + 1, 8)
        query = f"?_HLS_msn={msn}&_HLS_part={index}"
        reference = asyncio.ensure_future(done(origin, query))
        await asyncio.sleep(0.02)
        finished = await asyncio.gather(*(done(edge, query) for _ in range(waiters)))
        answered = await reference
        lags.extend(t - answered for t in finished)
    lags.sort()
    return {
        "n": len(lags),
        "p50": lags[len(lags) // 2],
        "p90": lags[int(len(lags) * 0.9)],
        "max": lags[-1],
    }


async def _text(url: SplitResult) -> str:
    conn = Connection(url.hostname or "", url.port or 80)
    try:
        return (await conn.get(url.path)).decode()
    finally:
        conn.close()


#: The systems compared: how listeners reach each, and which processes' CPU is its cost.
SYSTEMS = {
    "majlis": ("hls", ("origin", "nginx")),
    "majlis_quiet_edge": ("hls", ("origin", "nginx_quiet")),
    "majlis_segments": ("segments", ("origin", "nginx_quiet")),
    "majlis_dash": ("dash", ("origin", "varnish")),
    "majlis_dash_opus": ("dash_opus", ("origin", "varnish")),
    "majlis_dash_squid": ("dash", ("origin", "squid")),
    "majlis_dash_opus_squid": ("dash_opus", ("origin", "squid")),
    "majlis_dash_nchan": ("dash", ("origin", "nchan")),
    "majlis_dash_opus_nchan": ("dash_opus", ("origin", "nchan")),
    "icecast": ("icecast", ("icecast",)),
}


def run(args: argparse.Namespace) -> int:
    if args.generate:
        return generate(args)
    pin_to(LOAD_CPU)  # this process runs the speaker bot: keep it off the servers' core
    with tempfile.TemporaryDirectory(prefix="majlis-vs-icecast-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # icecast2 runs as its own user and writes its logs below
        (work / "data").mkdir()
        with (
            origin_process(work) as (origin, origin_proc),
            live_space(origin) as (hls_path, dash_path),
            running_edge(origin, work / "edge", buffered_log=True) as edge,
            running_edge(origin, work / "quiet", access_log=False) as quiet,
            running_varnish(origin, work / "varnish") as varnish,
            running_squid(origin) as squid,
            running_nchan_edge(origin, work / "nchan", access_log=False) as nchan,
            running_icecast(work / "ice", BITRATE_KBPS, SERVER_CPU, LOAD_CPU) as ice,
        ):
            varnish_pids = process_tree(varnish.process.pid)
            squid_pids = process_tree(squid.process.pid)
            for pid in edge.pids() + quiet.pids() + varnish_pids + squid_pids + nchan.pids():
                os.sched_setaffinity(pid, {SERVER_CPU})
            pids = {
                "origin": [origin_proc.pid],
                "nginx": edge.pids(),
                "nginx_quiet": quiet.pids(),
                "varnish": varnish_pids,
                "squid": squid_pids,
                # nginx with Nchan, and the feeder beside it: the edge is both.
                "nchan": nchan.pids(),
                "nchan_feeder": [nchan.feeder.pid],  # (its share of the above)
                "icecast": [ice.server.pid],
                # Icecast's encoder, reported apart (the origin's own encoding is in its idle).
                "icecast_source_ffmpeg": [ice.source.pid],
            }
            urls = {
                "majlis": edge.url + hls_path,
                "majlis_quiet_edge": quiet.url + hls_path,
                "majlis_segments": quiet.url + hls_path,
                "majlis_dash": varnish.url + dash_path,
                "majlis_dash_opus": varnish.url + dash_path,
                "majlis_dash_squid": squid.url + dash_path,
                "majlis_dash_opus_squid": squid.url + dash_path,
                "majlis_dash_nchan": nchan.url + dash_path,
                "majlis_dash_opus_nchan": nchan.url + dash_path,
                "icecast": ice.url,
            }
            time.sleep(3)  # the first parts are out, the bot's connection settled
            idle = idle_cores(pids)
            print(f"idle cores: {idle}")
            lag = asyncio.run(lock_lag(origin + hls_path, edge.url + hls_path))
            print(f"collapsed-request lag: {lag}")
            phases = []
            for round_ in range(args.rounds):
                for system in args.systems.split(","):
                    kind = SYSTEMS[system][0]
                    control = origin + (dash_path if kind.startswith("dash") else hls_path)
                    result = phase(args, kind, urls[system], control, pids, origin)
                    result |= {"system": system, "round": round_}
                    print(json.dumps(result))
                    phases.append(result)
    summary = summarize(args, idle, phases, lag)
    print(json.dumps(summary, indent=2))
    result = {
        "settings": {k: v for k, v in vars(args).items() if k not in ("generate", "url")},
        "machine": base_machine(("majlis", "httpx", "uvloop")) | {"nginx": _nginx_version()},
        "idle_cores": idle,
        "collapsed_request_lag_s": lag,
        "phases": phases,
        "summary": summary,
    }
    result["settings"]["output"] = str(args.output)
    return write_result(args.output, result, summary["target_met"])


def summarize(
    args: argparse.Namespace,
    idle: dict[str, float],
    phases: list[dict[str, Any]],
    lag: dict[str, float],
) -> dict[str, Any]:
    """Medians over rounds per system: cores per 1,000 listeners (total and what the audience
    adds over the idle servers), listeners per core, stalls, origin requests per part."""
    per_k = args.listeners / 1000
    systems: dict[str, Any] = {}
    for system in args.systems.split(","):
        processes = SYSTEMS[system][1]
        mine = [p for p in phases if p["system"] == system]
        total = statistics.median(sum(p["cores"][n] for n in processes) for p in mine)
        marginal = statistics.median(sum(p["cores"][n] - idle[n] for n in processes) for p in mine)
        edge = statistics.median(p["cores"].get(processes[-1], 0.0) for p in mine)
        stalls = max(p["listeners"]["stalled_listeners"] for p in mine)
        systems[system] = {
            "cores_per_1000": total / per_k,
            "marginal_cores_per_1000": marginal / per_k,
            "listeners_per_core": per_k * 1000 / total if total else None,
            "marginal_listeners_per_core": per_k * 1000 / marginal if marginal > 0 else None,
            "serving_process_cores_per_1000": edge / per_k,
            "max_listeners_stalled": stalls,
            "control_stalls": [p["listeners"]["control_stalls"] for p in mine],
            "stall_free": stalls <= STALL_SHARE * args.listeners,
            "errors": max(p["listeners"]["errors"] for p in mine),
            "generator_busy": max(p["listeners"]["generator_busy"] for p in mine),
            "origin_per_part": mine[-1]["origin"] if system != "icecast" else None,
            "bitrate_kbps": mine[-1]["listeners"].get("bitrate_kbps", BITRATE_KBPS),
            "bytes_over_bitrate": max(p["listeners"]["bytes_over_bitrate"] for p in mine),
            "edge_misses_per_segment": max(
                p["listeners"].get("edge_misses_per_segment") or 0.0 for p in mine
            )
            if processes[-1] == "varnish"
            else None,
            "chunk_latency_s": mine[-1]["listeners"].get("chunk_latency_s"),
            "playback_latency_s": mine[-1]["listeners"].get("playback_latency_s"),
        }
    # Per majlis delivery: stall-free, and its edge serves at least Icecast2's listeners per
    # core (the serving process against the serving process; the origin's fixed cost of mixing
    # and encoding is Icecast's source encoder's counterpart and reported apart, as idle).
    icecast = systems.get("icecast")
    verdicts = {
        name: bool(
            icecast
            and found["stall_free"]
            and found["serving_process_cores_per_1000"] <= icecast["serving_process_cores_per_1000"]
        )
        for name, found in systems.items()
        if name != "icecast"
    }
    # The target is met by the delivery a large audience gets (segment-paced past
    # MAJLIS_LOW_LATENCY_MAX_LISTENERS) when it was measured, else by LL-HLS.
    # Since the delivery issue, that is low-latency DASH through Varnish for everyone.
    deciding = next(
        (d for d in ("majlis_dash", "majlis_segments") if d in verdicts), "majlis_quiet_edge"
    )
    return {
        "listeners": args.listeners,
        "collapsed_request_lag_s": lag,
        "systems": systems,
        "verdicts": verdicts,
        "target_met": verdicts.get(deciding, False),
    }


def _nginx_version() -> str:
    done = subprocess.run(["nginx", "-v"], capture_output=True, text=True, check=False)
    return done.stderr.strip()


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(run, parse_args, argv)


if __name__ == "__main__":
    sys.exit(main())
