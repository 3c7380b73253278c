"""Run ``majlis scaletest`` as an operator does: its own process, against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def scaletest(
    out: Path, *args: str, timeout: float = 240, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """The finished process and its report.json (empty when it wrote none)."""
    result = subprocess.run(
        [sys.executable, "-m", "majlis", "scaletest", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    path = out / "report.json"
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return result, report


def explain(result: subprocess.CompletedProcess[str]) -> str:
    out, err = result.stdout[-4000:], result.stderr[-4000:]
    return f"exit {result.returncode}\n--- stdout\n{out}\n--- stderr\n{err}"
