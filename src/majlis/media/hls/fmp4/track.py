"""The numbers the writer and the reader agree on: one track, its frame durations, and the
``tfhd``/``trun`` flag bits our fragments set and a recording is read back by."""

TRACK_ID = 1

AAC_FRAME_DURATION = 1024
"""Ticks (samples) per AAC-LC frame; the track timescale is the sample rate."""
OPUS_FRAME_DURATION = 960
"""Ticks per 20 ms Opus frame: Opus tracks always count time at 48 kHz."""
OPUS_SAMPLE_RATE = 48000
OPUS_PREROLL_SAMPLES = 3840
"""The 80 ms an Opus decoder needs after a random access to converge (the Opus mapping §4.3.6.2)."""

# tfhd flags (ISO/IEC 14496-12 §8.8.7)
TFHD_DEFAULT_SAMPLE_DURATION = 0x000008
TFHD_DEFAULT_SAMPLE_FLAGS = 0x000020
TFHD_DEFAULT_BASE_IS_MOOF = 0x020000
# trun flags (§8.8.8)
TRUN_DATA_OFFSET = 0x000001
TRUN_FIRST_SAMPLE_FLAGS = 0x000004
TRUN_SAMPLE_DURATION = 0x000100
TRUN_SAMPLE_SIZE = 0x000200
TRUN_SAMPLE_FLAGS = 0x000400
TRUN_SAMPLE_CTS = 0x000800

# sample_depends_on = 2 ("does not depend on others"), not a non-sync sample: every AAC frame
# can start decoding, which is what lets a player join at any part.
SAMPLE_FLAGS_SYNC = 0x02000000
