"""One room's stage events (``space:<id>``): who left the stage or was removed is hung up at
once, a mute takes the speaker out of the mix. Events are a hint, the store is the truth: after
each (re)subscription the speakers are checked against the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from majlis.domain.context import Context
from majlis.domain.events import space_topic
from majlis.media.plane.captions import Captions
from majlis.media.plane.resubscribe import RESUBSCRIBE_MIN_S, subscribe_retrying
from majlis.media.room import Room

log = logging.getLogger(__name__)


async def follow_stage(
    ctx: Context, room: Room, is_open: Callable[[], bool], captions: Captions | None = None
) -> None:
    """The room's stage events, until the room closes (this task is cancelled then).

    ``is_open`` is also asked before each wait for an event, because the cancel can be lost:
    redis-py sends every command through ``asyncio.wait_for``, which on Python 3.11 swallows a
    cancel landing just as its inner await completes. A watcher that lost it while subscribing
    waited for events forever, and so did closing the room, and with it the lifecycle task that
    closes rooms: that node then applied no more teaser changes and left rooms to the catch-up.
    """
    while is_open():
        subscription = await subscribe_retrying(ctx.live.bus, [space_topic(room.space_id)])
        try:
            await sync_stage(ctx, room, captions)
            events = aiter(subscription)
            while is_open():
                item = await anext(events, None)
                if item is None:
                    break  # the stream ended (the bus dropped us): subscribe again
                kind = item.get("type")
                if kind == "captions":  # the host's switch: the store says which way
                    await sync_stage(ctx, room, captions)
                    continue
                handle = item.get("handle")
                if not isinstance(handle, str):
                    continue
                if kind == "removed" or (kind == "stage" and item.get("role") is None):
                    await room.disconnect(handle)
                elif kind == "mute":
                    room.set_muted(handle, bool(item.get("muted")))
        except Exception:
            log.exception("media plane: the stage events of %s failed", room.space_id)
        finally:
            with contextlib.suppress(Exception):
                await subscription.close()
        if is_open():
            await asyncio.sleep(RESUBSCRIBE_MIN_S)


async def sync_stage(ctx: Context, room: Room, captions: Captions | None = None) -> None:
    """Hang up whoever is no longer on the stage and re-apply every mute and the captions
    switch (events were lost)."""
    space = await ctx.store.space(room.space_id)
    if captions is not None:
        await captions.apply(room, space)
    members = {} if space is None else {m.account.handle: m for m in space.stage}
    for handle in list(room.sessions):
        member = members.get(handle)
        if member is None:
            await room.disconnect(handle)
        else:
            room.set_muted(handle, member.muted)
