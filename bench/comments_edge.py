"""Comments at scale (issue 15): the origin's cost of 1,000 comments a second read by 5,000
readers behind an nginx edge, with the same readers straight at the origin as the baseline.

Why: a large audience holds no event stream (join says ``events: false``), so its page polls
the newest comments (``GET /api/v1/spaces/{id}/comments``). The origin renders that page at most
once a second per Space and marks it ``public, max-age=1`` + ETag (domain/comments.py), so an
edge should cost the origin about one request a second whatever the audience, while every
comment is a write the origin pays for.

How:

* ``majlis serve`` (SQLite in a fresh data dir, in-process live state) and one nginx worker
  configured by ``majlis edge-config`` (access log off) share core 0 (``taskset``); the load
  generator (this script with ``--generate``, asyncio + uvloop, raw HTTP/1.1 keep-alive
  connections) and this parent run on core 1.
* One live Space (created live; no speaker, so no media work: the idle phase shows what the
  Space itself costs). ``--rate`` comments a second are posted by ``3 x rate`` signed-up writer
  accounts (at most 5 comments per 10 s per account, ``PER_ACCOUNT_PER_10S``: each posts once
  every 3 s), ~80 characters each, **through the edge** (a POST passes straight to the origin,
  as the web page's own would), on a fixed schedule over ``--writer-connections`` connections
  (each waits for its answer: past the origin's ceiling the rate is what they get through).
* Phases: *idle* (nothing), *writes* (the comments alone), *edge* (the comments and ``--readers``
  readers through the edge), *direct* (the comments and ``--direct-readers`` readers straight at
  the origin, for ``--direct-duration``; 1,000 by default, as 5,000 would saturate a one-core
  origin by themselves), ``--rounds`` times (idle once). A reader is a keep-alive
  connection that GETs the newest page, then waits ``--poll`` seconds (``POLL_S`` of
  web/static/js/space-comments.js: 3 s) and again, with the last ETag in If-None-Match as a
  browser's cache would; readers start spread over ``--ramp`` seconds.
* Measured over the window when every reader is reading: CPU (utime + stime from /proc) of the
  origin and of nginx; the origin's own request counts from its ``/metrics``
  (``majlis_http_requests_total``, GET and POST on the comments route); reads answered, errors,
  and staleness: on each answer, the age of the newest comment the reader then holds (its
  ``created_at`` against the reader's clock: one machine).
* Origin cores for writes = *writes* - *idle* (per comment: over the comments it wrote); for
  reads = a reading phase less *idle* and less the comments it wrote at the *writes* phase's
  cost each (a saturated origin writes fewer comments while it also serves readers).
* ``core_busy``/``core0_others``: how busy each core was (all processes), so a run disturbed
  by anything else on the machine shows.

Usage::

    python bench/comments_edge.py [--readers 5000] [--rate 1000] [--duration 20] [--rounds 2]

Writes bench/results/comments_edge.json; exits 0 when the edge cost the origin <= 1.05 comment
page requests a second, the comments were written at >= 95 % of ``--rate`` and no reader got an
error. How many reads the readers made is reported (``reads_per_s`` against ``readers / poll``), not
judged: a reader waits ``--poll`` after each answer, so a slower answer (the load generator's own
event loop included) means fewer polls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from medialib.majlis_origin import LOAD_CPU, SERVER_CPU, origin_process
from medialib.phases import idle_cores, measured_window, process_tree
from medialib.report import (
    base_machine,
    core_load,
    core_times,
    majlis_settings,
    pin_to,
    run_main,
    write_result,
)
from tests.support.nginx import running_edge

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "comments_edge.json"
#: How often the Space page polls the newest comments without an event stream
#: (web/static/js/space-comments.js, POLL_S; 15 s in a hidden tab).
POLL_S = 3.0
#: domain/comments.py: PER_ACCOUNT_PER_10S comments per 10 s per account.
PER_ACCOUNT_PER_10S = 5
#: Each writer account posts at this share of its limit (3 s apart instead of 2 s).
ACCOUNT_HEADROOM = 1.5
TARGET_ORIGIN_GETS_PER_S = 1.05
PASSWORD = "bench password 1"
QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000.0, help="comments a second")
    parser.add_argument(
        "--poll", type=float, default=POLL_S, help="seconds between a reader's polls"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds all read")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds over which readers start")
    parser.add_argument(
        "--direct-readers",
        type=int,
        default=1000,
        help="readers straight at the origin (5,000 would saturate this one-core origin)",
    )
    parser.add_argument("--direct-duration", type=float, default=10.0)
    parser.add_argument("--writer-connections", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-direct", action="store_true")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--generate", choices=["writes", "edge", "direct"], help=argparse.SUPPRESS)
    parser.add_argument("--edge", help=argparse.SUPPRESS)
    parser.add_argument("--origin", help=argparse.SUPPRESS)
    parser.add_argument("--space", help=argparse.SUPPRESS)
    parser.add_argument("--tokens", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--window", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the load generator (a child process on core 1) ------------------------------------------


class HttpError(Exception):
    pass


class Conn:
    """One keep-alive HTTP/1.1 connection: a request, its status, ETag and body."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        try:
            writer.write(head + body)
            raw = await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            if headers.get("transfer-encoding", "").lower() == "chunked":
                pieces = []
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    if not size:
                        await reader.readuntil(b"\r\n")
                        break
                    pieces.append((await reader.readexactly(size + 2))[:-2])
                data = b"".join(pieces)
            else:
                data = await reader.readexactly(int(headers.get("content-length", "0")))
        except BaseException:
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, data

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def _newest_created(body: bytes) -> float | None:
    """``created_at`` of the page's first item (items come newest first, before ``pinned``)."""
    at = body.find(b'"created_at":"')
    if at < 0:
        return None
    start = at + len(b'"created_at":"')
    return datetime.fromisoformat(body[start : body.index(b'"', start)].decode()).timestamp()


def _quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    values.sort()
    return {q: values[min(len(values) - 1, int(len(values) * f))] for q, f in QUANTILES}


class Counts:
    """What happened inside the measured window [lo, hi] (epoch seconds)."""

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi
        self.n: dict[str, int] = {}
        self.total: dict[str, int] = {}
        self.staleness: list[float] = []
        self.read_latency: list[float] = []
        self.write_latency: list[float] = []
        self.write_late: list[float] = []

    def inside(self, at: float) -> bool:
        return self.lo <= at <= self.hi

    def add(self, what: str, at: float) -> None:
        self.total[what] = self.total.get(what, 0) + 1
        if self.inside(at):
            self.n[what] = self.n.get(what, 0) + 1


async def _writers(
    args: argparse.Namespace, tokens: list[str], start: float, until: float, counts: Counts
) -> None:
    """``--rate`` comments a second on a fixed schedule (a late one goes at once),
    slot i by account i mod len(tokens), over ``--writer-connections`` connections."""
    edge = urlsplit(args.edge)
    path = f"/api/v1/spaces/{args.space}/comments"
    total = int((until - start) * args.rate)
    connections = args.writer_connections
    filler = "what a room: I have been listening since the start and I agree with the host"

    async def writer(k: int) -> None:
        conn = Conn(edge.hostname or "", edge.port or 80)
        try:
            for slot in range(k, total, connections):
                due = start + slot / args.rate
                delay = due - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                body = json.dumps({"text": f"#{slot} {filler}"}).encode()
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: {edge.hostname}\r\n"
                    f"Authorization: Bearer {tokens[slot % len(tokens)]}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                sent = time.time()
                try:
                    status, _, _ = await asyncio.wait_for(conn.request(head, body), 10)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                    counts.add("write_error", sent)
                    continue
                done = time.time()
                kind = {201: "written", 429: "write_429"}.get(status, f"write_{status}")
                counts.add(kind, sent)
                if counts.inside(sent):
                    counts.write_latency.append(done - sent)
                    counts.write_late.append(sent - due)
        finally:
            conn.close()

    await asyncio.gather(*(writer(k) for k in range(connections)))


async def _readers(
    args: argparse.Namespace, start: float, until: float, counts: Counts
) -> dict[str, Any]:
    """``--readers`` readers polling the newest page every ``--poll`` seconds, as the page
    does, with If-None-Match (a browser's cache revalidates once max-age=1 has passed)."""
    target = urlsplit(args.edge if args.generate == "edge" else args.origin)
    host, port = target.hostname or "", target.port or 80
    path = f"/api/v1/spaces/{args.space}/comments"
    newest_of: dict[str, float | None] = {}  # ETag -> created_at of its newest comment
    base = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n"
    sizes: list[int] = []

    async def reader(i: int) -> None:
        await asyncio.sleep(max(0.0, start + args.ramp * i / args.readers - time.time()))
        conn = Conn(host, port)
        etag = ""
        newest: float | None = None
        try:
            while time.time() < until:
                head = base + (f"If-None-Match: {etag}\r\n" if etag else "") + "\r\n"
                sent = time.time()
                try:
                    status, headers, body = await asyncio.wait_for(conn.request(head.encode()), 10)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                    counts.add(f"read_error_{type(exc).__name__}", sent)
                    await asyncio.sleep(args.poll)
                    continue
                done = time.time()
                if status == 200:
                    etag = headers.get("etag", "")
                    if etag not in newest_of:
                        newest_of[etag] = _newest_created(body)
                        sizes.append(len(body))
                    newest = newest_of[etag]
                    counts.add("read_200", done)
                elif status == 304:
                    counts.add("read_304", done)
                else:
                    counts.add(f"read_{status}", done)
                if counts.inside(done) and status in (200, 304):
                    counts.read_latency.append(done - sent)
                    if newest is not None:
                        counts.staleness.append(done - newest)
                await asyncio.sleep(args.poll)
        finally:
            conn.close()

    await asyncio.gather(*(reader(i) for i in range(args.readers)))
    return {
        "distinct_pages": len(newest_of),
        # How often the readers' newest page changed (the edge's refresh period, or the node's).
        "seconds_per_new_page": (until - start) / max(1, len(newest_of)),
        "page_bytes_median": statistics.median(sizes or [0]),
    }


def generate(args: argparse.Namespace) -> int:
    """One phase's load; prints START, then its counts as one JSON line (RESULT)."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    tokens = json.loads(args.tokens.read_text())
    lo_s, hi_s = (float(x) for x in args.window.split(","))
    start = time.time() + 0.5
    print(f"START {start}", flush=True)
    counts = Counts(start + lo_s, start + hi_s)
    until = start + args.ramp + args.duration
    began = time.monotonic()

    async def run() -> dict[str, Any]:
        jobs: list[Any] = [_writers(args, tokens, start, until, counts)]
        if args.generate in ("edge", "direct"):
            jobs.append(_readers(args, start, until, counts))
        done = await asyncio.gather(*jobs)
        return done[1] if len(done) > 1 else {}

    pages = asyncio.run(run())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    window = counts.hi - counts.lo
    reads = counts.n.get("read_200", 0) + counts.n.get("read_304", 0)
    errors = {
        k: v
        for k, v in counts.total.items()
        if k.startswith("read_") and k not in ("read_200", "read_304")
    }
    result = {
        "window_s": window,
        "in_window": counts.n,
        "totals": counts.total,
        "written_per_s": counts.n.get("written", 0) / window,
        "reads_per_s": reads / window,
        "expected_reads_per_s": (
            args.readers / args.poll if args.generate in ("edge", "direct") else 0.0
        ),
        "read_errors": errors,
        "staleness_s": _quantiles(counts.staleness),
        "read_latency_s": _quantiles(counts.read_latency),
        "write_latency_s": _quantiles(counts.write_latency),
        "write_late_s": _quantiles(counts.write_late),
        **pages,
        "generator_busy": (usage.ru_utime + usage.ru_stime) / (time.monotonic() - began),
    }
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# --- the parent: server, edge, accounts, phases ----------------------------------------------


async def _sign_up(origin: str, count: int, concurrency: int = 16) -> tuple[str, list[str]]:
    """A host with a live Space, and ``count`` writer accounts' tokens."""
    async with httpx.AsyncClient(base_url=origin, timeout=30) as http:

        async def account(handle: str) -> str:
            body = {"handle": handle, "password": PASSWORD, "display_name": handle.title()}
            made = await http.post("/api/v1/accounts", json=body)
            assert made.status_code == 201, made.text
            login = await http.post(
                "/api/v1/sessions", json={"handle": handle, "password": PASSWORD}
            )
            assert login.status_code == 201, login.text
            return str(login.json()["token"])

        host = await account(f"host_{os.getpid()}")
        auth = {"Authorization": f"Bearer {host}"}
        space = await http.post("/api/v1/spaces", json={"title": "Comments"}, headers=auth)
        assert space.status_code == 201 and space.json()["state"] == "live", space.text
        gate = asyncio.Semaphore(concurrency)

        async def writer(i: int) -> str:
            async with gate:
                return await account(f"w{i}_{os.getpid()}")

        tokens = await asyncio.gather(*(writer(i) for i in range(count)))
        return str(space.json()["id"]), list(tokens)


def origin_counts(origin: str) -> dict[str, float]:
    """The origin's own count (its /metrics) of comment-page GETs and comment POSTs."""
    from prometheus_client.parser import text_string_to_metric_families

    counts = {"get": 0.0, "get_304": 0.0, "post_201": 0.0, "post_other": 0.0}
    for _ in range(50):  # /metrics is shed (503) like any read while the origin is saturated
        answer = httpx.get(f"{origin}/metrics", timeout=10)
        if answer.status_code == 200:
            break
        time.sleep(0.1)
    answer.raise_for_status()
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name != "majlis_http_requests_total":
                continue
            if sample.labels.get("route") != "/api/v1/spaces/{space_id}/comments":
                continue
            method, status = sample.labels.get("method"), sample.labels.get("status")
            if method == "GET":
                counts["get"] += sample.value
                if status == "304":
                    counts["get_304"] += sample.value
            elif method == "POST":
                counts["post_201" if status == "201" else "post_other"] += sample.value
    return counts


def phase(
    args: argparse.Namespace,
    kind: str,
    edge: str,
    origin: str,
    space_id: str,
    tokens: Path,
    pids: dict[str, list[int]],
) -> dict[str, Any]:
    readers = {"writes": 0, "edge": args.readers, "direct": args.direct_readers}[kind]
    duration = args.direct_duration if kind == "direct" else args.duration
    ramp = args.ramp if readers else 0.0
    # Measured from a second after the last reader started until a second before the end
    # (readers' first polls then spread over the whole window, as their later ones).
    lo, hi = ramp + 1.0, ramp + duration - 1.0
    window = measured_window(
        [
            *("taskset", "-c", str(LOAD_CPU), sys.executable, __file__, "--generate", kind),
            *(f"--edge={edge}", f"--origin={origin}", f"--space={space_id}", f"--tokens={tokens}"),
            *("--readers", str(readers), "--rate", str(args.rate), "--poll", str(args.poll)),
            *("--duration", str(duration), "--ramp", str(ramp), "--window", f"{lo},{hi}"),
            *("--writer-connections", str(args.writer_connections)),
        ],
        pids,
        lambda: (origin_counts(origin), core_times()),
        from_s=lo,
        to_s=hi,
    )
    (before, cores_before), (after, cores_after) = window.before, window.after
    per_s = {k: (after[k] - before[k]) / window.seconds for k in before}
    busy = core_load(cores_before, cores_after)
    return {
        "kind": kind,
        "readers": readers,
        "window_s": window.seconds,
        "cores": window.cores,
        "origin_per_s": per_s,
        # How busy each core was, all processes: core 0 well above origin + nginx, or core 1
        # above the generator, means something else ran on the machine meanwhile.
        "core_busy": busy,
        "core0_others": busy.get(SERVER_CPU, 0.0) - sum(window.cores.values()),
        "load": window.result,
    }


def run(args: argparse.Namespace) -> int:
    if args.generate:
        return generate(args)
    pin_to(LOAD_CPU)
    load_before = os.getloadavg()
    accounts = math.ceil(args.rate * 10 / PER_ACCOUNT_PER_10S * ACCOUNT_HEADROOM)
    with (
        tempfile.TemporaryDirectory(prefix="majlis-comments-") as tmp,
        majlis_settings(
            signup_per_ip_per_min=str(accounts * 10),
            signin_per_ip_per_min=str(accounts * 10),
            abandoned_space_end_s="0",  # no speaker ever connects; the Space stays live
        ),
    ):
        work = Path(tmp)
        (work / "data").mkdir()
        with (
            origin_process(work) as (origin, origin_proc),
            running_edge(origin, work / "edge", access_log=False) as edge,
        ):
            for pid in edge.pids():
                os.sched_setaffinity(pid, {SERVER_CPU})
            began = time.monotonic()
            space_id, tokens = asyncio.run(_sign_up(origin, accounts))
            print(
                f"{accounts} writer accounts and a live Space in {time.monotonic() - began:.1f} s"
            )
            token_file = work / "tokens.json"
            token_file.write_text(json.dumps(tokens))
            pids = {"origin": process_tree(origin_proc.pid), "nginx": edge.pids()}
            time.sleep(2)
            idle = idle_cores(pids, 8.0)
            print(f"idle cores: {idle}")
            phases = []
            kinds = ["writes", "edge"] + ([] if args.skip_direct else ["direct"])
            for round_ in range(args.rounds):
                for kind in kinds:
                    result = phase(args, kind, edge.url, origin, space_id, token_file, pids)
                    result["round"] = round_
                    print(json.dumps(result))
                    phases.append(result)
                    time.sleep(2)
    summary = summarize(args, idle, phases)
    print(json.dumps(summary, indent=2))
    result = {
        "settings": {
            k: str(v)
            for k, v in vars(args).items()
            if k not in ("generate", "edge", "origin", "space", "tokens", "window")
        }
        | {"writer_accounts": str(accounts)},
        "machine": base_machine(("majlis", "httpx", "uvloop", "uvicorn")),
        "loadavg_before_after": [load_before, os.getloadavg()],
        "idle_cores": idle,
        "phases": phases,
        "summary": summary,
    }
    return write_result(args.output, result, summary["target_met"])


def summarize(
    args: argparse.Namespace, idle: dict[str, float], phases: list[dict[str, Any]]
) -> dict[str, Any]:
    """Medians over rounds; reads' cost is each reading phase less the writes-only phase of
    the same round."""

    def of(kind: str) -> list[dict[str, Any]]:
        return [p for p in phases if p["kind"] == kind]

    def median(values: list[float]) -> Any:
        return statistics.median(values) if values else None

    writes = {p["round"]: p for p in of("writes")}

    def per_comment(p: dict[str, Any]) -> float:
        """Origin CPU seconds per comment in round p's writes-only phase."""
        w = writes[p["round"]]
        cores = float(w["cores"]["origin"]) - idle["origin"]
        return cores / max(1.0, float(w["origin_per_s"]["post_201"]))

    def for_reads(p: dict[str, Any]) -> float:
        """The phase's origin CPU less idle and less its own comments at the writes-only
        phase's cost each (a saturated origin writes fewer while it also serves reads)."""
        posts = float(p["origin_per_s"]["post_201"])
        return float(p["cores"]["origin"]) - idle["origin"] - posts * per_comment(p)

    out: dict[str, Any] = {
        "writes_only": {
            "written_per_s": median([p["load"]["written_per_s"] for p in of("writes")]),
            "origin_cores": median([p["cores"]["origin"] for p in of("writes")]),
            "origin_cores_for_writes": median(
                [p["cores"]["origin"] - idle["origin"] for p in of("writes")]
            ),
            "origin_ms_per_comment": median([1000 * per_comment(p) for p in of("writes")]),
            "nginx_cores": median([p["cores"]["nginx"] for p in of("writes")]),
            "write_latency_s": [p["load"]["write_latency_s"] for p in of("writes")],
        }
    }
    for kind in ("edge", "direct"):
        mine = of(kind)
        if not mine:
            continue
        out[kind] = {
            "readers": mine[0]["readers"],
            "written_per_s": median([p["load"]["written_per_s"] for p in mine]),
            "reads_per_s": median([p["load"]["reads_per_s"] for p in mine]),
            "expected_reads_per_s": mine[0]["load"]["expected_reads_per_s"],
            "origin_gets_per_s": median([p["origin_per_s"]["get"] for p in mine]),
            "origin_posts_per_s": median([p["origin_per_s"]["post_201"] for p in mine]),
            "origin_cores": median([p["cores"]["origin"] for p in mine]),
            "origin_cores_for_reads": median([for_reads(p) for p in mine]),
            # Per GET where the origin answered enough of them to tell (not behind the edge).
            "origin_ms_per_get": median(
                [
                    1000 * for_reads(p) / p["origin_per_s"]["get"]
                    for p in mine
                    if p["origin_per_s"]["get"] >= 10
                ]
            ),
            "nginx_cores": median([p["cores"]["nginx"] for p in mine]),
            "nginx_cores_for_reads": median(
                [p["cores"]["nginx"] - writes[p["round"]]["cores"]["nginx"] for p in mine]
            ),
            "read_errors": [p["load"]["read_errors"] for p in mine],
            "core0_others": [p["core0_others"] for p in mine],
            "staleness_s": [p["load"]["staleness_s"] for p in mine],
            "read_latency_s": [p["load"]["read_latency_s"] for p in mine],
            "generator_busy": [p["load"]["generator_busy"] for p in mine],
        }
    edge = out.get("edge", {})
    out["target_met"] = bool(
        edge
        and edge["origin_gets_per_s"] <= TARGET_ORIGIN_GETS_PER_S
        and edge["written_per_s"] >= 0.95 * args.rate
        and not any(edge["read_errors"])
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(run, parse_args, argv)


if __name__ == "__main__":
    sys.exit(main())
