"""Headless Chromium as a synthetic client: the one set of launch flags the tests, the
benchmarks and the screenshot script share.

Why these flags: on a closed network Chromium's background services (component updates, sync,
QUIC probes) open connections that are refused by the dozen and slow every start; the fake media
flags give a page a microphone without a permission prompt (FIELD-NOTES.md, "Browser ↔ aiortc
over WHIP"). Debian's package is the browser: browser downloads are blocked here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

CHROMIUM: Final = Path(os.environ.get("MAJLIS_TEST_CHROMIUM", "/usr/bin/chromium"))

HEADLESS_FLAGS: Final = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
)

#: A microphone without a prompt: Chromium's fake device (a beep, or the file given with
#: ``--use-file-for-fake-audio-capture``).
FAKE_MICROPHONE_FLAGS: Final = (
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
)
