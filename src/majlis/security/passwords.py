"""Argon2id password hashing, off the event loop and bounded.

Why bounded: one hash costs ~50 ms of a core and 64 MiB (RFC 9106 low-memory profile). A sign-in
storm must not queue thousands of hashes or exhaust memory, so at most ``concurrency`` run at once
and callers beyond a short queue are told to come back (``KdfBusy`` → 503 + Retry-After).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

R = TypeVar("R")

_PROFILES = {
    "rfc9106-low-memory": profiles.RFC_9106_LOW_MEMORY,
    "rfc9106-high-memory": profiles.RFC_9106_HIGH_MEMORY,
    # Same algorithm, minimal cost: only for test suites that create hundreds of accounts.
    "test-cheapest": profiles.CHEAPEST,
}


class KdfBusy(Exception):
    """Too many password hashes are queued; the caller should retry shortly."""


class PasswordKdf:
    def __init__(self, profile: str, concurrency: int = 2, max_waiting: int = 64) -> None:
        self._hasher = PasswordHasher.from_parameters(_PROFILES[profile])
        self._slots = asyncio.Semaphore(concurrency)
        self._max_waiting = max_waiting
        self._waiting = 0
        # Verifying against this keeps unknown-handle sign-ins as slow as wrong-password ones,
        # so response time does not reveal which handles exist.
        self._decoy = self._hasher.hash("majlis-decoy-password")

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        target = password_hash or self._decoy

        def check(candidate: str) -> bool:
            try:
                return self._hasher.verify(target, candidate) and password_hash is not None
            except (VerificationError, InvalidHashError):
                return False

        return await self._run(check, password)

    async def _run(self, fn: Callable[[str], R], arg: str) -> R:
        if self._waiting >= self._max_waiting:
            raise KdfBusy
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await asyncio.to_thread(fn, arg)
        finally:
            self._slots.release()
