"""The Squid 5 configuration of a caching edge in front of a majlis origin (``majlis edge-config
--engine squid``), with the ``squid`` command line to run it written at its top.

Why Squid beside Varnish: both hand one origin fetch to every listener waiting for it and stream
each chunk of a growing LL-DASH segment to all of them as it arrives. Varnish holds a worker
thread per streaming listener (~3.6x Icecast's CPU per listener); Squid serves every client from
one event loop in one process, with no thread per client. Why each part of the configuration is
there, and where it differs from the Varnish VCL (``delivery/varnish.py``):

- **One worker, memory cache only.** ``collapsed_forwarding on`` makes a request for a URL that
  is being fetched join that fetch instead of starting its own, and the joiners read the body
  as it grows. With ``workers 2`` (SMP) that breaks: ~16 origin fetches per segment were
  measured. So: one worker, no ``cache_dir`` (live segments are wanted for seconds), ``cache_mem``
  sized by ``--cache-size``, ``memory_cache_mode always``. One core serves the edge; run one
  Squid per core (behind a load balancer) for more.
- **The first requester may leave.** ``quick_abort_min -1 KB`` keeps the fetch going when the
  client that started it hangs up: others are reading it. ``read_ahead_gap`` lets the fetch
  read a whole segment ahead of the slowest reader.
- **A body that breaks off is not kept:** Squid marks the entry incomplete and releases it; its
  readers see their response cut (no closing chunk) and the next request fetches again.
- **TTLs are the origin's.** Segments and init say ``max-age=60``, the MPD ``max-age=2``, a
  blocking reload ``max-age=60``, the plain playlist and the snapshot a second or two; Squid
  keeps each for that (``refresh_pattern ... 0 0% 0``: nothing is fresh without Cache-Control,
  so a static file the origin did not say how long to keep is revalidated every time). Varnish
  also caps a long max-age at ``MEDIA_TTL_CAP_S``; Squid cannot cap an explicit max-age, and its
  memory LRU drops old segments instead. A player's ``Cache-Control: no-cache`` would send every
  request to the origin: ``ignore-reload`` on the listener paths, as Varnish ignores it.
- **No grace.** Squid 5 has no stale-while-revalidate: when the MPD expires the next request
  revalidates it (a conditional request), so listeners wait one origin round trip every
  ``max-age`` instead of being served the old copy.
  ``max_stale`` lets a copy ``LIVE_GRACE_S`` stale stand in only when the origin cannot answer.
- **Errors: one answer for the crowd, kept a second.** The origin's 4xx/5xx say ``no-store``,
  and Squid hands an answer it may not keep to none of the requests waiting on the fetch: each
  goes to the origin itself (10 origin requests for 10 waiters on a 503, measured). On the
  listener paths ``ignore-no-store`` lets Squid keep them, and an error without max-age is kept
  ``negative_ttl`` (``ERROR_TTL_S``), as Varnish keeps it: the waiters share it, and a part
  asked for too early is asked for again a second later.
- **Query strings are part of the key.** Squid rewrites no URL without an external helper
  process per request, so, unlike Varnish, a cache-buster (``?v=...``) on a segment makes its
  own cache entry and its own origin fetch, and ``_HLS_msn``/``_HLS_part`` in another order are
  another blocking reload. Blocking reloads are cached per full URL, as they must be; players
  send the directives as the playlist names them. Directives that are not plain numbers reach
  the origin, whose 400 is kept a second (Varnish passes it).
- **What is cached**: GET/HEAD on the listener paths (whatever the request's Cookie or
  Authorization, which the origin's answers there depend on neither and which are removed from
  the request to the origin) and ``/static/`` without credentials. Everything else passes
  through uncached: writes (WHIP, join, heartbeat, reactions), requests with Authorization,
  pages, the rest of the API, and Server-Sent Events, which Squid streams as they come (it never
  buffers a response). ``login=PASSTHRU``: Squid passes Authorization to an origin only when
  told to (and the listener paths remove it). ``read_timeout`` (``READ_TIMEOUT_S``) is above
  the SSE keepalive and the origin's longest hold; unlike Varnish's, one for every path.
- **``/dash/time`` is proxied, uncached** (the origin says ``no-store``): Squid cannot write an
  answer of its own, where Varnish answers the DASH clock at the edge.
- **Several origins**: ``round-robin`` parents; a connection that fails is retried on the next
  parent, and a parent whose connections fail ``connect-fail-limit`` times is marked dead and
  skipped until Squid's TCP probe reaches it again. Squid 5 has no HTTP health check: a node that
  accepts connections but answers 503 is not skipped (Varnish probes ``/readyz``).
- **Headers.** ``X-Forwarded-For`` gets the client's address appended (``forwarded_for on``), and
  ``X-Real-IP`` and ``X-Forwarded-Proto`` are set as the other engines set them; Host is the
  origin's (``defaultsite``, ``no-vhost``: one origin, however listeners address the edge, and
  the key is the path). Squid says what it did in ``X-Cache`` (``HIT``/``MISS from ...``); a
  request that joined another's fetch says MISS and is logged ``TCP_MISS/... HIER_NONE``: count
  origin fetches at the origin, or as the log lines naming a parent (``*_PARENT``).
- The MPD is passed as the origin sends it (Varnish gzips it); the origin's own errors and
  Squid's (its HTML error pages, when no origin answers) are not problem+json.
- **Process**: ``max_filedescriptors`` for tens of thousands of listeners, the access log off
  unless ``--access-log`` (a line per request is CPU), ``cache_effective_user`` (``proxy``, the
  Debian package's user) when started as root, ``pinger_enable off`` (no ICMP helper), and the
  cache manager only for localhost.

Squid does not speak TLS to origins here: an ``https://`` origin is refused with a reason.
``render_config`` and ``squid_argv`` are pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from majlis.delivery import varnish
from majlis.delivery.edge import EdgeConfigError, MemoryEdgeOptions
from majlis.delivery.varnish import ERROR_TTL_S, LIVE_GRACE_S

#: Between two reads from the origin: above the SSE keepalive (``api.sse.KEEPALIVE_S``, 15 s),
#: the longest blocking reload (``api.routes.media.BLOCK_TIMEOUT_S``) and a DASH segment's wait
#: for its first chunk (a test checks the relations).
READ_TIMEOUT_S = 60
#: Connecting to an origin node; past it the request goes to the next node.
CONNECT_TIMEOUT_S = 2
#: Largest answer kept (a replay's recording: an hour at 64 kb/s is ~29 MB).
MAX_OBJECT_MB = 64
#: Where the printed command line expects the configuration.
DEFAULT_CONF_PATH = "/etc/squid/majlis-edge.conf"

#: The listener paths as POSIX extended regular expressions (``urlpath_regex`` matches the path
#: and query): the Varnish VCL's, whose ``\d`` POSIX spells ``[0-9]``.
_LISTENER = tuple(
    pattern.replace(r"\d", "[0-9]")
    for pattern in (
        varnish.HLS_PLAYLIST,
        varnish.HLS_MEDIA,
        varnish.DASH_MPD,
        varnish.DASH_MEDIA,
        varnish.SNAPSHOT,
        varnish.COMMENTS_NEWEST,
        varnish.REPLAY,
    )
)
_SSE = varnish.SSE


@dataclass(frozen=True, slots=True)
class SquidOptions(MemoryEdgeOptions):
    """Everything the rendered configuration and command line depend on (the cache:
    ``cache_mem``)."""

    #: One line per request costs the edge CPU: off unless asked for.
    access_log: bool = False
    #: cache.log, and access.log when logging (Debian's squid package creates this one).
    log_dir: Path = Path("/var/log/squid")
    pid_file: Path = Path("/run/majlis-edge-squid.pid")
    #: The user Squid switches to when started as root.
    user: str = "proxy"

    def __post_init__(self) -> None:
        self.check("Squid", "kmg")
        for path in (self.log_dir, self.pid_file):
            if not str(path) or re.search(r"[\s\"'#]", str(path)):
                raise EdgeConfigError(
                    f"the path {str(path)!r} must not contain spaces, quotes or #"
                )
        if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", self.user):
            raise EdgeConfigError(f"{self.user!r} is not a user name")


def squid_argv(conf_path: str = DEFAULT_CONF_PATH) -> tuple[str, ...]:
    """``squid`` in the foreground (``-N``: one process, no daemon, no kid) with the file."""
    return ("squid", "-N", "-f", conf_path)


def _size(size: str) -> str:
    """``256m`` in Squid's words: ``256 MB``."""
    units = {"k": "KB", "m": "MB", "g": "GB"}
    unit = units.get(size[-1].lower())
    return f"{size[:-1]} {unit}" if unit else f"{size} bytes"


def _peers(options: SquidOptions) -> str:
    origins = (options.origin, *options.more_origins)
    several = " round-robin" if len(origins) > 1 else ""
    return "\n".join(
        f"cache_peer {origin.host.strip('[]')} parent {origin.port} 0 no-query no-digest "
        f"originserver login=PASSTHRU name=origin_{number} connect-timeout={CONNECT_TIMEOUT_S} "
        f"connect-fail-limit=2{several}"
        for number, origin in enumerate(origins, 1)
    )


def _acl(name: str, patterns: tuple[str, ...]) -> str:
    return "\n".join(f"acl {name} urlpath_regex {pattern}" for pattern in patterns)


def render_config(options: SquidOptions) -> str:
    """The complete ``squid.conf``, the command line to run it as comments at its top."""
    origins = (options.origin, *options.more_origins)
    bind = (
        f"[{options.bind}]:"
        if ":" in options.bind
        else (f"{options.bind}:" if options.bind else "")
    )
    access_log = f"stdio:{options.log_dir}/access.log squid" if options.access_log else "none"
    # refresh_pattern matches the whole URL (scheme and host first), urlpath_regex the path.
    listener_urls = "|".join(p.removeprefix("^").removesuffix("$") for p in _LISTENER)
    addresses = ", ".join(o.address for o in origins)
    return f"""# majlis caching edge (Squid 5.7+, one worker) in front of {addresses}
# Rendered by `majlis edge-config --engine squid`; src/majlis/delivery/squid.py says why each
# part is here. Save it as {DEFAULT_CONF_PATH} and run:
#
#   {" ".join(squid_argv())}
#
# (-N: in the foreground, one process, for systemd or a container. One worker on purpose:
# several would break the collapsing of a crowd onto one origin fetch.)

http_port {bind}{options.listen} accel defaultsite={options.origin.host_header} no-vhost
visible_hostname majlis-edge
httpd_suppress_version_string on
workers 1
max_filedescriptors 65536
cache_effective_user {options.user}
pid_filename {options.pid_file}
cache_log {options.log_dir}/cache.log
access_log {access_log}
cache_store_log none
pinger_enable off
shutdown_lifetime 1 seconds

# The origin nodes: round robin over several, a node whose connections fail is skipped.
{_peers(options)}
never_direct allow all
read_timeout {READ_TIMEOUT_S} seconds

# The listener plane (same for everyone), Server-Sent Events, the DASH clock, pages' files.
{_acl("listener", _LISTENER)}
{_acl("sse", (_SSE,))}
acl dash_time urlpath_regex ^/dash/time(\\?.*)?$
acl static urlpath_regex ^/static/
acl credentials req_header Authorization .
acl reads method GET HEAD
acl CONNECT method CONNECT
http_access allow localhost manager
http_access deny manager
http_access deny CONNECT
http_access allow all

# Cached: reads on the listener plane, static files without credentials. Everything else
# (writes, WHIP, SSE, /dash/time, pages, the API, credentials) passes through uncached.
cache deny !reads
cache deny sse
cache deny dash_time
cache allow listener
cache allow static !credentials
cache deny all

# A crowd asking for what is being fetched joins that fetch and reads it as it grows.
collapsed_forwarding on
cache_mem {_size(options.cache_size)}
memory_cache_mode always
maximum_object_size_in_memory {MAX_OBJECT_MB} MB
maximum_object_size {MAX_OBJECT_MB} MB
# The fetch goes on when its first requester leaves, and reads ahead of slow listeners.
quick_abort_min -1 KB
read_ahead_gap 1 MB

# Freshness is the origin's Cache-Control; nothing is fresh without one. On the listener
# plane a player's no-cache does not reach the origin.
refresh_pattern ^[a-z]+://[^/]*({listener_urls}) 0 0% 0 ignore-reload ignore-no-store
refresh_pattern . 0 0% 0
negative_ttl {ERROR_TTL_S} seconds
max_stale {LIVE_GRACE_S} seconds

# The origin's listener answers depend on no cookie or credentials: it does not see them.
# Reads only: a write to a listener path (a new comment) keeps its token.
request_header_access Cookie deny listener reads
request_header_access Authorization deny listener reads
reply_header_access Set-Cookie deny listener
request_header_access X-Real-IP deny all
request_header_access X-Forwarded-Proto deny all
request_header_add X-Real-IP "%>a" all
request_header_add X-Forwarded-Proto "http" all
forwarded_for on
"""
