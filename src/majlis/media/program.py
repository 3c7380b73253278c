"""The program output of a Space: the mix, encoded once per rendition, as live streams and a
recording.

AAC-LC, the rendition every player plays (LL-HLS, DASH) and the recording's. Parameters, chosen
for latency with hls.js and for Safari's rules: 48 kHz mono 64 kb/s; a part is 12 AAC frames
(0.256 s, under the 0.5 s the issue allows, so PART-HOLD-BACK of 3 x 0.256 s keeps players close
to live); a segment is 8 parts (2.048 s).

Opus, the speech rendition (DASH only, never recorded: replays stay AAC): 32 kb/s, a part is
24 frames of 20 ms (0.48 s), a segment 4 parts (1.92 s): the smallest part that keeps a
listener's bytes within 1.15x of 32 kb/s with container and HTTP overhead (``hls.opus``). It is
encoded on its own thread, so the AAC thread's timing is exactly what it was without it.

Both encoders are handed the same PCM chunks from the program's first frame, so both decode
timelines start at the same program sample: the one fact the MPD relies on to put both
renditions in one Period (``dash.mpd``). A chunk the AAC encoder drops (its thread fell 2 s
behind) is not given to Opus either, so a stall shortens both timelines alike.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from pathlib import Path

from majlis.media.hls import fmp4
from majlis.media.hls.aac import LATENCY_SAMPLES
from majlis.media.hls.opus import FRAME_SIZE as OPUS_FRAME_SIZE
from majlis.media.hls.opus import OpusEncoder
from majlis.media.hls.packager import EncoderThread, OnPart, Packager
from majlis.media.hls.stream import LiveStream
from majlis.media.mixer import FRAME_S, SAMPLE_RATE, Pcm
from majlis.media.program_streams import AAC, OPUS, Continues, Streams
from majlis.media.recording import Recorder
from majlis.telemetry import HLS_PARTS, PART_PUBLISH_LAG

log = logging.getLogger(__name__)

FRAMES_PER_PART = 12
PARTS_PER_SEGMENT = 8
PART_TARGET_S = FRAMES_PER_PART * 1024 / SAMPLE_RATE
OPUS_FRAMES_PER_PART = 24
OPUS_PARTS_PER_SEGMENT = 4
OPUS_PART_TARGET_S = OPUS_FRAMES_PER_PART * OPUS_FRAME_SIZE / SAMPLE_RATE


#: Where fresh media sequence numbers count from (2026-01-01T00:00Z): numbers stay far below
#: 2**32 (DASH's $Number$ is an unsigned int) for sixty years.
MSN_EPOCH = 1_767_225_600.0


def fresh_msn(segment_s: float, now: float | None = None) -> int:
    """The first media sequence number of a stream that continues no other (failover passes
    ``continues`` instead): past every number an earlier stream of the same Space has used.

    Why: after kill -9 and a restart, the sequence began at 0 again, and
    ``/hls/{id}/35.m4s``, served before with ``Cache-Control: immutable``, was other audio to
    every edge and player that honours immutable (issue 14, finding 4). Numbers come from the
    wall clock in quarters of a segment, and a stream uses one per segment: a stream opened at
    ``t`` has, by any later time ``u``, used numbers below ``u / (segment_s / 4)`` from its
    second segment on, and its first is below the next one handed out unless the two streams
    opened within the same quarter segment (~0.5 s; a restart takes longer).
    """
    at = time.time() if now is None else now
    return int((at - MSN_EPOCH) / (segment_s / 4)) + 1


class ProgramOutput:
    def __init__(
        self,
        recording: Path | None,
        defer_recording: bool = False,
        continues: Continues | None = None,
    ) -> None:
        """``defer_recording``: the program starts as a pre-show, which is not recorded; the
        recording begins at ``start_recording`` (the show's start), so a replay starts there.
        ``continues``: per rendition, the stream of a node that died with this Space (see
        LiveStream); each rendition continues its own."""
        continues = continues or {}
        self.recording = recording
        self._defer_recording = defer_recording
        #: (sequence number, decode time) subtracted from the parts written to the recording:
        #: a recording that starts after a pre-show still starts at sequence 1, time 0.
        self._rebase: tuple[int, int] | None = (0, 0)
        #: When the first program frame began (monotonic): anchors majlis_part_publish_lag.
        self._first_frame_at: float | None = None
        #: The same moment on the wall clock: both renditions date their first segment from it,
        #: so their timelines start at one date, as they start at one sample (program_date).
        self._first_frame_date: float | None = None
        self.stream = LiveStream(
            PART_TARGET_S,
            PARTS_PER_SEGMENT,
            pipeline_delay_s=FRAME_S + LATENCY_SAMPLES / SAMPLE_RATE,
            origin=self._program_origin,
            continues=continues.get(AAC),
            first_msn=fresh_msn(PART_TARGET_S * PARTS_PER_SEGMENT),
        )
        # Dated with no codec delay: an Opus packet comes out as soon as its 960th sample goes
        # in, and decoders that honour its PreSkip (Chromium, FFmpeg) play track time t as
        # program sample t (``hls.opus``), so a part's end on the track is the newest sample
        # mixed. Both renditions date their first segment from the program's first frame
        # (``origin``), and the estimates that later catch drift agree with it within a frame
        # (checked on a live Space in tests/media/test_dash_opus.py).
        self.opus_stream = LiveStream(
            OPUS_PART_TARGET_S,
            OPUS_PARTS_PER_SEGMENT,
            pipeline_delay_s=FRAME_S,
            origin=self._program_origin,
            continues=continues.get(OPUS),
            first_msn=fresh_msn(OPUS_PART_TARGET_S * OPUS_PARTS_PER_SEGMENT),
        )
        self._recorder: Recorder | None = None
        #: Set by stop(): a recording that is still being opened must close, not start.
        self._stopping = False
        self._encoder: EncoderThread | None = None
        self._opus: EncoderThread | None = None
        #: Seconds of program published so far: over hours it must track wall time.
        self.published_s = 0.0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        first_sequence_number, first_decode_time = 1, 0
        if self.recording is not None and self.recording.exists():
            # The node restarted while the Space was live: continue the same file and timeline.
            self._recorder, index = await asyncio.to_thread(Recorder.resume, self.recording)
            first_sequence_number = index.next_sequence_number
            first_decode_time = index.next_decode_time
            log.info("resuming recording %s after %d parts", self.recording, len(index.parts))

        def packager(on_part: OnPart) -> Packager:
            return Packager(
                on_part,
                FRAMES_PER_PART,
                first_sequence_number=first_sequence_number,
                first_decode_time=first_decode_time,
            )

        def opus_packager(on_part: OnPart) -> Packager:
            return Packager(on_part, OPUS_FRAMES_PER_PART, encoder=OpusEncoder())

        self._encoder = await asyncio.to_thread(
            EncoderThread, packager, loop, self._publish, tee=self._record
        )
        # Its own thread (and codec): never on the loop, never in the AAC thread's way.
        self._opus = await asyncio.to_thread(
            EncoderThread, opus_packager, loop, self.opus_stream.publish, name="majlis-opus"
        )
        self.stream.set_init(self._encoder.init, first_decode_time)
        self.opus_stream.set_init(self._opus.init)
        if not self._defer_recording:
            await self.start_recording()

    async def start_recording(self) -> None:
        """Start (or keep) recording; the first part recorded becomes sequence 1, time 0."""
        if self.recording is None or self._recorder is not None or self._encoder is None:
            return
        if self._stopping:
            return
        if self._defer_recording:
            self._rebase = None  # taken from the first part the encoder thread records
        self.recording.parent.mkdir(parents=True, exist_ok=True)
        recorder = await asyncio.to_thread(Recorder, self.recording, self._encoder.init)
        if self._stopping:
            # stop() ran while the file was being opened (a show that went live as its room
            # closed): it found no recorder to close, so this one is closed here, not leaked.
            await asyncio.to_thread(recorder.close)
            return
        self._recorder = recorder

    def _publish(self, part: bytes, duration: float) -> None:
        """On the loop: the encoder thread's parts arrive here (via call_soon_threadsafe)."""
        self.published_s += duration
        self.stream.publish(part, duration)
        if self._first_frame_at is not None:  # the part's last input sample, as mixed
            captured = self._first_frame_at + self.published_s - LATENCY_SAMPLES / SAMPLE_RATE
            PART_PUBLISH_LAG.observe(max(0.0, time.monotonic() - captured))
        HLS_PARTS.inc()

    def _program_origin(self) -> float | None:
        return self._first_frame_date

    @property
    def streams(self) -> Streams:
        """Every rendition's live stream, by rendition id."""
        return {AAC: self.stream, OPUS: self.opus_stream}

    @property
    def dropped_samples(self) -> int:
        """Program audio the encoder threads could not keep up with (one fell > 2 s behind),
        both renditions' counted."""
        return sum(e.dropped_samples for e in (self._encoder, self._opus) if e is not None)

    def _record(self, part: bytes, _duration: float) -> None:
        """Runs on the encoder thread: the recording's disk writes stay off the event loop."""
        recorder = self._recorder
        if recorder is None:
            return
        if self._rebase is None:
            info = fmp4.read_fragment(part, next(fmp4.iter_boxes(part)))
            self._rebase = (info.sequence_number - 1, info.base_media_decode_time)
        if self._rebase != (0, 0):
            part = rebased(part, *self._rebase)
        recorder.append(part)

    def submit(self, pcm: Pcm) -> None:
        if self._first_frame_at is None:  # the mixer made this frame's first sample FRAME_S ago
            self._first_frame_at = time.monotonic() - FRAME_S
            self._first_frame_date = time.time() - FRAME_S
        # The same chunks to both, from the first: their timelines start at the same sample.
        if self._encoder is not None and self._encoder.submit(pcm) and self._opus is not None:
            self._opus.submit(pcm)

    async def stop(self) -> None:
        """Flush the last parts into the streams and the recording, then mark the streams
        ended."""
        self._stopping = True
        encoders = [e.stopped() for e in (self._encoder, self._opus) if e is not None]
        if encoders:
            await asyncio.gather(*encoders)
            await asyncio.sleep(0)  # let the last call_soon_threadsafe deliveries run
        self.stream.end()
        self.opus_stream.end()
        if self._recorder is not None:
            recorder, self._recorder = self._recorder, None
            await asyncio.to_thread(recorder.close)


def rebased(part: bytes, sequence_base: int, time_base: int) -> bytes:
    """``part`` (one moof + mdat) with ``sequence_base`` taken off its sequence number and
    ``time_base`` off its decode time; sizes and offsets are unchanged, so it stays valid."""
    data = bytearray(part)
    moof = next(fmp4.iter_boxes(data))
    mfhd = fmp4.find_path(data, "mfhd", within=moof)
    tfdt = fmp4.find_path(data, "traf", "tfdt", within=moof)
    if moof.type != "moof" or mfhd is None or tfdt is None or data[tfdt.offset + 8] != 1:
        raise ValueError("not a fragment of ours (moof with mfhd and a version 1 tfdt)")
    (sequence,) = struct.unpack_from(">I", data, mfhd.offset + 12)
    (decode_time,) = struct.unpack_from(">Q", data, tfdt.offset + 12)
    struct.pack_into(">I", data, mfhd.offset + 12, sequence - sequence_base)
    struct.pack_into(">Q", data, tfdt.offset + 12, decode_time - time_base)
    return bytes(data)
