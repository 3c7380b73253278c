"""Opus encoding of the program mix, the speech rendition: PCM of any length in, Opus packets out.

The same shape as ``aac.AacEncoder`` (one encoder per Space, on the encoder thread, fixed frames,
no codec threads of its own), so ``packager.Packager`` cuts either into CMAF parts.

Settings, measured with ``libopus`` from the PyAV 18 wheel (FFmpeg 8.1) on 48 kHz mono:

* **32 kb/s, constrained VBR.** Fullband speech (20 kHz audio bandwidth; the encoder picks its
  hybrid SILK+CELT mode for speech) at half the AAC rendition's 64 kb/s, and the rate the stage
  already uses for speakers (``stage_encoder.BITRATE``). Bytes per second of payload, 30 s of
  each: the demo speech clip (espeak-ng, looped) 3,565 (28.5 kb/s), speech-shaped noise 3,873,
  a 440 Hz tone 4,054, digital silence 1,750. Unconstrained VBR (FFmpeg's default) spends
  6,898 B/s (55 kb/s) on the tone: tonal content is boosted without limit, which would break any
  byte budget on a music bed or a test tone. CBR spends exactly 4,000 B/s on everything, speech
  and silence included. Constrained VBR stays within 1.5 % of the target on the hardest content
  and below it on speech, which is what a listener-side byte budget needs.
* **application=voip**, not ``audio``: the bytes are the same (within 0.5 % on every signal
  above, in either VBR mode: the bitrate decides them, not the application); ``voip`` tunes
  the encoder for intelligibility (pitch-adaptive high-pass, earlier choice of the speech
  modes), the right bias for a speech rendition, and is what the stage encoder uses. On the
  demo speech, the only measured difference is below 100 Hz (0.85 of the input's energy kept,
  against 0.96).
* 20 ms frames (960 samples): one packet per frame, every packet a sync sample.

Priming, and what a listener hears. libopus looks 312 samples (6.5 ms) ahead at 48 kHz; the
encoder says so in its extradata, an ``OpusHead`` (RFC 7845 §5.1, little-endian), whose PreSkip
we read and carry into the init segment's ``dOps`` (``pre_skip``). Unlike AAC's priming packet,
the first Opus packet cannot be dropped: it holds input samples [0, 648) after its 312 priming
samples. So every packet is kept: packet k sits at track time 960k and holds input samples
[960k - 312, 960k + 648); packets come out as soon as their frame goes in (``latency_samples``).

* At the start of the stream, decoders that honour PreSkip (FFmpeg, Chromium: both read it
  from ``dOps``) discard the 312 priming samples, so their output starts at our first sample;
  N samples in decode to ``(ceil(N / 960) + 1) * 960 - 312`` samples out, the tail being the
  zero padding of the last frame plus the drained look-ahead.
* A listener joining at a later part starts a fresh decoder on a packet whose first 312 samples
  are real audio, not priming: Chromium discards them all the same (6.5 ms, inaudible). Every
  Opus packet decodes on its own, but the decoder's state (SILK's prediction, CELT's energy
  history and overlap) takes about 80 ms to converge (the Opus mapping's pre-roll): the first
  few packets may sound slightly off in level or timbre. Nobody notices that at a join; AAC
  has the equivalent 21 ms fade-in (``aac`` module docstring).
* Against the AAC rendition (track time t = input sample t), Opus track time t carries input
  sample t - 312. Chromium discards PreSkip samples at every decoder start and timestamps what
  is left from the packet's time, which lines the two renditions up to the sample; a decoder
  that ignores PreSkip plays Opus 6.5 ms late. An edit list would not help (``fmp4``).

Part sizes are the caller's (``Packager(frames_per_part=...)``), and at 32 kb/s the container
weighs: a part costs ``104 + 4 x frames`` bytes of ``moof`` and ``mdat`` header (``fmp4``), a
segment ~300 bytes of HTTP response headers. Parts of 12 frames (0.24 s, AAC's latency) in 1.92 s
segments add 790 B/s, 1.20x the nominal 4,000 B/s (1.09x on the speech above); parts of 24
frames (0.48 s) in 1.92 s segments add 573 B/s, 1.14x.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import av

from majlis.media.hls import fmp4
from majlis.media.hls.framing import FramedEncoder

FRAME_SIZE = fmp4.OPUS_FRAME_DURATION
"""Samples per 20 ms Opus frame at 48 kHz; also each frame's duration in track ticks."""

SAMPLE_RATE = fmp4.OPUS_SAMPLE_RATE
"""The only input rate accepted: the mixer's, and the clock Opus in ISO BMFF runs on."""

BITRATE = 32_000
"""Target bitrate of the speech rendition, in bits per second (see the module docstring)."""

APPLICATION = "voip"
"""libopus's tuning: speech intelligibility first (see the module docstring)."""

CODECS = "opus"
"""RFC 6381 codec string for Opus in ISO BMFF, for an MPD's ``codecs`` attribute (and MSE)."""


class OpusHead(NamedTuple):
    """The fields of an Ogg Opus identification header (RFC 7845 §5.1)."""

    version: int
    channels: int
    pre_skip: int
    input_sample_rate: int
    output_gain: int
    channel_mapping_family: int


def parse_opus_head(data: bytes) -> OpusHead:
    """Read an ``OpusHead`` (little-endian, unlike the ``dOps`` box it becomes in MP4)."""
    if len(data) < 19 or data[:8] != b"OpusHead":
        raise ValueError("not an OpusHead")
    return OpusHead(*struct.unpack_from("<BBHIhB", data, 8))


class OpusEncoder(FramedEncoder):
    """FFmpeg's ``libopus`` encoder, mono, 20 ms frames, with its own input buffering."""

    frame_size = FRAME_SIZE

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        bitrate: int = BITRATE,
        application: str = APPLICATION,
    ) -> None:
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f"the Opus rendition takes {SAMPLE_RATE} Hz PCM, not {sample_rate}")
        context = av.CodecContext.create("libopus", "w")
        context.sample_rate = sample_rate
        context.layout = "mono"
        context.format = "flt"
        context.bit_rate = bitrate
        context.options = {"application": application, "vbr": "constrained", "frame_duration": "20"}
        # One codec thread, as for AAC (FIELD-NOTES.md: PyAV 17+ defaults to one per CPU).
        context.thread_count = 1
        # Opened now: the OpusHead, and with it the pre-skip, only exists once the codec is open,
        # and the init segment must be served before any audio is.
        context.open()
        if context.frame_size != FRAME_SIZE:
            raise RuntimeError(f"libopus frame size is {context.frame_size}, not {FRAME_SIZE}")
        head = parse_opus_head(bytes(context.extradata or b""))
        if head.channels != 1 or head.channel_mapping_family != 0:
            raise RuntimeError(f"libopus produced an unexpected OpusHead: {head}")
        super().__init__(context, sample_rate, FRAME_SIZE, "flt")
        self._head = bytes(context.extradata or b"")
        self.pre_skip = head.pre_skip
        self.bitrate = bitrate

    @property
    def opus_head(self) -> bytes:
        """The encoder's extradata, an ``OpusHead`` (RFC 7845 §5.1)."""
        return self._head

    @property
    def latency_samples(self) -> int:
        """How long after its last sample went in a packet comes out: the look-ahead (PreSkip).

        A packet is emitted as soon as its 960th input sample arrives, and it covers input up to
        ``pre_skip`` samples before that (the module docstring); AAC's counterpart is 2048.
        """
        return self.pre_skip

    def init_segment(self) -> bytes:
        """The CMAF header for this encoder's packets (``fmp4.opus_init_segment``)."""
        return fmp4.opus_init_segment(self.pre_skip, self.sample_rate, 1)

    # _keep: all packets, the first (pts -pre_skip) too: it carries our first 648 samples.
