"""Clips (issue 15): anyone signed in cuts the last seconds of a live Space, or a chosen range
of its replay, unless the host turned clips off; the author or the host deletes one.

Why the rules live here and the cutting elsewhere: who may clip, when, and how often is the
product's; reading the recording and writing an audio file is the media plane's
(``media/clip_files.py``, behind ``ClipCutter``), which runs it off the event loop.

Why a small per-node limit on cuts in flight: each cut reads and writes a few hundred
kilobytes on a worker thread; a burst of clippers (a famous line on a big night) must not
queue up behind each other for seconds or starve the threads the recording and teasers use,
so past the limit a cut is refused with 503 + Retry-After at once.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Protocol

from majlis.domain.context import Context
from majlis.domain.errors import Conflict, Forbidden, Invalid, NotFound, Overloaded, RateLimited
from majlis.domain.model import Account, Clip, Page, Space
from majlis.domain.spaces import Spaces

#: A person's clips per minute, across Spaces: a few great moments, not a scraper.
PER_ACCOUNT_PER_MINUTE = 6
#: Cuts running at once on a node.
CUTS_IN_FLIGHT = 4
PAGE_SIZE = 20


class ClipCutter(Protocol):
    """Cuts clips out of recordings and keeps their audio files. Each cut returns where the clip
    starts in the program and how long it is (seconds); it raises ``Conflict`` when the
    recording holds nothing to cut there yet, ``NotFound`` when there is no recording."""

    async def cut_last(
        self, space_id: str, clip_id: str, seconds: float
    ) -> tuple[float, float]: ...

    async def cut_range(
        self, space_id: str, clip_id: str, start: float, end: float
    ) -> tuple[float, float]: ...

    async def remove(self, clip_id: str) -> None: ...


class Clips:
    def __init__(self, ctx: Context, spaces: Spaces, cutter: ClipCutter) -> None:
        self._ctx = ctx
        self._spaces = spaces
        self._cutter = cutter
        self._cuts = asyncio.Semaphore(CUTS_IN_FLIGHT)

    async def make(
        self,
        me: Account,
        space_id: str,
        seconds: float | None,
        start: float | None,
        end: float | None,
    ) -> tuple[Clip, Space]:
        space = await self._clippable(me, space_id, seconds, start, end)
        decision = await self._ctx.live.limiter.hit(f"clip:{me.id}", PER_ACCOUNT_PER_MINUTE, 60.0)
        if not decision.allowed:
            raise RateLimited(
                "that is a lot of clips; try again shortly", retry_after_s=decision.retry_after_s
            )
        if self._cuts.locked():
            raise Overloaded("other clips are being cut; try again shortly", retry_after_s=1)
        clip_id = secrets.token_urlsafe(9)
        async with self._cuts:
            if start is not None and end is not None:
                at, duration = await self._cutter.cut_range(space.id, clip_id, start, end)
            else:
                at, duration = await self._cutter.cut_last(space.id, clip_id, seconds or 30.0)
        try:
            clip = await self._ctx.store.add_clip(
                clip_id, space.id, me.id, at, duration, self._ctx.now()
            )
        except BaseException:
            await self._cutter.remove(clip_id)  # no file without its row
            raise
        return clip, space

    async def _clippable(
        self,
        me: Account,
        space_id: str,
        seconds: float | None,
        start: float | None,
        end: float | None,
    ) -> Space:
        space = await self._spaces.get(space_id)
        if not space.clips_allowed:
            raise Forbidden("the host turned clips off for this Space")
        cached = await self._ctx.space_cache.get(space.id)
        if cached is not None and me.id in cached.banned:
            raise Forbidden("you were removed from this Space")
        if not space.record:
            raise Conflict("this Space is not recorded; clips are cut from the recording")
        ranged = start is not None or end is not None
        if space.state == "live" and ranged:
            raise Invalid("a live Space is clipped by its last seconds: send seconds, not a range")
        if space.state == "ended" and not ranged:
            raise Invalid("choose the range of the replay to clip: send start and end")
        if space.state == "scheduled":
            raise Conflict("the Space has not started; there is nothing to clip yet")
        if ranged and (start is None or end is None or end <= start):
            raise Invalid("a range needs a start and an end after it")
        return space

    async def get(self, clip_id: str) -> tuple[Clip, Space]:
        clip = await self._ctx.store.clip(clip_id)
        if clip is None:
            raise NotFound("there is no such clip (it may have been deleted)")
        return clip, await self._spaces.get(clip.space_id)

    async def of_space(self, space_id: str, cursor: str | None) -> tuple[Page[Clip], Space]:
        space = await self._spaces.get(space_id)
        return await self._ctx.store.clips(space.id, cursor, PAGE_SIZE), space

    async def delete(self, me: Account, clip_id: str) -> None:
        clip, space = await self.get(clip_id)
        if me.id not in (clip.account.id, space.host.id):
            raise Forbidden("only the clip's author and the Space's host delete a clip")
        if await self._ctx.store.delete_clip(clip.id):
            await self._cutter.remove(clip.id)

    async def allow(self, me: Account, space_id: str, allowed: bool) -> Space:
        """The host's switch: clips on or off (existing clips stay; the host deletes those)."""
        space = await self._spaces.hosted(me, space_id, "turn clips on or off in")
        space = await self._ctx.store.set_clips_allowed(space.id, allowed)
        self._ctx.space_cache.invalidate(space.id)
        return space
