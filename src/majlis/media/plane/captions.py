"""Captions on this media node: the recognizer it starts once, and each room's captioner.

Why the model is checked at start but loaded later: a node must say at once, in its log, when
the model it was given is missing (and then run without captions); but loading Whisper takes a
process, seconds and hundreds of megabytes, which a node whose Spaces never turn captions on
should not pay. So the recognizer process starts with the first captioned Space.

A cue is kept in the store (the transcript) and then published on the Space's topic as a
``caption`` event, for the web client's caption line; ``captions_delayed`` says the recognizer
could not keep up and words were skipped.
"""

from __future__ import annotations

import logging
from datetime import datetime

from majlis.domain.context import Context
from majlis.domain.events import event, space_topic
from majlis.domain.model import Cue, Space
from majlis.domain.render import cue_json
from majlis.media.captions.captioner import Captioner, Heard
from majlis.media.captions.models import ModelUnavailable, check_model
from majlis.media.captions.pool import RecognitionPool
from majlis.media.room import Room

log = logging.getLogger(__name__)


class Captions:
    def __init__(self, ctx: Context, pool: RecognitionPool | None = None) -> None:
        """``pool`` stands in for the recognizer process (tests give a scripted one)."""
        self._ctx = ctx
        self._pool = pool
        #: Why this node captions nothing, or None when it can.
        self.unavailable: str | None = None
        if pool is None:
            self.unavailable = _check(ctx.settings.captions_model)

    def _recognition(self) -> RecognitionPool | None:
        if self.unavailable is not None:
            return None
        if self._pool is None:
            settings = self._ctx.settings
            self._pool = RecognitionPool.subprocess(
                settings.captions_model,
                settings.data_dir,
                workers=settings.captions_workers,
                cpu_threads=settings.captions_threads,
            )
        if self._pool.failure is not None:
            return None
        return self._pool

    async def apply(self, room: Room, space: Space | None) -> None:
        """Captions on or off in ``room`` as ``space`` (just read from the store) says."""
        on = space is not None and space.captions and space.state != "ended"
        pool = self._recognition() if on else None
        if pool is None:
            await room.set_captioner(None)
            return
        if room.captioner is None:
            await room.set_captioner(self._captioner(room, pool))
        assert room.captioner is not None and space is not None
        # "ar-EG" is recognized as "ar"; none given, the recognizer detects it.
        room.captioner.language = space.language.split("-")[0].lower() if space.language else None

    def _captioner(self, room: Room, pool: RecognitionPool) -> Captioner:
        space_id = room.space_id
        topic = space_topic(space_id)
        started: list[datetime] = []

        def account_of(key: str) -> int | None:
            session = room.sessions.get(key)
            return None if session is None else session.account_id

        async def heard(words: Heard) -> None:
            if not started:
                space = await self._ctx.store.space(space_id)
                if space is None or space.started_at is None:
                    return
                started.append(space.started_at)
            origin = started[0].timestamp()
            await keep_cue(
                self._ctx,
                space_id,
                words.account_id,
                words.start - origin,
                words.end - origin,
                words.text,
                words.language,
            )

        async def delayed() -> None:
            await self._ctx.live.bus.publish(topic, event("captions_delayed", space_id=space_id))

        return Captioner(pool, account_of, heard, delayed)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()


async def keep_cue(
    ctx: Context,
    space_id: str,
    account_id: int,
    start: float,
    end: float,
    text: str,
    language: str,
) -> Cue:
    """A recognized cue (times in seconds since the Space went live) into the transcript, then
    to everyone in the Space as a ``caption`` event."""
    cue = await ctx.store.add_cue(
        space_id,
        account_id,
        round(max(0.0, start), 3),
        round(max(0.0, end), 3),
        text[:2000],
        language[:8],
    )
    await ctx.live.bus.publish(
        space_topic(space_id), event("caption", space_id=space_id, cue=cue_json(cue))
    )
    return cue


def _check(setting: str) -> str | None:
    """Why captions cannot run on this node (said once, at start), or None."""
    if not setting.strip():
        return "MAJLIS_CAPTIONS_MODEL is empty: captions are off on this node"
    try:
        name = check_model(setting)
    except ModelUnavailable as exc:
        log.error("captions: unavailable, majlis runs without them: %s", exc)
        return str(exc)
    log.info("captions: model %r found; it loads with the first captioned Space", name)
    return None
