"""Checks an untrusted WHIP offer before aiortc sees it.

Why our own check: aiortc's parser is written for well-formed peers; hostile or broken input
should get a clear 400 that says what is wrong, and no peer connection should be built for it.
WHIP (RFC 9725) for majlis: exactly one audio m-line, Opus offered, sendrecv (speakers hear the
stage), ICE credentials and a DTLS fingerprint present.
"""

from __future__ import annotations

import re

MAX_SDP_BYTES = 16 * 1024
_LINE = re.compile(r"^[a-z]=")


class SdpError(ValueError):
    """The offer is not one majlis can answer; the message says why."""


def check_offer(raw: bytes) -> str:
    """The offer as text, or ``SdpError`` with a reason a person can act on."""
    if len(raw) > MAX_SDP_BYTES:
        raise SdpError(f"the SDP offer is larger than {MAX_SDP_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SdpError("the SDP offer is not UTF-8 text") from exc
    if "\x00" in text:
        raise SdpError("the SDP offer contains NUL bytes")
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
    if not lines or lines[0] != "v=0":
        raise SdpError("the SDP offer must start with v=0")
    bad = next((line for line in lines if not _LINE.match(line)), None)
    if bad is not None:
        raise SdpError(f"not an SDP line: {bad[:40]!r}")
    media = [line for line in lines if line.startswith("m=")]
    if len(media) != 1 or not media[0].startswith("m=audio "):
        raise SdpError("the offer must have exactly one audio m-line (and no video)")
    attributes = [line[2:] for line in lines if line.startswith("a=")]
    if not any(re.match(r"rtpmap:\d+ opus/48000", a, re.IGNORECASE) for a in attributes):
        raise SdpError("the offer must include Opus (a=rtpmap:<pt> opus/48000/2)")
    directions = {a for a in attributes if a in ("sendrecv", "sendonly", "recvonly", "inactive")}
    if directions - {"sendrecv"}:
        raise SdpError("the audio must be sendrecv: speakers send and hear the stage")
    for needed, name in (
        ("ice-ufrag:", "ICE username"),
        ("ice-pwd:", "ICE password"),
        ("fingerprint:", "DTLS fingerprint"),
    ):
        if not any(a.startswith(needed) for a in attributes):
            raise SdpError(f"the offer has no {name} (a={needed}...)")
    return text
