"""Icecast2 (the Debian package) fed by ffmpeg, and a lean simulated Icecast listener.

The baseline every HTTP audio stack is compared against: one long-lived connection per
listener, the server copying the same bytes into every socket. Minimal config (one listen
socket, ``<clients>20000</clients>``), as FIELD-NOTES.md records. As root, Icecast must drop to
its own user (``changeowner``), so its work directory is handed to that user.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.listener import ListenerStats, Playback
from tests.support.nginx import free_port

PASSWORD = "bench-source"
MOUNT = "/live"
#: Start-up buffer of a listener, as with HLS (PART-HOLD-BACK = 3 parts of 0.256 s).
START_BUFFER_S = 0.768


@dataclass
class Icecast:
    url: str
    server: subprocess.Popen[bytes]
    source: subprocess.Popen[bytes]


def _config(workdir: Path, port: int, burst_bytes: int) -> str:
    user = ""
    if os.geteuid() == 0:
        user = "<security><chroot>0</chroot><changeowner><user>icecast2</user>"
        user += "<group>icecast</group></changeowner></security>"
    return f"""<icecast>
  <limits><clients>20000</clients><sources>2</sources><burst-size>{burst_bytes}</burst-size>
    <queue-size>524288</queue-size><client-timeout>30</client-timeout></limits>
  <authentication><source-password>{PASSWORD}</source-password>
    <admin-user>admin</admin-user><admin-password>{PASSWORD}</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>{workdir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
    <pidfile>{workdir}/icecast.pid</pidfile></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog>
    <loglevel>2</loglevel></logging>
  {user}
</icecast>
"""


@contextmanager
def running_icecast(
    workdir: Path, bitrate_kbps: int, server_cpu: int, source_cpu: int
) -> Iterator[Icecast]:
    """icecast2 pinned to ``server_cpu``, fed AAC (ADTS) at ``bitrate_kbps`` by ffmpeg."""
    binary = shutil.which("icecast2")
    if binary is None or shutil.which("ffmpeg") is None:
        raise FileNotFoundError("needs icecast2 and ffmpeg (apt-get install icecast2 ffmpeg)")
    workdir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam("icecast2")
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
    port = free_port()
    config = workdir / "icecast.xml"
    config.write_text(_config(workdir, port, burst_bytes=int(START_BUFFER_S * bitrate_kbps * 125)))
    os.chmod(config, 0o644)
    server = subprocess.Popen(
        ["taskset", "-c", str(server_cpu), binary, "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}{MOUNT}"
    source: subprocess.Popen[bytes] | None = None
    try:
        _wait_port(port, server)
        source = subprocess.Popen(
            [
                "taskset", "-c", str(source_cpu), "ffmpeg", "-nostdin", "-loglevel", "error",
                "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                "-ac", "1", "-c:a", "aac", "-b:a", f"{bitrate_kbps}k",
                "-content_type", "audio/aac", "-f", "adts",
                f"icecast://source:{PASSWORD}@127.0.0.1:{port}{MOUNT}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_mount(url)
        yield Icecast(url, server, source)
    finally:
        for process in (source, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("icecast2 did not start (see its error.log in the work directory)")


def _wait_mount(url: str) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.read(1024):
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError("the ffmpeg source never reached icecast2")


async def icecast_listener(
    url: str, bitrate_kbps: int, duration_s: float, stats: ListenerStats
) -> None:
    """Read the stream for ``duration_s``; the same buffer model as the HLS listener."""
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    bytes_per_s = bitrate_kbps * 125
    playback: Playback | None = None
    buffered = 0
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {MOUNT} HTTP/1.0\r\nHost: {host_port}\r\n\r\n".encode())
        stats.requests += 1
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode("latin-1")
        if " 200 " not in status:
            stats.error(ConnectionError(f"icecast answered {status}"))
            return
        while loop.time() - begun < duration_s:
            chunk = await reader.read(65536)
            if not chunk:
                stats.error(ConnectionError("icecast closed the stream"))
                break
            now = loop.time()
            if playback is None:
                buffered += len(chunk)
                if buffered >= START_BUFFER_S * bytes_per_s:
                    playback = Playback(now)
                    playback.media_s = buffered / bytes_per_s
                    stats.startup_s.append(now - begun)
            else:
                playback.arrived(len(chunk) / bytes_per_s, now)
        writer.close()
    except (OSError, asyncio.IncompleteReadError) as exc:
        stats.error(exc)
    finally:
        if playback is not None:
            playback.count(stats)
            stats.parts += int(playback.media_s / 0.256)
