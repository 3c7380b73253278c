"""The asyncio side of a rehearsal, in a process of its own: speaker bots and probe listeners.

It is started with multiprocessing's *spawn* context, so it never inherits the Locust engine's
gevent patching (nor the parent's threads). Speaker 0 emits timing marks; the others a quiet
tone (well under the marks' onset threshold), so the mix carries several live speakers
without confusing the probes. Results come back as one JSON-able dict on a queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

from aiortc import MediaStreamTrack

from majlis.bots.sources import ToneSource
from majlis.bots.speaker import SpeakerBot
from majlis.scaletest.marks import MarkSource
from majlis.scaletest.probe import ProbeResult, probe

#: Other speakers talk at 1 % of full scale: RMS 0.007, far below the probes' 0.05 threshold.
QUIET_TONE_AMPLITUDE = 0.01


@dataclass(frozen=True)
class MediaJob:
    api_url: str
    hls_url: str
    space_id: str
    tokens: tuple[str, ...]
    probes: int


def _source(i: int) -> MediaStreamTrack:
    return MarkSource() if i == 0 else ToneSource(300.0 + 37 * i, QUIET_TONE_AMPLITUDE)


async def _run(job: MediaJob, stop_flag: Any, ready: Any) -> dict[str, Any]:
    bots = [SpeakerBot(job.api_url, job.space_id, t, _source(i)) for i, t in enumerate(job.tokens)]
    errors: list[str] = []
    for bot in bots:
        try:
            await bot.connect()
        except Exception as exc:  # reported, not raised: the listeners' run still counts
            errors.append(f"speaker: {type(exc).__name__}: {exc}")
    ready.set()
    stop = asyncio.Event()
    results = [ProbeResult() for _ in range(job.probes)]
    tasks = [asyncio.create_task(probe(job.hls_url, stop, r)) for r in results]
    await asyncio.to_thread(stop_flag.wait)
    stop.set()
    for task in tasks:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, timeout=10)
        if task.done() and not task.cancelled() and task.exception() is not None:
            errors.append(f"probe: {task.exception()!r}")
    for bot in bots:
        with contextlib.suppress(Exception):
            await bot.close()
    return {
        "speakers_connected": sum(1 for b in bots if b.location is not None),
        "speaker_frames_received": [b.frames_received for b in bots],
        "probe_latencies": [pair for r in results for pair in r.latencies],
        "probe_parts": [r.parts for r in results],
        "probe_errors": [e for r in results for e in r.errors[:20]],
        "errors": errors,
    }


def _main(job: MediaJob, stop_flag: Any, ready: Any, out: Any) -> None:
    try:
        out.put(asyncio.run(_run(job, stop_flag, ready)))
    except BaseException as exc:
        ready.set()
        out.put({"errors": [f"media process: {type(exc).__name__}: {exc}"]})


class MediaProcess:
    """Start, wait until the speakers are connected, stop, and collect the results."""

    def __init__(self, job: MediaJob) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._ready = ctx.Event()
        self._out: Any = ctx.Queue()
        self._process = ctx.Process(
            target=_main, args=(job, self._stop, self._ready, self._out), daemon=True
        )

    def start(self, timeout_s: float = 60.0) -> None:
        self._process.start()
        self._ready.wait(timeout_s)

    def stop(self, timeout_s: float = 30.0) -> dict[str, Any]:
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        result: dict[str, Any] = {"errors": ["the media process did not report"]}
        with contextlib.suppress(Exception):
            result = self._out.get(timeout=max(deadline - time.monotonic(), 1.0))
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
        return result
