"""One rehearsal, end to end: set up, start the media side, drive the load, report.

This is the ``majlis scaletest`` process. It never imports Locust (see the package docstring):
the engine runs as ``python -m majlis.scaletest.engine`` and hands back JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from majlis.scaletest import playlist
from majlis.scaletest.media_process import MediaJob, MediaProcess
from majlis.scaletest.metrics import MetricsSampler
from majlis.scaletest.plan import Plan
from majlis.scaletest.report import listeners_name, write_report
from majlis.scaletest.setup import SetupError, Stage, check_live, end_space, open_stage
from majlis.scaletest.summary import summarize
from majlis.scaletest.verdict import decide

ENGINE = [sys.executable, "-m", "majlis.scaletest.engine"]


def say(text: str) -> None:
    print(f"majlis scaletest: {text}", flush=True)


def wait_for_parts(hls_url: str, parts: int = 3, timeout_s: float = 30.0) -> None:
    """Listeners start a few parts behind the edge: wait until the playlist has them."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            response = httpx.get(hls_url, timeout=5)
            if (
                response.status_code == 200
                and len(playlist.Playlist.of(response.text).parts) >= parts
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SetupError(f"{hls_url} published no parts within {timeout_s:.0f} s")


def engine_config(plan: Plan, space_id: str) -> dict[str, Any]:
    return {
        "mode": plan.mode,
        "api_url": plan.api_url,
        "hls_url_base": plan.hls_url_base,
        "space_id": space_id,
        "listeners": plan.listeners,
        "spawn_rate": plan.spawn_rate,
        "duration_s": plan.duration_s,
        "expect_workers": plan.expect_workers,
        "master_port": plan.master_port,
        "generator_cpus": list(plan.generator_cpus),
        "protocol": plan.protocol,
        "dash_rendition": plan.dash_rendition,
    }


def drive(plan: Plan, space_id: str) -> dict[str, Any]:
    """Run the engine subprocess (its progress lines go straight to the terminal)."""
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    config = plan.out_dir / "engine-config.json"
    out = plan.out_dir / "engine-result.json"
    config.write_text(json.dumps(engine_config(plan, space_id)))
    out.unlink(missing_ok=True)
    timeout = plan.duration_s + 300 + (120 if plan.mode == "master" else 0)
    code = subprocess.call([*ENGINE, "run", str(config), str(out)], timeout=timeout)
    if code != 0 or not out.exists():
        raise SetupError(f"the load engine failed (exit {code})")
    result: dict[str, Any] = json.loads(out.read_text())
    config.unlink()
    out.unlink()
    return result


def run_worker(plan: Plan) -> int:
    """Become the engine's worker (exec: one process, so stopping it stops the worker)."""
    cpus = ",".join(str(c) for c in plan.generator_cpus)
    sys.stdout.flush()
    os.execv(sys.executable, [*ENGINE, "worker", plan.master_host, str(plan.master_port), cpus])


def run(plan: Plan) -> int:
    if plan.mode == "worker":
        return run_worker(plan)
    try:
        return _rehearse(plan)
    except (SetupError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
        print(f"majlis scaletest: {exc}", file=sys.stderr)
        return 1


def _rehearse(plan: Plan) -> int:
    if plan.space_id:
        check_live(plan.api_url, plan.space_id)
        stage = Stage(plan.space_id, ())
    else:
        say(f"opening a live Space with {plan.speakers} speaker(s) on {plan.api_url}")
        stage = open_stage(plan.api_url, plan.speakers, plan.title)
    hls_url = f"{plan.hls_url_base}/hls/{stage.space_id}/live.m3u8"
    tokens = tuple(m.token for m in stage.members[: plan.speakers])
    media = MediaProcess(MediaJob(plan.api_url, hls_url, stage.space_id, tokens, plan.probes))
    media.start()
    sampler = MetricsSampler(plan.metrics_url)
    try:
        wait_for_parts(hls_url)
        sampler.start()
        time.sleep(1.0)  # a baseline reading before the audience arrives
        say(
            f"{plan.profile}: {plan.listeners} listeners over {plan.over_s:g} s, "
            f"then {plan.hold_s:g} s at full audience; "
            f"{listeners_name(plan.protocol, plan.dash_rendition)} listeners on {plan.hls_url_base}"
        )
        engine = drive(plan, stage.space_id)
    finally:
        sampler.stop()
        media_result = media.stop()
        if not plan.space_id:
            try:
                end_space(plan.api_url, stage)
            except (SetupError, httpx.HTTPError) as exc:
                say(f"could not end the rehearsal Space: {exc}")
    behind_edge = plan.hls_url_base != plan.api_url
    summary, figures = summarize(
        plan.listeners,
        engine,
        media_result,
        sampler.readings,
        behind_edge,
        plan.protocol,
        plan.dash_rendition,
    )
    verdict = decide(plan.target_audience, plan.surge_window_s, figures)
    report = {
        "plan": plan.to_json(),
        "space_id": stage.space_id,
        "summary": summary,
        "verdict": verdict,
        "engine": engine,
        "media": media_result,
        "origin": [asdict(r) for r in sampler.readings],
    }
    html = write_report(plan.out_dir, report)
    say(verdict["summary"])
    say(f"report: {html}")
    return 1 if plan.strict and not verdict["go"] else 0


def load_report(out_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out_dir / "report.json").read_text())
    return data
