"""What the node's cancel-safe Redis client costs per command, against plain redis-py.

Why: ``majlis.seams.redis_client`` awaits every send through a task of its own, so that a cancel
is never lost on Python 3.11. Every join, heartbeat and placement goes through it; the extra
task must not cost what a join can feel. The two clients alternate rounds in one process, pinned
to one core, against the machine's Redis (the server pinned to the other core, if it runs here).

Usage::

    taskset -c 1 python bench/redis_send.py [--commands 20000] [--rounds 5]

Writes bench/results/redis_send.json; exits 0 when the cancel-safe client's median round trip is
within 10 % of plain redis-py's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path

from redis.asyncio import Redis

from majlis.seams.redis_client import redis_client

RESULTS = Path(__file__).parent / "results" / "redis_send.json"
#: The verdict's bound: the cancel-safe client may cost this much more per round trip.
WITHIN = 1.10


async def _round_trip_us(redis: Redis, commands: int) -> float:
    await redis.get("majlis-bench-redis-send")
    started = time.perf_counter()
    for _ in range(commands):
        await redis.get("majlis-bench-redis-send")
    return (time.perf_counter() - started) / commands * 1e6


async def _measure(url: str, commands: int, rounds: int) -> dict[str, list[float]]:
    clients = {"plain": Redis.from_url(url), "cancel_safe": redis_client(url)}
    samples: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for _ in range(rounds):
            for name, client in clients.items():
                samples[name].append(round(await _round_trip_us(client, commands), 1))
    finally:
        for client in clients.values():
            await client.aclose()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    samples = asyncio.run(_measure(args.url, args.commands, args.rounds))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    ratio = medians["cancel_safe"] / medians["plain"]
    ok = ratio <= WITHIN
    for name, values in samples.items():
        print(f"{name:12s} GET round trip: median {medians[name]:.1f} us  rounds {values}")
    print(f"cancel-safe / plain = {ratio:.3f} ({'OK' if ok else 'FAIL'}: bound {WITHIN})")
    RESULTS.write_text(
        json.dumps(
            {
                "settings": vars(args),
                "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
                "samples_us": samples,
                "median_us": medians,
                "ratio": round(ratio, 3),
                "ok": ok,
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
