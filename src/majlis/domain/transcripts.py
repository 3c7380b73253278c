"""Captions and transcripts (issue 16): the host's switch, and the transcript of every Space.

Why the switch lives here and the recognizing elsewhere: whether a Space is captioned is the
host's choice (the operator sets the default for new Spaces); hearing the words is the media
plane's (``media/captions``), on the node that runs the Space's room. The switch reaches that
node as a ``captions`` event on the Space's topic, and the room checks the store whenever it
resubscribes, so a lost event costs seconds, not the setting.

The transcript is public as long as the Space is: anyone can read a Space's words who can hear
them (in its replay). The host deletes it all, at once and for good.
"""

from __future__ import annotations

from majlis.domain.context import Context
from majlis.domain.events import event, space_topic
from majlis.domain.model import Account, Cue, Space
from majlis.domain.spaces import Spaces


class Transcripts:
    def __init__(self, ctx: Context, spaces: Spaces) -> None:
        self._ctx = ctx
        self._spaces = spaces

    async def switch(self, me: Account, space_id: str, on: bool) -> Space:
        """The host turns live captions on or off (the cues already made stay)."""
        space = await self._spaces.hosted(me, space_id, "turn captions on or off in")
        space = await self._ctx.store.set_captions(space.id, on)
        self._ctx.space_cache.invalidate(space.id)
        await self._ctx.live.bus.publish(
            space_topic(space.id), event("captions", space_id=space.id, on=on)
        )
        return space

    async def set_language(self, me: Account, space_id: str, language: str) -> Space:
        """What is spoken in the Space: captions recognize it rather than guess (a guess on a
        few seconds of speech is often wrong: espeak-ng's Arabic is heard as Thai)."""
        space = await self._spaces.hosted(me, space_id, "set the language of")
        space = await self._ctx.store.set_language(space.id, language)
        self._ctx.space_cache.invalidate(space.id)
        await self._ctx.live.bus.publish(
            space_topic(space.id), event("captions", space_id=space.id, on=space.captions)
        )
        return space

    async def read(self, space_id: str) -> tuple[Space, list[Cue]]:
        space = await self._spaces.get(space_id)
        return space, await self._ctx.store.cues(space.id)

    async def delete(self, me: Account, space_id: str) -> None:
        space = await self._spaces.hosted(me, space_id, "delete the transcript of")
        await self._ctx.store.delete_cues(space.id)
        await self._ctx.live.bus.publish(
            space_topic(space.id), event("transcript_deleted", space_id=space.id)
        )
