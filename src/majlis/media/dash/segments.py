"""A growing segment, streamed chunk by chunk as the encoder produces it.

An LL-DASH client asks for segment *n* once its first chunk exists (``availabilityTimeOffset``),
and the answer must then carry each following chunk as soon as it is published: the response
is open for the segment's whole duration (~2 s), and its body is the same bytes as the
complete segment (the parts are CMAF chunks, ``segment = b"".join(parts)``). Every node answers
from the same ``HlsSource`` the LL-HLS routes use: the local stream where the room runs, a
mirror of the shared part store anywhere else, so an edge may ask any origin node.

Rules, in the order a request meets them:

- a segment more than ``MAX_AHEAD`` past the one being produced is a client that lost track (or a
  forged number): ``TooFarAhead`` (404, never cached), answered at once;
- a segment not yet begun — the next one, asked for early by a client whose clock or whose
  edge runs ahead — waits up to ``wait_s`` for its first chunk (``NotYet``, a 503, if it never
  comes) rather than failing;
- a segment that has left the stream's window, or an ended stream's segment that never came,
  is ``None`` (404);
- once the first chunk is sent, each next one is awaited up to ``wait_s``; if it does not come
  (the node producing it died), the body breaks off, so that no cache keeps a truncated copy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from majlis.media.hls.parts.protocol import HlsSource
from majlis.media.hls.stream import StreamState

#: How many segments past the one being produced a request may be, and wait: a client computes
#: availability from the MPD's clock, and the encoder may run up to ~2 s behind it under load
#: (packager.EncoderThread drops audio beyond that), so its "next" can be two ahead.
MAX_AHEAD = 2


class TooFarAhead(LookupError):
    """The segment asked for is further ahead than any client following the MPD asks."""


async def open_segment(
    source: HlsSource, msn: int, wait_s: float, parts_per_chunk: int = 1
) -> AsyncIterator[bytes] | None:
    """Segment ``msn``'s chunks (``parts_per_chunk`` parts each): the first one already
    gathered, the rest as they come.

    Raises ``TooFarAhead`` or ``NotYet`` before anything is sent (see the module docstring);
    None means 404.
    """
    state = source.current()
    if msn < 0 or (not state.ended and msn > state.hinted[0] + MAX_AHEAD):
        raise TooFarAhead(f"segment {msn} is not live yet; the live segment is {state.hinted[0]}")
    first = await _chunk(source, msn, 0, parts_per_chunk, wait_s)
    if not first:
        return None
    return _chunks(source, msn, first, parts_per_chunk, wait_s)


async def _chunks(
    source: HlsSource, msn: int, first: bytes, parts_per_chunk: int, wait_s: float
) -> AsyncIterator[bytes]:
    yield first
    for start in range(parts_per_chunk, source.current().parts_per_segment, parts_per_chunk):
        chunk = await _chunk(source, msn, start, parts_per_chunk, wait_s)
        if not chunk:  # the stream ended inside this segment: it is complete as it is
            return
        yield chunk


async def _chunk(source: HlsSource, msn: int, start: int, count: int, wait_s: float) -> bytes:
    """Parts ``start`` .. ``start + count - 1`` of ``msn``, once all exist (fewer if the
    stream ends or the segment does first; empty if none is left)."""
    parts: list[bytes] = []
    for index in range(start, min(start + count, source.current().parts_per_segment)):
        if not _begun(source.current(), msn, index):
            await source.wait_until(lambda s, i=index: _begun(s, msn, i), wait_s)
        part = await source.part(msn, index, 0)
        if part is None:
            break
        parts.append(part)
    return b"".join(parts)


def _begun(state: StreamState, msn: int, index: int) -> bool:
    """Part ``index`` of ``msn`` exists, or never will (the stream ended)."""
    return state.ended or state.has_part(msn, index)
