"""Bearer tokens: 256 random bits handed out once, stored only as their SHA-256.

Why SHA-256 and not a KDF: the token is already uniformly random, so a fast hash loses nothing,
and the auth check on every request stays a single indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_session_id() -> str:
    """A session's public name (``GET /api/v1/sessions``): random, unrelated to its token."""
    return secrets.token_urlsafe(12)
