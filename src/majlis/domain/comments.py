"""Comments in a Space's room (issue 15): signed-in people say something (at most 280
characters), host and cohosts delete and pin one; the author deletes their own.

Why two ways to read them: a small room hears each comment at once on its event stream
(``comment`` events); a large audience, which holds no event stream (join says ``events:
false``), reads the newest page, which is rendered at most once a second per Space on a node
and cacheable by edges for that second, so a million readers cost the origin about one request
per edge per second, like the snapshot.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import orjson

from majlis.caching import TtlCache
from majlis.domain.context import Context
from majlis.domain.errors import Conflict, Forbidden, NotFound, RateLimited
from majlis.domain.events import event, space_topic
from majlis.domain.model import Account, Space
from majlis.domain.policy import STAFF
from majlis.domain.render import comment_json, etag
from majlis.domain.shapes import CommentOut, CommentPage
from majlis.domain.spaces import Spaces, store_conflict
from majlis.domain.stage import role_of
from majlis.domain.store import StoreConflict

MAX_CHARS = 280
PAGE_SIZE = 50
#: A person's comments per ten seconds in one Space: a conversation, not a flood.
PER_ACCOUNT_PER_10S = 5
#: How long a node keeps a Space's newest page (and edges may cache it).
NEWEST_TTL_S = 1.0


@dataclass(frozen=True, slots=True)
class RenderedPage:
    body: bytes
    etag: str


class Comments:
    def __init__(self, ctx: Context, spaces: Spaces) -> None:
        self._ctx = ctx
        self._spaces = spaces
        self._newest: TtlCache[str, RenderedPage] = TtlCache(NEWEST_TTL_S, 10_000)

    async def post(self, me: Account, space_id: str, text: str) -> CommentOut:
        cached = await self._ctx.space_cache.get(space_id)
        if cached is None:
            raise NotFound(f"there is no Space {space_id!r}")
        space = cached.space
        if space.state != "live":
            raise Conflict(f"the Space is {space.state}; comments are open while it is live")
        if me.id in cached.banned:
            raise Forbidden("you were removed from this Space")
        decision = await self._ctx.live.limiter.hit(
            f"comment:{space.id}:{me.id}", PER_ACCOUNT_PER_10S, 10.0
        )
        if not decision.allowed:
            raise RateLimited("slow down on the comments", retry_after_s=decision.retry_after_s)
        comment = await self._ctx.store.add_comment(
            secrets.token_urlsafe(9), space.id, me.id, text, self._ctx.now()
        )
        shown = comment_json(comment, None)
        await self._publish(space.id, "added", comment=shown)
        return shown

    async def page(self, space_id: str, cursor: str | None) -> RenderedPage:
        """The newest page, rendered once a second per Space; an older page (``cursor``) each
        time it is asked for (rare: someone scrolling back)."""
        cached = await self._ctx.space_cache.get(space_id)  # a poll costs no Space query
        if cached is None:
            raise NotFound(f"there is no Space {space_id!r}")
        if cursor is None:
            return await self._newest.get_or_load(space_id, lambda: self._render(space_id, None))
        return await self._render(space_id, cursor)

    async def _render(self, space_id: str, cursor: str | None) -> RenderedPage:
        store = self._ctx.store
        found = await store.comments(space_id, cursor, PAGE_SIZE)
        pinned = await store.pinned_comment(space_id)
        pinned_id = None if pinned is None else pinned.id
        body = orjson.dumps(
            CommentPage(
                items=[comment_json(c, pinned_id) for c in found.items],
                next_cursor=found.next_cursor,
                pinned=None if pinned is None else comment_json(pinned, pinned_id),
            )
        )
        return RenderedPage(body, etag(body))

    async def delete(self, me: Account, space_id: str, comment_id: str) -> None:
        space = await self._spaces.get(space_id)
        comment = await self._ctx.store.comment(space.id, comment_id)
        if comment is None:
            raise NotFound("there is no such comment in this Space")
        if comment.account.id != me.id and role_of(space, me.id) not in STAFF:
            raise Forbidden("only its author, the host and cohosts delete a comment")
        if await self._ctx.store.delete_comment(space.id, comment_id):
            await self._publish(space.id, "deleted", id=comment_id)

    async def pin(self, me: Account, space_id: str, comment_id: str) -> CommentOut:
        space = await self._staff_only(me, space_id)
        try:
            await self._ctx.store.pin_comment(space.id, comment_id)
        except StoreConflict as exc:
            if exc.reason == "not_found":
                raise NotFound("there is no such comment in this Space") from exc
            raise store_conflict(exc) from exc
        comment = await self._ctx.store.comment(space.id, comment_id)
        if comment is None:  # deleted in between
            raise NotFound("there is no such comment in this Space")
        shown = comment_json(comment, comment.id)
        await self._publish(space.id, "pinned", comment=shown)
        return shown

    async def unpin(self, me: Account, space_id: str, comment_id: str) -> None:
        space = await self._staff_only(me, space_id)
        pinned = await self._ctx.store.pinned_comment(space.id)
        if pinned is None or pinned.id != comment_id:
            raise NotFound("that comment is not pinned")
        await self._ctx.store.pin_comment(space.id, None)
        await self._publish(space.id, "unpinned", id=comment_id)

    async def _staff_only(self, me: Account, space_id: str) -> Space:
        space = await self._spaces.get(space_id)
        if role_of(space, me.id) not in STAFF:
            raise Forbidden("only the host and cohosts pin comments")
        return space

    async def _publish(self, space_id: str, action: str, **fields: object) -> None:
        if action != "added":
            # A deletion or a pin shows at once on this node; a new comment waits for the
            # page's second (its author has it from the POST, the room from the event), or
            # a busy room would render the page again for nearly every read.
            self._newest.invalidate(space_id)
        await self._ctx.live.bus.publish(
            space_topic(space_id), event("comment", action=action, space_id=space_id, **fields)
        )
