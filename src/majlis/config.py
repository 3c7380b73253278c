"""All configuration in one place: defaults, then ``MAJLIS_*`` environment variables, then flags.

Why one dataclass: every node of a deployment must agree on a few values (the secret that signs
listener ids, the heartbeat interval), and an operator should find every knob by reading one file.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, get_type_hints

from majlis.database_url import async_database_url

#: A listener cap that no audience reaches: the default of the caps that are retired.
NO_CAP = 1_000_000_000
ENV_PREFIX = "MAJLIS_"
#: The shortest MAJLIS_SECRET accepted (the generated one is 43 characters).
MIN_SECRET_BYTES = 32
KDF_PROFILES = ("rfc9106-low-memory", "rfc9106-high-memory", "test-cheapest")


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of one majlis node."""

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./data")
    #: SQLAlchemy async URL; default is a SQLite file under ``data_dir``.
    database_url: str = ""
    #: Presence, counters, rate limits and events on Redis (``redis://host:6379/0``); empty =
    #: in-process, for a single node.
    redis_url: str = ""
    #: Namespaces keys and channels, so several deployments can share one Redis.
    redis_prefix: str = "majlis:"
    #: Prefix for URLs handed to clients (``https://spaces.example.org``); empty = root-relative.
    public_url: str = ""
    #: Signs listener ids; all nodes of a deployment share it. Generated per data dir if empty.
    secret: str = ""
    heartbeat_interval_s: int = 30
    #: An operator's cap: listeners who join a Space of at least this many get plain HLS
    #: (whole 2 s segments, seconds of latency) instead of low latency. Retired by default
    #: (no cap): low-latency DASH through a streaming edge costs about what segment-paced HLS
    #: does, one request per segment (docs/scaling.md). Worth setting only behind edges that
    #: cannot stream a growing segment to many waiters. 0: nobody gets low latency.
    low_latency_max_listeners: int = NO_CAP
    #: Listeners who join a Space of at least this many are told not to open its event stream
    #: (join's ``events``) and follow it through the snapshot, which edges cache: a stream is
    #: an open connection at an origin node per listener, the one audience cost an edge cannot
    #: absorb. The stage and staff always stream. 0: listeners never stream.
    events_max_listeners: int = 5_000
    #: LL-HLS parts (0.256 s each) per low-latency DASH chunk: what the origin sends, and an
    #: edge passes on, at once. Varnish wakes every listener streaming a segment for each
    #: chunk, so larger chunks cost an edge less and listeners latency: at 2,000 listeners
    #: 0.149 / 0.112 / 0.086 Varnish cores per 1,000 for 1 / 2 / 4 (docs/benchmarks.md);
    #: 4 needs the players' latency target above the 1.2 s the MPD asks for. 1, 2, 4 or 8.
    #: Opus chunks are as long: the whole number of its 0.48 s parts nearest (dash.mpd).
    dash_chunk_parts: int = 1
    max_body_bytes: int = 64 * 1024
    #: A request line and headers larger than this get 431 and the connection closed
    #: (http_limits.py: a 100 MB header once grew a node by 142 MiB and stalled its rooms).
    max_head_bytes: int = 32 * 1024
    #: Seconds a request's head may take to arrive (from the connection's opening, or the
    #: request's first byte) before 408 and close.
    head_timeout_s: float = 10.0
    #: Seconds a request's body may take to arrive, plus a second per 16 KiB of it; it is read
    #: before admission counts the request, so a stalled body holds a connection, never a work
    #: slot (408 after; api/middleware/guards.py).
    body_timeout_s: float = 30.0
    #: Bearer token a scraper sends for /metrics; empty: only this machine (loopback) may
    #: scrape. /metrics renders at most once a second and is shed under load like any read.
    metrics_token: str = ""
    #: A live Space whose stage nobody has been connected to for this long ends itself and
    #: finalizes its recording (media/plane/abandoned.py); 0 = never.
    abandoned_space_end_s: float = 600.0
    kdf_profile: str = "rfc9106-low-memory"
    #: Concurrent password hashes; more would only queue on 2 cores and cost 64 MiB each.
    kdf_concurrency: int = 2
    #: Sign-in attempts per handle from one address (a guesser elsewhere cannot lock the owner out).
    signin_per_handle_per_min: int = 10
    signin_per_ip_per_min: int = 60
    signup_per_ip_per_min: int = 30
    reactions_per_account_per_10s: int = 20
    requests_per_account_per_min: int = 10
    #: Seconds the join path may serve a cached copy of a Space's state.
    space_cache_ttl_s: float = 1.0
    #: Seconds a token lookup is cached on the auth path (revocation is immediate on this node).
    token_cache_ttl_s: float = 10.0
    #: A session (a signed-in device) unused this many days ends: its token stops working.
    session_idle_days: float = 30.0
    log_level: str = "info"
    #: "text" for a person at a terminal, "json" (one object a line) for a log collector.
    log_format: str = "text"
    #: Log every request (uvicorn's access log): off by default, it costs CPU at scale.
    access_log: bool = False
    #: Admission control (api/middleware/admission.py). Requests being worked on at once; beyond
    #: it a 503 with Retry-After. 256 ~ one core's join throughput (6k/s) x 40 ms (bench/surge.py).
    max_inflight: int = 256
    #: New arrivals (join, sign-in, sign-up) are admitted only while fewer than this many
    #: requests are in flight, so they are shed before the people already in the room.
    max_entry_inflight: int = 128
    #: New arrivals admitted per second (token bucket, one second of burst); 0 = no budget.
    max_joins_per_s: float = 4000.0
    #: Blocking playlist requests parked on the next part, and open event streams: cheap, but
    #: each holds memory, so each kind has its own bound instead of a work slot.
    max_parked_requests: int = 20_000
    max_streams: int = 10_000
    #: Event streams one client address may hold at once (a tab holds one or two): one client
    #: cannot take the node's stream slots from everyone else (issue 14). 429 beyond it.
    max_streams_per_client: int = 32
    #: Connections one address may hold at once (0: no cap); trusted proxies are not capped.
    max_connections_per_address: int = 256
    #: Base of the jittered Retry-After (+-50 %); it grows with the crowd being shed.
    retry_after_s: float = 2.0
    #: CIDRs (comma-separated) of edges/proxies whose X-Forwarded-For is believed; empty = none.
    trusted_proxies: str = ""
    #: Per client IP where listeners write; generous, as thousands may share a carrier NAT.
    joins_per_ip_per_min: int = 600
    heartbeats_per_ip_per_min: int = 6000
    reactions_per_ip_per_10s: int = 200
    #: Pre-show teasers (PUT /api/v1/spaces/{id}/teaser): the largest upload, the longest
    #: decoded loop, and the wall-clock budget for decoding one in a worker thread.
    teaser_max_bytes: int = 4 * 1024 * 1024
    teaser_max_s: float = 120.0
    teaser_decode_budget_s: float = 10.0
    #: Live captions (media/captions): the model (a packaged name, "base" or "tiny.en", or a
    #: model directory; empty: none, captions off on this node), whether a new Space has them
    #: on (the host switches them per Space), and the recognizer processes and the CPU threads
    #: each uses. One worker of one thread keeps up with ~3 talking speakers at once.
    captions_model: str = "base"
    captions_default: bool = False
    captions_workers: int = 1
    captions_threads: int = 1
    #: "shared": each distinct stage mix is Opus-encoded once (silent speakers share the
    #: program's encode); "per-speaker": aiortc encodes every speaker's mix-minus (the baseline).
    stage_encoding: str = "shared"
    #: What this node does: "api" (HTTP API only; runs no rooms), "media" (runs the rooms of
    #: the Spaces placed on it) or "all" (both: the single-node product). api and media need
    #: ``redis_url``, where nodes find each other.
    role: str = "all"
    #: This node's name in the node registry; default ``<hostname>:<port>``.
    node_id: str = ""
    #: Base URL other nodes and the edge use to reach this node; default ``http://host:port``.
    node_url: str = ""
    #: A media node's lease in the registry; it lapses this long after the last heartbeat.
    #: Short, as failover waits for it (issue 14: 2 s from SIGKILL to new audio): a cluster
    #: node beats on a thread of its own, so event-loop stalls do not cost it its lease.
    node_lease_s: float = 1.0
    node_heartbeat_s: float = 0.25
    #: A media node whose event loop has not run for this long stops renewing its lease: a
    #: wedged node gives its Spaces up (a merely busy one keeps them).
    node_stall_s: float = 5.0
    #: A media node this late on its heartbeat, or whose event loop lagged more than
    #: ``slow_node_loop_lag_ms``, is slow: no Space is placed on it.
    slow_node_heartbeat_age_s: float = 0.75
    slow_node_loop_lag_ms: float = 250.0
    #: How long a placement outlives its node's last heartbeat: the window in which a failover
    #: finds a dead node's Spaces.
    placement_lease_s: float = 60.0

    def resolved_database_url(self) -> str:
        if self.database_url:
            return async_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'majlis.db').resolve()}"

    def resolved_secret(self) -> str:
        """The configured secret, or one kept in the data dir so listener ids survive restarts."""
        if self.secret:
            return self.secret
        path = self.data_dir / "secret"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        path.write_text(value)
        path.chmod(0o600)
        return value

    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        try:
            return tuple(
                ip_network(cidr.strip(), strict=False)
                for cidr in self.trusted_proxies.split(",")
                if cidr.strip()
            )
        except ValueError as exc:
            raise ValueError(f"trusted_proxies: {exc}") from exc

    def resolved_node_id(self) -> str:
        import socket

        return self.node_id or f"{socket.gethostname()}:{self.port}"

    def resolved_node_url(self) -> str:
        return self.node_url or f"http://{self.host}:{self.port}"

    @property
    def runs_media(self) -> bool:
        return self.role in ("media", "all")

    def url(self, path: str) -> str:
        return f"{self.public_url.rstrip('/')}{path}"

    def with_overrides(self, **overrides: Any) -> Settings:
        clean = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **_coerce_all(clean))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            key = ENV_PREFIX + f.name.upper()
            if key in env:
                values[f.name] = env[key]
        return cls(**_coerce_all(values)).validated()

    def validated(self) -> Settings:
        if self.log_format not in ("text", "json"):
            raise ValueError("log_format must be 'text' or 'json'")
        if self.kdf_profile not in KDF_PROFILES:
            raise ValueError(f"kdf_profile must be one of {', '.join(KDF_PROFILES)}")
        if not 5 <= self.heartbeat_interval_s <= 300:
            raise ValueError("heartbeat_interval_s must be between 5 and 300")
        if self.stage_encoding not in ("shared", "per-speaker"):
            raise ValueError("stage_encoding must be 'shared' or 'per-speaker'")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")
        if self.max_head_bytes < 4096:
            raise ValueError("max_head_bytes must be at least 4096")
        if self.secret and len(self.secret.encode()) < MIN_SECRET_BYTES:
            # With a short secret, anyone can forge what it signs: WHIP grants (speak as the
            # host) and listener ids (issue 14, finding 8: "x" was accepted).
            raise ValueError(
                f"secret must be at least {MIN_SECRET_BYTES} bytes; make one with: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if not 1 <= self.captions_workers <= 16 or not 1 <= self.captions_threads <= 64:
            raise ValueError("captions_workers (1-16) and captions_threads (1-64) are out of range")
        if self.abandoned_space_end_s < 0:
            raise ValueError("abandoned_space_end_s must be 0 (never) or more")
        if min(self.head_timeout_s, self.body_timeout_s) <= 0:
            raise ValueError("head_timeout_s and body_timeout_s must be positive")
        if not 1 <= self.max_entry_inflight <= self.max_inflight:
            raise ValueError("max_entry_inflight must be between 1 and max_inflight")
        if self.max_connections_per_address < 0:
            raise ValueError("max_connections_per_address must be 0 (no cap) or more")
        if self.max_streams_per_client < 1:
            raise ValueError("max_streams_per_client must be at least 1")
        if min(self.max_parked_requests, self.max_streams) < 1 or self.max_joins_per_s < 0:
            raise ValueError("admission bounds must be positive (max_joins_per_s 0 = none)")
        if self.session_idle_days <= 0:
            raise ValueError("session_idle_days must be positive")
        if self.retry_after_s < 1:
            raise ValueError("retry_after_s must be at least 1")
        if self.dash_chunk_parts not in (1, 2, 4, 8):
            raise ValueError("dash_chunk_parts must be 1, 2, 4 or 8 (parts of a segment)")
        if min(self.low_latency_max_listeners, self.events_max_listeners) < 0:
            raise ValueError("low_latency_max_listeners and events_max_listeners must be 0 or more")
        self.trusted_networks()  # raises ValueError on a malformed CIDR
        self.resolved_database_url()  # raises ValueError on a URL majlis cannot run on
        _validate_cluster(self)
        return self


ROLES = ("api", "media", "all")


def _validate_cluster(settings: Settings) -> None:
    """The node role and lease timings: a lease must survive a missed heartbeat, and a node is
    called slow only after it missed one, before its lease lapses."""
    if settings.role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if settings.role != "all" and not settings.redis_url:
        raise ValueError(f"role {settings.role!r} needs redis_url: that is where nodes meet")
    if not 0 < 2 * settings.node_heartbeat_s <= settings.node_lease_s:
        raise ValueError("node_lease_s must be at least twice node_heartbeat_s")
    if not settings.node_heartbeat_s < settings.slow_node_heartbeat_age_s <= settings.node_lease_s:
        raise ValueError(
            "slow_node_heartbeat_age_s must lie between node_heartbeat_s and node_lease_s"
        )
    if settings.node_stall_s < settings.node_lease_s:
        raise ValueError("node_stall_s must be at least node_lease_s")
    if settings.placement_lease_s < settings.node_lease_s:
        raise ValueError("placement_lease_s must be at least node_lease_s")
    if settings.slow_node_loop_lag_ms <= 0:
        raise ValueError("slow_node_loop_lag_ms must be positive")


_HINTS: dict[str, Any] = {}


def _coerce_all(values: Mapping[str, Any]) -> dict[str, Any]:
    if not _HINTS:
        _HINTS.update(get_type_hints(Settings))
    out: dict[str, Any] = {}
    for name, raw in values.items():
        hint = _HINTS.get(name)
        if hint is None:
            raise ValueError(f"unknown setting {name!r}")
        out[name] = _coerce(name, hint, raw)
    return out


def _coerce(name: str, hint: Any, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
        if hint is Path:
            return Path(raw)
        if hint is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
    except ValueError as exc:
        raise ValueError(f"setting {name} expects {hint.__name__}, got {raw!r}") from exc
    return raw


__all__ = ["KDF_PROFILES", "ROLES", "Settings"]
