"""``majlis demo``: the whole system plus a live Space where a synthetic speaker talks.

Everything goes through the public protocols (HTTP API, WHIP), exactly as a real host and
speaker would: the demo is also a smoke test of the product a newcomer can hear in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from pathlib import Path

import httpx

from majlis.app import create_app
from majlis.bots.sources import ClipSource
from majlis.bots.speaker import SpeakerBot
from majlis.config import Settings
from majlis.media.assets.clip import load_demo_clip
from majlis.serving import server_for

log = logging.getLogger(__name__)
DEMO_HANDLE = "majlis_demo"
DEMO_TITLE = "majlis demo · مجلس تجريبي"


async def _demo_host_token(http: httpx.AsyncClient, data_dir: Path) -> str:
    """Sign in the demo host, creating it on first run (its password lives in the data dir)."""
    credentials = data_dir / "demo-host.json"
    if credentials.exists():
        password = json.loads(credentials.read_text())["password"]
    else:
        password = secrets.token_urlsafe(18)
        response = await http.post(
            "/api/v1/accounts",
            json={"handle": DEMO_HANDLE, "password": password, "display_name": "Majlis Demo"},
        )
        response.raise_for_status()
        credentials.write_text(json.dumps({"handle": DEMO_HANDLE, "password": password}))
        credentials.chmod(0o600)
    response = await http.post(
        "/api/v1/sessions", json={"handle": DEMO_HANDLE, "password": password}
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def open_demo_space(
    base_url: str, data_dir: Path, keep: dict[str, object] | None = None
) -> tuple[str, SpeakerBot]:
    """Open the demo Space; ``keep`` receives its id, the host's token and the bot as soon as
    each exists, so a stop at any moment can still end what was opened."""
    keep = {} if keep is None else keep
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as http:
        token = await _demo_host_token(http, data_dir)
        keep["token"] = token
        auth = {"Authorization": f"Bearer {token}"}
        live = (await http.get("/api/v1/spaces", params={"state": "live", "limit": 100})).json()
        for space in live["items"]:
            if space["host"]["handle"] == DEMO_HANDLE:
                await http.post(f"/api/v1/spaces/{space['id']}/end", headers=auth)
        response = await http.post("/api/v1/spaces", json={"title": DEMO_TITLE}, headers=auth)
        response.raise_for_status()
        space_id: str = response.json()["id"]
        keep["space_id"] = space_id
    bot = SpeakerBot(base_url, space_id, token, ClipSource(load_demo_clip()))
    keep["bot"] = bot
    await bot.connect()
    return space_id, bot


async def run_demo(settings: Settings) -> None:
    """Serve, open the demo Space, and end it (recording finalized) when the demo stops:
    a Space left live by a stopped demo would be listed as live, playing silence, on the next start.
    """
    demo: dict[str, object] = {}

    async def end_demo_space() -> None:
        bot = demo.get("bot")
        if isinstance(bot, SpeakerBot):
            with contextlib.suppress(Exception):
                await bot.close()
        if "space_id" in demo:
            async with httpx.AsyncClient(base_url=str(demo["base"]), timeout=10) as http:
                await http.post(
                    f"/api/v1/spaces/{demo['space_id']}/end",
                    headers={"Authorization": f"Bearer {demo['token']}"},
                )

    server = server_for(settings, create_app(settings), before_shutdown=end_demo_space)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # re-raises why the server could not start
            return
        await asyncio.sleep(0.05)
    local = f"http://127.0.0.1:{settings.port}" if settings.host in ("0.0.0.0", "::") else None
    base = local or f"http://{settings.host}:{settings.port}"
    demo["base"] = base
    space_id, _ = await open_demo_space(base, settings.data_dir, demo)
    print(f"\n  majlis demo is live. Open {base}/spaces/{space_id} and press play.\n", flush=True)
    print(f"  Host your own: {base}/spaces/new  (API docs: {base}/docs)\n", flush=True)
    await serving
