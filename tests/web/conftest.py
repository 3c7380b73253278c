"""Browser fixtures: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright's sync API.

Never ``playwright install``: browser downloads are blocked here, and the system Chromium is what
runs. Without it (or without the playwright package) these tests skip with the reason; under
``MAJLIS_REQUIRE_ALL=1`` that is a failure instead (tests/support/services.py ``unavailable``).

Why the Playwright fixtures are scoped to this package and depend on ``server``: while
Playwright's sync API is alive it leaves its event loop registered as the main thread's running
loop, so ``asyncio.run()`` fails there (tests/support/services.py uses it to create and drop
PostgreSQL databases, for the shared server and for tests that start their own). Package scope
closes the browser as soon as the run leaves tests/web (pytest may order other tests after these,
grouping by the ``server`` parameter); depending on ``server`` closes it before pytest switches to
the next deployment shape. Within the package it is still one browser, launched once per shape.

Each launch gets a fresh, throw-away profile (Playwright's ``launch`` creates and removes its own
user-data-dir; passing ``--user-data-dir`` yourself is refused by Playwright).
"""

from __future__ import annotations

import json
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from fastapi import FastAPI

from majlis.web import install_web
from tests.support.browser import CHROMIUM, FAKE_MICROPHONE_FLAGS, HEADLESS_FLAGS
from tests.support.client import Api, User
from tests.support.server import RunningServer
from tests.support.services import unavailable

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

#: The flags verified on these machines (FIELD-NOTES.md, "Browser ↔ aiortc over WHIP").
CHROMIUM_FLAGS = (*HEADLESS_FLAGS, *FAKE_MICROPHONE_FLAGS)

TONE_RATE = 48_000

#: Browser-only suites run on one deployment shape. What they test is the page (layout, language,
#: controls, reconnects), and the page only talks to the HTTP API, which the API suites already run
#: on both shapes; running every page twice cost CI two minutes and found nothing the API suites
#: did not. They use the distributed shape (PostgreSQL + Redis), the one a large night runs on.
#: Real media end to end runs on both: test_space_e2e in CI (slow), test_browser_media on the
#: embedded shape by default and on both in CI (tests/support/server.py
#: EMBEDDED_FAST_DISTRIBUTED_SLOW).
ONE_SHAPE = pytest.mark.parametrize("server", ["postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def web_pages(server: RunningServer) -> None:
    """Make sure the pages are mounted. ``create_app`` calls ``install_web``; until that lands
    (or if it ever regresses) this mounts them on the running app. ``install_web`` is idempotent,
    so this does nothing when they are already there."""
    app = server.server.config.app
    assert isinstance(app, FastAPI)
    install_web(app)


@pytest.fixture(scope="package")
def playwright(server: RunningServer) -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed (pip install playwright)")
    with sync_playwright() as pw:
        yield pw


def launch_chromium(pw: Playwright, *extra_args: str) -> Browser:
    return pw.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*CHROMIUM_FLAGS, *extra_args],
        timeout=30_000,
    )


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium with the fake microphone (Chromium's built-in beep)."""
    instance = launch_chromium(playwright)
    yield instance
    instance.close()


def write_tone(path: Path, hz: float, seconds: float = 10.0, amplitude: float = 0.5) -> Path:
    """A sine tone as 48 kHz mono 16-bit PCM WAV (Chromium loops the file as its microphone)."""
    t = np.arange(int(TONE_RATE * seconds)) / TONE_RATE
    samples = (amplitude * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(TONE_RATE)
        wav.writeframes(samples.tobytes())
    return path


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Callable[[float], Path]:
    """``tone_wav(440)`` → a WAV of that tone, written once per session."""
    directory = tmp_path_factory.mktemp("tones")
    made: dict[float, Path] = {}

    def make(hz: float) -> Path:
        if hz not in made:
            made[hz] = write_tone(directory / f"tone-{hz:g}hz.wav", hz)
        return made[hz]

    return make


@pytest.fixture
def launch_browser(
    playwright: Playwright, tone_wav: Callable[[float], Path]
) -> Iterator[Callable[..., Browser]]:
    """A factory: ``launch_browser(tone_hz=440)`` is a fresh Chromium whose microphone plays a
    440 Hz tone; ``launch_browser()`` uses Chromium's own fake microphone. Closed after the test."""
    launched: list[Browser] = []

    def launch(tone_hz: float | None = None, *extra_args: str) -> Browser:
        args = list(extra_args)
        if tone_hz is not None:
            args.append(f"--use-file-for-fake-audio-capture={tone_wav(tone_hz)}")
        instance = launch_chromium(playwright, *args)
        launched.append(instance)
        return instance

    yield launch
    for instance in launched:
        instance.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught JavaScript errors of ``page`` and Content-Security-Policy violations (the pages
    allow no inline or eval'd script); tests assert it stays empty."""
    return []


@pytest.fixture
def page(context: BrowserContext, page_errors: list[str]) -> Page:
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.on("pageerror", lambda error: page_errors.append(f"uncaught: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            page_errors.append(f"CSP: {message.text}")

    tab.on("console", on_console)
    return tab


def sign_in_page(page: Page, user: User) -> None:
    """Sign ``page`` in as ``user`` the way the shell does (MajlisSession's localStorage keys),
    before any of the page's scripts run: an init script is exempt from the pages' CSP."""
    account = {"handle": user.handle, "display_name": user.handle}
    token, stored = json.dumps(user.token), json.dumps(json.dumps(account))
    page.add_init_script(
        f"localStorage.setItem('majlis.token', {token});"
        f"localStorage.setItem('majlis.account', {stored});"
    )


def wait_js(page: Page, predicate: str, timeout_s: float = 15) -> None:
    """Wait until the JS ``predicate`` (an arrow function: the pages' CSP forbids eval'd bare
    expressions) holds; while the page's scripts are still loading it counts as false. On
    timeout, fail showing ``window.majlis``, the pages' debug state."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tolerant = f"() => {{ try {{ return Boolean(({predicate})()); }} catch {{ return false; }} }}"
    try:
        page.wait_for_function(tolerant, timeout=timeout_s * 1000, polling=200)
    except PlaywrightTimeout:
        state = page.evaluate("() => JSON.stringify(window.majlis)")
        pytest.fail(f"{predicate} still false after {timeout_s} s; window.majlis = {state}")


ARABIC_TITLE = "مجلس الأربعاء: حوار مفتوح"

MakeSpace = Callable[..., tuple[User, dict[str, Any]]]


@pytest.fixture
def live_space(api: Api) -> Iterator[MakeSpace]:
    """``live_space(title)`` → (host, Space), live at once (``scheduled=True``: two hours ahead);
    ended after the test, because every live Space keeps a media room (a mixer clock and an
    encoder) running on the shared server."""
    made: list[tuple[User, str]] = []

    def make(title: str = "A live Space", scheduled: bool = False) -> tuple[User, dict[str, Any]]:
        host = api.sign_up("host")
        space = host.schedule_space(title) if scheduled else host.create_space(title)
        assert space["state"] == ("scheduled" if scheduled else "live"), space
        made.append((host, space["id"]))
        return host, space

    yield make
    for host, space_id in made:
        host.post(f"/api/v1/spaces/{space_id}/end")
