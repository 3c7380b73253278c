"""The ``majlis`` command run as an operator runs it: a real process."""

from __future__ import annotations

import os
import subprocess
import sys


def run_majlis(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "majlis", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )
