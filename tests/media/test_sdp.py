"""The WHIP offer check: clear reasons for bad offers, and nothing but SdpError for any bytes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from majlis.media.sdp import MAX_SDP_BYTES, SdpError, check_offer
from tests.support.sdp import GOOD


def test_a_good_offer_passes() -> None:
    assert check_offer(GOOD.encode()) == GOOD


@pytest.mark.parametrize(
    ("offer", "reason"),
    [
        (GOOD.replace("a=sendrecv", "a=sendonly"), "sendrecv"),
        (GOOD.replace("opus/48000/2", "PCMU/8000"), "Opus"),
        (GOOD + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "exactly one audio"),
        (GOOD.replace("m=audio", "m=video"), "exactly one audio"),
        (GOOD.replace("a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", ""), "ICE password"),
        (GOOD.replace("a=fingerprint:sha-256 00:11\r\n", ""), "fingerprint"),
        (GOOD.replace("v=0", "v=1"), "v=0"),
        ("hello", "v=0"),
        (GOOD + "garbage line\r\n", "not an SDP line"),
    ],
)
def test_bad_offers_say_why(offer: str, reason: str) -> None:
    with pytest.raises(SdpError, match=reason):
        check_offer(offer.encode())


def test_size_and_encoding() -> None:
    with pytest.raises(SdpError, match="larger"):
        check_offer(b"v=0\r\n" + b"a=x\r\n" * MAX_SDP_BYTES)
    with pytest.raises(SdpError, match="UTF-8"):
        check_offer(b"v=0\r\n\xff\xfe")
    with pytest.raises(SdpError, match="NUL"):
        check_offer(GOOD.encode() + b"\x00")


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.binary(max_size=2048))
def test_any_bytes_give_an_answer_or_a_reason(raw: bytes) -> None:
    with contextlib.suppress(SdpError):
        check_offer(raw)


_sdp_line = st.one_of(
    st.sampled_from(GOOD.split("\r\n")),
    st.from_regex(r"[a-z]=[ -~]{0,40}", fullmatch=True),
    st.text(max_size=30),
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(_sdp_line, max_size=25))
def test_sdp_shaped_text_gives_an_answer_or_a_reason(lines: list[str]) -> None:
    with contextlib.suppress(SdpError):
        check_offer("\r\n".join(lines).encode("utf-8", "surrogatepass"))
