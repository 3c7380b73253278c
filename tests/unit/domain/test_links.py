"""The pinned link's rule (domain/links.py ``checked_url``) and the pattern the OpenAPI document
states for it (api/schemas.py ``LINK_PATTERN``) agree: every URL the pattern allows is taken, so
a client that follows the document is never refused (schemathesis checks it against the server
too, tests/test_fuzz_openapi.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from majlis.api.schemas import LINK_PATTERN
from majlis.domain.errors import Invalid
from majlis.domain.links import MAX_URL_LENGTH, checked_url


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.from_regex(LINK_PATTERN, fullmatch=True).filter(lambda u: len(u) <= MAX_URL_LENGTH))
def test_every_url_the_document_allows_is_taken(url: str) -> None:
    assert checked_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "https://user@host.example/",
        "https://host.example:65536/",
        "https://host.example:٨٠/",
        "https://host.example/\u0085",
        "http://[::1",
    ],
)
def test_what_the_rule_refuses_the_document_refuses_too(url: str) -> None:
    with pytest.raises(Invalid):
        checked_url(url)
    assert re.fullmatch(LINK_PATTERN, url) is None
