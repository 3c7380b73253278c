"""Short-lived grants that carry a WHIP caller's authorization across a redirect.

Why: an offer sent to a node that does not run the Space's room is answered with a 307 to the
node that does (api/routes/media.py). Clients drop the Authorization header when a redirect
leaves the origin (the Fetch standard and httpx both do), so the redirecting node, which has already
checked the caller, puts a grant in the Location instead: ``<handle>.<expiry>.<mac>``, an HMAC
under the secret every node shares, bound to the Space, the handle and the path's purpose. The
owner node verifies it with no lookup but the account itself. It expires in seconds, so a URL
that leaks into a log is worthless almost at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

_MAC_BYTES = 16
MAX_LENGTH = 200
#: Long enough for a redirect to be followed on a slow phone, short enough to leak nothing.
TTL_S = 60


def b64(raw: bytes) -> str:
    """URL-safe base64 without padding: what the MACs of grants and tickets are written in."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class WhipGrants:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"majlis whip grant\0" + secret.encode()).digest()

    def _mac(self, space_id: str, handle: str, expires: int) -> str:
        message = f"{space_id}\0{handle}\0{expires}".encode()
        return b64(hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES])

    def issue(self, space_id: str, handle: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + TTL_S)
        return f"{handle}.{expires}.{self._mac(space_id, handle, expires)}"

    def verify(self, space_id: str, grant: str, now: float | None = None) -> str | None:
        """The handle the grant was issued to, or None: forged, expired or malformed."""
        if len(grant) > MAX_LENGTH or not grant.isascii() or grant.count(".") != 2:
            return None
        handle, expires_text, mac = grant.split(".")
        if not expires_text.isdigit():
            return None
        expires = int(expires_text)
        if not hmac.compare_digest(mac, self._mac(space_id, handle, expires)):
            return None
        return handle if expires >= (time.time() if now is None else now) else None
