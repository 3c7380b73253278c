"""The media plane of one node (``plane.py`` wires it; each module is one of its concerns)."""

from majlis.media.plane.plane import MediaPlane
from majlis.media.plane.rooms import ENDED_STREAM_GRACE_S
from majlis.media.plane.whip_gate import Answer

__all__ = ["ENDED_STREAM_GRACE_S", "Answer", "MediaPlane"]
