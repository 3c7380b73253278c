"""The program output of a Space: the mix, encoded once, as an LL-HLS stream and a recording.

Parameters, chosen for latency with hls.js and for Safari's rules: AAC-LC 48 kHz mono 64 kb/s;
a part is 12 AAC frames (0.256 s, under the 0.5 s the issue allows, so PART-HOLD-BACK of
3 x 0.256 s keeps players close to live); a segment is 8 parts (2.048 s).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from majlis.media.hls.aac import LATENCY_SAMPLES
from majlis.media.hls.packager import EncoderThread, OnPart, Packager
from majlis.media.hls.stream import LiveStream
from majlis.media.mixer import FRAME_S, SAMPLE_RATE, Pcm
from majlis.media.recording import Recorder

log = logging.getLogger(__name__)

FRAMES_PER_PART = 12
PARTS_PER_SEGMENT = 8
PART_TARGET_S = FRAMES_PER_PART * 1024 / SAMPLE_RATE


class ProgramOutput:
    def __init__(self, recording: Path | None) -> None:
        self.recording = recording
        self.stream = LiveStream(
            PART_TARGET_S,
            PARTS_PER_SEGMENT,
            pipeline_delay_s=FRAME_S + LATENCY_SAMPLES / SAMPLE_RATE,
        )
        self._recorder: Recorder | None = None
        self._encoder: EncoderThread | None = None
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

        self._encoder = await asyncio.to_thread(
            EncoderThread, packager, loop, self._publish, tee=self._record
        )
        init = self._encoder.init
        self.stream.set_init(init)
        if self.recording is not None and self._recorder is None:
            self.recording.parent.mkdir(parents=True, exist_ok=True)
            self._recorder = await asyncio.to_thread(Recorder, self.recording, init)

    def _publish(self, part: bytes, duration: float) -> None:
        """On the loop: the encoder thread's parts arrive here (via call_soon_threadsafe)."""
        self.published_s += duration
        self.stream.publish(part, duration)

    @property
    def dropped_samples(self) -> int:
        """Program audio the encoder thread could not keep up with (it fell > 2 s behind)."""
        return 0 if self._encoder is None else self._encoder.dropped_samples

    def _record(self, part: bytes, _duration: float) -> None:
        """Runs on the encoder thread: the recording's disk writes stay off the event loop."""
        if self._recorder is not None:
            self._recorder.append(part)

    def submit(self, pcm: Pcm) -> None:
        if self._encoder is not None:
            self._encoder.submit(pcm)

    async def stop(self) -> None:
        """Flush the last parts into the stream and the recording, then mark the stream ended."""
        if self._encoder is not None:
            await asyncio.to_thread(self._encoder.stop)
            await asyncio.sleep(0)  # let the last call_soon_threadsafe deliveries run
        self.stream.end()
        if self._recorder is not None:
            recorder, self._recorder = self._recorder, None
            await asyncio.to_thread(recorder.close)
