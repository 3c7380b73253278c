"""Program audio out as LL-HLS: encode once, cut into CMAF parts, serve with blocking reloads.

- ``framing``: PCM of any length fed to an encoder a fixed frame at a time (both codecs).
- ``aac``: PCM → raw AAC-LC frames (FFmpeg's encoder via PyAV), one per 1024 samples.
- ``opus``: PCM → Opus packets (libopus, 32 kb/s), one per 960 samples: the speech rendition.
- ``fmp4``: those frames → CMAF init segment (``mp4a`` or ``Opus``) and fragments, byte by byte;
  and reading them back.
- ``packager``: frames of either encoder grouped into parts on an encoder thread, handed to the
  event loop.
- ``program_date``: the wall-clock date of each segment (EXT-X-PROGRAM-DATE-TIME).
- ``stream``: the live media playlist, its parts and segments, blocking reloads (on the loop).
- ``stream_state``: what answering a (blocking) playlist request needs, on any node.
- ``vod``: the replay playlist, as byte ranges of the recording (``media.recording``).
"""
