"""A live Space's media: its speakers, the mixer clock, and the program stream.

The clock ticks every 20 ms against the loop's monotonic time, never by counting sleeps: if a
tick is late, the next ones run at once until the clock has caught up, so over hours the
program has exactly as many samples as wall time (no drift, no gaps). Each tick takes one frame
from every speaker, hands the program to the encoder thread, and the stage's distinct mixes to
the stage encoder thread (``stage_encoder``), whose packets go to each speaker's track.

A room can open before its Space starts (doors open): it then plays a looping teaser over the
program, and ``go_live`` turns the same room, clock and stream into the show's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from majlis.media.captions.captioner import Captioner
from majlis.media.hls.stream import LiveStream
from majlis.media.mixer import FRAME_S, SPEAKING_DBFS, Mixer
from majlis.media.program import ProgramOutput
from majlis.media.stage_encoder import PROGRAM, StageEncoder
from majlis.media.teaser import TeaserPlayer
from majlis.media.whip import SpeakerSession
from majlis.seams.speaking.protocol import Speaking
from majlis.telemetry import MIXER_LAG
from majlis.types import JSON

log = logging.getLogger(__name__)

#: A speaker stays "speaking" this long after their last loud frame (no flicker between words).
SPEAKING_HANGOVER_S = 0.4
#: How often (in ticks) the speaking set is re-evaluated and, if changed, published.
SPEAKING_EVERY_TICKS = 5
#: How often a non-empty speaking set is rewritten to the shared seam (its TTL is ~3 s).
SPEAKING_REFRESH_S = 1.0
#: Behind by more than this, the clock gives up catching up (the process was stalled) and counts
#: a gap instead of producing a burst of audio nobody heard live.
MAX_CATCH_UP_S = 2.0

Publish = Callable[[JSON], Awaitable[None]]


class Room:
    def __init__(
        self,
        space_id: str,
        program: ProgramOutput,
        publish: Publish,
        shared_stage_encoding: bool = True,
        teaser: TeaserPlayer | None = None,
        shared_speaking: Speaking | None = None,
    ) -> None:
        #: Where every node reads who is speaking (``live.speaking``); None: only the bus event.
        self.shared_speaking = shared_speaking
        self._speaking_shared_at = float("-inf")
        self.shared_stage_encoding = shared_stage_encoding
        #: The pre-show's loop, played over the program until the show starts (then faded out).
        self.teaser = teaser
        self.preshow = teaser is not None
        self.space_id = space_id
        self.program = program
        self.mixer = Mixer()
        self.sessions: dict[str, SpeakerSession] = {}
        self.speaking: tuple[str, ...] = ()
        self.ticks = 0
        self.gaps = 0
        self._publish = publish
        self._last_loud: dict[str, float] = {}
        self._clock: asyncio.Task[None] | None = None
        self._stage_encoder: StageEncoder | None = None
        #: Captions of this room's speakers, while the Space has them on (media/captions).
        self.captioner: Captioner | None = None
        #: Fire-and-forget work (event publishing, hang-ups), referenced so it is not collected.
        self._background: set[asyncio.Future[None]] = set()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def stream(self) -> LiveStream:
        return self.program.stream

    async def start(self) -> None:
        await self.program.start()
        if self.shared_stage_encoding:
            self._stage_encoder = StageEncoder(asyncio.get_running_loop(), self._send_to_stage)
        self._clock = asyncio.create_task(self._run_clock(), name=f"mixer-{self.space_id}")

    async def _run_clock(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        produced = 0
        while True:
            due = started + (produced + 1) * FRAME_S
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > MAX_CATCH_UP_S:
                skipped = int(-delay / FRAME_S)
                produced += skipped
                self.gaps += 1
                log.warning("room %s: clock stalled, skipped %d frames", self.space_id, skipped)
                continue
            produced += 1
            MIXER_LAG.observe(max(0.0, loop.time() - due))
            try:
                self._tick()
            except Exception:
                log.exception("room %s: mixer tick failed", self.space_id)
            if delay <= 0:
                # Catching up: let the speakers' readers run between ticks, or their frames
                # pile up in the inputs and stay there as latency for the rest of the session.
                await asyncio.sleep(0)

    def _tick(self) -> None:
        mix = self.mixer.tick()
        self.ticks += 1
        teaser = self.teaser
        if teaser is None:
            self.program.submit(mix.program)
        else:
            self.program.submit(teaser.over(mix.program))
            if teaser.finished:
                self.teaser = None
        if self.sessions and self._stage_encoder is not None:
            # Talkers hear their own mix-minus; everyone else shares the program's encode.
            listening = {key: key if key in mix.minus else PROGRAM for key in self.sessions}
            mixes = {key: mix.minus[key] for key in listening if key in mix.minus}
            if PROGRAM in listening.values():
                mixes[PROGRAM] = mix.program
            self._stage_encoder.submit(mixes, listening)
        else:
            for key, session in self.sessions.items():
                session.outbound.offer(mix.for_speaker(key))
        now = time.monotonic()
        for key, level in mix.levels.items():
            if level > SPEAKING_DBFS:
                self._last_loud[key] = now
        if self.ticks % SPEAKING_EVERY_TICKS == 0:
            self._update_speaking(now)
        if self.captioner is not None and not self.preshow:
            self.captioner.feed(mix.voices)

    def _send_to_stage(self, packets: dict[str, bytes], listening: dict[str, str]) -> None:
        """On the loop: each speaker's track gets the packet of the mix they hear."""
        for key, job in listening.items():
            session = self.sessions.get(key)
            packet = packets.get(job)
            if session is not None and packet is not None:
                session.outbound.offer(packet)

    def _update_speaking(self, now: float) -> None:
        speaking = tuple(
            sorted(
                key
                for key, at in self._last_loud.items()
                if now - at < SPEAKING_HANGOVER_S and key in self.sessions
            )
        )
        changed = speaking != self.speaking
        if changed:
            self.speaking = speaking
            payload = {"type": "speaking", "space_id": self.space_id, "handles": list(speaking)}
            self._spawn(self._publish(payload))
        if self.shared_speaking is not None and (
            changed or (speaking and now - self._speaking_shared_at >= SPEAKING_REFRESH_S)
        ):
            self._speaking_shared_at = now
            self._spawn(self._share_speaking(self.shared_speaking, speaking))

    async def _share_speaking(self, seam: Speaking, speaking: tuple[str, ...]) -> None:
        """A failed write (Redis away) costs a second of stale speaking, never the mixer."""
        try:
            await seam.publish(self.space_id, speaking)
        except Exception as exc:
            log.warning("room %s: could not share who is speaking: %s", self.space_id, exc)

    def set_teaser(self, teaser: TeaserPlayer) -> None:
        """The host replaced the teaser during the pre-show: it plays from the next tick."""
        if self.preshow:
            self.teaser = teaser

    async def go_live(self) -> None:
        """The show starts in this same room: the teaser fades out under the live mix, the
        recording starts, and the stream (playlist, media sequence, timeline) simply continues."""
        if not self.preshow:
            return
        self.preshow = False
        if self.teaser is not None:
            self.teaser.fade_out()
        await self.program.start_recording()

    async def connect(
        self, key: str, account_id: int, muted: bool, offer: str, auth_session: str = ""
    ) -> SpeakerSession:
        """A stage member's new offer; it replaces any session they already had."""
        await self.disconnect(key)
        source = self.mixer.add(key)
        self.set_muted(key, muted)
        session = SpeakerSession(key, account_id, source, self._session_gone)
        session.auth_session = auth_session
        self.sessions[key] = session
        try:
            answer = await session.negotiate(offer)
        except BaseException:
            if self.sessions.get(key) is session:
                del self.sessions[key]
                self.mixer.remove(key)
            raise
        session.answer = answer
        return session

    def _session_gone(self, session: SpeakerSession) -> None:
        if self.sessions.get(session.key) is session:
            self._spawn(self.disconnect(session.key))

    async def disconnect(self, key: str) -> None:
        session = self.sessions.pop(key, None)
        self.mixer.remove(key)
        if self._stage_encoder is not None:
            self._stage_encoder.forget(key)
        self._last_loud.pop(key, None)
        if self.captioner is not None:
            self.captioner.forget(key)
        if session is not None:
            await session.close()

    def set_muted(self, key: str, muted: bool) -> None:
        if muted:
            self.mixer.muted.add(key)
        else:
            self.mixer.muted.discard(key)

    def session_by_id(self, session_id: str) -> SpeakerSession | None:
        return next((s for s in self.sessions.values() if s.id == session_id), None)

    def auth_sessions(self) -> set[tuple[int, str]]:
        """(account id, signed-in session) of every WHIP session opened with one."""
        return {(s.account_id, s.auth_session) for s in self.sessions.values() if s.auth_session}

    async def end_auth_session(self, auth_session: str) -> int:
        """Disconnect the WHIP sessions opened with the signed-in session ``auth_session``
        (its owner ended it, or it expired); how many there were."""
        keys = [
            k for k, s in self.sessions.items() if auth_session and s.auth_session == auth_session
        ]
        for key in keys:
            await self.disconnect(key)
        return len(keys)

    async def set_captioner(self, captioner: Captioner | None, finish: bool = True) -> None:
        """Captions on (a captioner) or off (None); turning them off captions what is being
        said and waits for the recognitions in flight, unless ``finish`` is False."""
        old, self.captioner = self.captioner, captioner
        if old is not None and old is not captioner:
            await old.close(finish)

    async def finish_captions(self) -> None:
        """The Space ended: caption what was still being said (a few seconds at most)."""
        await self.set_captioner(None, finish=True)

    async def stop(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock
        # The last words are captioned when the Space ends (``finish_captions``, first); a
        # node that stops leaves the room to another, which captions on.
        await self.set_captioner(None, finish=False)
        for key in list(self.sessions):
            await self.disconnect(key)
        if self.speaking and self.shared_speaking is not None:
            # Nobody speaks in a closed room: say so now rather than when the TTL runs out.
            self.speaking = ()
            await self._share_speaking(self.shared_speaking, ())
        if self._stage_encoder is not None:
            await self._stage_encoder.stopped()
        await self.program.stop()
