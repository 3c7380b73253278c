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
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "MAJLIS_"
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
    max_body_bytes: int = 64 * 1024
    kdf_profile: str = "rfc9106-low-memory"
    #: Concurrent password hashes; more would only queue on 2 cores and cost 64 MiB each.
    kdf_concurrency: int = 2
    signin_per_handle_per_min: int = 10
    signin_per_ip_per_min: int = 60
    signup_per_ip_per_min: int = 30
    reactions_per_account_per_10s: int = 20
    requests_per_account_per_min: int = 10
    #: Seconds the join path may serve a cached copy of a Space's state.
    space_cache_ttl_s: float = 1.0
    #: Seconds a token lookup is cached on the auth path (revocation is immediate on this node).
    token_cache_ttl_s: float = 10.0
    log_level: str = "info"
    #: "shared": each distinct stage mix is Opus-encoded once (silent speakers share the
    #: program's encode); "per-speaker": aiortc encodes every speaker's mix-minus (the baseline).
    stage_encoding: str = "shared"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
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
        if self.kdf_profile not in KDF_PROFILES:
            raise ValueError(f"kdf_profile must be one of {', '.join(KDF_PROFILES)}")
        if not 5 <= self.heartbeat_interval_s <= 300:
            raise ValueError("heartbeat_interval_s must be between 5 and 300")
        if self.stage_encoding not in ("shared", "per-speaker"):
            raise ValueError("stage_encoding must be 'shared' or 'per-speaker'")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")
        return self


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


__all__ = ["KDF_PROFILES", "Settings"]
