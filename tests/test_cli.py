"""The ``majlis`` command as an operator runs it: a real process on a real port."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import majlis
from majlis.config import Settings
from tests.support.cli import run_majlis
from tests.support.client import wait_for_new_segment
from tests.support.server import free_port, serve_process
from tests.support.wait import eventually


def test_version_and_help() -> None:
    assert run_majlis("--version").stdout.strip() == f"majlis {majlis.__version__}"
    help_text = run_majlis("serve", "--help").stdout
    for flag in ("--host", "--port", "--data-dir", "--database-url"):
        assert flag in help_text
    no_command = run_majlis()
    assert no_command.returncode == 2 and "serve" in no_command.stdout


def test_bad_configuration_is_a_clear_error_not_a_traceback() -> None:
    result = run_majlis("serve", env={"MAJLIS_HEARTBEAT_INTERVAL_S": "soon"})
    assert result.returncode == 2
    assert "heartbeat_interval_s" in result.stderr and "Traceback" not in result.stderr


def test_serve_runs_on_an_embedded_store_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"

    def start() -> subprocess.Popen[bytes]:
        return serve_process(tmp_path, port)

    process = start()
    try:
        account = {"handle": "persist", "password": "long enough", "display_name": "P"}
        assert httpx.post(f"{base}/api/v1/accounts", json=account).status_code == 201
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "majlis"
    finally:
        process.terminate()
        # A stop asked for by a signal is a clean stop: graceful shutdown, a goodbye, status 0.
        assert process.wait(15) == 0
    output = log.read_text()
    assert output.rstrip().endswith("majlis stopped. Goodbye."), output
    assert "ERROR" not in output and "Traceback" not in output, output
    # Quiet by default: no access log line, no library narrating its normal work.
    assert "GET /" not in output and "POST /" not in output and "alembic" not in output, output
    assert (tmp_path / "majlis.db").exists() and (tmp_path / "secret").exists()
    process = start()
    try:
        assert httpx.get(f"{base}/api/v1/accounts/persist").status_code == 200
    finally:
        process.terminate()
        process.wait(15)


def test_settings_read_the_environment_and_flags_override_it(tmp_path: Path) -> None:
    settings = Settings.from_env({"MAJLIS_PORT": "9001", "MAJLIS_DATA_DIR": str(tmp_path)})
    assert settings.port == 9001 and settings.data_dir == tmp_path
    assert settings.with_overrides(port=9002, host=None).port == 9002
    assert settings.resolved_database_url().startswith("sqlite+aiosqlite:///")
    assert settings.resolved_secret() == settings.resolved_secret()  # persisted, not regenerated
    with pytest.raises(ValueError, match="kdf_profile"):
        Settings.from_env({"MAJLIS_KDF_PROFILE": "md5"})
    with pytest.raises(ValueError, match="port"):
        Settings.from_env({"MAJLIS_PORT": "eighty"})


def test_the_access_log_and_json_logs_are_there_when_asked(tmp_path: Path) -> None:
    import json

    port = free_port()
    log = tmp_path / "serve.log"
    process = serve_process(tmp_path, port, "--access-log", env={"MAJLIS_LOG_FORMAT": "json"})
    secret = "tok3n-that-must-not-be-logged"
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/livez").status_code == 200
        # The inbox stream takes a ticket in the query (EventSource sends no header), and a
        # client may still send a token there (refused, and not logged either).
        httpx.get(f"http://127.0.0.1:{port}/api/v1/notifications/stream?access_token={secret}")
        httpx.get(f"http://127.0.0.1:{port}/api/v1/notifications/stream?ticket={secret}")
        httpx.post(f"http://127.0.0.1:{port}/api/v1/spaces/x/whip?grant={secret}&a=1")
    finally:
        process.terminate()
        assert process.wait(15) == 0
    text = log.read_text()
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert any(e["logger"] == "uvicorn.access" and "/livez" in e["message"] for e in entries)
    assert any("access_token=[redacted]" in e["message"] for e in entries), text
    assert any("ticket=[redacted]" in e["message"] for e in entries), text
    assert any("grant=[redacted]&a=1" in e["message"] for e in entries), text
    assert secret not in text  # issue 14: nothing secret in any log


def test_scaletest_without_its_extra_says_which_extra_to_install() -> None:
    """The run install has no Locust or matplotlib; `majlis scaletest` says what to install."""
    code = (
        "import sys; sys.modules['locust'] = None; from majlis.cli import main;"
        "sys.exit(main(['scaletest', '--api-url', 'http://127.0.0.1:9']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "scaletest extra" in result.stderr, result.stderr
    assert "requirements/scaletest.txt" in result.stderr and "Traceback" not in result.stderr


def test_demo_prints_a_space_you_can_open_and_hear(tmp_path: Path) -> None:
    import re

    import numpy as np

    from tests.media.tones import decode_mp4

    port = free_port()
    log = tmp_path / "demo.log"
    process = serve_process(tmp_path, port, command="demo")
    try:

        def printed_url() -> re.Match[str] | None:
            if process.poll() is not None:
                pytest.fail(f"the demo exited:\n{log.read_text()}")
            return re.search(r"Open (http://\S+/spaces/(\S+)) ", log.read_text())

        found = eventually(printed_url, message=lambda: f"no URL printed:\n{log.read_text()}")
        assert found is not None
        page_url, space_id = found.group(1), found.group(2)
        assert httpx.get(page_url).status_code == 200
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            # Two full segments: the one being cut now, and the next, wholly the speaker's.
            wait_for_new_segment(http, space_id)
        playlist = httpx.get(f"{base}/hls/{space_id}/live.m3u8").text
        names = re.findall(r"^(\d+\.m4s)$", playlist, re.M)
        media = httpx.get(f"{base}/hls/{space_id}/init.mp4").content + b"".join(
            httpx.get(f"{base}/hls/{space_id}/{n}").content for n in names
        )
        pcm, rate = decode_mp4(media)
        assert pcm.size / rate >= 4.0
        assert float(np.sqrt(np.mean(pcm**2))) > 0.01  # speech, not silence
        space = httpx.get(f"{base}/api/v1/spaces/{space_id}").json()
        assert space["state"] == "live" and space["stage"][0]["handle"] == "majlis_demo"
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        assert process.wait(15) == 0
    output = log.read_text()
    before_url, after_url = output.split("majlis demo is live.", 1)
    assert len(before_url.strip().splitlines()) <= 10, before_url
    # After the URL lines, at Ctrl-C: a goodbye and nothing else.
    assert [line for line in after_url.splitlines()[3:] if line.strip()] == [
        "majlis stopped. Goodbye."
    ], after_url
    # The demo ended its Space on the way out: the next start lists no ghost Space as live.
    process = serve_process(tmp_path, port)
    try:
        space = httpx.get(f"{base}/api/v1/spaces/{space_id}").json()
        assert space["state"] == "ended" and space["replay_url"]
    finally:
        process.terminate()
        process.wait(15)
