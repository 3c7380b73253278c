"""Screenshots of the web client for docs/web-client.md: desktop (1280x800) and phone (390x844),
English and Arabic, of home, a live Space (as a listener, as its host, the host's sheet, the
comments), a clip's page and its embed player, a profile, notifications and sign-in.

    .venv/bin/python -m scripts.screenshots [--out docs/screenshots] [--only home,space-listener]

It starts its own ``majlis serve`` on a free port with a throw-away data directory, fills it
through the public API like real people would (accounts in both scripts, follows, a live Space
where a bot speaker talks the demo clip over WHIP, another live Space, a scheduled one, an
ended one, some listeners), then drives Debian's Chromium with Playwright.

Fonts matter for Arabic: install one with Arabic shapes first (Debian: ``apt-get install
fonts-noto-core``, which has Noto Sans Arabic); Chromium falls back to DejaVu Sans otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from majlis.bots.sources import ClipSource
from majlis.bots.speaker import SpeakerBot
from majlis.media.assets.clip import load_demo_clip
from tests.support.browser import CHROMIUM, FAKE_MICROPHONE_FLAGS, HEADLESS_FLAGS
from tests.support.nginx import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = (*HEADLESS_FLAGS, *FAKE_MICROPHONE_FLAGS, "--font-render-hinting=none")
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
LANGS = {"en": "en-US", "ar": "ar"}
PASSWORD = secrets.token_urlsafe(12)

PEOPLE = {
    "layla": "ليلى حسن",
    "omar": "Omar Haddad",
    "sara": "Sara Khalil",
    "nour": "نور الهدى",
    "yusuf": "Yusuf Amin",
    "mariam": "مريم العلي",
}


@dataclass
class Scene:
    base: str
    tokens: dict[str, str]
    accounts: dict[str, dict[str, Any]]
    live_id: str
    heartbeats: list[str]
    clip_id: str = ""
    replay_id: str = ""


def keep_listening(base: str, urls: list[str], stop: threading.Event) -> None:
    """The crowd's heartbeats, so listener counts stay up while the screenshots are taken."""
    with httpx.Client(base_url=base, timeout=5) as http:
        while not stop.wait(4):
            for url in urls:
                with contextlib.suppress(httpx.HTTPError):
                    http.post(url)


@contextlib.contextmanager
def serve(data_dir: Path) -> Iterator[str]:
    """``majlis serve`` in a child process until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "majlis", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None:
                raise SystemExit(f"majlis serve exited: {process.stderr and process.stderr.read()}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(10)


class Bot:
    """The demo clip spoken over WHIP by a stage member, on its own thread and event loop
    (Playwright's sync API must not share a thread with a running asyncio loop)."""

    def __init__(self, base: str, space_id: str, token: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bot = SpeakerBot(base, space_id, token, ClipSource(load_demo_clip()))
        self._call(self.bot.connect())

    def _call(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(30)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self.bot.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json() if response.content else None


def populate(base: str) -> Scene:
    """People, follows, Spaces in every state, listeners: what a lived-in majlis looks like."""
    http = httpx.Client(base_url=base, timeout=20)
    tokens: dict[str, str] = {}
    accounts: dict[str, dict[str, Any]] = {}
    for handle, name in PEOPLE.items():
        ok(
            http.post(
                "/api/v1/accounts",
                json={"handle": handle, "password": PASSWORD, "display_name": name},
            )
        )
        session = ok(http.post("/api/v1/sessions", json={"handle": handle, "password": PASSWORD}))
        tokens[handle] = session["token"]

    def as_(handle: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[handle]}"}

    for fan, stars in {
        "yusuf": ["layla", "omar", "sara", "nour"],
        "layla": ["omar", "sara", "yusuf"],
        "omar": ["layla"],
        "sara": ["layla", "yusuf"],
        "nour": ["layla", "yusuf"],
        "mariam": ["layla"],
    }.items():
        for star in stars:
            ok(http.post(f"/api/v1/accounts/{star}/follow", headers=as_(fan)))

    soon = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    tomorrow = (datetime.now(UTC) + timedelta(days=1, hours=2)).isoformat()
    ok(
        http.post(
            "/api/v1/spaces",
            json={"title": "Weekly product AMA", "scheduled_start": soon},
            headers=as_("omar"),
        )
    )
    ok(
        http.post(
            "/api/v1/spaces",
            # A pre-show planned for tomorrow: "Scheduled", not "Doors open", until then.
            json={
                "title": "أمسية شعرية: قصائد من الأندلس",
                "scheduled_start": tomorrow,
                "doors_open_minutes": 15,
            },
            headers=as_("nour"),
        )
    )
    ended = ok(
        http.post(
            "/api/v1/spaces", json={"title": "Open mic: first impressions"}, headers=as_("mariam")
        )
    )
    time.sleep(1.5)
    ok(http.post(f"/api/v1/spaces/{ended['id']}/end", headers=as_("mariam")))

    other = ok(
        http.post(
            "/api/v1/spaces",
            json={"title": "Design systems for bilingual apps"},
            headers=as_("sara"),
        )
    )
    # Yusuf asks to speak in Sara's Space, is brought up, then made a cohost: his inbox says
    # what happened ("approved your request", "made you a cohost").
    ok(http.post(f"/api/v1/spaces/{other['id']}/requests", headers=as_("yusuf")))
    for role in ("speaker", "cohost"):
        ok(
            http.put(
                f"/api/v1/spaces/{other['id']}/stage/yusuf",
                json={"role": role},
                headers=as_("sara"),
            )
        )
    live = ok(
        http.post(
            "/api/v1/spaces",
            json={"title": "قهوة الصباح: التقنية في حياتنا اليومية"},
            headers=as_("layla"),
        )
    )
    # Live captions on, in Arabic: the listener's caption line shows what Whisper heard.
    ok(
        http.patch(
            f"/api/v1/spaces/{live['id']}",
            json={"captions": True, "language": "ar"},
            headers=as_("layla"),
        )
    )
    # Omar asks to speak and is brought on stage (his bot talks); Sara is a cohost.
    for handle, role in (("omar", "speaker"), ("sara", "cohost")):
        ok(http.post(f"/api/v1/spaces/{live['id']}/requests", headers=as_(handle)))
        ok(
            http.put(
                f"/api/v1/spaces/{live['id']}/stage/{handle}",
                json={"role": role},
                headers=as_("layla"),
            )
        )
    # Brought on stage muted: Omar unmutes himself, so his bot's voice is in the mix.
    ok(http.post(f"/api/v1/spaces/{live['id']}/stage/omar/unmute", headers=as_("omar")))
    ok(http.post(f"/api/v1/spaces/{live['id']}/requests", headers=as_("mariam")))
    # The host pins the episode's notes: everyone sees the title and the domain.
    ok(
        http.put(
            f"/api/v1/spaces/{live['id']}/link",
            json={"url": "https://qahwa.example/notes/42", "title": "ملاحظات الحلقة والمراجع"},
            headers=as_("layla"),
        )
    )
    # A few comments in the room; the host pins the question she will take next.
    said = {}
    for handle, text in (
        ("yusuf", "صباح الخير من الرياض ☕"),
        ("mariam", "Will you talk about offline-first apps?"),
        ("nour", "سؤال: كيف نحمي خصوصية الأطفال مع الأجهزة الذكية؟"),
    ):
        said[handle] = ok(
            http.post(
                f"/api/v1/spaces/{live['id']}/comments", json={"text": text}, headers=as_(handle)
            )
        )
    ok(
        http.post(
            f"/api/v1/spaces/{live['id']}/comments/{said['nour']['id']}/pin",
            headers=as_("layla"),
        )
    )
    heartbeats: list[str] = []
    for space_id, crowd in ((live["id"], 23), (other["id"], 8)):
        for _ in range(crowd):
            joined = http.post(f"/api/v1/spaces/{space_id}/join")
            if joined.status_code == 200:
                heartbeats.append(joined.json()["heartbeat_url"])
    for handle in PEOPLE:
        accounts[handle] = ok(http.get(f"/api/v1/accounts/{handle}"))
    http.close()
    return Scene(
        base=base, tokens=tokens, accounts=accounts, live_id=live["id"], heartbeats=heartbeats
    )


SHOTS: dict[str, tuple[str | None, str]] = {
    # name: (signed in as, path)
    "home": ("yusuf", "/"),
    "space-listener": ("yusuf", "/spaces/{live}"),
    "space-host": ("layla", "/spaces/{live}"),
    "space-host-sheet": ("layla", "/spaces/{live}"),
    "space-comments": ("yusuf", "/spaces/{live}"),
    "space-replay": ("yusuf", "/spaces/{replay}"),
    "clip": ("yusuf", "/clips/{clip}"),
    "embed-clip": (None, "/embed/clips/{clip}"),
    "profile": ("yusuf", "/@layla"),
    "notifications": ("yusuf", "/notifications"),
    "signin": (None, "/signin"),
    "home-signed-out": (None, "/"),
}


def _open_host_sheet(page: Any, form: str) -> None:
    """On a phone the host's tools are a bottom sheet opened from the bar; on a wide screen
    they are the side panel, in view already."""
    if form == "phone":
        page.locator("#host-toggle").click()
    page.wait_for_timeout(400)


def _show_comments(page: Any, form: str) -> None:
    page.locator("#comments").scroll_into_view_if_needed()
    page.wait_for_timeout(300)


def _caption_shown(page: Any, form: str) -> None:
    """A listener sees captions as they are recognized: wait for the next one."""
    with contextlib.suppress(Exception):
        page.wait_for_function(
            "() => (window.majlis.captions || []).length > 0", timeout=30_000, polling=200
        )


def _show_transcript(page: Any, form: str) -> None:
    with contextlib.suppress(Exception):
        page.wait_for_function("() => window.majlis.transcript > 0", timeout=10_000)
    page.locator("#transcript").scroll_into_view_if_needed()
    page.wait_for_timeout(300)


ACTIONS = {
    "space-host-sheet": _open_host_sheet,
    "space-comments": _show_comments,
    "space-listener": _caption_shown,
    "space-replay": _show_transcript,
}


def make_replay(scene: Scene) -> None:
    """Nour hosts a short captioned Space in Arabic (the demo clip, spoken by her bot) and ends
    it: its replay page shows the transcript."""
    with httpx.Client(base_url=scene.base, timeout=30) as http:
        headers = {"Authorization": f"Bearer {scene.tokens['nour']}"}
        space = ok(
            http.post("/api/v1/spaces", json={"title": "ليلة الأسئلة المفتوحة"}, headers=headers)
        )
        ok(
            http.patch(
                f"/api/v1/spaces/{space['id']}",
                json={"captions": True, "language": "ar"},
                headers=headers,
            )
        )
        bot = Bot(scene.base, space["id"], scene.tokens["nour"])
        try:
            for _ in range(120):
                cues = ok(http.get(f"/api/v1/spaces/{space['id']}/transcript"))["cues"]
                if len(cues) >= 4:
                    break
                time.sleep(0.5)
        finally:
            bot.close()
        ok(http.post(f"/api/v1/spaces/{space['id']}/end", headers=headers))
        scene.replay_id = space["id"]


def make_clip(scene: Scene) -> None:
    """Yusuf clips what the bot has said so far (the page of a clip is one of the shots)."""
    with httpx.Client(base_url=scene.base, timeout=30) as http:
        headers = {"Authorization": f"Bearer {scene.tokens['yusuf']}"}
        for _ in range(40):
            made = http.post(
                f"/api/v1/spaces/{scene.live_id}/clips", json={"seconds": 20}, headers=headers
            )
            if made.status_code == 201 and made.json()["duration"] >= 5:
                scene.clip_id = made.json()["id"]
                return
            time.sleep(0.5)
        raise RuntimeError(f"no clip: {made.status_code} {made.text}")


def shoot(scene: Scene, out: Path, only: set[str] | None) -> list[Path]:
    from playwright.sync_api import sync_playwright

    made: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS)
        )
        for name, (who, path) in SHOTS.items():
            if only and name not in only:
                continue
            for lang, locale in LANGS.items():
                for form, (width, height) in VIEWPORTS.items():
                    ctx = browser.new_context(
                        locale=locale,
                        viewport={"width": width, "height": height},
                        device_scale_factor=1,
                        is_mobile=form == "phone",
                        has_touch=form == "phone",
                        base_url=scene.base,
                        color_scheme="light",
                    )
                    page = ctx.new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                    page.goto("/signin")
                    session = None
                    if who:
                        acct = scene.accounts[who]
                        session = json.dumps(
                            {"handle": acct["handle"], "display_name": acct["display_name"]}
                        )
                    page.evaluate(
                        "([lang, token, account]) => { localStorage.setItem('majlis.lang', lang);"
                        " if (token) { localStorage.setItem('majlis.token', token);"
                        " localStorage.setItem('majlis.account', account); } }",
                        [lang, scene.tokens[who] if who else None, session],
                    )
                    page.goto(
                        path.format(live=scene.live_id, clip=scene.clip_id, replay=scene.replay_id)
                    )
                    with contextlib.suppress(Exception):
                        page.wait_for_load_state("networkidle", timeout=4000)
                    page.wait_for_timeout(2500 if name.startswith("space") else 800)
                    ACTIONS.get(name, lambda _page, _form: None)(page, form)
                    target = out / f"{name}-{lang}-{form}.png"
                    if name == "embed-clip":  # the player as a news page frames it
                        page.set_viewport_size({"width": 560, "height": 200})
                    page.screenshot(path=str(target))
                    made.append(target)
                    print(
                        f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}"
                        + (f"  page errors: {errors}" if errors else "")
                    )
                    ctx.close()
        browser.close()
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--only", default="", help="comma-separated shot names: " + ", ".join(SHOTS)
    )
    args = parser.parse_args()
    only = {s for s in args.only.split(",") if s} or None
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="majlis-shots-") as tmp, serve(Path(tmp)) as base:
        scene = populate(base)
        bot = Bot(base, scene.live_id, scene.tokens["omar"])
        stop = threading.Event()
        crowd = threading.Thread(
            target=keep_listening, args=(base, scene.heartbeats, stop), daemon=True
        )
        crowd.start()
        try:
            time.sleep(2)  # the bot's first words reach the mix and the playlist
            make_clip(scene)
            if not only or "space-replay" in only:
                make_replay(scene)
            shoot(scene, args.out, only)
        finally:
            stop.set()
            bot.close()


if __name__ == "__main__":
    main()
