"""The node's Prometheus metrics, defined once (names: /work/shared metrics contract).

Why a module of its own, with no imports from the rest of majlis: the HTTP layer, the audience
domain and the media threads all record into these objects, and none of them should depend on
another to do so. prometheus_client metrics are thread-safe, so the encoder thread may observe.
They live in the process-wide default registry, next to the process collectors (RSS, CPU).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

#: Latency buckets from a cached join (sub-ms) to a blocking playlist wait (up to 6 s).
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 6.0, 10.0)

HTTP_REQUESTS = Counter(
    "majlis_http_requests",
    "Requests answered, by route template (never the raw path), method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "majlis_http_request_duration_seconds",
    "Time from admission to the end of the response (blocking playlist waits included).",
    ["route"],
    buckets=_LATENCY,
)
ADMISSION = Counter(
    "majlis_admission", "Admission decisions: admitted, or shed with a 503.", ["outcome"]
)
INFLIGHT = Gauge("majlis_inflight_requests", "Requests holding a work slot right now.")
INFLIGHT_LIMIT = Gauge("majlis_inflight_limit", "The bound on requests holding a work slot.")
PARKED = Gauge(
    "majlis_parked_requests",
    "Long-lived requests outside the work slots: blocking playlists and event streams.",
    ["lane"],
)
JOINS = Counter("majlis_joins", "Listeners seated (successful joins).")
HEARTBEATS = Counter("majlis_heartbeats", "Listener heartbeats accepted.")
ACTIVE_LISTENERS = Gauge(
    "majlis_active_listeners", "Listeners counted by presence, per live Space.", ["space_id"]
)
LIVE_SPACES = Gauge("majlis_live_spaces", "Spaces live on this node.")
HLS_PARTS = Counter("majlis_hls_parts_published", "LL-HLS parts published, all Spaces.")
PART_PUBLISH_LAG = Histogram(
    "majlis_part_publish_lag_seconds",
    "From the capture of a part's last audio frame to the part being published.",
    buckets=(0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0),
)
MIXER_LAG = Histogram(
    "majlis_mixer_lag_seconds",
    "How late each 20 ms mixer tick ran after its due time.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.5, 1.0),
)
