"""The pre-show's audio: a host's uploaded teaser (decoded safely) or the default hold loop,
and the player that loops it into the program until the show starts, then fades it out.

Why decode with limits: the upload is untrusted bytes handed to FFmpeg. The bytes are capped
before they arrive (``RequestGuards``), the container must be an audio format we expect, decoding
stops as soon as the audio would exceed ``max_s`` (a tiny file cannot inflate into hours of PCM),
and it runs in a worker thread under a wall-clock budget so a pathological file costs one thread
for a few seconds, never the event loop.
"""

from __future__ import annotations

import functools
import io
import time
from dataclasses import dataclass

import av
import numpy as np

from majlis.media.mixer import FRAME_SAMPLES, SAMPLE_RATE, Pcm

#: Media types a teaser may be uploaded as (the body is decoded anyway; this refuses the
#: obviously wrong early with a 415).
TEASER_TYPES = frozenset(
    {
        "audio/ogg",
        "audio/opus",
        "audio/mpeg",
        "audio/mp3",
        "audio/mp4",
        "audio/x-m4a",
        "audio/aac",
        "audio/wav",
        "audio/wave",
        "audio/x-wav",
        "audio/flac",
        "audio/x-flac",
        "audio/webm",
    }
)
#: The teaser fades out over this long once the show starts (no click, no abrupt cut).
FADE_OUT_S = 0.6
#: The shortest teaser worth looping (shorter would be a buzz, not a loop).
MIN_TEASER_S = 0.5


class BadTeaser(ValueError):
    """The upload is not audio we can play; the message says why, for a 422 problem."""


@dataclass(frozen=True)
class DecodedTeaser:
    pcm: Pcm  # 48 kHz mono int16
    duration_ms: int


class TeaserDecoder:
    """The domain's ``TeaserProbe`` (domain/spaces.py): checks an upload by decoding it."""

    types = TEASER_TYPES

    def duration_ms(self, audio: bytes, max_s: float, budget_s: float) -> int:
        return decode_teaser(audio, max_s, budget_s).duration_ms


def decode_teaser(data: bytes, max_s: float, budget_s: float) -> DecodedTeaser:
    """Decode an upload to 48 kHz mono int16, or raise ``BadTeaser``. Blocking: run in a thread."""
    deadline = time.monotonic() + budget_s
    max_samples = int(max_s * SAMPLE_RATE)
    chunks: list[Pcm] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r", format=sniff_format(data)) as container:
            if not container.streams.audio:
                raise BadTeaser("the file has no audio stream")
            stream = container.streams.audio[0]
            if stream.codec_context is None:
                raise BadTeaser("the audio stream has no codec we can decode")
            stream.codec_context.thread_count = 1
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1).astype(np.int16, copy=False)
                    chunks.append(chunk)
                    total += chunk.size
                if total > max_samples:
                    raise BadTeaser(f"the teaser must be at most {max_s:.0f} seconds long")
                if time.monotonic() > deadline:
                    raise BadTeaser("the file took too long to decode")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.int16, copy=False))
    except BadTeaser:
        raise
    except (av.FFmpegError, ValueError, IndexError, UnicodeDecodeError, OverflowError) as exc:
        raise BadTeaser(f"the file could not be decoded as audio ({type(exc).__name__})") from exc
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    if pcm.size > max_samples:
        raise BadTeaser(f"the teaser must be at most {max_s:.0f} seconds long")
    if pcm.size < MIN_TEASER_S * SAMPLE_RATE:
        raise BadTeaser(f"the teaser must be at least {MIN_TEASER_S} seconds of audio")
    return DecodedTeaser(pcm, round(pcm.size * 1000 / SAMPLE_RATE))


def sniff_format(data: bytes) -> str:
    """The FFmpeg demuxer for an upload, from its magic bytes; never left to FFmpeg's probing,
    which would also accept playlists and concat scripts (demuxers that open other files or
    URLs: a server-side request forgery in an audio upload)."""
    head = data[:12]
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head[4:8] == b"ftyp":
        return "mov"  # MP4 / M4A; external data references stay off (FFmpeg's default)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"  # WebM
    if head.startswith(b"ID3"):
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:
            return "aac"  # ADTS: sync word, layer 0
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
            return "mp3"  # MPEG audio frame sync with a layer
    raise BadTeaser("not a recognised audio file (Ogg, WAV, FLAC, MP4/M4A, WebM, MP3 or AAC)")


@functools.cache
def default_hold() -> Pcm:
    """An 8 s soft pad with a chime, looping seamlessly: every partial completes whole cycles
    in the loop (multiples of 1/8 Hz) and the envelopes are periodic in it. About -30 dBFS RMS,
    so the host's first words stand well above it. Generated once; no asset to ship."""
    loop_s = 8.0
    t = np.arange(int(loop_s * SAMPLE_RATE)) / SAMPLE_RATE
    pad = np.zeros_like(t)
    for hz, gain in ((220.0, 1.0), (277.125, 0.7), (329.625, 0.6), (440.0, 0.25)):
        pad += gain * np.sin(2 * np.pi * hz * t)
    pad *= 0.55 + 0.45 * np.sin(2 * np.pi * t / loop_s) ** 2  # a slow swell, once per loop
    chime = np.zeros_like(t)
    for start in (0.0, 4.0):
        since = np.mod(t - start, loop_s)
        chime += np.exp(-since * 1.6) * (
            np.sin(2 * np.pi * 880.0 * t) + 0.4 * np.sin(2 * np.pi * 1320.0 * t)
        )
    # Each chime strikes with a 4 ms attack: no click where it starts (or where the loop wraps).
    chime *= np.minimum(1.0, np.mod(t, 4.0) / 0.004)
    signal = 0.55 * pad / np.abs(pad).max() + 0.45 * chime / np.abs(chime).max()
    level = 10 ** (-24 / 20) * np.sqrt(2)  # peak of a -24 dBFS sine; the mix's RMS is lower
    out: Pcm = (signal / np.abs(signal).max() * level * 32767).astype(np.int16)
    out.flags.writeable = False
    return out


class TeaserPlayer:
    """Loops one teaser frame by frame over the program; ``fade_out`` ends it smoothly."""

    def __init__(self, pcm: Pcm) -> None:
        if pcm.size == 0:
            raise ValueError("an empty teaser cannot loop")
        # Tile short teasers so a frame never spans more than one wrap.
        reps = -(-FRAME_SAMPLES // pcm.size) if pcm.size < FRAME_SAMPLES else 1
        self.source = pcm
        self._pcm = np.tile(pcm, reps) if reps > 1 else pcm
        self._pos = 0
        self._fade_frames = max(1, round(FADE_OUT_S * SAMPLE_RATE / FRAME_SAMPLES))
        self._fading_from: int | None = None
        self.frames = 0

    @property
    def finished(self) -> bool:
        return self._fading_from is not None and self.frames - self._fading_from >= (
            self._fade_frames
        )

    @property
    def fading(self) -> bool:
        return self._fading_from is not None

    def fade_out(self) -> None:
        if self._fading_from is None:
            self._fading_from = self.frames

    def next_frame(self) -> Pcm:
        end = self._pos + FRAME_SAMPLES
        if end <= self._pcm.size:
            frame = self._pcm[self._pos : end]
            self._pos = end % self._pcm.size
        else:
            tail = self._pcm[self._pos :]
            self._pos = FRAME_SAMPLES - tail.size
            frame = np.concatenate((tail, self._pcm[: self._pos]))
        self.frames += 1
        return frame

    def over(self, program: Pcm) -> Pcm:
        """The program with the teaser's next frame on top (faded if the show has started)."""
        frame = self.next_frame().astype(np.float32)
        if self._fading_from is not None:
            done = self.frames - 1 - self._fading_from
            start = 1.0 - done / self._fade_frames
            ramp = np.linspace(start, start - 1.0 / self._fade_frames, FRAME_SAMPLES, False)
            frame *= np.clip(ramp, 0.0, 1.0).astype(np.float32)
        mixed: Pcm = np.clip(program.astype(np.float32) + frame, -32768, 32767).astype(np.int16)
        return mixed
