"""Following a Space: an event stream per listener vs the snapshot through an edge, side by side.

Why: the Space page needs the stage, who is speaking, reactions and the Space's state. An event
stream (SSE) is an open connection at an origin node per listener plus a write per event per
listener, which no edge can cache; the snapshot is a GET that an nginx edge caches for its 1 s
max-age, so the origin answers one per edge per second whatever the audience. Past
``MAJLIS_EVENTS_MAX_LISTENERS`` join tells listeners to poll the snapshot (every 2 s) instead.
This measures what each costs the origin and the edge, in one run.

How:

* ``majlis serve`` with a live Space (a speaker bot sending a tone over WHIP) and one nginx
  worker configured by ``majlis edge-config`` (access log off) share core 0; the load generator
  (this script with ``--generate``) and the bot run on core 1 (``taskset``).
* A reaction every 0.25 s all along (three accounts, within the per-account limit), so the
  streams carry the once-a-second ``reactions`` event a lively Space has.
* Phases alternate (stream, snapshot, stream, snapshot ...). In each, ``--followers`` clients
  join over ``--ramp`` seconds through the edge and follow for ``--duration``: *stream* clients
  hold ``GET /api/v1/spaces/{id}/events`` (the edge passes it through to the origin) and count
  the events; *snapshot* clients GET the snapshot through the edge every 2 s (the page's
  cadence), first at a random moment in the first 2 s.
* Cost is CPU time from /proc (utime + stime) of the origin and of nginx over the window when
  every follower is following, less their idle CPU (measured first, with the Space live and the
  reactions flowing), per 1,000 followers; the origin's own request counts come from its
  ``/metrics``.

Usage::

    python bench/listener_feed.py [--followers 2000] [--duration 20] [--ramp 5] [--rounds 2]

Writes bench/results/listener_feed.json; exits 0 when following by snapshot costs the origin
less than a tenth of what the streams cost (the reason the page switches past the limit).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from medialib.majlis_origin import LOAD_CPU, SERVER_CPU, live_space, origin_process
from medialib.phases import idle_cores, measured_window
from medialib.report import base_machine, pin_to, run_main, write_result
from tests.support.listener import Connection, HttpError
from tests.support.nginx import running_edge

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "listener_feed.json"
#: How often the Space page polls the snapshot without a stream (space.js, pollSnapshot).
SNAPSHOT_EVERY_S = 2.0
REACTION_EVERY_S = 0.25
#: The snapshot must cost the origin less than this share of what the streams cost.
TARGET_SHARE = 0.1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds each follows")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds over which they join")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--generate", choices=["stream", "snapshot"], help=argparse.SUPPRESS)
    parser.add_argument("--edge", help=argparse.SUPPRESS)
    parser.add_argument("--space", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the load generator (a child process on core 1) ------------------------------------------


async def _stream_follower(port: int, path: str, until: float, stats: dict[str, int]) -> None:
    """Hold the event stream open until ``until`` and count the events that come."""
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if int(head.split(b" ", 2)[1]) != 200:
            stats["refused"] += 1
            return
        stats["opened"] += 1
        while (left := until - loop.time()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            if not chunk:
                stats["closed_early"] += 1
                break
            stats["events"] += chunk.count(b"event: ")
    finally:
        writer.close()


async def _snapshot_follower(port: int, path: str, until: float, stats: dict[str, int]) -> None:
    """GET the snapshot every SNAPSHOT_EVERY_S until ``until``, as the Space page does."""
    loop = asyncio.get_running_loop()
    conn = Connection("127.0.0.1", port)
    await asyncio.sleep(random.uniform(0, SNAPSHOT_EVERY_S))
    try:
        while loop.time() < until:
            try:
                await conn.get(path)
                stats["snapshots"] += 1
            except (HttpError, ConnectionError):
                stats["errors"] += 1
            await asyncio.sleep(SNAPSHOT_EVERY_S)
    finally:
        conn.close()


def generate(args: argparse.Namespace) -> int:
    """Run one audience of followers and print its counts as one JSON line."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    port = int(str(args.edge).rsplit(":", 1)[1])
    base = f"/api/v1/spaces/{args.space}"
    stats = {"opened": 0, "refused": 0, "closed_early": 0, "events": 0, "snapshots": 0, "errors": 0}

    async def followers() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def one(i: int) -> None:
            await asyncio.sleep(args.ramp * i / args.followers)
            until = start + args.ramp + args.duration
            if args.generate == "stream":
                await _stream_follower(port, f"{base}/events", until, stats)
            else:
                await _snapshot_follower(port, f"{base}/snapshot", until, stats)

        await asyncio.gather(*(one(i) for i in range(args.followers)))

    print(f"START {time.time()}", flush=True)
    began = time.monotonic()
    asyncio.run(followers())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    busy = (usage.ru_utime + usage.ru_stime) / (time.monotonic() - began)
    print("RESULT " + json.dumps(stats | {"generator_busy": busy}), flush=True)
    return 0


# --- the parent ------------------------------------------------------------------------------


@contextlib.contextmanager
def reactions(origin: str, space_id: str) -> Iterator[None]:
    """A reaction every REACTION_EVERY_S from three accounts, straight at the origin."""
    stop = threading.Event()
    with httpx.Client(base_url=origin, timeout=10) as http:
        tokens = []
        for i in range(3):
            handle = f"fan{i}_{os.getpid()}"
            body = {"handle": handle, "password": "bench password 1", "display_name": "Fan"}
            assert http.post("/api/v1/accounts", json=body).status_code == 201
            login = {"handle": handle, "password": body["password"]}
            tokens.append(http.post("/api/v1/sessions", json=login).json()["token"])

        def react() -> None:
            i = 0
            while not stop.wait(REACTION_EVERY_S):
                auth = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
                http.post(
                    f"/api/v1/spaces/{space_id}/reactions", json={"emoji": "🔥"}, headers=auth
                )
                i += 1

        thread = threading.Thread(target=react, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(5)


def origin_requests(origin: str) -> dict[str, float]:
    """The origin's own count (its /metrics) of snapshot and event-stream requests."""
    from prometheus_client.parser import text_string_to_metric_families

    counts = {"snapshot": 0.0, "events": 0.0, "open_streams": 0.0}
    for family in text_string_to_metric_families(httpx.get(f"{origin}/metrics", timeout=10).text):
        for sample in family.samples:
            if sample.name == "majlis_parked_requests" and sample.labels.get("lane") == "stream":
                counts["open_streams"] = sample.value
            elif sample.name == "majlis_http_requests_total":
                route = sample.labels.get("route", "")
                for kind in counts:
                    if route.endswith("/" + kind):
                        counts[kind] += sample.value
    return counts


def phase(
    args: argparse.Namespace,
    kind: str,
    edge: str,
    space_id: str,
    origin: str,
    pids: dict[str, list[int]],
) -> dict[str, Any]:
    """One audience of ``kind``; CPU of each serving process over the all-following window."""
    window = measured_window(
        [
            *("taskset", "-c", str(LOAD_CPU), sys.executable, __file__, "--generate", kind),
            # "--space=<id>": a Space id may begin with "-", which argparse takes for an option.
            *("--edge", edge, f"--space={space_id}", "--followers", str(args.followers)),
            *("--duration", str(args.duration), "--ramp", str(args.ramp)),
        ],
        pids,
        lambda: origin_requests(origin),
        from_s=args.ramp + 1,
        to_s=args.ramp + args.duration - 1,
    )
    asked, answered = window.before, window.after
    return {
        "kind": kind,
        "window_s": window.seconds,
        "cores": window.cores,
        "origin_requests_per_s": {
            k: (answered[k] - asked[k]) / window.seconds for k in ("snapshot", "events")
        },
        "origin_open_streams": answered["open_streams"],
        "followers": window.result,
    }


def run(args: argparse.Namespace) -> int:
    if args.generate:
        return generate(args)
    pin_to(LOAD_CPU)  # this process runs the speaker bot and the reactions
    with tempfile.TemporaryDirectory(prefix="majlis-feed-") as tmp:
        work = Path(tmp)
        (work / "data").mkdir()
        with (
            origin_process(work) as (origin, origin_proc),
            live_space(origin) as (hls_path, _dash_path),
            running_edge(origin, work / "edge", access_log=False) as edge,
        ):
            space_id = hls_path.split("/")[2]
            for pid in edge.pids():
                os.sched_setaffinity(pid, {SERVER_CPU})
            pids = {"origin": [origin_proc.pid], "nginx": edge.pids()}
            with reactions(origin, space_id):
                time.sleep(3)
                idle = idle_cores(pids)
                print(f"idle cores: {idle}")
                phases = []
                for round_ in range(args.rounds):
                    for kind in ("stream", "snapshot"):
                        result = phase(args, kind, edge.url, space_id, origin, pids) | {
                            "round": round_
                        }
                        print(json.dumps(result))
                        phases.append(result)
    summary = summarize(args, idle, phases)
    print(json.dumps(summary, indent=2))
    result = {
        "settings": {
            k: str(v) for k, v in vars(args).items() if k not in ("generate", "edge", "space")
        },
        "machine": base_machine(("majlis", "httpx", "uvloop")),
        "idle_cores": idle,
        "phases": phases,
        "summary": summary,
    }
    return write_result(args.output, result, summary["target_met"])


def summarize(
    args: argparse.Namespace, idle: dict[str, float], phases: list[dict[str, Any]]
) -> dict[str, Any]:
    """Medians over rounds: marginal cores per 1,000 followers at the origin and the edge."""
    per_k = args.followers / 1000
    kinds: dict[str, Any] = {}
    for kind in ("stream", "snapshot"):
        mine = [p for p in phases if p["kind"] == kind]
        kinds[kind] = {
            name + "_marginal_cores_per_1000": statistics.median(
                max(0.0, p["cores"][name] - idle[name]) for p in mine
            )
            / per_k
            for name in ("origin", "nginx")
        } | {
            "origin_requests_per_s": statistics.median(
                sum(p["origin_requests_per_s"].values()) for p in mine
            ),
            "origin_open_streams": statistics.median(p["origin_open_streams"] for p in mine),
            "followers": [p["followers"] for p in mine],
        }
    stream = kinds["stream"]["origin_marginal_cores_per_1000"]
    snapshot = kinds["snapshot"]["origin_marginal_cores_per_1000"]
    share = snapshot / stream if stream > 0 else None
    return {
        "followers": args.followers,
        "kinds": kinds,
        "origin_share_snapshot_vs_stream": share,
        "target_met": share is not None and share < TARGET_SHARE,
    }


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(run, parse_args, argv)


if __name__ == "__main__":
    sys.exit(main())
