"""CPU of one live Space with 0, 1, 4 and 13 speakers connected, side by side in one run.

Target (DESIGN.md): a live Space with 13 speakers on stage costs <= 25 % of one core.

How, and why this way:

* One real ``majlis serve`` pinned to core 0 (``taskset``); this script and all its speaker
  bots (the product's aiortc WHIP ``SpeakerBot``) pinned to core 1, so the bots never take the
  server's CPU. The server's CPU is its own ``utime + stime`` from ``/proc/<pid>/stat``, every
  thread included (aiortc's encoder pool and decoder threads, the AAC encoder thread), so CPU
  used by other processes on a shared machine does not count against it.
* All phases run in one server, one after the other: the live Space alone (baseline, the
  mixer and the AAC encoder ticking on silence), then 1, 4 and 13 speakers, added to the same
  sessions. Each N is measured twice: one speaker talking and the others silent on stage (a
  real conversation), then all talking at once (the worst case: a mix-minus and an Opus encode
  per speaker). Talking is a tone; silence is digital silence; switching the source in place
  keeps the WebRTC sessions identical between the two scenarios.
* Each phase waits ``--settle`` seconds, then measures ``--duration`` seconds. It also checks
  the load was real: every bot's received frame rate (~50/s) and the server's "speaking" set.
* ``--profile S`` then runs py-spy on the server for S seconds in the 13-speaker scenarios and
  prints where the time goes (py-spy's sampling would perturb the measured phases, so it runs
  after them).
* ``--stage-encoding per-speaker,shared`` repeats everything with one fresh server per value of
  the server's ``MAJLIS_STAGE_ENCODING`` (aiortc encoding every speaker's mix-minus, or one
  encode per distinct mix), so the two are compared in one run. The exit status is the verdict
  of the last one listed (list the product's default last); ``default`` leaves it unset.

Usage::

    python bench/media_cpu.py [--duration 30] [--settle 5] [--profile 20]
                              [--stage-encoding per-speaker,shared]

Needs ``taskset`` (util-linux); ``--profile`` needs ``py-spy`` (``pip install py-spy``) and
permission to ptrace the server (root, or ``kernel.yama.ptrace_scope=0``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from join_throughput import check_cores, cpu_seconds, free_port, running_server
from majlis.bots.speaker import SpeakerBot
from medialib.bots import SwitchableSource
from medialib.profile import THREAD_KINDS, by_kind, summarise_raw, thread_names
from medialib.report import (
    core_load,
    core_times,
    machine,
    majlis_settings,
    pin_to,
    run_main,
    thread_cpu_seconds,
    write_result,
)
from medialib.space import MAX_STAGE, LiveSpace, open_space

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "media_cpu.json"
TARGET_CORE_SHARE = 0.25
STAGE_SIZES = (1, 4, MAX_STAGE)
#: Tone pitches, one per speaker, so a listener could tell them apart.
BASE_HZ, STEP_HZ = 220.0, 40.0
#: Below this many frames a second, a bot was not getting its mix-minus: the phase is suspect.
MIN_FRAME_RATE = 45.0


@dataclass(frozen=True)
class Phase:
    """One measured steady state: N speakers connected, with ``talking`` of them talking."""

    name: str
    speakers: int
    talking: int
    seconds: float
    server_cpu: float  # share of one core
    main_thread_cpu: float  # the event loop's share
    other_threads_cpu: float  # aiortc's encode pool and decoder threads, the AAC encoder
    threads: int
    #: Share of one core per thread id; named by kind of thread once the run is over.
    thread_cpu: dict[int, float]
    per_speaker_cpu: float | None  # (server - baseline) / speakers
    bots_cpu: float  # this process (all the bots), share of one core
    core_load: dict[int, float]
    #: Busy share of the server's core not used by the server: other processes on the machine.
    other_load: float
    min_bot_frame_rate: float | None
    speaking: list[str]
    #: Share of one core per kind of thread (event loop, Opus decoders, ...), from thread_cpu.
    by_thread: dict[str, float] = dataclasses.field(default_factory=dict)


# --------------------------------------------------------------------------- bots


class Stage:
    """The bots of one Space, added a few at a time and switched between silent and talking."""

    def __init__(self, space: LiveSpace) -> None:
        self.space = space
        self.bots: list[SpeakerBot] = []
        self.sources: list[SwitchableSource] = []

    async def grow_to(self, count: int) -> None:
        """Connect speakers until ``count`` are on air (new ones silent)."""
        while len(self.bots) < count:
            member = self.space.members[len(self.bots)]
            source = SwitchableSource(BASE_HZ + STEP_HZ * len(self.bots), talking=False)
            bot = SpeakerBot(self.space.base, self.space.space_id, member.token, source, keep_s=1)
            await bot.connect()
            self.bots.append(bot)
            self.sources.append(source)

    def talk(self, count: int) -> None:
        """The first ``count`` speakers talk; the others fall silent."""
        for i, source in enumerate(self.sources):
            source.talking = i < count

    def frames(self) -> list[int]:
        return [bot.frames_received for bot in self.bots]

    async def close(self) -> None:
        for bot in self.bots:
            await bot.close()


# --------------------------------------------------------------------------- measuring


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def speaking(base: str, space_id: str) -> list[str]:
    """The server's own "speaking" set: proof that the talkers' audio reached the mixer."""
    async with httpx.AsyncClient(timeout=10) as http:
        snapshot = (await http.get(f"{base}/api/v1/spaces/{space_id}/snapshot")).json()
    return sorted(snapshot.get("speaking", []))


async def measure_phase(
    stage: Stage, pid: int, name: str, talking: int, args: argparse.Namespace, baseline: float
) -> Phase:
    """Let the phase settle, then take CPU and frame counts over ``--duration`` seconds."""
    stage.talk(talking)
    await asyncio.sleep(args.settle)
    t0, cpu0, threads0 = time.monotonic(), cpu_seconds(pid), thread_cpu_seconds(pid)
    own0, cores0, frames0 = own_cpu_seconds(), core_times(), stage.frames()
    await asyncio.sleep(args.duration)
    elapsed = time.monotonic() - t0
    cpu, threads = cpu_seconds(pid) - cpu0, thread_cpu_seconds(pid)
    main = threads.get(pid, 0.0) - threads0.get(pid, 0.0)
    rates = [(b - a) / elapsed for a, b in zip(frames0, stage.frames(), strict=True)]
    speakers = len(stage.bots)
    share = cpu / elapsed
    load = core_load(cores0, core_times())
    return Phase(
        name=name,
        speakers=speakers,
        talking=talking,
        seconds=elapsed,
        server_cpu=share,
        main_thread_cpu=main / elapsed,
        other_threads_cpu=(cpu - main) / elapsed,
        threads=len(threads),
        thread_cpu={
            tid: (used - threads0.get(tid, 0.0)) / elapsed for tid, used in threads.items()
        },
        per_speaker_cpu=(share - baseline) / speakers if speakers else None,
        bots_cpu=(own_cpu_seconds() - own0) / elapsed,
        core_load=load,
        other_load=max(0.0, load.get(args.server_cpu, 0.0) - share),
        min_bot_frame_rate=min(rates) if rates else None,
        speaking=await speaking(stage.space.base, stage.space.space_id),
    )


async def measure_all(
    space: LiveSpace, pid: int, args: argparse.Namespace, mode: str
) -> list[Phase]:
    """Baseline, then each stage size with one talking and with all talking."""
    stage = Stage(space)
    phases: list[Phase] = []
    try:
        phases.append(await measure_phase(stage, pid, "live Space, no speaker", 0, args, 0.0))
        print(line(phases[-1]), flush=True)
        baseline = phases[0].server_cpu
        for size in STAGE_SIZES:
            await stage.grow_to(size)
            for scenario, talking in (("one", 1), ("all", size)):
                name = f"{size} speaker{'s' if size > 1 else ''}, {scenario} talking"
                phases.append(await measure_phase(stage, pid, name, talking, args, baseline))
                print(line(phases[-1]), flush=True)
        # Name the threads while they all still exist (aiortc's end with their sessions).
        names = await asyncio.to_thread(thread_names, pid) or {pid: "MainThread"}
        phases = [dataclasses.replace(p, by_thread=by_kind(p.thread_cpu, names)) for p in phases]
        if args.profile > 0:
            await profile_server(stage, pid, args, mode)
    finally:
        await stage.close()
    return phases


async def profile_server(stage: Stage, pid: int, args: argparse.Namespace, mode: str) -> None:
    """py-spy the server with the full stage, one talking then all talking; print summaries."""
    for talking in (1, len(stage.bots)):
        stage.talk(talking)
        await asyncio.sleep(args.settle)
        out = args.output.with_name(f"media_cpu_profile_{mode}_{talking}talking.txt")
        command = [
            "taskset", "-c", str(args.client_cpu), "py-spy", "record", "-p", str(pid),
            "-d", str(int(args.profile)), "-r", "200", "-f", "raw", "-o", str(out), "--threads",
        ]  # fmt: skip
        # --nonblocking: pausing ~25 threads per sample on a busy core makes py-spy count
        # threads blocked in C (queue gets, epoll) as busy; not pausing keeps its idle
        # detection right. --native needs the pauses, so it reads idle threads less well.
        command.append("--native" if args.native else "--nonblocking")
        proc = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, err = await proc.communicate()
        if proc.returncode != 0:
            print(f"py-spy failed ({proc.returncode}): {err.decode(errors='replace')}")
            return
        print(f"\nprofile ({mode}), {len(stage.bots)} speakers, {talking} talking ({out}):")
        print(summarise_raw(out.read_text()))


# --------------------------------------------------------------------------- reporting


def line(p: Phase) -> str:
    per = f"{p.per_speaker_cpu:6.1%}/speaker" if p.per_speaker_cpu is not None else " " * 15
    rate = f"{p.min_bot_frame_rate:4.1f}" if p.min_bot_frame_rate is not None else "   -"
    return (
        f"{p.name:<28} server {p.server_cpu:6.1%} (loop {p.main_thread_cpu:5.1%}, "
        f"threads {p.other_threads_cpu:5.1%}) {per}  bots {p.bots_cpu:5.1%}  "
        f"min frames/s {rate}  speaking {len(p.speaking)}"
    )


def table(phases: Sequence[Phase]) -> str:
    """A Markdown table, pasteable into docs/benchmarks.md as is."""
    kinds = [kind for kind, _ in THREAD_KINDS[:5]]
    short = ["event loop", "Opus decoders", "executor (Opus encodes)", "stage encoder", "AAC"]
    lines = [
        "| phase | server CPU (% of a core) | per speaker | "
        + " | ".join(short)
        + " | bots (core 1) | min frames/s per bot | others on core 0 |",
        "|---|" + "---:|" * (len(short) + 5),
    ]
    for p in phases:
        per = f"{p.per_speaker_cpu:.1%}" if p.per_speaker_cpu is not None else "–"
        rate = f"{p.min_bot_frame_rate:.1f}" if p.min_bot_frame_rate is not None else "–"
        split = " | ".join(f"{p.by_thread.get(kind, 0.0):.1%}" for kind in kinds)
        lines.append(
            f"| {p.name} | {p.server_cpu:.1%} | {per} | {split} | {p.bots_cpu:.1%} | {rate} "
            f"| {p.other_load:.0%} |"
        )
    return "\n".join(lines)


def problems(phases: Sequence[Phase]) -> list[str]:
    """Phases whose load was not what it claims: starved bots, or the wrong speaking set."""
    found = []
    for p in phases:
        if p.min_bot_frame_rate is not None and p.min_bot_frame_rate < MIN_FRAME_RATE:
            found.append(f"{p.name}: a bot received only {p.min_bot_frame_rate:.1f} frames/s")
        if len(p.speaking) != p.talking:
            found.append(f"{p.name}: server says {len(p.speaking)} speaking, not {p.talking}")
    return found


def verdict(phases: Sequence[Phase]) -> tuple[str, bool]:
    """Judged on the realistic 13-speaker phase (one talking); the worst case is reported."""
    realistic = next(p for p in phases if p.speakers == MAX_STAGE and p.talking == 1)
    worst = next(p for p in phases if p.speakers == MAX_STAGE and p.talking == MAX_STAGE)
    ok = realistic.server_cpu <= TARGET_CORE_SHARE
    word = "PASS" if ok else "FAIL"
    return (
        f"{word}: {MAX_STAGE} speakers, one talking: {realistic.server_cpu:.1%} of a core "
        f"(target <= {TARGET_CORE_SHARE:.0%}); all talking: {worst.server_cpu:.1%}",
        ok,
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=30, help="measured seconds/phase (30)")
    parser.add_argument("--settle", type=float, default=5, help="seconds before each phase (5)")
    parser.add_argument("--server-cpu", type=int, default=0, help="core for the server (0)")
    parser.add_argument("--client-cpu", type=int, default=1, help="core for the bots (1)")
    parser.add_argument("--profile", type=float, default=0, help="py-spy seconds afterwards (0)")
    parser.add_argument("--native", action="store_true", help="py-spy --native (C frames too)")
    parser.add_argument(
        "--stage-encoding",
        default="per-speaker,shared",
        help="comma-separated MAJLIS_STAGE_ENCODING values, one server each "
        "(per-speaker,shared; 'default': leave unset)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON result file")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    check_cores(args.server_cpu, args.client_cpu)
    pin_to(args.client_cpu)
    runs = {}
    for mode in args.stage_encoding.split(","):
        print(f"--- stage encoding: {mode}", flush=True)
        runs[mode] = run_mode(args, mode)
    return report(args, runs)


def run_mode(args: argparse.Namespace, mode: str) -> list[Phase]:
    """All phases against one fresh server started with ``MAJLIS_STAGE_ENCODING=mode``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    setting = None if mode == "default" else mode
    with (
        tempfile.TemporaryDirectory(prefix="majlis-bench-") as tmp,
        majlis_settings(stage_encoding=setting),
        running_server(port, args.server_cpu, Path(tmp)) as proc,
    ):
        space = open_space(base, stage_size=MAX_STAGE, title="CPU benchmark")
        print(f"server pid {proc.pid}; {args.settle:.0f} + {args.duration:.0f} s per phase")
        return asyncio.run(measure_all(space, proc.pid, args, mode))


def comparison(runs: dict[str, list[Phase]]) -> str:
    """Server CPU per phase, one column per stage encoding: the side-by-side table."""
    modes = list(runs)
    lines = [
        "| phase | " + " | ".join(f"server CPU, {m}" for m in modes) + " |",
        "|---|" + "---:|" * len(modes),
    ]
    for i, phase in enumerate(next(iter(runs.values()))):
        cells = " | ".join(f"{runs[m][i].server_cpu:.1%}" for m in modes)
        lines.append(f"| {phase.name} | {cells} |")
    return "\n".join(lines)


def report(args: argparse.Namespace, runs: dict[str, list[Phase]]) -> int:
    verdicts, issues, ok = {}, {}, False
    for mode, phases in runs.items():
        print(f"\nstage encoding: {mode}")
        print(table(phases))
        issues[mode] = problems(phases)
        for issue in issues[mode]:
            print(f"suspect: {issue}")
        verdicts[mode], ok = verdict(phases)
    if len(runs) > 1:
        print()
        print(comparison(runs))
    print()
    for mode, text in verdicts.items():
        print(f"[{mode}] {text}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "media_cpu",
        "target": {"core_share_max": TARGET_CORE_SHARE, "speakers": MAX_STAGE},
        "command": " ".join(["python", "bench/media_cpu.py", *sys.argv[1:]]),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": machine(),
        "runs": {mode: [dataclasses.asdict(p) for p in phases] for mode, phases in runs.items()},
        "suspect": issues,
        "verdicts": verdicts,
        "pass": ok,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return write_result(args.output, result, ok)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(run, parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
