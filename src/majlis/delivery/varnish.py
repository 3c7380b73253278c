"""The Varnish 7 VCL of a caching edge in front of a majlis origin (``majlis edge-config
--engine varnish``), with the ``varnishd`` command line to run it written at its top.

Why Varnish beside nginx: nginx hands an entry to waiters only once its fetch is complete (and
wakes them by polling every 500 ms), so an LL-DASH segment, which the origin streams with
chunked transfer over the ~2 s it is produced, would reach every listener but one late. Varnish
streams one fetch to every request that waits on it. Why each part of the VCL is there:

- **One fetch, streamed to every waiter.** A request for an object being fetched waits on the
  object's waiting list (holding no thread); once the origin's headers are in, the object stops
  being busy (``HSH_Unbusy`` runs *before* the body with ``beresp.do_stream``) and the waiters
  are woken, ``rush_exponent`` per woken request, and read the body as it grows. So every
  listener of a Space gets each chunk of the segment as the origin sends it. ``do_stream`` is on
  by default; the VCL sets it anyway so that nobody "tidies" it away. A body that breaks off
  (the origin's node died mid-segment) fails the fetch: the object is killed, never served
  again, and its readers see their response cut. (In 7.1 a reader whose delivery starts just
  after the failure gets what arrived with a clean end: measured 2 in 200 when the body broke
  off at once; the origin's CMAF chunks are whole boxes, so it plays as a short segment.)
- **Nothing on the listener path may become hit-for-miss or pass.** The builtin VCL marks an
  answer uncacheable for 120 s when it sees no TTL, ``no-store``/``private`` or a Set-Cookie;
  the waiters of an uncacheable answer each go to the origin, and so does every request for that
  URL for two minutes. Listener answers therefore leave ``vcl_backend_response`` with an explicit
  TTL and ``return (deliver)`` before the builtin code runs. A TTL must be above zero even for an
  answer nobody may keep: lookups skip ``ttl <= 0`` objects, waiters included, so they would
  line up one by one behind each other's fetches.
- **4xx/5xx kept at most ``ERROR_TTL_S``.** Without Cache-Control Varnish keeps a 404 for
  ``default_ttl`` (2 min): a part or segment asked for too early would stay missing after it
  appeared. A second still hands one answer (a 503's Retry-After included) to a whole crowd.
- **Cache keys with the delivery directives and nothing else.** A blocking reload depends on
  ``_HLS_msn``/``_HLS_part``: they are kept, in that order, and every other query argument (a
  cache-buster) is dropped from the URL, so from the key *and* from the request to the origin.
  Directives that are not plain numbers are passed to the origin as they are (its 400 is never
  cached). Media, MPD and snapshot URLs lose their query altogether. The key is the URL only, not
  the Host: an edge serves one origin, however its listeners address it.
- **TTLs by what the answer is.** Parts, segments and init segments are immutable: kept as long
  as the origin says, at most ``MEDIA_TTL_CAP_S`` (the LRU drops them earlier when memory runs
  out; a year's TTL would only keep dead Spaces in the way). A blocking reload's answer never
  changes (the origin says 60 s). The plain playlist, the MPD and the snapshot live for their
  short max-age plus ``LIVE_GRACE_S`` of grace: an expired copy is served while one background
  fetch refreshes it, so expiry never stalls a crowd, and a copy older than that is never served
  (after a quiet spell a listener waits for a fresh playlist instead of one naming gone parts).
  ``keep`` lets the snapshot's refresh be a conditional request (its ETag).
- **Listener paths ignore Cookie and Authorization** (the origin's answers there depend on
  neither; they are removed, so the origin cannot see something the key does not). Everywhere
  else, every method but GET/HEAD (WHIP, join, heartbeat, reactions), and pages, pass straight
  through, uncached. SSE passes and streams unbuffered; its connection may stay open for
  ``SSE_TIMEOUT_S`` (between the origin's bytes and to the client).
- **Backend timeouts above the longest wait.** The origin holds a blocking reload up to
  ``api.media.BLOCK_TIMEOUT_S`` (6 s) and a DASH segment's first chunk a few seconds, then
  streams it for ~2 s: first-byte and between-bytes timeouts are ``BACKEND_TIMEOUT_S``.
- **``GET /dash/time`` is answered by the edge** (ISO-8601 UTC with milliseconds, no-store): it
  is the MPD's UTCTiming URL, and a million players syncing their clocks need not reach the
  origin (both clocks run NTP).
- ``X-Forwarded-For``: Varnish appends the client's address to it before ``vcl_recv`` (a
  cached answer's fetch carries its first requester's); the origin believes it for the edges
  named in ``MAJLIS_TRUSTED_PROXIES``. ``X-Cache`` says what the edge did: HIT, STALE (grace),
  MISS (this request fetched it), PASS, SYNTH (answered by the edge).
- **Several origins**: round robin, a ``/readyz`` probe takes a dead node out, a GET or HEAD
  whose connection failed is retried on the next node.
- **varnishd parameters** (the comment at the top; ``VARNISHD_PARAMS``): a streaming delivery
  holds a worker thread for the whole segment (a waiter on the waiting list holds none), so an
  LL-DASH edge needs a thread per listener: ``thread_pools`` x ``thread_pool_max`` is its
  capacity (past it, and ``thread_queue_limit`` more, connections are dropped). Each pool's
  herder creates threads one at a time, so ``thread_pool_min`` starts many ahead for a surge.
  (2,000 listeners joining one held segment at once on 2 cores: all served from one fetch with
  the defaults too, threads growing to ~2,000 on demand.)

Varnish does not speak TLS to its backends: an ``https://`` origin is refused with a reason.
``render_vcl`` and ``varnishd_argv`` are pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from majlis.delivery.edge import MemoryEdgeOptions

#: First-byte and between-bytes timeouts to the origin: longer than its longest blocking reload
#: (``api.media.BLOCK_TIMEOUT_S``, 6 s) and a DASH segment's wait for its first chunk (a test
#: checks the relation).
BACKEND_TIMEOUT_S = 15
#: SSE streams stay open; the origin sends keepalive comments well inside this.
SSE_TIMEOUT_S = 3600
#: Most a 4xx/5xx answer is kept: long enough to hand it to the requests waiting for it.
ERROR_TTL_S = 1
#: Most an immutable part, segment or init segment is kept.
MEDIA_TTL_CAP_S = 600
#: Plain playlist, MPD, snapshot: served this long past their max-age while one refresh runs.
LIVE_GRACE_S = 3
#: ... and kept this much longer for a conditional refresh.
LIVE_KEEP_S = 10
#: Where the printed command line expects the VCL (relative names are looked up in vcl_path).
DEFAULT_VCL_PATH = "/etc/varnish/majlis-edge.vcl"

#: varnishd ``-p`` parameters (see the module docstring): two pools (the default) of 500-5,000
#: threads, so about 10,000 streaming listeners per edge; raise thread_pool_max beyond that.
VARNISHD_PARAMS: tuple[tuple[str, str], ...] = (
    ("thread_pool_min", "500"),
    ("thread_pool_max", "5000"),
)

#: Space ids are ``secrets.token_urlsafe``.
_ID = "[A-Za-z0-9_-]{1,64}"
_Q = r"(\?.*)?$"
#: The paths of the listener plane, as VCL regular expressions (VCL strings keep backslashes).
HLS_PLAYLIST = rf"^/hls/{_ID}/live\.m3u8{_Q}"
HLS_MEDIA = rf"^/hls/{_ID}/(init\.mp4|\d{{1,12}}(\.\d{{1,4}})?\.m4s){_Q}"
DASH_MPD = rf"^/dash/{_ID}/live\.mpd{_Q}"
DASH_MEDIA = rf"^/dash/{_ID}/(aac|opus)/(init\.mp4|\d{{1,12}}\.m4s){_Q}"
DASH_TIME = rf"^/dash/time{_Q}"
SNAPSHOT = rf"^/api/v1/spaces/{_ID}/snapshot{_Q}"
#: The newest comments, exactly (an older page has a ``?cursor=``: passed to the origin).
COMMENTS_NEWEST = rf"^/api/v1/spaces/{_ID}/comments$"
REPLAY = rf"^/api/v1/spaces/{_ID}/(replay\.m3u8|recording\.m4a){_Q}"
SSE = rf"^/api/v1/(spaces/{_ID}/events|notifications/stream){_Q}"
#: Answers that are the same for everyone, never change, and are kept up to MEDIA_TTL_CAP_S.
_IMMUTABLE = (HLS_MEDIA, DASH_MEDIA, REPLAY)
#: Short-lived documents, served stale for LIVE_GRACE_S while one request refreshes them.
_LIVE = (DASH_MPD, SNAPSHOT, COMMENTS_NEWEST)


@dataclass(frozen=True, slots=True)
class VarnishOptions(MemoryEdgeOptions):
    """Everything the rendered VCL and command line depend on (the cache: ``-s malloc,SIZE``)."""

    def __post_init__(self) -> None:
        self.check("Varnish", "kmgt")


def varnishd_argv(options: VarnishOptions, vcl_path: str = DEFAULT_VCL_PATH) -> tuple[str, ...]:
    """The ``varnishd`` command line that runs the VCL in the foreground (``-F``)."""
    bind = f"[{options.bind}]" if ":" in options.bind else options.bind
    argv = ["varnishd", "-F", "-a", f"{bind}:{options.listen}", "-f", vcl_path]
    argv += ["-s", f"malloc,{options.cache_size}"]
    for name, value in VARNISHD_PARAMS:
        argv += ["-p", f"{name}={value}"]
    return tuple(argv)


def command_line(options: VarnishOptions, vcl_path: str = DEFAULT_VCL_PATH) -> str:
    """``varnishd_argv`` for a shell: the -p parameters on continuation lines."""
    argv = varnishd_argv(options, vcl_path)
    first = argv.index("-p") if "-p" in argv else len(argv)
    lines = [" ".join(argv[:first])]
    lines += [f"{argv[i]} {argv[i + 1]}" for i in range(first, len(argv), 2)]
    return " \\\n    ".join(lines)


def _backends(options: VarnishOptions) -> tuple[str, str]:
    """The backend declarations and, for several origins, the director's vcl_init."""
    origins = (options.origin, *options.more_origins)
    several = len(origins) > 1
    probe = "\n    .probe = majlis_ready;" if several else ""
    blocks = []
    for number, origin in enumerate(origins, 1):
        blocks.append(f"""backend origin_{number} {{
    .host = "{origin.host.strip("[]")}";
    .port = "{origin.port}";
    .connect_timeout = 2s;
    .first_byte_timeout = {BACKEND_TIMEOUT_S}s;
    .between_bytes_timeout = {BACKEND_TIMEOUT_S}s;{probe}
}}""")
    declared = "\n\n".join(blocks)
    if not several:
        return declared, ""
    adds = "".join(f"\n    origins.add_backend(origin_{n});" for n in range(1, len(origins) + 1))
    probe_block = """# A node that stops answering /readyz is skipped until it answers again.
probe majlis_ready {
    .url = "/readyz";
    .interval = 2s;
    .timeout = 1s;
    .window = 3;
    .threshold = 2;
    .initial = 2;
}

"""
    init = f"""
sub vcl_init {{
    new origins = directors.round_robin();{adds}
}}
"""
    return probe_block + declared, init


def _any(patterns: tuple[str, ...], subject: str) -> str:
    return " ||\n        ".join(f'{subject} ~ "{p}"' for p in patterns)


def render_vcl(options: VarnishOptions) -> str:
    """The complete VCL (``vcl 4.1``), the varnishd command line as comments at its top."""
    origins = (options.origin, *options.more_origins)
    several = len(origins) > 1
    backends, init = _backends(options)
    command = "\n".join(f"#   {line}" for line in command_line(options).splitlines())
    imports = "import std;\nimport directors;" if several else "import std;"
    pick = "\n    set req.backend_hint = origins.backend();" if several else ""
    retry = (
        f"""
    if (bereq.method ~ "^(GET|HEAD)$" && bereq.retries < {len(origins) - 1}) {{
        # A node that refused or timed out: the director gives the retry the next one.
        return (retry);
    }}"""
        if several
        else ""
    )
    listener = (HLS_PLAYLIST, *_IMMUTABLE, *_LIVE)
    addresses = ", ".join(o.address for o in origins)
    return f"""# majlis caching edge (Varnish 7.1+) in front of {addresses}
# Rendered by `majlis edge-config --engine varnish`; src/majlis/delivery/varnish.py says why
# each part is here. Save it as {DEFAULT_VCL_PATH} and run:
#
{command}
#
# (-F: in the foreground, for systemd or a container; thread pools sized for one streaming
# listener per worker thread, see the module's docstring.)

vcl 4.1;

{imports}

{backends}
{init}
sub vcl_recv {{
    call vcl_req_host;
    unset req.http.X-Majlis-Hls;
    set req.http.X-Real-IP = client.ip;{pick}
    if (req.method != "GET" && req.method != "HEAD") {{
        # WHIP offers and deletes, join, heartbeat, reactions, every write: to the origin.
        return (pass);
    }}
    if (req.url ~ "{DASH_TIME}") {{
        return (synth(200));
    }}
    if (req.url ~ "{HLS_PLAYLIST}") {{
        # Keep _HLS_msn and _HLS_part (the first of each, in that order), nothing else.
        if (req.url ~ "[?&]_HLS_msn=") {{
            set req.http.X-Majlis-Hls =
                regsub(req.url, "^[^?]*\\?([^&]*&)*?_HLS_msn=([^&]*).*$", "\\2");
        }}
        set req.http.X-Majlis-Hls = req.http.X-Majlis-Hls + ":";
        if (req.url ~ "[?&]_HLS_part=") {{
            set req.http.X-Majlis-Hls = req.http.X-Majlis-Hls +
                regsub(req.url, "^[^?]*\\?([^&]*&)*?_HLS_part=([^&]*).*$", "\\2");
        }}
        if (req.http.X-Majlis-Hls == ":") {{
            set req.url = regsub(req.url, "\\?.*$", "");
        }} elsif (req.http.X-Majlis-Hls ~ "^\\d{{1,12}}:$") {{
            set req.url = regsub(req.url, "\\?.*$", "?_HLS_msn=") +
                regsub(req.http.X-Majlis-Hls, ":$", "");
        }} elsif (req.http.X-Majlis-Hls ~ "^\\d{{1,12}}:\\d{{1,4}}$") {{
            set req.url = regsub(req.url, "\\?.*$", "?_HLS_msn=") +
                regsub(req.http.X-Majlis-Hls, ":", "&_HLS_part=");
        }} else {{
            # Not plain numbers: to the origin as they came (its 400 says why), never cached.
            return (pass);
        }}
        unset req.http.Cookie;
        unset req.http.Authorization;
        return (hash);
    }}
    if ({_any((*_IMMUTABLE, *_LIVE), "req.url")}) {{
        # Media, MPD, snapshot, newest comments, replay: the same for everyone; no query,
        # cookie or credentials.
        set req.url = regsub(req.url, "\\?.*$", "");
        unset req.http.Cookie;
        unset req.http.Authorization;
        return (hash);
    }}
    if (req.url ~ "{SSE}") {{
        # Server-Sent Events: streamed through, never cached, open for long.
        set sess.send_timeout = {SSE_TIMEOUT_S}s;
        return (pass);
    }}
    if (req.url ~ "^/static/" && !req.http.Authorization) {{
        # Pages' static files read no cookie; cached if the origin's Cache-Control allows.
        unset req.http.Cookie;
        return (hash);
    }}
    # Pages and the rest of the API: pass-through.
    return (pass);
}}

sub vcl_hash {{
    # One origin behind the edge: the URL (normalized above) is the whole key.
    hash_data(req.url);
    return (lookup);
}}

sub vcl_backend_fetch {{
    set bereq.http.Host = "{options.origin.host_header}";
    set bereq.http.X-Forwarded-Proto = "http";
    unset bereq.http.X-Majlis-Hls;
    if (bereq.url ~ "{SSE}") {{
        set bereq.between_bytes_timeout = {SSE_TIMEOUT_S}s;
    }}
}}

sub vcl_backend_response {{
    # Stream to the client (and to every request waiting on this fetch) as it arrives.
    set beresp.do_stream = true;
    if (bereq.uncacheable) {{
        return (deliver);
    }}
    if (beresp.status >= 400) {{
        # Shared with the requests that waited for it, never kept past a second.
        if (beresp.ttl <= 0s || beresp.ttl > {ERROR_TTL_S}s) {{
            set beresp.ttl = {ERROR_TTL_S}s;
        }}
        set beresp.grace = 0s;
        set beresp.keep = 0s;
        return (deliver);
    }}
    if ({_any(listener, "bereq.url")}) {{
        unset beresp.http.Set-Cookie;
        if (beresp.ttl <= 0s) {{
            # Still collapse concurrent requests (a 0 TTL would serialize them); keep nothing.
            set beresp.ttl = {ERROR_TTL_S}s;
        }}
        if (beresp.ttl > {MEDIA_TTL_CAP_S}s) {{
            set beresp.ttl = {MEDIA_TTL_CAP_S}s;
        }}
        if ({_any((*_LIVE,), "bereq.url")} ||
            bereq.url ~ "{HLS_PLAYLIST.replace(_Q, "$")}") {{
            # Plain playlist, MPD, snapshot: stale while one request refreshes, then gone.
            set beresp.grace = {LIVE_GRACE_S}s;
            set beresp.keep = {LIVE_KEEP_S}s;
            if ({_any((DASH_MPD,), "bereq.url")}) {{
                # Every DASH listener reloads it every minimumUpdatePeriod: gzipped once here
                # it is a third of the bytes (a client that cannot take gzip gets it plain).
                set beresp.do_gzip = true;
            }}
        }} else {{
            set beresp.grace = 0s;
        }}
        return (deliver);
    }}
    if (!beresp.http.Cache-Control && !beresp.http.Expires) {{
        # Static files the origin did not say how long to keep: not kept.
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }}
    # Otherwise the builtin rules: no-store, private, Set-Cookie are not kept.
}}

sub vcl_backend_error {{{retry}
    set beresp.http.Content-Type = "application/problem+json";
    set beresp.http.Cache-Control = "no-store";
    set beresp.http.Retry-After = "1";
    set beresp.body = {{"{{"title":"The origin did not answer","status":503}}"}};
    if (!bereq.uncacheable) {{
        # One answer for the crowd that waited, for a second: not one origin attempt each.
        set beresp.ttl = {ERROR_TTL_S}s;
        set beresp.grace = 0s;
    }}
    return (deliver);
}}

sub vcl_deliver {{
    if (obj.uncacheable) {{
        set resp.http.X-Cache = "PASS";
    }} elsif (obj.hits > 0) {{
        set resp.http.X-Cache = "HIT";
        if (obj.ttl <= 0s) {{
            set resp.http.X-Cache = "STALE";
        }}
    }} else {{
        set resp.http.X-Cache = "MISS";
    }}
}}

sub vcl_synth {{
    set resp.http.X-Cache = "SYNTH";
    if (resp.status == 200 && req.url ~ "{DASH_TIME}") {{
        # The MPD's UTCTiming (urn:mpeg:dash:utc:http-iso:2014): now, to the millisecond.
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        set resp.http.Cache-Control = "no-store";
        set resp.http.Access-Control-Allow-Origin = "*";
        set resp.http.X-Ms = "00" + (std.integer(real = std.real(time = now) * 1000) -
            std.integer(time = now) * 1000);
        set resp.body = std.strftime(now, "%Y-%m-%dT%H:%M:%S") + "." +
            regsub(resp.http.X-Ms, "^.*(\\d{{3}})$", "\\1") + "Z";
        unset resp.http.X-Ms;
        return (deliver);
    }}
    # A fetch that failed before its answer began ("Backend fetch failed"), a request without
    # Host: problem+json like the origin's errors.
    set resp.http.Content-Type = "application/problem+json";
    set resp.http.Retry-After = "1";
    set resp.body = {{"{{"title":""}} + resp.reason + {{"","status":"}} + resp.status + "}}";
    return (deliver);
}}
"""
