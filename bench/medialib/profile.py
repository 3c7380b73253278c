"""Where a media server spends its CPU: exact CPU per kind of thread, and py-spy samples.

Two instruments, because each is wrong alone on a busy 2-core machine:

* ``/proc/<pid>/task/*/stat`` gives each thread's exact CPU time, and thread names (from
  ``py-spy dump``) say what each thread is: the event loop, aiortc's Opus decoder thread per
  speaker, the default executor where aiortc runs each Opus encode, the AAC encoder thread.
* ``py-spy record`` says what the event loop does within its share. Its samples count threads
  that are *runnable*, not only running, so with ~25 threads on one core, shares of samples
  overstate threads that merely wait for the CPU; use them inside one thread, not across threads.

Each sample is put in the first category (in ``CATEGORIES`` order) that any of its frames
matches, so a cheap leaf under an expensive caller is charged to the caller's kind of work.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable, Mapping

#: (thread kind, regular expression on the Python thread name).
THREAD_KINDS: tuple[tuple[str, str], ...] = (
    ("event loop", r"^MainThread$"),
    ("Opus decoders (aiortc, one thread per speaker)", r"^audio-decoder"),
    ("default executor (aiortc's Opus encodes, to_thread)", r"^(uvloop|asyncio)_\d+$"),
    ("stage Opus encoder thread (shared encodes)", r"^majlis-stage-encoder"),
    ("AAC encoder thread", r"^majlis-encoder"),
    ("SQLite connection threads", r"_connection_worker_thread"),
)
OTHER_THREADS = "other threads"

#: (category, substrings of a frame "function (file:line)", any of which puts a sample in it).
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Opus encode (aiortc, one per speaker)", ("OpusEncoder.encode",)),
    ("Opus decode", ("OpusDecoder.decode",)),
    ("AAC encode + CMAF packaging", ("hls/packager.py", "hls/aac.py")),
    ("mixer tick (mix, mix-minus, levels)", ("media/mixer.py", "Room._tick")),
    ("received frame to mixer (to_mono, push)", ("SpeakerSession._read", "to_mono")),
    ("frame for each sender (MixMinusTrack.recv, AudioFrame)", ("MixMinusTrack",)),
    ("audio level of each sent frame (aiortc)", ("compute_audio_level_dbov",)),
    ("SRTP protect/unprotect (pylibsrtp)", ("pylibsrtp",)),
    (
        "hand-offs to and from threads",
        ("run_in_executor", "ThreadPoolExecutor.submit", "run_coroutine_threadsafe"),
    ),
    ("RTP send path (aiortc sender)", ("rtcrtpsender.py",)),
    ("RTP receive path (aiortc receiver, jitter buffer)", ("rtcrtpreceiver.py", "jitterbuffer")),
    ("DTLS / ICE / UDP (aiortc, aioice)", ("rtcdtlstransport", "aioice/", "rtcicetransport")),
    ("HTTP handlers", ("uvicorn/protocols", "starlette/", "fastapi/", "majlis/api/")),
    ("waiting on a lock or queue (thread wake-ups)", ("Condition.wait", "thread.py")),
)
#: Samples whose innermost Python frame is this are in C code called by it: uvloop's own loop.
LEAF_CATEGORIES = {"Runner.run": "uvloop C code (polling, I/O, callbacks)"}
_LINE = re.compile(r"^(.*) (\d+)$")
_THREAD = re.compile(r"^thread \((\d+)\): (.*)$")
_DUMP = re.compile(r'^Thread (\d+) \([^)]*\): "(.*)"$', re.M)


def thread_names(pid: int) -> dict[int, str]:
    """Thread id -> Python thread name, from ``py-spy dump`` (empty if py-spy is missing)."""
    if shutil.which("py-spy") is None:
        return {}
    out = subprocess.run(
        ["py-spy", "dump", "--nonblocking", "-p", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    return {int(tid): name for tid, name in _DUMP.findall(out.stdout)}


def thread_kind(name: str | None) -> str:
    for kind, pattern in THREAD_KINDS:
        if name is not None and re.search(pattern, name):
            return kind
    return OTHER_THREADS


def by_kind(cpu: Mapping[int, float], names: Mapping[int, str]) -> dict[str, float]:
    """Sum per-thread CPU by kind of thread; unnamed (exited) threads go to "other threads"."""
    totals: dict[str, float] = {}
    for tid, value in cpu.items():
        kind = thread_kind(names.get(tid))
        totals[kind] = totals.get(kind, 0.0) + value
    return totals


def parse(raw: str) -> Iterable[tuple[str, list[str], int]]:
    """(thread name, frames root→leaf, samples) per line of ``py-spy record -f raw``."""
    for line in raw.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        frames = m.group(1).split(";")
        head = _THREAD.match(frames[0])
        if head:
            yield head.group(2), frames[1:], int(m.group(2))
        else:
            yield "", frames, int(m.group(2))


def category(frames: list[str]) -> str:
    leaf = _function(frames[-1]).split(" (")[0] if frames else ""
    if leaf in LEAF_CATEGORIES:
        return LEAF_CATEGORIES[leaf]
    for name, needles in CATEGORIES:
        if any(needle in frame for frame in frames for needle in needles):
            return name
    return "other"


def _function(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file.py)``: lines would split one function."""
    m = re.match(r"(.*) \((?:.*/)?([^/:]+)(?::\d+)?\)$", frame)
    return f"{m.group(1)} ({m.group(2)})" if m else frame


def summarise_raw(raw: str, top: int = 12) -> str:
    """Samples per kind of thread, then what the event loop thread does, by category.

    Samples whose innermost Python frame is ``Runner.run`` are left out of the loop's
    breakdown: they are uvloop's C code, which py-spy cannot tell apart from the loop idling
    in epoll (it counts far more of them than the loop's measured CPU allows).
    """
    threads: Counter[str] = Counter()
    loop_categories: Counter[str] = Counter()
    loop_leaves: Counter[str] = Counter()
    for name, frames, count in parse(raw):
        kind = thread_kind(name)
        threads[kind] += count
        if kind == "event loop" and frames:
            loop_categories[category(frames)] += count
            loop_leaves[_function(frames[-1])] += count
    total = sum(threads.values())
    if not total:
        return "(no samples)"
    lines = [f"{total} samples of runnable threads, by kind of thread:"]
    lines += [f"  {n / total:6.1%}  {kind}" for kind, n in threads.most_common()]
    opaque = sum(loop_categories.pop(name, 0) for name in LEAF_CATEGORIES.values())
    for leaf in LEAF_CATEGORIES:
        for key in [k for k in loop_leaves if k.split(" (")[0] == leaf]:
            del loop_leaves[key]
    loop = sum(loop_categories.values())
    if loop:
        lines.append(
            f"event loop thread: {loop} samples in Python code ({opaque} in uvloop's C code "
            "or idle, left out), by kind of work:"
        )
        lines += [f"  {n / loop:6.1%}  {name}" for name, n in loop_categories.most_common()]
        lines.append("event loop thread, top functions by self samples:")
        lines += [f"  {n / loop:6.1%}  {name}" for name, n in loop_leaves.most_common(top)]
    return "\n".join(lines)
