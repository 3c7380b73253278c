"""Listener ids that the server can verify without remembering them.

Why signed: a Space with a million listeners must not hold a row per listener. ``join`` hands out
``<random>.<mac>`` where the MAC binds the id to the Space; a heartbeat is accepted if the MAC
checks out, so any node holding the shared secret can verify it with no lookup at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from majlis.security.grants import b64

_MAC_BYTES = 12
MAX_LENGTH = 64


class ListenerIds:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"majlis listener id\0" + secret.encode()).digest()

    def _mac(self, space_id: str, nonce: str) -> str:
        digest = hmac.new(self._key, f"{space_id}\0{nonce}".encode(), hashlib.sha256).digest()
        return b64(digest[:_MAC_BYTES])

    def issue(self, space_id: str) -> str:
        nonce = b64(secrets.token_bytes(12))
        return f"{nonce}.{self._mac(space_id, nonce)}"

    def verify(self, space_id: str, listener_id: str) -> bool:
        # Ids we issue are ASCII; anything else is forged (and compare_digest refuses non-ASCII).
        if (
            len(listener_id) > MAX_LENGTH
            or not listener_id.isascii()
            or listener_id.count(".") != 1
        ):
            return False
        nonce, mac = listener_id.split(".")
        return hmac.compare_digest(mac, self._mac(space_id, nonce))
