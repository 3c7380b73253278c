"""Speaker → listener latency through LL-HLS with hls.js, and speaker ↔ speaker mouth-to-ear.

Targets (DESIGN.md): speaker → listener p50 <= 1.5 s; speaker ↔ speaker <= 150 ms.

How, and why this way:

* One real ``majlis serve`` pinned to core 0 (``taskset``); this script, its speaker bots, its
  origin watcher and headless Chromium all pinned to core 1, so the measuring side never takes
  the server's CPU. Both sides read the same wall clock (``time.time()`` / ``Date.now()``).
* Speaker A (the host, an aiortc WHIP bot) sends silence with a 50 ms beep every 2 s and notes
  when each beep's first frame leaves ``recv()``. Each beep's pitch (one of four) names it, so a
  beep heard is matched to the beep sent without ambiguity up to 8 s of latency.
* Listener: Chromium plays the Space's ``hls_url`` with hls.js (``lowLatencyMode: true``, the
  vendored copy served by majlis) into an ``<audio>`` element routed through a WebAudio
  ``AnalyserNode``; the page dates each beep onset. Latency = onset - send time, per beep.
* Origin: a watcher follows the playlist with blocking reloads and decodes every part as it is
  published, splitting the budget into capture → part published and part published → heard.
* Speaker B (on stage, silent) dates each beep onset in the mix-minus it receives: mouth-to-ear
  between two WebRTC speakers, including aiortc's jitter buffer on both ends.
* Only beeps sent after ``--warmup`` (hls.js settles on its live position) count.
* Calibration, before the server run: the same beeps over one bare aiortc → aiortc hop on
  loopback (``--calibrate`` seconds), the floor aiortc's jitter buffer puts under each of the
  two hops of the mouth-to-ear path.

Usage::

    python bench/media_latency.py [--duration 60] [--warmup 10]

Needs ``taskset`` (util-linux), Debian's ``chromium`` at /usr/bin/chromium and the ``playwright``
Python package (no ``playwright install``: the system Chromium is used).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from join_throughput import check_cores, cpu_seconds, free_port, running_server
from majlis.bots.sources import ClipSource
from majlis.bots.speaker import SpeakerBot
from majlis.media.assets.clip import load_demo_clip
from medialib.beeps import FREQS_HZ, BeepSource, Match, Sent, match
from medialib.bots import SilenceSource, TimingSpeakerBot
from medialib.browser import ListenerResult, listen
from medialib.calibrate import aiortc_hop
from medialib.origin import OriginWatcher
from medialib.phases import process_tree
from medialib.report import (
    Spread,
    core_load,
    core_times,
    machine,
    majlis_settings,
    pin_to,
    run_main,
    write_result,
)
from medialib.space import LiveSpace, open_space
from tests.support.nchan_edge import running_nchan_edge
from tests.support.varnish import running_varnish

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "media_latency.json"
TARGET_HLS_P50_S = 1.5
TARGET_MOUTH_TO_EAR_S = 0.150
#: Listen this long after the last counted beep, so its late arrivals are still heard.
TAIL_S = 5.0


@dataclass
class Run:
    """Everything one run recorded, before analysis."""

    window: tuple[float, float]
    sent: list[Sent]
    listener: ListenerResult
    watcher: OriginWatcher
    speaker_b: TimingSpeakerBot
    core_load: dict[int, float]
    server_cpu: float
    aiortc_hop: list[Match]


# --------------------------------------------------------------------------- measuring


def edge_url(url: str, edge: str | None) -> str:
    """``url`` (on the origin) as the listener reaches it: through the edge, if there is one."""
    if edge is None:
        return url
    parts = urlsplit(url)
    return edge + parts.path + (f"?{parts.query}" if parts.query else "")


async def measure(
    space: LiveSpace, server_pid: int, args: argparse.Namespace, edge: str | None = None
) -> Run:
    """Calibrate, connect both speakers, start the origin watcher and the browser, listen
    (through ``edge``, a caching edge's base URL, if given)."""
    hop = await aiortc_hop(args.calibrate, args.interval) if args.calibrate > 0 else []
    beeps = BeepSource(args.interval, args.beep_ms / 1000)
    host, guest = space.members[0], space.members[1]
    speaker_a = SpeakerBot(space.base, space.space_id, host.token, beeps)
    # With captions on, the second speaker talks (the demo clip, 10 dB down, under the beeps):
    # the recognizer works on their words while the beeps are timed.
    talk = ClipSource(load_demo_clip() * 0.3) if args.captions else SilenceSource()
    speaker_b = TimingSpeakerBot(space.base, space.space_id, guest.token, talk)
    await speaker_a.connect()
    await speaker_b.connect()
    if args.join_after > 0:  # the listener joins a Space that has been live this long
        await asyncio.sleep(args.join_after)
    watcher = OriginWatcher(space.hls_url)
    stop = asyncio.Event()
    watching = asyncio.create_task(watcher.run(stop))
    ready = asyncio.Event()
    seconds = args.warmup + args.duration + TAIL_S
    if args.player == "dash":
        config, url = json.loads(args.dash_config), edge_url(space.dash_url, edge)
    else:
        config = {"lowLatencyMode": True, **json.loads(args.hls_config)}
        url = edge_url(space.hls_url, edge)
    page_base = edge or space.base
    listening = asyncio.create_task(listen(page_base, url, seconds, config, ready, args.player))
    try:
        await asyncio.wait_for(_first_done(ready, listening), timeout=60)
        if listening.done():
            listening.result()  # the page failed before playing: raise its error here
        started, before, cpu_before = time.time(), core_times(), cpu_seconds(server_pid)
        window = (started + args.warmup, started + args.warmup + args.duration)
        listener = await listening
        load = core_load(before, core_times())
        server_cpu = (cpu_seconds(server_pid) - cpu_before) / (time.time() - started)
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listening
        stop.set()
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await speaker_a.close()
        await speaker_b.close()
    return Run(window, list(beeps.sent), listener, watcher, speaker_b, load, server_cpu, hop)


async def _first_done(ready: asyncio.Event, task: asyncio.Task[Any]) -> None:
    """Return when the page is playing, or when its task ended early (with an error)."""
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()


# --------------------------------------------------------------------------- analysis


def analyse(run: Run, interval_s: float) -> dict[str, Any]:
    """Match beeps per path and summarise; see the module docstring for what each path is."""
    start, end = run.window
    sent = [s for s in run.sent if start <= s.at < end]
    window_s = len(FREQS_HZ) * interval_s - 0.5
    heard = match(sent, run.listener.onsets, window_s)
    published = match(sent, run.watcher.detector.onsets, window_s)
    peer = match(sent, run.speaker_b.detector.onsets, window_s)
    by_number = {m.number: m for m in published}
    publish_to_play = [
        m.heard_at - by_number[m.number].heard_at for m in heard if m.number in by_number
    ]
    claimed = [(run.watcher.claimed_date(m.sample), m.sent_at) for m in published]
    stats = [s for s in run.listener.stats if start * 1000 <= s["at"] < end * 1000]
    paths = {
        "speaker_to_listener": Spread.of(_delays(heard)),
        "capture_to_publish": Spread.of(_delays(published)),
        "publish_to_play": Spread.of(publish_to_play),
        "speaker_to_speaker": Spread.of(_delays(peer)),
        # How much later than the real send time the playlist's PROGRAM-DATE-TIME dates a beep.
        "program_date_error": Spread.of([d - s for d, s in claimed if d is not None]),
        "aiortc_one_hop": Spread.of(_delays(run.aiortc_hop)),
    }
    series = {
        name: [[round(m.sent_at - start, 3), round(m.delay_s, 4)] for m in matches]
        for name, matches in (("heard", heard), ("published", published), ("peer", peer))
    }
    return {
        "beeps_sent": len(sent),
        "matched": {
            "speaker_to_listener": len(heard),
            "capture_to_publish": len(published),
            "speaker_to_speaker": len(peer),
        },
        "paths": {k: dataclasses.asdict(v) if v else None for k, v in paths.items()},
        "hls_js": _hls_readings(stats),
        "stalls": sum(
            1 for e in run.listener.events if e["name"] == "waiting" and e["at"] >= start * 1000
        ),
        "hls_errors": run.listener.errors,
        "origin_errors": run.watcher.errors,
        "core_load": run.core_load,
        "server_cpu": run.server_cpu,
        #: Per beep: [seconds into the window it was sent, delay]; a step that stays is a queue
        #: that grew during a stall and never drained.
        "series": series,
    }


def _delays(matches: Sequence[Match]) -> list[float]:
    return [m.delay_s for m in matches]


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _hls_readings(stats: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """hls.js's own view, once a second: distance to the live edge, and wall-clock latency
    from ``playingDate`` (PROGRAM-DATE-TIME), medians over the measured window."""
    return {
        "samples": len(stats),
        "latency_s": _median([s["latency"] for s in stats]),
        "target_latency_s": _median([s["targetLatency"] for s in stats]),
        "live_sync_position_s": _median([s["liveSyncPosition"] for s in stats]),
        "live_sync_minus_current_s": _median(
            [
                s["liveSyncPosition"] - s["currentTime"]
                for s in stats
                if s["liveSyncPosition"] is not None
            ]
        ),
        "buffer_ahead_s": _median(
            [s["bufferedEnd"] - s["currentTime"] for s in stats if s["bufferedEnd"] is not None]
        ),
        "program_date_latency_s": _median(
            [(s["at"] - s["playingDate"]) / 1000 for s in stats if s["playingDate"]]
        ),
        "playback_rate": _median([s["playbackRate"] for s in stats]),
        "output_latency_s": _median([s["outputLatency"] for s in stats]),
        "base_latency_s": _median([s["baseLatency"] for s in stats]),
    }


def verdicts(summary: dict[str, Any], player: str = "hls.js") -> tuple[list[str], bool]:
    """One line per target; a path with no matched beeps fails (nothing was proven)."""
    lines, ok = [], True
    checks = (
        ("speaker_to_listener", f"speaker → listener ({player})", TARGET_HLS_P50_S),
        ("speaker_to_speaker", "speaker ↔ speaker mouth-to-ear", TARGET_MOUTH_TO_EAR_S),
    )
    for key, label, target in checks:
        spread = summary["paths"][key]
        if spread is None:
            lines.append(f"FAIL: {label}: no beep matched")
            ok = False
            continue
        passed = spread["p50"] <= target
        ok = ok and passed
        word = "PASS" if passed else "FAIL"
        lines.append(
            f"{word}: {label} p50 {spread['p50'] * 1000:.0f} ms, p90 {spread['p90'] * 1000:.0f} ms "
            f"(target p50 <= {target * 1000:.0f} ms; {summary['matched'][key]}"
            f"/{summary['beeps_sent']} beeps matched)"
        )
    return lines, ok


def table(summary: dict[str, Any], player: str = "hls.js") -> str:
    """A Markdown table, pasteable into docs/benchmarks.md as is."""
    names = {
        "speaker_to_listener": f"speaker → listener ({player}, heard)",
        "capture_to_publish": "  of which: capture → part published",
        "publish_to_play": "  of which: part published → heard",
        "speaker_to_speaker": "speaker → speaker (WebRTC mouth-to-ear)",
        "program_date_error": "PROGRAM-DATE-TIME error (dated − sent)",
        "aiortc_one_hop": "calibration: one bare aiortc → aiortc hop",
    }
    lines = ["| path | beeps | p50 ms | p90 ms | max ms |", "|---|---:|---:|---:|---:|"]
    for key, name in names.items():
        s = summary["paths"][key]
        if s is None:
            lines.append(f"| {name} | 0 | – | – | – |")
            continue
        lines.append(
            f"| {name} | {s['n']} | {s['p50'] * 1000:.0f} | {s['p90'] * 1000:.0f} "
            f"| {s['max'] * 1000:.0f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=60, help="measured seconds (60)")
    parser.add_argument("--warmup", type=float, default=10, help="unmeasured seconds first (10)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between beeps (2)")
    parser.add_argument("--beep-ms", type=float, default=50, help="beep length, ms (50)")
    parser.add_argument(
        "--calibrate", type=float, default=20, help="seconds of the bare aiortc hop (20; 0: off)"
    )
    parser.add_argument("--server-cpu", type=int, default=0, help="core for the server (0)")
    parser.add_argument("--client-cpu", type=int, default=1, help="core for everything else (1)")
    parser.add_argument(
        "--hls-config",
        default="{}",
        help="extra hls.js config as JSON, e.g. '{\"liveSyncDuration\": 0.6}' (none)",
    )
    parser.add_argument(
        "--player",
        choices=["hls", "dash"],
        default="hls",
        help="the listener's player: hls.js on LL-HLS (default) or dash.js on LL-DASH",
    )
    parser.add_argument(
        "--edge",
        choices=["none", "varnish", "nchan"],
        default="none",
        help="listen through a Varnish edge (majlis edge-config --engine varnish) or the "
        "nginx + Nchan edge and its feeder (--engine nchan) on the server's core (default: "
        "straight at the origin)",
    )
    parser.add_argument(
        "--join-after",
        type=float,
        default=0,
        help="seconds the Space is live (speakers talking) before the listener joins (0)",
    )
    parser.add_argument(
        "--dash-config",
        default="{}",
        help="extra dash.js streaming settings as JSON (none: the MPD's target and catch-up)",
    )
    parser.add_argument(
        "--stage-encoding",
        default=None,
        help="MAJLIS_STAGE_ENCODING for the server (per-speaker or shared; default: unset)",
    )
    parser.add_argument(
        "--captions",
        action="store_true",
        help="live captions on (MAJLIS_CAPTIONS_DEFAULT): the recognizer runs beside the audio",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON result file")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    check_cores(args.server_cpu, args.client_cpu)
    pin_to(args.client_cpu)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        tempfile.TemporaryDirectory(prefix="majlis-bench-") as tmp,
        majlis_settings(
            stage_encoding=args.stage_encoding, captions_default="on" if args.captions else None
        ),
        running_server(port, args.server_cpu, Path(tmp)) as proc,
    ):
        space = open_space(base, stage_size=2, title="Latency benchmark")
        print(
            f"calibrating {args.calibrate:.0f} s, then {args.warmup:.0f} s warm-up "
            f"+ {args.duration:.0f} s measured ...",
            flush=True,
        )
        if args.edge == "varnish":
            with running_varnish(base, Path(tmp) / "varnish") as varnish:
                for pid in process_tree(varnish.process.pid):
                    os.sched_setaffinity(pid, {args.server_cpu})  # the server side's core
                result = asyncio.run(measure(space, proc.pid, args, varnish.url))
        elif args.edge == "nchan":
            with running_nchan_edge(base, Path(tmp) / "nchan", access_log=False) as nchan:
                for pid in nchan.pids():
                    os.sched_setaffinity(pid, {args.server_cpu})
                result = asyncio.run(measure(space, proc.pid, args, nchan.url))
        else:
            result = asyncio.run(measure(space, proc.pid, args))
    return report(args, result)


def report(args: argparse.Namespace, result: Run) -> int:
    summary = analyse(result, args.interval)
    player = "dash.js" if args.player == "dash" else "hls.js"
    if args.edge != "none":
        player += f" through {args.edge}"
    lines, ok = verdicts(summary, player)
    print()
    print(table(summary, player))
    print()
    print(f"{player} readings (medians):", json.dumps(summary["hls_js"], indent=None))
    print(f"stalls: {summary['stalls']}, player errors: {len(summary['hls_errors'])}")
    print("core load:", {k: f"{v:.0%}" for k, v in summary["core_load"].items()}, end=" ")
    print(f"(server process: {summary['server_cpu']:.1%} of a core)")
    for line in lines:
        print(line)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    output = {
        "benchmark": "media_latency",
        "target": {"hls_p50_s": TARGET_HLS_P50_S, "mouth_to_ear_s": TARGET_MOUTH_TO_EAR_S},
        "command": " ".join(["python", "bench/media_latency.py", *sys.argv[1:]]),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": machine(),
        "player": result.listener.info,
        "summary": summary,
        "sent": [dataclasses.asdict(s) for s in result.sent],
        "listener_onsets": [dataclasses.asdict(o) for o in result.listener.onsets],
        "listener_stats": result.listener.stats,
        "console": result.listener.console[-50:],
        "verdicts": lines,
        "pass": ok,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return write_result(args.output, output, ok)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(run, parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
