"""Live captions in a real Space: how late a cue is, what the recognizer costs, and whether the
audio notices.

Why: issue 16's latency and cost figures. A node runs in this process with captions on and the
default model; speaker bots send espeak-ng speech over WHIP (Harvard sentences with 0.3 s gaps,
so each talks without a pause long enough to end an utterance early: the worst case for cue
latency). The transcript is polled every 0.1 s; a cue's latency is when it appeared minus when
its words ended (the Space's start plus the cue's ``end``).

Reported: cue latency p50/p95/max, cues and dropped utterances, the recognizer process's CPU
(per talking speaker), the node's own CPU, and the mixer clock's stalls (``room.gaps``) and
worst tick lag, all for ``--speakers`` talking at once.

Usage::

    python bench/captions_live.py --speakers 1 --duration 60
    python bench/captions_live.py --speakers 3 --duration 60 --stage 13   # 13 on stage, 3 talk

Needs espeak-ng and the captions extra. Exits 0; the figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from majlis.bots.sources import ClipSource, ToneSource
from majlis.bots.speaker import SpeakerBot
from majlis.media.mixer import SAMPLE_RATE
from tests.support.client import Api, User
from tests.support.server import run_server
from tests.support.speech import speak

SENTENCES = (
    "The boy was there when the sun rose.",
    "Help the woman get back to her feet.",
    "The salt breeze came across from the sea.",
    "It's easy to tell the depth of a well.",
    "The source of the huge river is the clear spring.",
    "The hogs were fed chopped corn and garbage.",
)


def _talk(offset: int) -> np.ndarray:
    gap = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32)
    pieces = []
    for index in range(len(SENTENCES)):
        pieces += [
            speak(SENTENCES[(index + offset) % len(SENTENCES)], "en-us", rate=SAMPLE_RATE),
            gap,
        ]
    return np.concatenate(pieces)


def _children_cpu() -> float:
    """CPU seconds of this process's children (the recognizer), alive ones included."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def _run(base_url: str, server: Any, args: argparse.Namespace) -> dict[str, Any]:
    api = Api(base_url)
    host = api.sign_up("host")
    guests: list[User] = [api.sign_up(f"g{i}") for i in range(max(args.stage, args.speakers) - 1)]
    space = host.create_space("captions bench")
    sid = space["id"]
    host.request("PATCH", f"/api/v1/spaces/{sid}", json={"language": "en", "captions": True})
    for index, guest in enumerate(guests):
        # A full stage is the host, 2 cohosts and 10 speakers.
        role = "cohost" if index < 2 else "speaker"
        put = host.put(f"/api/v1/spaces/{sid}/stage/{guest.handle}", json={"role": role})
        assert put.status_code == 200, put.text
        assert guest.post(f"/api/v1/spaces/{sid}/stage/{guest.handle}/unmute").status_code == 204
    started = datetime.fromisoformat(api.space(sid)["started_at"]).timestamp()
    users = [host, *guests]
    bots = [
        SpeakerBot(
            base_url,
            sid,
            user.token,
            ClipSource(_talk(i), gap_s=0.3) if i < args.speakers else ToneSource(0, amplitude=0.0),
        )
        for i, user in enumerate(users)
    ]
    for bot in bots:
        await bot.connect()
    room = server.services.media.rooms[sid]
    # Warm up: the recognizer's process starts and loads the model with the first utterance.
    seen: dict[int, float] = {}
    while not seen:
        for cue in (
            await asyncio.to_thread(api.http.get, f"/api/v1/spaces/{sid}/transcript")
        ).json()["cues"]:
            seen[cue["id"]] = 0.0
        await asyncio.sleep(0.2)
    captioner = room.captioner
    utterances0, dropped0 = captioner.utterances, captioner.dropped
    gaps0 = room.gaps
    cpu0, node0 = _children_cpu(), time.process_time()
    t0 = time.monotonic()
    latencies: list[float] = []
    while time.monotonic() - t0 < args.duration:
        response = await asyncio.to_thread(api.http.get, f"/api/v1/spaces/{sid}/transcript")
        now = time.time()
        for cue in response.json()["cues"]:
            if cue["id"] not in seen:
                seen[cue["id"]] = now
                latencies.append(now - (started + cue["end"]))
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - t0
    recognizer_cpu = (_children_cpu() - cpu0) / elapsed
    node_cpu = (time.process_time() - node0) / elapsed
    for bot in bots:
        await bot.close()
    api.close()
    latencies.sort()
    return {
        "speakers_talking": args.speakers,
        "on_stage": len(users),
        "duration_s": round(elapsed, 1),
        "cues": len(latencies),
        "utterances": captioner.utterances - utterances0,
        "dropped_utterances": captioner.dropped - dropped0,
        "cue_latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "cue_latency_p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2)
        if latencies
        else None,
        "cue_latency_max_s": round(latencies[-1], 2) if latencies else None,
        "recognizer_cores": round(recognizer_cpu, 3),
        "recognizer_cores_per_talker": round(recognizer_cpu / args.speakers, 3),
        "node_cores_incl_bots": round(node_cpu, 3),
        "mixer_clock_stalls": room.gaps - gaps0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speakers", type=int, default=1, help="talking at once")
    parser.add_argument("--stage", type=int, default=1, help="on stage (the rest silent)")
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as data,
        run_server(Path(data), captions_default=True) as server,
    ):
        result = asyncio.run(_run(server.base_url, server, args))
    print(json.dumps(result, indent=2))
    out = (
        Path(__file__).parent
        / "results"
        / f"captions_live_{args.speakers}of{max(args.stage, args.speakers)}.json"
    )
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
