"""``majlis edge-config``: the rendered nginx configuration, its validation, and nginx -t."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from majlis.api.routes.media import BLOCK_TIMEOUT_S
from majlis.delivery.edge import (
    BLOCKING_INACTIVE_S,
    LIVE_INACTIVE_S,
    LOCK_S,
    EdgeConfigError,
    EdgeOptions,
    parse_origin,
    render_config,
    render_http,
)
from tests.support.nginx import check_config, edge_options, nginx_binary, write_config
from tests.support.services import unavailable


def _majlis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "majlis", *args], capture_output=True, text=True, timeout=30
    )


def _location(config: str, marker: str) -> str:
    """The body of the first location whose line contains ``marker``."""
    start = config.index(marker)
    return config[start : config.index("\n    }", start)]


def test_the_lock_outlasts_the_longest_blocking_reload() -> None:
    # A waiter whose lock times out goes to the origin itself: collapsing would be lost.
    assert LOCK_S > BLOCK_TIMEOUT_S


@pytest.mark.parametrize(
    ("url", "address", "host"),
    [
        ("http://10.0.0.5:8000", "10.0.0.5:8000", "10.0.0.5:8000"),
        ("http://origin.example/", "origin.example:80", "origin.example"),
        ("https://origin.example", "origin.example:443", "origin.example"),
        ("http://[::1]:9000", "[::1]:9000", "[::1]:9000"),
    ],
)
def test_origins_accepted(url: str, address: str, host: str) -> None:
    origin = parse_origin(url)
    assert (origin.address, origin.host_header) == (address, host)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("origin.example:8000", "http://"),
        ("ftp://origin.example", "http://"),
        ("http://", "no host"),
        ("http://origin.example:8000/api", "without a path"),
        ("http://origin.example?x=1", "without a path"),
        ("http://user:pw@origin.example", "user name"),
        ("http://origin.example:99999", "not a valid URL"),
        ("http://bad_host;evil", "not a valid host"),
        ("http://a..b", "not a valid host"),
        ("http://origin.example:0", "between 1 and 65535"),
    ],
)
def test_bad_origins_refused_with_a_reason(url: str, says: str) -> None:
    with pytest.raises(EdgeConfigError, match=re.escape(says)):
        parse_origin(url)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("listen", 0),
        ("cache_size", "lots"),
        ("server_name", "a;b"),
        ("cache_dir", Path("/tmp/x; evil")),
    ],
)
def test_bad_options_refused(field: str, value: object) -> None:
    with pytest.raises(EdgeConfigError):
        EdgeOptions(origin=parse_origin("http://127.0.0.1:8000"), **{field: value})  # type: ignore[arg-type]


def test_rendered_locations_do_what_the_edge_promises() -> None:
    config = render_http(EdgeOptions(origin=parse_origin("http://10.0.0.5:8000")))
    playlist = _location(config, "live\\.m3u8$")
    # Collapsed, keyed on the normalized delivery directives only, stale while updating.
    assert "proxy_cache_lock on;" in playlist
    assert f"proxy_cache_lock_timeout {LOCK_S}s;" in playlist
    assert f"proxy_cache_lock_age {LOCK_S}s;" in playlist
    assert "proxy_cache_key $uri$majlis_hls_query;" in playlist
    assert "proxy_pass http://majlis_origin$uri$majlis_hls_query;" in playlist
    assert "proxy_cache_use_stale updating" in playlist
    assert "proxy_cache_background_update on;" in playlist
    parts = _location(config, "init\\.mp4|")
    assert "proxy_cache_key $uri;" in parts and "proxy_cache_lock on;" in parts
    assert "use_stale" not in parts  # immutable: never stale
    # nginx's 10-bit use counter wraps at 1,024 waiters; with min_uses 1 that one escapes.
    assert "proxy_cache_min_uses 0;" in playlist and "proxy_cache_min_uses 0;" in parts
    # Stale copies are bounded: the short-lived zone forgets what nobody asked for lately.
    assert "proxy_cache $majlis_playlist_zone;" in playlist and "proxy_cache majlis_media;" in parts
    assert f"keys_zone=majlis_live:20m\n    max_size=256m inactive={LIVE_INACTIVE_S}s" in config
    # ...but a blocking reload's answer never changes, and lagging listeners still ask for it.
    assert (
        f"keys_zone=majlis_blocking:20m\n    max_size=256m inactive={BLOCKING_INACTIVE_S}s"
        in config
    )
    assert '""      majlis_live;\n    default majlis_blocking;' in config
    snapshot = _location(config, "/snapshot$")
    assert "proxy_cache_use_stale updating" in snapshot and "proxy_cache_key $uri;" in snapshot
    sse = _location(config, "notifications/stream)$")
    assert "proxy_buffering off;" in sse and "proxy_cache off;" in sse
    fallback = _location(config, "location / {")
    assert "proxy_cache off;" in fallback and "proxy_request_buffering off;" in fallback
    for location in (playlist, parts, snapshot, sse, fallback):
        assert "proxy_http_version 1.1;" in location
        assert 'proxy_set_header Connection "";' in location  # keepalive to the origin
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in location
        assert "proxy_set_header Host 10.0.0.5:8000;" in location
    # Small cached answers go out in one writev from a kept-open cache file; replays sendfile.
    for location in (playlist, parts, snapshot):
        assert "sendfile off;" in location
    assert "sendfile off;" not in _location(config, "replay\\.m3u8|recording")
    assert "open_file_cache max=" in config
    assert "keepalive 64;" in config
    assert "$upstream_cache_status" in config and "$upstream_addr" in config
    assert "X-Cache-Status" in playlist


def test_https_origin_sends_sni() -> None:
    config = render_http(EdgeOptions(origin=parse_origin("https://origin.example")))
    assert "proxy_pass https://majlis_origin" in config
    assert "proxy_ssl_server_name on;" in config and "proxy_ssl_name origin.example;" in config


def test_several_api_nodes_share_the_edge_and_a_dead_one_is_skipped() -> None:
    one = render_http(EdgeOptions(origin=parse_origin("http://10.0.0.5:8000")))
    assert "server 10.0.0.5:8000 max_fails=0;" in one  # nowhere else to go: never marked down
    done = _majlis(
        "edge-config", "--origin", "http://10.0.0.5:8000", "--origin", "http://10.0.0.6:8000"
    )
    assert done.returncode == 0, done.stderr
    for address in ("10.0.0.5:8000", "10.0.0.6:8000"):
        assert f"server {address} max_fails=1 fail_timeout=2s;" in done.stdout
    mixed = _majlis(
        "edge-config", "--origin", "http://10.0.0.5:8000", "--origin", "https://10.0.0.6"
    )
    assert mixed.returncode == 2 and "same scheme" in mixed.stderr


def test_snippet_is_the_http_part_of_the_full_config() -> None:
    options = EdgeOptions(origin=parse_origin("http://10.0.0.5:8000"))
    snippet, full = render_http(options), render_config(options)
    assert "events {" not in snippet and "worker_processes" not in snippet
    assert "events {" in full
    indented = "\n".join("    " + line if line else line for line in snippet.splitlines())
    assert indented in full


def test_cli_prints_the_config_and_refuses_bad_input() -> None:
    done = _majlis(
        "edge-config", "--origin", "http://10.0.0.5:8000", "--listen", "9090", "--no-mkdir"
    )
    assert done.returncode == 0, done.stderr
    assert "listen 9090;" in done.stdout and "server 10.0.0.5:8000" in done.stdout
    snippet = _majlis("edge-config", "--origin", "http://10.0.0.5:8000", "--snippet", "--no-mkdir")
    assert snippet.returncode == 0 and "events {" not in snippet.stdout
    for bad in (["--origin", "10.0.0.5:8000"], ["--origin", "http://x", "--cache-size", "big"]):
        refused = _majlis("edge-config", *bad)
        assert refused.returncode == 2
        assert (
            refused.stderr.startswith("majlis edge-config: ") and "Traceback" not in refused.stderr
        )
        assert refused.stdout == ""


def test_nginx_accepts_the_full_config_and_the_snippet(tmp_path: Path) -> None:
    binary = nginx_binary()
    if binary is None:
        unavailable("nginx is not installed (Debian package nginx)")
        return
    options = edge_options("http://127.0.0.1:8000", tmp_path, 18080)
    checked = check_config(binary, write_config(options, tmp_path), tmp_path)
    assert checked.returncode == 0, checked.stderr
    # The snippet, included in an http block the way Debian's conf.d is.
    (tmp_path / "majlis.conf").write_text(render_http(options))
    wrapper = tmp_path / "wrapper.conf"
    wrapper.write_text(
        f"pid {tmp_path}/w.pid;\nerror_log {tmp_path}/w.log;\nevents {{}}\n"
        f"http {{\n    proxy_temp_path {tmp_path}/cache/tmp/p;\n"
        f"    client_body_temp_path {tmp_path}/cache/tmp/c;\n"
        f"    include {tmp_path}/majlis.conf;\n}}\n"
    )
    checked = check_config(binary, wrapper, tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_the_printed_config_starts_nginx_as_it_is(tmp_path: Path) -> None:
    """What the README says: edge-config > nginx.conf, then nginx -t. No mkdir by hand first
    (nginx creates none of the parents of its cache and temp paths)."""
    binary = nginx_binary()
    if binary is None:
        unavailable("nginx is not installed (Debian package nginx)")
        return
    cache, logs = tmp_path / "deep" / "cache", tmp_path / "deep" / "log"
    done = _majlis(
        "edge-config",
        "--origin",
        "http://127.0.0.1:8000",
        "--listen",
        "18081",
        "--cache-dir",
        str(cache),
        "--log-dir",
        str(logs),
    )
    assert done.returncode == 0, done.stderr
    config = tmp_path / "nginx.conf"
    config.write_text(done.stdout.replace("pid /run/majlis-edge.pid;", f"pid {tmp_path}/e.pid;"))
    checked = check_config(binary, config, tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert (cache / "tmp").is_dir() and logs.is_dir()


def test_cli_prints_a_varnish_vcl_headed_by_its_varnishd_command_line() -> None:
    done = _majlis(
        "edge-config",
        "--engine",
        "varnish",
        "--origin",
        "http://10.0.0.5:8000",
        "--listen",
        "9090",
        "--cache-size",
        "1g",
    )
    assert done.returncode == 0, done.stderr
    head, _, vcl = done.stdout.partition("\nvcl 4.1;\n")
    assert all(line.startswith("#") for line in head.splitlines())  # comments above the VCL
    assert "#   varnishd -F -a :9090 -f /etc/varnish/majlis-edge.vcl -s malloc,1g \\" in head
    assert "-p thread_pool_min=" in head and "-p thread_pool_max=" in head
    assert '.host = "10.0.0.5";' in vcl and '.port = "8000";' in vcl
    assert 'set bereq.http.Host = "10.0.0.5:8000";' in vcl
    assert "import directors;" not in vcl  # one origin: no director
    several = _majlis(
        "edge-config",
        "--engine",
        "varnish",
        "--origin",
        "http://10.0.0.5:8000",
        "--origin",
        "http://10.0.0.6:8000",
    )
    assert several.returncode == 0, several.stderr
    assert "new origins = directors.round_robin();" in several.stdout
    assert "origins.add_backend(origin_2);" in several.stdout
    assert "return (retry);" in several.stdout and '.url = "/readyz";' in several.stdout


def test_nginx_stays_the_default_engine() -> None:
    default = _majlis("edge-config", "--origin", "http://10.0.0.5:8000", "--no-mkdir")
    chosen = _majlis(
        "edge-config", "--engine", "nginx", "--origin", "http://10.0.0.5:8000", "--no-mkdir"
    )
    assert default.returncode == chosen.returncode == 0
    assert default.stdout == chosen.stdout
    assert default.stdout == render_config(EdgeOptions(origin=parse_origin("http://10.0.0.5:8000")))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--origin", "https://origin.example"], "plain http only"),
        (["--origin", "origin.example:8000"], "http://"),  # the same URL checks as nginx's
        (["--origin", "http://10.0.0.5:8000", "--cache-size", "lots"], "--cache-size"),
        (["--origin", "http://10.0.0.5:8000", "--listen", "0"], "--listen"),
        (["--origin", "http://10.0.0.5:8000", "--snippet"], "--snippet: for --engine nginx"),
        (["--origin", "http://10.0.0.5:8000", "--cache-dir", "/c"], "--cache-dir: for --engine"),
    ],
)
def test_cli_refuses_what_varnish_cannot_do_with_a_reason(args: list[str], says: str) -> None:
    refused = _majlis("edge-config", "--engine", "varnish", *args)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("majlis edge-config: ") and says in refused.stderr
    assert "Traceback" not in refused.stderr
