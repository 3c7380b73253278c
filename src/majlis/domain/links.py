"""A Space's pinned link (issue 15): one URL with a title, pinned by a host or cohost, shown to
everyone in the room with its domain.

Why the server never fetches it: a preview fetch would let anyone make this node request any
address it can reach (SSRF: a cloud metadata service, the Redis port); the page shows the
link's domain instead, so a reader sees where it leads before following it. Why http(s) only:
``javascript:`` and ``data:`` URLs are scripts, ``file:`` a local path; credentials in a URL
(``https://user:pass@host``) are refused too, since the domain shown would not be where a
reader's eye stops.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from majlis.domain.context import Context
from majlis.domain.errors import Forbidden, Invalid
from majlis.domain.events import event, space_topic
from majlis.domain.model import Account, PinnedLink, Space
from majlis.domain.policy import STAFF
from majlis.domain.spaces import Spaces, store_conflict
from majlis.domain.stage import role_of
from majlis.domain.store import StoreConflict

MAX_URL_LENGTH = 2048


def checked_url(url: str) -> str:
    """``url`` if it may be pinned, else Invalid saying why."""
    if len(url) > MAX_URL_LENGTH:
        raise Invalid(f"the link is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in url):
        raise Invalid("the link must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018  # a malformed port raises here
    except ValueError:
        raise Invalid("the link is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise Invalid("only http and https links can be pinned")
    if not hostname:
        raise Invalid("the link has no host")
    if parts.username is not None or parts.password is not None:
        raise Invalid("the link must not carry a user name or password")
    return url


class Links:
    def __init__(self, ctx: Context, spaces: Spaces) -> None:
        self._ctx = ctx
        self._spaces = spaces

    async def pin(self, me: Account, space_id: str, url: str, title: str) -> Space:
        return await self._set(me, space_id, PinnedLink(checked_url(url), title))

    async def unpin(self, me: Account, space_id: str) -> Space:
        return await self._set(me, space_id, None)

    async def _set(self, me: Account, space_id: str, link: PinnedLink | None) -> Space:
        space = await self._spaces.get(space_id)
        if role_of(space, me.id) not in STAFF and space.host.id != me.id:
            raise Forbidden("only the host and cohosts pin links")
        try:
            space = await self._ctx.store.set_link(space.id, link)
        except StoreConflict as exc:
            raise store_conflict(exc) from exc
        self._ctx.space_cache.invalidate(space.id)
        pinned = None if link is None else {"url": link.url, "title": link.title}
        await self._ctx.live.bus.publish(
            space_topic(space.id), event("link", space_id=space.id, link=pinned)
        )
        return space
