"""A Space's program streams (one per rendition) in the shared part store, and the media plane's
bookkeeping for them: attach, detach, and the last states a failover continues.

Keys. The part store, its Redis keys and its bus topics are keyed by a string that used to be
the Space id alone; every rendition now needs its own. The AAC stream keeps the bare Space id,
so LL-HLS (served from the AAC stream only), the recording, the cluster's stream state and
anything else that looks a Space up by id are unchanged. Any other rendition is keyed
``{space_id}.{rendition}`` (``abc123.opus``):

- a ``.`` never occurs in a Space id (``space_cache.SPACE_ID``, ``[A-Za-z0-9_-]{1,16}``), so the
  key can never be another Space's, and the LL-HLS routes, which refuse anything that is not a
  Space id before they ask the part store, can never serve the Opus stream as a playlist;
- in Redis the key sits between ``:`` separators (``majlis:hls:p:abc123.opus:7.2``,
  ``majlis:hls:state:abc123.opus``, topic ``hls:abc123.opus``) and ``:`` is not in it either,
  so no two keys' names overlap; Redis keys and channels take any bytes, and the bus
  subscribes by exact channel, never by pattern, so a ``.`` means nothing special there.
"""

from __future__ import annotations

from collections.abc import Mapping

from majlis.media.hls.parts.protocol import PartStore
from majlis.media.hls.stream import LiveStream, StreamState

AAC = "aac"
"""The rendition every player plays, LL-HLS's and the recording's: keyed by the Space id."""
OPUS = "opus"
"""The speech rendition (~32 kb/s), offered over DASH only."""
RENDITIONS = (AAC, OPUS)

Streams = Mapping[str, LiveStream]
"""A program's live streams by rendition id (the ids of the DASH URLs: ``/dash/{id}/opus/``)."""
Continues = Mapping[str, StreamState | None]
"""The dead node's last state of each rendition's stream, None where there is none."""


def stream_key(space_id: str, rendition: str) -> str:
    """Where ``rendition`` of ``space_id`` lives in the part store (see the module docstring)."""
    return space_id if rendition == AAC else f"{space_id}.{rendition}"


def attach(parts: PartStore, space_id: str, streams: Streams) -> None:
    for rendition, stream in streams.items():
        parts.attach(stream_key(space_id, rendition), stream)


def detach(parts: PartStore, space_id: str, streams: Streams) -> None:
    for rendition, stream in streams.items():
        parts.detach(stream_key(space_id, rendition), stream)


async def last_states(parts: PartStore, space_id: str) -> dict[str, StreamState | None]:
    """What a room opened after a failover continues: each rendition from its own last state
    (their media sequence numbers differ, since their segments do)."""
    return {r: await parts.last_state(stream_key(space_id, r)) for r in RENDITIONS}
