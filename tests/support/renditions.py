"""The two renditions' timings as a DASH player sees them, and the MPD's XML namespace."""

from __future__ import annotations

NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}
PART_S = 0.256
PPS = 8
SEGMENT_S = PART_S * PPS
#: The Opus rendition's (media/program.py): parts of 24 frames of 20 ms, segments of 4 parts.
OPUS_PART_S = 0.48
OPUS_PPS = 4
OPUS_SEGMENT_S = OPUS_PART_S * OPUS_PPS
