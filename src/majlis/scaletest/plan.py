"""What a scaletest run does: its flags, checked once, and the load profile they describe.

Profiles (all end with ``--hold`` seconds at the full audience, so steady state is measured):

- ``steady``: the audience arrives over a short warm-up (``--over``, default 5 s) and stays.
- ``ramp``: the audience grows linearly to ``--listeners`` over ``--over`` seconds (default 60).
- ``surge``: every listener arrives within ``--over`` seconds (default 10): the doors-open minute.

Ramp and surge are the same mechanism at different rates; they are separate names because an
operator plans them differently (a surge is where admission control and Retry-After matter).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROFILES = {"steady": 5.0, "ramp": 60.0, "surge": 10.0}
#: What the simulated listeners play: low-latency DASH as the web client's dash.js does (every
#: browser with Media Source Extensions), or LL-HLS as hls.js and Safari do (the fallback).
PROTOCOLS = ("dash", "hls")
#: The DASH rendition the listeners play: Opus where the browser plays it (the MPD's highest
#: selectionPriority, what dash.js picks in Chrome, Edge, Firefox), else AAC.
DASH_RENDITIONS = ("opus", "aac")
#: The most speakers a stage holds (host + 2 cohosts + 10 speakers).
MAX_SPEAKERS = 13


@dataclass(frozen=True)
class Plan:
    api_url: str
    hls_url_base: str
    metrics_url: str
    listeners: int
    speakers: int
    probes: int
    profile: str
    over_s: float
    hold_s: float
    target_audience: int
    surge_window_s: float
    out_dir: Path
    space_id: str | None = None
    mode: str = "local"  # local | master | worker
    expect_workers: int = 0
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    generator_cpus: tuple[int, ...] = ()
    strict: bool = False
    title: str = "Scaletest rehearsal"
    protocol: str = "dash"
    dash_rendition: str = "opus"

    @property
    def spawn_rate(self) -> float:
        """Listeners started per second so that all have arrived after ``over_s``."""
        return max(self.listeners / max(self.over_s, 0.001), 0.1)

    @property
    def duration_s(self) -> float:
        return self.over_s + self.hold_s

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        data["generator_cpus"] = list(self.generator_cpus)
        return data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``majlis scaletest`` flags (the CLI owns the subparser, this module its contents)."""
    target = parser.add_argument_group("target")
    target.add_argument("--api-url", help="origin or API node, e.g. http://127.0.0.1:8000")
    target.add_argument(
        "--hls-url-base",
        help="where listeners fetch their media, DASH or HLS (an edge); default: --api-url",
    )
    target.add_argument("--metrics-url", help="the origin's /metrics; default: API URL + /metrics")
    target.add_argument("--space-id", help="use this live Space instead of creating one")
    load = parser.add_argument_group("load")
    load.add_argument("--listeners", type=int, default=100, help="simulated listeners (100)")
    load.add_argument("--speakers", type=int, default=1, help="WHIP bot speakers on stage (1)")
    load.add_argument("--probes", type=int, default=2, help="listeners that decode audio (2)")
    load.add_argument("--profile", choices=sorted(PROFILES), default="steady")
    load.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="dash",
        help="what listeners play: dash (LL-DASH, as the web client does) or hls (LL-HLS)",
    )
    load.add_argument(
        "--dash-rendition",
        choices=DASH_RENDITIONS,
        default="opus",
        help="the DASH rendition they play: opus (what dash.js picks where it can) or aac",
    )
    load.add_argument("--over", type=float, help="seconds for the audience to arrive")
    load.add_argument("--hold", type=float, default=30.0, help="seconds at full audience (30)")
    load.add_argument(
        "--generator-cpus", help="pin the load generator to these CPUs, e.g. 1 or 0,1"
    )
    verdict = parser.add_argument_group("verdict")
    verdict.add_argument("--target-audience", type=int, help="audience tonight must hold")
    verdict.add_argument(
        "--surge-window", type=float, default=60.0, help="seconds tonight's audience arrives in"
    )
    verdict.add_argument("--out", type=Path, default=Path("scaletest-report"), help="report dir")
    verdict.add_argument("--strict", action="store_true", help="exit 1 on a NO-GO verdict")
    dist = parser.add_argument_group("distributed (Locust master and workers)")
    dist.add_argument("--master", action="store_true", help="run as the Locust master")
    dist.add_argument("--expect-workers", type=int, default=0, help="workers the master awaits")
    dist.add_argument("--worker", action="store_true", help="run as a Locust worker")
    dist.add_argument("--master-host", default="127.0.0.1", help="the master a worker joins")
    dist.add_argument("--master-port", type=int, default=5557, help="the master's port (5557)")


def _url(value: str, flag: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{flag} must be an http:// or https:// URL, not {value!r}")
    return value.rstrip("/")


def _cpus(value: str | None) -> tuple[int, ...]:
    if not value:
        return ()
    try:
        cpus = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise ValueError(
            f"--generator-cpus takes CPU numbers like 1 or 0,1, not {value!r}"
        ) from None
    if any(cpu < 0 for cpu in cpus):
        raise ValueError("--generator-cpus: CPU numbers start at 0")
    return cpus


def from_args(args: argparse.Namespace) -> Plan:
    """A checked Plan, or ValueError with a sentence an operator can act on."""
    if args.master and args.worker:
        raise ValueError("--master and --worker exclude each other")
    if not 1 <= args.master_port <= 65535:
        raise ValueError("--master-port must be 1-65535")
    if args.worker:
        return Plan(
            api_url="",
            hls_url_base="",
            metrics_url="",
            listeners=0,
            speakers=0,
            probes=0,
            profile="steady",
            over_s=0,
            hold_s=0,
            target_audience=0,
            surge_window_s=0,
            out_dir=args.out,
            mode="worker",
            master_host=args.master_host,
            master_port=args.master_port,
            generator_cpus=_cpus(args.generator_cpus),
        )
    if not args.api_url:
        raise ValueError("--api-url is required (the origin or an API node)")
    api_url = _url(args.api_url, "--api-url")
    hls = _url(args.hls_url_base, "--hls-url-base") if args.hls_url_base else api_url
    metrics = _url(args.metrics_url, "--metrics-url") if args.metrics_url else api_url + "/metrics"
    if not 1 <= args.listeners <= 1_000_000:
        raise ValueError("--listeners must be 1 to 1,000,000")
    if not 0 <= args.speakers <= MAX_SPEAKERS:
        raise ValueError(f"--speakers must be 0 to {MAX_SPEAKERS} (a full stage)")
    if args.space_id and args.speakers:
        raise ValueError(
            "--space-id uses an existing Space: its speakers are yours; add --speakers 0"
        )
    if not 0 <= args.probes <= 20:
        raise ValueError("--probes must be 0 to 20")
    over = PROFILES[args.profile] if args.over is None else args.over
    if not 0 < over <= 3600 or not math.isfinite(over):
        raise ValueError("--over must be more than 0 and at most 3600 seconds")
    if not 1 <= args.hold <= 24 * 3600:
        raise ValueError("--hold must be 1 second to 24 hours")
    if args.target_audience is not None and args.target_audience < 1:
        raise ValueError("--target-audience must be at least 1")
    if not 1 <= args.surge_window <= 24 * 3600:
        raise ValueError("--surge-window must be 1 second to 24 hours")
    if args.master and args.expect_workers < 1:
        raise ValueError("--master needs --expect-workers N (at least 1)")
    if args.expect_workers and not args.master:
        raise ValueError("--expect-workers only makes sense with --master")
    return Plan(
        api_url=api_url,
        hls_url_base=hls,
        metrics_url=metrics,
        listeners=args.listeners,
        speakers=args.speakers,
        probes=args.probes,
        profile=args.profile,
        over_s=over,
        hold_s=args.hold,
        target_audience=args.target_audience or args.listeners,
        surge_window_s=args.surge_window,
        out_dir=args.out,
        space_id=args.space_id,
        mode="master" if args.master else "local",
        expect_workers=args.expect_workers,
        master_host=args.master_host,
        master_port=args.master_port,
        generator_cpus=_cpus(args.generator_cpus),
        strict=args.strict,
        protocol=args.protocol,
        dash_rendition=args.dash_rendition,
    )
