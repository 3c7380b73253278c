"""The load engine: Locust, in a process of its own (``python -m majlis.scaletest.engine``).

Importing Locust monkeypatches the process with gevent, which is why this module is only ever
run as a subprocess of ``majlis scaletest`` and imported by nothing else.

Roles: ``local`` (one process generates everything), ``master`` (waits for ``expect_workers``
Locust workers, sends them the run's configuration, aggregates their statistics), ``worker``
(takes its share of users from the master). Local and master print one progress line a second
and write the timeline and totals as JSON for the report.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from gevent import monkey  # type: ignore[import-untyped]

monkey.patch_all()

import gevent  # noqa: E402
import locust.runners  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.runners import MasterRunner, Runner, WorkerRunner  # noqa: E402
from locust.stats import RequestStats  # noqa: E402

from majlis.scaletest.dash_user import DashListenerUser  # noqa: E402
from majlis.scaletest.users import BaseListener, ListenerUser  # noqa: E402
from majlis.scaletest.window import delta, percentile  # noqa: E402

CONFIG_MESSAGE = "majlis_config"
#: The listeners' protocol (``--protocol``) → the Locust user that plays it.
USERS: dict[str, type[BaseListener]] = {"dash": DashListenerUser, "hls": ListenerUser}
#: Request names whose per-second counts the timeline keeps.
COUNTED = (
    "join",
    "join 503",
    "join 429",
    "seated",
    "first audio",
    "stall",
    "part",
    "playlist",
    "playlist 503",
    "part 503",
    "heartbeat",
    "audio",
    "segment",
    "segment 503",
    "mpd",
    "chunk latency",
)
#: Request names whose per-second percentiles the timeline keeps.
TIMED = ("join", "seated", "stall", "chunk latency")


def _entry(stats: RequestStats, name: str) -> Any:
    for (entry_name, _method), entry in stats.entries.items():
        if entry_name == name:
            return entry
    return None


class Sampler:
    """Turns cumulative Locust statistics into one timeline row per second."""

    def __init__(self, runner: Runner, started: float) -> None:
        self.runner = runner
        self.started = started
        self.rows: list[dict[str, Any]] = []
        self._counts: dict[str, int] = {}
        self._hist: dict[str, dict[int, int]] = {}
        self._failures = 0
        self._cpu = (time.monotonic(), time.process_time())

    def _generator_cpu(self) -> float:
        if isinstance(self.runner, MasterRunner):
            usages = [c.cpu_usage for c in self.runner.clients.values()]
            return float(max(usages, default=0))
        # This process's CPU over the last second (gevent: one thread does all the work).
        wall, cpu = time.monotonic(), time.process_time()
        before_wall, before_cpu = self._cpu
        self._cpu = (wall, cpu)
        return 100.0 * (cpu - before_cpu) / max(wall - before_wall, 1e-6)

    def sample(self) -> dict[str, Any]:
        stats = self.runner.stats
        row: dict[str, Any] = {
            "t": round(time.time() - self.started, 2),
            "users": self.runner.user_count,
            "generator_cpu": self._generator_cpu(),
        }
        for name in COUNTED:
            entry = _entry(stats, name)
            count = entry.num_requests if entry else 0
            row[name] = count - self._counts.get(name, 0)
            self._counts[name] = count
        for name in TIMED:
            entry = _entry(stats, name)
            hist = dict(entry.response_times) if entry else {}
            window = delta(hist, self._hist.get(name, {}))
            self._hist[name] = hist
            row[f"{name} p50"] = percentile(window, 0.5)
            row[f"{name} p99"] = percentile(window, 0.99)
            row[f"{name} ms"] = sum(ms * n for ms, n in window.items())
        failures = stats.total.num_failures
        row["errors"] = failures - self._failures
        self._failures = failures
        self.rows.append(row)
        return row


def progress_line(row: dict[str, Any], total_users: int, seated: int, protocol: str = "hls") -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}ms"

    media = (
        f"segments/s {row['segment']} chunk p50 {ms(row['chunk latency p50'])}"
        if protocol == "dash"
        else f"parts/s {row['part']}"
    )

    return (
        f"[{row['t']:6.1f}s] users {row['users']}/{total_users} seated {seated}"
        f" | joins/s {row['seated']} 503/s {row['join 503']} 429/s {row['join 429']}"
        f" | join p50 {ms(row['join p50'])} p99 {ms(row['join p99'])}"
        f" | {media} stalls/s {row['stall']} errors/s {row['errors']}"
        f" | generator cpu {row['generator_cpu']:.0f}% lag {row.get('generator_lag_ms', 0):.0f}ms"
    )


def totals(stats: RequestStats) -> dict[str, Any]:
    """Every request name's count, failures and percentiles, for the report."""
    out: dict[str, Any] = {}
    for (name, method), entry in sorted(stats.entries.items()):
        n = entry.num_requests
        out[name] = {
            "type": method,
            "count": n,
            "failures": entry.num_failures,
            "sum_ms": entry.total_response_time,
            "p50_ms": entry.get_response_time_percentile(0.5) if n else None,
            "p90_ms": entry.get_response_time_percentile(0.9) if n else None,
            "p99_ms": entry.get_response_time_percentile(0.99) if n else None,
            "max_ms": entry.max_response_time if n else None,
        }
    out["errors"] = [
        {"name": e.name, "error": str(e.error), "count": e.occurrences}
        for e in stats.errors.values()
    ][:50]
    return out


def _wait_for_workers(runner: MasterRunner, expect: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while runner.worker_count < expect:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"majlis scaletest: only {runner.worker_count} of {expect} workers connected "
                f"within {timeout_s:.0f} s (start them with --worker --master-host ...)"
            )
        gevent.sleep(0.2)


def drive(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run the load as the config says (local or master); the timeline and totals."""
    BaseListener.config = cfg
    protocol = cfg.get("protocol", "hls")
    env = Environment(user_classes=[USERS[protocol]], host=cfg["api_url"], stop_timeout=5)
    runner: Runner
    if cfg["mode"] == "master":
        master = env.create_master_runner("*", cfg["master_port"])
        print(
            f"majlis scaletest: master waiting for {cfg['expect_workers']} workers "
            f"on port {cfg['master_port']}",
            flush=True,
        )
        _wait_for_workers(master, cfg["expect_workers"], cfg.get("worker_timeout_s", 120))
        master.send_message(CONFIG_MESSAGE, cfg)
        runner = master
    else:
        runner = env.create_local_runner()
    started = time.time()
    sampler = Sampler(runner, started)
    runner.start(cfg["listeners"], spawn_rate=cfg["spawn_rate"])
    end = started + cfg["duration_s"]
    next_tick = started + 1
    while time.time() < end:
        gevent.sleep(max(0.0, next_tick - time.time()))
        # How late this tick woke: the generator's own event-loop lag. When it is large the
        # generator was starved of CPU, and its listeners' stalls may be its own, not the
        # deployment's; the report says so.
        lag_ms = max(0.0, (time.time() - next_tick) * 1000)
        next_tick += 1
        row = sampler.sample()
        row["generator_lag_ms"] = round(lag_ms, 1)
        seated = _entry(runner.stats, "seated")
        seated_n = seated.num_requests if seated else 0
        print(progress_line(row, cfg["listeners"], seated_n, protocol), flush=True)
    workers = runner.worker_count if isinstance(runner, MasterRunner) else 0
    # A master must not "stop" its workers first: a stopped worker is forgotten by the master
    # (its later reports are discarded) and never receives "quit". quit() stops them and
    # waits for their final reports; a local runner is stopped, then read.
    if isinstance(runner, MasterRunner):
        runner.quit()
    else:
        runner.stop()
    result = {
        "started": started,
        "ended": time.time(),
        "timeline": sampler.rows,
        "totals": totals(runner.stats),
        "workers": workers,
        "peak_generator_cpu": max((r["generator_cpu"] for r in sampler.rows), default=0.0),
        "peak_generator_lag_ms": max((r["generator_lag_ms"] for r in sampler.rows), default=0.0),
    }
    if not isinstance(runner, MasterRunner):
        runner.quit()
    return result


def work(master_host: str, master_port: int) -> None:
    """Be a Locust worker until the master quits."""
    locust.runners.WORKER_REPORT_INTERVAL = 1.0  # the master's timeline has 1 s rows
    # A stop_timeout is required: on "stop" a worker sleeps it before reporting ready again
    # (None there breaks its message loop and it never hears "quit").
    # Both kinds: the master names which one to spawn (its --protocol).
    env = Environment(user_classes=list(USERS.values()), stop_timeout=1)
    runner: WorkerRunner = env.create_worker_runner(master_host, master_port)

    def configure(environment: Environment, msg: Any, **_kwargs: Any) -> None:
        BaseListener.config = msg.data

    runner.register_message(CONFIG_MESSAGE, configure)
    print(f"majlis scaletest: worker connected to {master_host}:{master_port}", flush=True)
    assert runner.greenlet is not None
    runner.greenlet.join()


def main(argv: list[str]) -> int:
    """``engine run CONFIG.json OUT.json`` or ``engine worker HOST PORT [CPUS]``."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if len(argv) >= 3 and argv[0] == "worker":
        if len(argv) > 3 and argv[3]:
            os.sched_setaffinity(0, {int(c) for c in argv[3].split(",")})
        work(argv[1], int(argv[2]))
        return 0
    if len(argv) == 3 and argv[0] == "run":
        cfg = json.loads(Path(argv[1]).read_text())
        if cfg.get("generator_cpus"):
            os.sched_setaffinity(0, set(cfg["generator_cpus"]))
        Path(argv[2]).write_text(json.dumps(drive(cfg)))
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
