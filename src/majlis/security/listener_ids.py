"""Listener ids that the server can verify without remembering them.

Why signed: a Space with a million listeners must not hold a row per listener. ``join`` hands out
``<random>.<mac>`` where the MAC binds the id to the Space; a heartbeat is accepted if the MAC
checks out, so any node holding the shared secret can verify it with no lookup at all.

A signed-in listener's id also carries their account, ``<random>.<sealed account>.<mac>``, so
that their heartbeats (which carry only the id, no token) keep them present *as that account*
(who of the people you follow is listening) with still no lookup. Why sealed and not the plain
number: account ids are not public (the API names people by handle) and a heartbeat URL ends up
in access logs; the account is XORed with a pad drawn from the id's own random part, so each id
seals it differently, and the MAC covers the sealed text. Ids issued before this, with no
account, stay valid: they are anonymous.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from majlis.security.grants import b64

_MAC_BYTES = 12
_ACCOUNT_BYTES = 8
MAX_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Listener:
    """Who a verified listener id stands for: an account, or ``None`` for an anonymous one."""

    account_id: int | None


ANONYMOUS = Listener(None)


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


class ListenerIds:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"majlis listener id\0" + secret.encode()).digest()
        self._seal_key = hashlib.sha256(b"majlis listener account\0" + secret.encode()).digest()

    def _mac(self, space_id: str, nonce: str, sealed: str | None = None) -> str:
        message = f"{space_id}\0{nonce}" if sealed is None else f"{space_id}\0{nonce}\0{sealed}"
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return b64(digest[:_MAC_BYTES])

    def _pad(self, nonce: str) -> int:
        digest = hmac.new(self._seal_key, nonce.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:_ACCOUNT_BYTES], "big")

    def issue(self, space_id: str, account_id: int | None = None) -> str:
        """An id for one listener of ``space_id``; with ``account_id``, signed in as it."""
        nonce = b64(secrets.token_bytes(12))
        if account_id is None:
            return f"{nonce}.{self._mac(space_id, nonce)}"
        sealed = b64((account_id ^ self._pad(nonce)).to_bytes(_ACCOUNT_BYTES, "big"))
        return f"{nonce}.{sealed}.{self._mac(space_id, nonce, sealed)}"

    def identify(self, space_id: str, listener_id: str) -> Listener | None:
        """Who the id stands for, or None: not issued (by a node sharing our secret) for this
        Space, or malformed."""
        # Ids we issue are ASCII; anything else is forged (and compare_digest refuses non-ASCII).
        if len(listener_id) > MAX_LENGTH or not listener_id.isascii():
            return None
        parts = listener_id.split(".")
        if len(parts) == 2:
            nonce, mac = parts
            return ANONYMOUS if hmac.compare_digest(mac, self._mac(space_id, nonce)) else None
        if len(parts) != 3:
            return None
        nonce, sealed, mac = parts
        if not hmac.compare_digest(mac, self._mac(space_id, nonce, sealed)):
            return None
        raw = _unb64(sealed)
        if raw is None or len(raw) != _ACCOUNT_BYTES:
            return None  # only if the secret leaked: we never sign such a thing
        return Listener(int.from_bytes(raw, "big") ^ self._pad(nonce))

    def verify(self, space_id: str, listener_id: str) -> bool:
        return self.identify(space_id, listener_id) is not None
