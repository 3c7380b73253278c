"""CMAF fragmented MP4 for one audio track (AAC-LC or Opus), written and read byte by byte.

Why not PyAV's ``mp4`` muxer: LL-HLS needs each part to be exactly one ``moof`` + ``mdat`` holding
exactly the AAC frames the packager chose, with decode times we control, cut at the moment we
decide. A muxer decides fragment boundaries by its own clock (``frag_duration``) and buffers
internally, so a part could straddle two of its fragments. Writing the handful of boxes
ourselves (ISO/IEC 14496-12, profile per ISO/IEC 23000-19 CMAF) is ~100 lines and exact.

- ``writer``: ``init_segment`` (AAC), ``opus_init_segment`` and ``fragment``.
- ``reader``: ``iter_boxes``, ``complete_prefix_length``, ``read_timescale``, ``read_fragment``,
  ``sample_entry``, ``read_opus_config``.
- ``track``: the track id, frame durations and flag bits both halves share.
"""

from majlis.media.hls.fmp4.reader import (
    Box,
    Bytes,
    FragmentInfo,
    OpusConfig,
    children,
    complete_prefix_length,
    find_path,
    iter_boxes,
    read_fragment,
    read_opus_config,
    read_timescale,
    sample_entry,
)
from majlis.media.hls.fmp4.track import (
    AAC_FRAME_DURATION,
    OPUS_FRAME_DURATION,
    OPUS_PREROLL_SAMPLES,
    OPUS_SAMPLE_RATE,
    TRACK_ID,
)
from majlis.media.hls.fmp4.writer import fragment, init_segment, opus_init_segment

__all__ = [
    "AAC_FRAME_DURATION",
    "OPUS_FRAME_DURATION",
    "OPUS_PREROLL_SAMPLES",
    "OPUS_SAMPLE_RATE",
    "TRACK_ID",
    "Box",
    "Bytes",
    "FragmentInfo",
    "OpusConfig",
    "children",
    "complete_prefix_length",
    "find_path",
    "fragment",
    "init_segment",
    "iter_boxes",
    "opus_init_segment",
    "read_fragment",
    "read_opus_config",
    "read_timescale",
    "sample_entry",
]
