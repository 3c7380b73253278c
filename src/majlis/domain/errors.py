"""Domain failures, each carrying the HTTP status the API answers with (RFC 9457 problems).

Why statuses live here: the mapping is part of the public contract (API.md "Conventions"), and
keeping it beside the failure means a new failure cannot be added without deciding its status.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s


class BadRequest(DomainError):
    pass


class Unauthorized(DomainError):
    status, title, slug = 401, "Not signed in", "unauthorized"


class Forbidden(DomainError):
    status, title, slug = 403, "Not allowed", "forbidden"


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict with the current state", "conflict"


class TooLarge(DomainError):
    status, title, slug = 413, "Request too large", "too-large"


class UnsupportedMediaType(DomainError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class BadOffer(BadRequest):
    """A WHIP offer we refuse or cannot answer (RFC 9725 says 400 with the reason)."""

    title, slug = "Bad SDP offer", "bad-sdp"


class Invalid(DomainError):
    status, title, slug = 422, "Validation failed", "validation"


class RateLimited(DomainError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class Overloaded(DomainError):
    status, title, slug = 503, "Busy, try again shortly", "overloaded"
