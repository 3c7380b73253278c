"""Small shared helpers: percentiles, per-core load, the machine the numbers came from."""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
VENDOR_README = REPO / "src" / "majlis" / "web" / "static" / "vendor" / "README.md"


@dataclass(frozen=True)
class Spread:
    """p50 / p90 / max (and min, n) of a list of seconds; None when there is nothing to report."""

    n: int
    p50: float
    p90: float
    max: float
    min: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread | None:
        if not values:
            return None
        arr = np.asarray(values, dtype=np.float64)
        return cls(
            n=arr.size,
            p50=float(np.percentile(arr, 50)),
            p90=float(np.percentile(arr, 90)),
            max=float(arr.max()),
            min=float(arr.min()),
        )


def core_times() -> dict[int, tuple[int, int]]:
    """Per-core (busy, total) jiffies from /proc/stat, to show how loaded each core was."""
    times: dict[int, tuple[int, int]] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        m = re.match(r"cpu(\d+) (.*)", line)
        if m:
            fields = [int(x) for x in m.group(2).split()]
            idle = fields[3] + fields[4]  # idle + iowait
            times[int(m.group(1))] = (sum(fields) - idle, sum(fields))
    return times


def core_load(
    before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]
) -> dict[int, float]:
    """Share of each core that was busy between two ``core_times`` readings."""
    load = {}
    for core, (busy, total) in after.items():
        busy0, total0 = before.get(core, (0, 0))
        load[core] = (busy - busy0) / max(1, total - total0)
    return load


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """utime + stime of every thread of a process, by thread id (the main thread's id is pid)."""
    ticks = os.sysconf("SC_CLK_TCK")
    result = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            result[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return result


def base_machine(packages: Sequence[str]) -> dict[str, Any]:
    """What every benchmark's numbers depend on: the CPU, Python, kernel, package versions."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str | None] = {}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "packages": versions,
    }


def machine() -> dict[str, Any]:
    """What the media numbers depend on, recorded next to them (adds Chromium and hls.js)."""
    info = base_machine(("majlis", "aiortc", "aioice", "av", "numpy", "uvicorn", "playwright"))
    chromium = "unknown"
    with contextlib.suppress(OSError):
        out = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True)
        chromium = out.stdout.strip() or chromium
    hls = None
    with contextlib.suppress(OSError):
        m = re.search(r"hls\.js\]\([^)]*\) ([\d.]+)", VENDOR_README.read_text())
        hls = m.group(1) if m else None
    return {**info, "chromium": chromium, "hls.js": hls}


def write_result(path: Path, result: dict[str, Any], ok: bool) -> int:
    """Write a run's JSON next to the others; the exit code says whether the target was met."""
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0 if ok else 1


def run_main(
    run: Callable[[argparse.Namespace], int],
    parse_args: Callable[[Sequence[str] | None], argparse.Namespace],
    argv: Sequence[str] | None,
) -> int:
    """Every benchmark's entry point: signals stop the server cleanly, Ctrl-C exits 130."""
    stop_cleanly_on_signals()
    try:
        return run(parse_args(argv))
    except KeyboardInterrupt:
        print("interrupted; server stopped", file=sys.stderr)
        return 130


def stop_cleanly_on_signals() -> None:
    """SIGTERM becomes SystemExit and SIGINT KeyboardInterrupt, so ``finally`` stops the server.

    SIGINT is re-armed explicitly because a shell starting us in the background ignores it.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pin_to(cpu: int) -> None:
    """Pin this process (and everything it starts later: Chromium, threads) to one core."""
    os.sched_setaffinity(0, {cpu})


@contextlib.contextmanager
def majlis_settings(**settings: str | None) -> Iterator[None]:
    """Set ``MAJLIS_<NAME>`` for servers started inside (they copy ``os.environ``).

    A value of None leaves the setting to the server's default.
    """
    saved = {}
    for name, value in settings.items():
        key = f"MAJLIS_{name.upper()}"
        saved[key] = os.environ.get(key)
        if value is not None:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
