"""One measured phase of a benchmark: a load-generator child process, and the serving processes'
CPU (and anything else worth sampling) over the window when its whole audience is on.

The generator is a child (this machine's second core, by ``taskset`` in ``argv``) that prints
``START <epoch seconds>`` when its audience starts arriving and ``RESULT <json>`` at the end."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (varnishd's manager, its worker child and what that starts),
    so that a server of several processes can be pinned and measured as one."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found.extend(process_tree(int(child)))
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime + stime of whole processes (all their threads, dead ones included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


@dataclass(frozen=True)
class Window(Generic[T]):
    seconds: float
    #: Cores each named group of processes used over the window.
    cores: dict[str, float]
    before: T
    after: T
    #: What the generator printed as its RESULT.
    result: dict[str, Any]


def measured_window(
    argv: Sequence[str],
    pids: dict[str, list[int]],
    sample: Callable[[], T],
    from_s: float,
    to_s: float,
) -> Window[T]:
    """Run the generator ``argv``; measure from ``from_s`` to ``to_s`` after its START."""
    child = subprocess.Popen(list(argv), stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    start = float(child.stdout.readline().split()[1])
    time.sleep(max(0.0, start + from_s - time.time()))
    window_start = time.time()
    before_cpu = {name: cpu_seconds(p) for name, p in pids.items()}
    before = sample()
    time.sleep(max(0.0, start + to_s - time.time()))
    after_cpu = {name: cpu_seconds(p) for name, p in pids.items()}
    after = sample()
    seconds = time.time() - window_start
    line = child.stdout.read().strip().splitlines()[-1]
    child.wait(60)
    return Window(
        seconds=seconds,
        cores={name: (after_cpu[name] - before_cpu[name]) / seconds for name in pids},
        before=before,
        after=after,
        result=json.loads(line.removeprefix("RESULT ")),
    )


def idle_cores(pids: dict[str, list[int]], seconds: float = 10.0) -> dict[str, float]:
    """Cores each group of processes uses over ``seconds`` with no audience: the baseline that
    "marginal" figures subtract."""
    before, started = {n: cpu_seconds(p) for n, p in pids.items()}, time.time()
    time.sleep(seconds)
    return {n: (cpu_seconds(p) - before[n]) / (time.time() - started) for n, p in pids.items()}
