"""Measuring a node's own load: event-loop lag and process CPU.

Why a probe task rather than timing the heartbeat's own sleep: one sample a second misses the
short stalls that make a 20 ms mixer clock skip; a probe waking every ``period_s`` and keeping
the worst lateness since the last read sees them, for the price of a few wake-ups a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import time


class LoopLagProbe:
    """Keeps the worst event-loop lateness (ms) seen since ``take()`` was last called."""

    def __init__(self, period_s: float = 0.1) -> None:
        self.period_s = period_s
        self._worst_s = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def take(self) -> float:
        worst, self._worst_s = self._worst_s, 0.0
        return round(worst * 1000, 1)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.period_s
            await asyncio.sleep(self.period_s)
            self._worst_s = max(self._worst_s, loop.time() - due)


class CpuMeter:
    """Process CPU (every thread: the encoders run off the loop) per wall second since the
    previous reading; 1.0 is one core fully busy."""

    def __init__(self) -> None:
        self._cpu = time.process_time()
        self._wall = time.monotonic()

    def take(self) -> float:
        cpu, wall = time.process_time(), time.monotonic()
        elapsed = wall - self._wall
        used = (cpu - self._cpu) / elapsed if elapsed > 0 else 0.0
        self._cpu, self._wall = cpu, wall
        return round(used, 3)
