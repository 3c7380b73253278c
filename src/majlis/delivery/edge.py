"""The nginx configuration of a caching edge in front of a majlis origin (``majlis edge-config``).

Why each part is there:

- **Request collapsing.** Every listener of a Space asks for the same next part with a blocking
  playlist reload (``_HLS_msn``/``_HLS_part``) and then fetches that part. ``proxy_cache_lock``
  lets one of them go to the origin while the others wait for its answer, so N listeners on an
  edge cost the origin one request per part. The lock must outlast the longest blocking reload
  (``LOCK_S`` > the origin's ``BLOCK_TIMEOUT_S``); a waiter whose lock times out would go to the
  origin itself. Stock nginx wakes waiters by polling every 500 ms (not when the lock holder
  finishes), which adds 0-0.5 s to a collapsed request; docs/scaling.md has the measurement.
- **``proxy_cache_min_uses 0``, or every 1,024th waiter escapes the lock.** nginx counts the
  requests for an entry in a 10-bit field (``ngx_http_file_cache_node_t.uses``); while an entry
  is still being fetched, the request that wraps it to 0 fails ``uses >= min_uses`` (1 by
  default), is judged "not used enough to cache" and goes to the origin uncached, past the lock.
  An edge with more than ~1,000 listeners parked on the same blocking reload sent one such
  duplicate for 15-20 % of parts (1.4-1.6 origin reloads per part at 2,000 listeners; 1.00 with
  this). With 0 that check always passes; nothing else reads it, except that an entry which never
  got a cacheable answer (a 404) stays in the keys zone until ``inactive`` instead of leaving at
  once, which the zone's LRU bounds.
- **Cache keys that keep the delivery directives and nothing else.** A blocking reload's answer
  depends on ``_HLS_msn``/``_HLS_part``; any other query argument (a cache-buster) is dropped
  from the key *and* from the request to the origin, so it can neither bypass the cache nor make
  the origin see something the key does not. Directives that are not plain numbers are passed on
  unchanged (the origin answers 400/422, which is never cached).
- **Long caching of parts, segments and init** (the origin marks them immutable), **short
  caching with stale-while-updating for the plain playlist and the snapshot** (the origin says
  ``max-age=1``; ``proxy_cache_use_stale updating`` + ``proxy_cache_background_update`` serve
  the previous copy while one request refreshes it, so expiry never stalls a crowd).
- **Few system calls per cached answer**, since a hit is mostly kernel time (perf: 78 % of the
  worker's CPU in syscalls at 2,000 LL-HLS listeners). ``open_file_cache`` keeps the cache
  files open between hits (no open/fstat/close each time; nginx checks the entry's inode, so a
  refreshed entry is reopened) and ``sendfile off`` on the small listener-path answers sends
  each in one ``writev`` from the ``pread`` that read its cache header, instead of a ``writev``
  plus a ``sendfile``. Together: 0.143 -> 0.113 nginx cores per 1,000 LL-HLS listeners (-21 %,
  side by side in one run; docs/benchmarks.md). Replays and recordings keep ``sendfile``.
- **Pass-through** for everything else: SSE streams unbuffered, WHIP and every POST (join,
  heartbeat, reactions) go straight to the origin, never cached. nginx would cache a response
  to a request with ``Authorization`` if told to, so only public, listener-path locations cache.
- ``X-Forwarded-For`` carries the listener's address; ``X-Cache-Status`` tells clients (and the
  tests) what the edge did; HTTP/1.1 with keepalive to the origin.

``render_http`` is the http-context part (``--snippet``, for ``/etc/nginx/conf.d``);
``render_config`` wraps it into a complete ``nginx.conf``. Both are pure.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

#: How long a collapsed request may wait for the lock holder, in seconds. Longer than the
#: origin's longest blocking reload (``api.media.BLOCK_TIMEOUT_S``, 6 s; a test checks it).
LOCK_S = 10
#: How long the edge waits for the origin's answer on the listener path: a blocking reload
#: holds the request up to ``BLOCK_TIMEOUT_S`` by design.
HLS_READ_TIMEOUT_S = 15
#: Playlists and snapshots unused this long leave the cache (see the proxy_cache_path comment).
LIVE_INACTIVE_S = 3
#: Blocking-reload answers (``_HLS_msn``/``_HLS_part``) name one past state that never changes:
#: listeners who lag live by seconds still ask for them, so they stay this long (measured with
#: 2,000 listeners lagging: 2.17 origin playlist requests per part at 3 s, 1.07 at 60 s).
BLOCKING_INACTIVE_S = 60
#: SSE streams stay open; the origin sends keepalive comments well inside this.
SSE_READ_TIMEOUT_S = 3600

_SERVER_NAME = re.compile(r"[A-Za-z0-9*_.-]{1,253}")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
#: What the listener-path locations accept. Space ids are ``secrets.token_urlsafe``; nothing
#: else in these paths can reach ``proxy_pass`` with ``$uri`` (no CR/LF, no spaces).
_ID = "[A-Za-z0-9_-]{1,64}"


class EdgeConfigError(ValueError):
    """An option the edge configuration cannot be rendered with; the message says why."""


def check_listen(listen: int) -> None:
    """The port every engine listens on (``--listen``)."""
    if not 1 <= listen <= 65535:
        raise EdgeConfigError(f"--listen must be a port between 1 and 65535, not {listen}")


def check_bind(bind: str) -> None:
    """An address to listen on: empty (every interface) or an IP address."""
    if bind:
        try:
            ipaddress.ip_address(bind)
        except ValueError:
            raise EdgeConfigError(f"the bind address {bind!r} is no IP address") from None


def check_size(size: str, suffixes: str = "kmg", examples: str = "1g or 512m") -> None:
    """``--cache-size``: a number with one of the engine's unit ``suffixes`` (or none)."""
    if not re.fullmatch(rf"[1-9]\d{{0,5}}[{suffixes}]?", size, re.IGNORECASE):
        units = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}"
        raise EdgeConfigError(
            f"--cache-size must be a number with an optional {units} suffix "
            f"(like {examples}), not {size!r}"
        )


def check_plain_http(engine: str, origins: tuple[Origin, ...]) -> None:
    """Engines that cannot speak TLS to the origin refuse an ``https://`` one with a way out."""
    if any(origin.scheme != "http" for origin in origins):
        raise EdgeConfigError(
            f"{engine} connects to origins over plain http only; put the origin's "
            "http:// address here (or use --engine nginx for an https origin)"
        )


@dataclass(frozen=True, slots=True)
class Origin:
    """A validated origin: where the edge connects and what Host it sends."""

    scheme: str
    host: str  # as nginx writes it: an IPv6 literal in brackets
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else self.address


def parse_origin(url: str) -> Origin:
    """``http[s]://host[:port][/]`` or EdgeConfigError saying what is wrong with it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise EdgeConfigError(f"the origin URL {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise EdgeConfigError(f"the origin URL must start with http:// or https://, not {url!r}")
    host = parts.hostname or ""
    if not host:
        raise EdgeConfigError(f"the origin URL {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise EdgeConfigError("the origin URL must not carry a user name or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise EdgeConfigError(
            f"the origin URL must be the server's root (like http://10.0.0.5:8000), "
            f"without a path, query or fragment: {url!r}"
        )
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.fullmatch(host) or ".." in host:
            raise EdgeConfigError(f"the origin host {host!r} is not a valid host name") from None
    else:
        host = f"[{ip}]" if ip.version == 6 else str(ip)
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if port == 0:
        raise EdgeConfigError("the origin port must be between 1 and 65535")
    return Origin(parts.scheme, host, port)


@dataclass(frozen=True, slots=True)
class MemoryEdgeOptions:
    """What the streaming edges (Varnish, Squid) share: origins over plain http, where they
    listen, and the memory their cache may use."""

    origin: Origin
    #: Further origin nodes (API nodes of one deployment): round robin, a dead one skipped.
    more_origins: tuple[Origin, ...] = ()
    listen: int = 8080
    #: The address the edge listens on; empty: every interface.
    bind: str = ""
    #: Memory for cached objects.
    cache_size: str = "256m"

    def check(self, engine: str, size_suffixes: str) -> None:
        """EdgeConfigError for what ``engine`` cannot be rendered with."""
        check_plain_http(engine, (self.origin, *self.more_origins))
        check_listen(self.listen)
        check_size(self.cache_size, size_suffixes, "256m or 2g")
        check_bind(self.bind)


@dataclass(frozen=True, slots=True)
class EdgeOptions:
    """Everything the rendered configuration depends on."""

    origin: Origin
    #: Further origin nodes (API nodes of one deployment): the edge spreads requests over all
    #: and, when one dies, retries an idempotent request on the next, so listeners never notice.
    more_origins: tuple[Origin, ...] = ()
    listen: int = 8080
    server_name: str = "_"
    cache_dir: Path = Path("/var/cache/majlis-edge")
    cache_size: str = "1g"
    log_dir: Path = Path("/var/log/majlis-edge")
    pid_file: Path = Path("/run/majlis-edge.pid")
    worker_processes: str = "auto"
    #: Buffer the access log (32 KB, flushed every second); tests read it at once, so unbuffered.
    buffered_log: bool = True
    #: One line per request costs the edge CPU; ``--no-access-log`` turns it off.
    access_log: bool = True
    #: Connections to keep open to the origin, per worker.
    upstream_keepalive: int = 64

    def __post_init__(self) -> None:
        if any(o.scheme != self.origin.scheme for o in self.more_origins):
            raise EdgeConfigError("every --origin must use the same scheme (all http or all https)")
        check_listen(self.listen)
        check_size(self.cache_size)
        names = self.server_name.split()
        if not names or not all(_SERVER_NAME.fullmatch(n) for n in names):
            raise EdgeConfigError(
                f"--server-name must be host names separated by spaces, not {self.server_name!r}"
            )
        if self.worker_processes != "auto" and not self.worker_processes.isdigit():
            raise EdgeConfigError("worker processes must be 'auto' or a number")
        for path in (self.cache_dir, self.log_dir, self.pid_file):
            if any(c in str(path) for c in ";{}\"'\n\r\t ") or not str(path):
                raise EdgeConfigError(f"the path {str(path)!r} must not contain spaces or ;{{}}\"'")


def directories(options: EdgeOptions) -> tuple[Path, ...]:
    """Every directory the configuration names. nginx creates none of their parents (a missing
    one stops it at start with ``mkdir() ... failed``), so ``majlis edge-config`` creates them."""
    return (options.cache_dir / "tmp", options.log_dir, options.pid_file.parent)


def _servers(options: EdgeOptions) -> str:
    """One origin is never marked down (there is nowhere else to go); with several, a node that
    refuses or times out is skipped for 2 s and the request tried on the next one (nginx's
    default ``proxy_next_upstream error timeout``, which never retries a POST once sent)."""
    origins = (options.origin, *options.more_origins)
    if len(origins) == 1:
        return f"    server {options.origin.address} max_fails=0;"
    return "\n".join(f"    server {o.address} max_fails=1 fail_timeout=2s;" for o in origins)


def _log(options: EdgeOptions) -> str:
    if not options.access_log:
        return "access_log off;"
    buffering = " buffer=32k flush=1s" if options.buffered_log else ""
    return f"access_log {options.log_dir}/access.log majlis_edge{buffering};"


def render_http(options: EdgeOptions, dash: str = "", dash_http: str = "") -> str:
    """The http-context configuration: upstream, cache, key maps, log format and the server;
    ``dash`` and ``dash_http``: the locations and http-context lines of an edge that serves
    LL-DASH itself (``nchan.py``), if any."""
    origin = options.origin
    tls = (
        "\n        proxy_ssl_server_name on;\n        proxy_ssl_name "
        + origin.host.strip("[]")
        + ";"
        if origin.scheme == "https"
        else ""
    )
    # Directives every proxied location shares; nginx inherits proxy_set_header only when a
    # location sets none itself, so each location includes all of them.
    common = f"""proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host {origin.host_header};
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Real-IP $remote_addr;{tls}"""
    cached = f"""proxy_cache_lock on;
        proxy_cache_min_uses 0;
        proxy_cache_lock_timeout {LOCK_S}s;
        proxy_cache_lock_age {LOCK_S}s;
        proxy_read_timeout {HLS_READ_TIMEOUT_S}s;
        proxy_cache_revalidate on;
        add_header X-Cache-Status $upstream_cache_status always;"""
    short_lived = """proxy_cache majlis_live;
        proxy_cache_use_stale updating error timeout http_500 http_502 http_504;
        proxy_cache_background_update on;"""
    playlist_lived = short_lived.replace("majlis_live;", "$majlis_playlist_zone;")
    long_lived = "proxy_cache majlis_media;"
    # Answers of a few kB: read with the cache header in one pread and sent in one writev.
    small = "sendfile off;"
    upstream_url = f"{origin.scheme}://majlis_origin"
    return f"""# majlis caching edge in front of {origin.scheme}://{origin.address}
# Rendered by `majlis edge-config`; see src/majlis/delivery/edge.py for why each line is here.

upstream majlis_origin {{
{_servers(options)}
    keepalive {options.upstream_keepalive};
    keepalive_requests 100000;
    keepalive_timeout 60s;
}}

# Parts, segments, init, replay: immutable or long-lived; dropped after 10 minutes unused.
proxy_cache_path {options.cache_dir}/media levels=1:2 keys_zone=majlis_media:50m
    max_size={options.cache_size} inactive=10m use_temp_path=off;
# Playlists and snapshots. "use_stale updating" serves a stale copy however old it is, so an
# entry nobody asked for in {LIVE_INACTIVE_S} s is dropped: after a quiet spell the next
# listener waits for a fresh playlist instead of getting one that names expired segments.
proxy_cache_path {options.cache_dir}/live levels=1:2 keys_zone=majlis_live:20m
    max_size=256m inactive={LIVE_INACTIVE_S}s use_temp_path=off;

# A blocking reload's answer names one past state that never changes: its own zone, kept
# {BLOCKING_INACTIVE_S} s for listeners who lag live; the plain playlist stays in the short zone.
proxy_cache_path {options.cache_dir}/blocking levels=1:2 keys_zone=majlis_blocking:20m
    max_size=256m inactive={BLOCKING_INACTIVE_S}s use_temp_path=off;
map $arg__HLS_msn $majlis_playlist_zone {{
    ""      majlis_live;
    default majlis_blocking;
}}

# The delivery directives of a blocking playlist reload, normalized: the cache key and the
# request to the origin both use this, and nothing else of the query.
map "$arg__HLS_msn:$arg__HLS_part" $majlis_hls_query {{
    "~^:$"                                  "";
    "~^(?<msn>\\d{{1,12}}):$"                  "?_HLS_msn=$msn";
    "~^(?<msn>\\d{{1,12}}):(?<part>\\d{{1,4}})$" "?_HLS_msn=$msn&_HLS_part=$part";
    default                                 "?$args";
}}

log_format majlis_edge escape=json '{{"t":$msec,"method":"$request_method",'
    '"uri":"$request_uri","status":$status,"cache":"$upstream_cache_status",'
    '"upstream":"$upstream_addr","request_time":$request_time,'
    '"upstream_time":"$upstream_response_time","bytes":$body_bytes_sent}}';
{dash_http}
server {{
    listen {options.listen};
    server_name {options.server_name};
    server_tokens off;
    # Descriptors of cache files stay open between hits; nginx compares each cache entry's
    # inode with the cached descriptor's, so a refreshed playlist or snapshot is reopened. A
    # new entry has no inode yet, and in the minute before the cache loader has run nginx looks
    # for its file on disk: a descriptor of a deleted file would bring a dropped playlist back,
    # so descriptors are rechecked every second (entries are dropped only after seconds unused).
    open_file_cache max=20000 inactive=20s;
    open_file_cache_valid 1s;
    {_log(options)}
    # Background cache updates are subrequests: log them, so every origin request is counted.
    log_subrequest on;
    keepalive_requests 100000;
    client_max_body_size 1m;

    # The live playlist, plain or blocking (_HLS_msn/_HLS_part): short-lived, collapsed.
    location ~ "^/hls/{_ID}/live\\.m3u8$" {{
        {common}
        {cached}
        {playlist_lived}
        {small}
        proxy_cache_key $uri$majlis_hls_query;
        proxy_pass {upstream_url}$uri$majlis_hls_query;
    }}

    # Parts, segments and the init segment: immutable at the origin, cached for as long.
    location ~ "^/hls/{_ID}/(init\\.mp4|\\d{{1,12}}(\\.\\d{{1,4}})?\\.m4s)$" {{
        {common}
        {long_lived}
        {cached}
        {small}
        proxy_cache_key $uri;
        proxy_pass {upstream_url}$uri;
    }}

    # Captions for HLS players (media/hls/subtitles.py): the multivariant and subtitles
    # playlists (max-age=1) and the WebVTT segments (max-age=60), for as long as the origin says.
    location ~ "^/hls/{_ID}/(main\\.m3u8|captions\\.m3u8|captions/\\d{{1,12}}\\.vtt)$" {{
        {common}
        {cached}
        {short_lived}
        {small}
        proxy_cache_key $uri;
        proxy_pass {upstream_url}$uri;
    }}

    # The Space snapshot (max-age=1 + ETag at the origin): stale while one request refreshes.
    location ~ "^/api/v1/spaces/{_ID}/snapshot$" {{
        {common}
        {cached}
        {short_lived}
        {small}
        proxy_cache_key $uri;
        proxy_pass {upstream_url}$uri;
    }}

    # The newest comments (max-age=1 + ETag at the origin, domain/comments.py), like the
    # snapshot: a large audience polls it. A query (an older page) skips the cache; a POST (a
    # new comment, with its token) is never cached and goes to the origin as it came.
    location ~ "^/api/v1/spaces/{_ID}/comments$" {{
        {common}
        {cached}
        {short_lived}
        {small}
        proxy_cache_key $uri;
        proxy_cache_bypass $args;
        proxy_no_cache $args;
        proxy_pass {upstream_url};
    }}

    # The replay and its recording: public, cached as long as the origin says.
    location ~ "^/api/v1/spaces/{_ID}/(replay\\.m3u8|recording\\.m4a)$" {{
        {common}
        {long_lived}
        {cached}
        proxy_cache_key $uri;
        proxy_pass {upstream_url}$uri;
    }}

    # Server-Sent Events: streamed as they come, never buffered or cached.
    location ~ "^/api/v1/(spaces/{_ID}/events|notifications/stream)$" {{
        {common}
        proxy_buffering off;
        proxy_cache off;
        proxy_read_timeout {SSE_READ_TIMEOUT_S}s;
        proxy_pass {upstream_url};
    }}

    # Pages' static files: cached only if the origin's Cache-Control allows it.
    location /static/ {{
        {common}
        proxy_cache majlis_media;
        add_header X-Cache-Status $upstream_cache_status always;
        proxy_pass {upstream_url};
    }}

{dash}
    # Everything else (WHIP, join, heartbeat, reactions, the API, pages): pass-through.
    location / {{
        {common}
        proxy_cache off;
        proxy_buffering off;
        proxy_request_buffering off;
        proxy_pass {upstream_url};
    }}
}}
"""


def render_config(options: EdgeOptions, dash: str = "", dash_http: str = "", main: str = "") -> str:
    """A complete ``nginx.conf``: the main and events contexts around ``render_http``
    (``main``: lines for the main context, such as ``load_module``)."""
    body = "\n".join(
        ("    " + line if line else line)
        for line in render_http(options, dash, dash_http).splitlines()
    )
    temp = options.cache_dir / "tmp"
    return f"""{main}worker_processes {options.worker_processes};
worker_rlimit_nofile 65536;
pid {options.pid_file};
error_log {options.log_dir}/error.log warn;

events {{
    worker_connections 16384;
}}

http {{
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    reset_timedout_connection on;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;

{body}
}}
"""
