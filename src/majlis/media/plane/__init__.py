"""The media plane of one node."""

from majlis.media.plane.plane import ENDED_STREAM_GRACE_S, Answer, MediaPlane

__all__ = ["ENDED_STREAM_GRACE_S", "Answer", "MediaPlane"]
