"""The nginx + Nchan edge (``majlis edge-config --engine nchan``): LL-DASH for every listener at
an event loop's cost, with ``majlis edge-feed`` beside it (see ``fanout.py`` for why).

It is the nginx edge of ``edge.py`` (LL-HLS, replays, snapshots and pass-through unchanged) with
the DASH paths served here instead of passed to the origin:

- ``/dash/time`` is answered by nginx: the MPD's UTCTiming (``urn:mpeg:dash:utc:http-iso:2014``),
  ISO-8601 to the millisecond with nginx's UTC offset (``+00:00`` on a server in UTC);
- the MPD goes to the feeder (which follows the Space from it), cached a second and collapsed,
  so the feeder sees at most one request per Space per second however many listeners join;
- init segments are cached from the origin like HLS media;
- a segment is the feeder's file once complete (``try_files``), else a subscription to its
  channel: the chunks so far at once, then each as the feeder publishes it, then the end;
- the publisher location takes the feeder's chunks from loopback only.

The feeder marks the segments it is producing or will produce next (``{number}.next`` beside
the files): a request for one of them subscribes and waits for its first chunk (up to
``SUBSCRIBE_WAIT_S``); a request for any other number that is not a file is a 404 at once (gone,
or further ahead than a player following the MPD asks), so nobody can make Nchan hold channels
for made-up numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from majlis.delivery.edge import EdgeOptions, render_config

#: Where Debian's packages put the dynamic modules this edge loads.
MODULES_DIR = Path("/usr/lib/nginx/modules")
#: How long a segment request waits for a channel that has no chunk yet.
SUBSCRIBE_WAIT_S = 10
#: Chunks kept per channel: a segment has at most this many (8 at the default 0.256 s).
CHANNEL_MESSAGES = 64
#: How long a published chunk is kept (the feeder deletes the channel once the file exists).
MESSAGE_TTL_S = 60
_ID = "[A-Za-z0-9_-]{1,64}"
_RENDITION = "aac|opus"
_SEGMENT = (
    f"^/dash/(?<majlis_space>{_ID})/(?<majlis_rendition>{_RENDITION})"
    r"/(?<majlis_number>\d{1,12})\.m4s$"
)


@dataclass(frozen=True, slots=True)
class NchanOptions:
    """What the nchan edge adds to the nginx edge's options."""

    edge: EdgeOptions
    #: The feeder's port on loopback (``majlis edge-feed --port``).
    feed_port: int = 8090
    #: The feeder's directory of complete segments (``majlis edge-feed --segments-dir``).
    segments_dir: Path = Path("/var/cache/majlis-edge/dash")
    #: Shared memory for chunks in flight.
    memory: str = "128M"
    modules_dir: Path = MODULES_DIR


def render(options: NchanOptions) -> str:
    """The complete ``nginx.conf``."""
    main = (
        f"load_module {options.modules_dir}/ngx_nchan_module.so;\n"
        f"load_module {options.modules_dir}/ngx_http_headers_more_filter_module.so;\n"
    )
    return render_config(
        options.edge,
        _locations(options),
        _CLOCK_MAPS + f"nchan_max_reserved_memory {options.memory};\n",
        main,
    )


def _locations(options: NchanOptions) -> str:
    common = f"""proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host {options.edge.origin.host_header};
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"""
    return f"""    # --- LL-DASH, served here with majlis edge-feed beside it (delivery/nchan.py)
    location = /dash/time {{
        default_type "text/plain; charset=utf-8";
        add_header Cache-Control "no-store" always;
        add_header Access-Control-Allow-Origin "*" always;
        return 200 "$majlis_clock_seconds.$majlis_clock_ms$majlis_clock_offset";
    }}

    location ~ "^/dash/{_ID}/live\\.mpd$" {{
        {common}
        proxy_cache majlis_live;
        proxy_cache_key $uri;
        proxy_cache_valid 200 1s;
        proxy_cache_valid any 1s;
        proxy_cache_lock on;
        proxy_cache_lock_timeout 10s;
        proxy_cache_use_stale updating;
        proxy_cache_background_update on;
        gzip on;
        gzip_types application/dash+xml;
        add_header X-Cache-Status $upstream_cache_status always;
        add_header Access-Control-Allow-Origin "*" always;
        proxy_pass http://127.0.0.1:{options.feed_port};
    }}

    location ~ "^/dash/{_ID}/({_RENDITION})/init\\.mp4$" {{
        {common}
        proxy_cache majlis_media;
        proxy_cache_key $uri;
        proxy_cache_lock on;
        add_header Access-Control-Allow-Origin "*" always;
        proxy_pass http://majlis_origin;
    }}

    location ~ "{_SEGMENT}" {{
        root {options.segments_dir};
        default_type audio/mp4;
        sendfile off;
        add_header Cache-Control "public, max-age=60" always;
        add_header Access-Control-Allow-Origin "*" always;
        try_files /$majlis_space/$majlis_rendition/$majlis_number.m4s @majlis_live_segment;
    }}

    location @majlis_live_segment {{
        # Only the segments the feeder is producing or about to (it marks them): anything else
        # is gone or further ahead than a player asks, and would make Nchan keep a channel
        # for whoever made the number up.
        root {options.segments_dir};
        default_type application/problem+json;
        if (!-f $document_root/$majlis_space/$majlis_rendition/$majlis_number.next) {{
            return 404 '{{"title":"No such segment: gone, or not live yet","status":404}}';
        }}
        # Nchan closes the connection when it ends a live segment's response (a deleted
        # channel): say so in the response (Connection: close), or a client that reuses the
        # connection for its next segment sends it into a closing socket.
        keepalive_timeout 0;
        # Nchan's chunked subscriber answers only requests that say TE: chunked; browsers
        # cannot, so the edge says it for them.
        more_set_input_headers "TE: chunked";
        more_set_headers "Content-Type: audio/mp4" "Cache-Control: no-store"
            "Access-Control-Allow-Origin: *";
        nchan_subscriber http-chunked;
        nchan_channel_id "$majlis_space/$majlis_rendition/$majlis_number";
        nchan_subscriber_first_message oldest;
        nchan_subscriber_timeout {SUBSCRIBE_WAIT_S}s;
    }}

    location ~ "^/_majlis_feed/({_ID}/({_RENDITION})/\\d{{1,12}})$" {{
        allow 127.0.0.1;
        deny all;
        nchan_publisher;
        nchan_channel_id $1;
        nchan_message_buffer_length {CHANNEL_MESSAGES};
        nchan_message_timeout {MESSAGE_TTL_S}s;
        client_max_body_size 1m;
        client_body_buffer_size 1m;
    }}
"""


# /dash/time from nginx's cached clock: $time_iso8601 and $msec are read from the same update,
# so the seconds and the milliseconds agree. nginx writes local time with its UTC offset (a
# worker ignores `env TZ=UTC`), so the answer keeps the offset: "...T12:17:39.123+03:00" is the
# same instant as "...T09:17:39.123Z" to every ISO-8601 reader, dash.js's included.
_CLOCK_MAPS = """
map $time_iso8601 $majlis_clock_seconds {
    "~^(?<seconds>\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d)" $seconds;
}
map $time_iso8601 $majlis_clock_offset {
    "~(?<offset>[+-]\\d\\d:\\d\\d)$" $offset;
    default "Z";
}
map $msec $majlis_clock_ms {
    "~\\.(?<ms>\\d{3})$" $ms;
}
"""
