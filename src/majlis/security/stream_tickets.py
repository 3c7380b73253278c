"""Stream tickets: what an ``EventSource`` shows instead of a bearer token.

Why: ``EventSource`` cannot send an Authorization header, so the inbox stream used to take the
token in its URL (``?access_token=``), and URLs end up in access logs, proxies' logs and browser
history (issue 14, finding 6). A ticket is asked for with the token (``POST
/api/v1/stream-tickets``) and opens the stream once: ``<account>.<session>.<expiry>.<nonce>.<mac>``,
an HMAC under the secret every node shares, so any node can check it with no lookup but the
session itself (which must still exist: ending a session voids its tickets). It expires in a
minute and is spent on first use (the nonce goes into the shared rate limiter), so a ticket that
leaks into a log is worthless.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from majlis.security.grants import b64

_MAC_BYTES = 16
MAX_LENGTH = 200
#: Long enough for a page to open its stream on a slow phone; a reconnect asks for a new one.
TTL_S = 60


@dataclass(frozen=True, slots=True)
class Ticket:
    account_id: int
    session_id: str
    nonce: str


class StreamTickets:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"majlis stream ticket\0" + secret.encode()).digest()

    def _mac(self, body: str) -> str:
        return b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES])

    def issue(self, account_id: int, session_id: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + TTL_S)
        body = f"{account_id}.{session_id}.{expires}.{secrets.token_urlsafe(12)}"
        return f"{body}.{self._mac(body)}"

    def verify(self, ticket: str, now: float | None = None) -> Ticket | None:
        """What the ticket was issued for, or None: forged, expired or malformed (whether it
        was spent already is the caller's to check, with the nonce)."""
        if len(ticket) > MAX_LENGTH or not ticket.isascii() or ticket.count(".") != 4:
            return None
        body, _, mac = ticket.rpartition(".")
        account, session_id, expires, nonce = body.split(".")
        if not (account.isdigit() and expires.isdigit() and session_id and nonce):
            return None
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        if int(expires) < (time.time() if now is None else now):
            return None
        return Ticket(int(account), session_id, nonce)
