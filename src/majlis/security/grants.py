"""Short-lived grants that carry a WHIP caller's authorization across a redirect.

Why: an offer sent to a node that does not run the Space's room is answered with a 307 to the
node that does (api/routes/media.py). Clients drop the Authorization header when a redirect
leaves the origin (the Fetch standard and httpx both do), so the redirecting node, which has
already checked the caller, puts a grant in the Location instead:
``<handle>.<session>.<expiry>.<mac>``, an HMAC under the secret every node shares, bound to the
Space, the handle and the caller's session (so that ending the session ends the WHIP session it
opened). The owner node verifies it with no lookup but the account itself. It expires in
seconds, so a URL that leaks into a log is worthless almost at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

_MAC_BYTES = 16
MAX_LENGTH = 200
#: Long enough for a redirect to be followed on a slow phone, short enough to leak nothing.
TTL_S = 60


def b64(raw: bytes) -> str:
    """URL-safe base64 without padding: what the MACs of grants and tickets are written in."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class Vouched:
    """Who a grant vouches for: the handle, and the session (a signed-in device) the offer was
    made with, so that ending that session ends the WHIP session too."""

    handle: str
    session_id: str


class WhipGrants:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"majlis whip grant\0" + secret.encode()).digest()

    def _mac(self, space_id: str, handle: str, session_id: str, expires: int) -> str:
        message = f"{space_id}\0{handle}\0{session_id}\0{expires}".encode()
        return b64(hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES])

    def issue(
        self, space_id: str, handle: str, session_id: str = "", now: float | None = None
    ) -> str:
        expires = int((time.time() if now is None else now) + TTL_S)
        mac = self._mac(space_id, handle, session_id, expires)
        return f"{handle}.{session_id}.{expires}.{mac}"

    def verify(self, space_id: str, grant: str, now: float | None = None) -> Vouched | None:
        """Who the grant vouches for, or None: forged, expired or malformed."""
        if len(grant) > MAX_LENGTH or not grant.isascii() or grant.count(".") != 3:
            return None
        handle, session_id, expires_text, mac = grant.split(".")
        if not expires_text.isdigit():
            return None
        expires = int(expires_text)
        if not hmac.compare_digest(mac, self._mac(space_id, handle, session_id, expires)):
            return None
        if expires < (time.time() if now is None else now):
            return None
        return Vouched(handle, session_id)
