"""Everything a service needs, built once per process by ``majlis.app``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from majlis.config import Settings
from majlis.domain.space_cache import SpaceCache
from majlis.domain.store import Store
from majlis.seams.live import LiveSeams
from majlis.security.listener_ids import ListenerIds
from majlis.security.passwords import PasswordKdf


@dataclass
class Context:
    settings: Settings
    store: Store
    live: LiveSeams
    kdf: PasswordKdf
    listener_ids: ListenerIds
    space_cache: SpaceCache

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
