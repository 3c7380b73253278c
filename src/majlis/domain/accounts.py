"""Accounts, sessions and follows."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from majlis.caching import TtlCache
from majlis.domain.context import Context
from majlis.domain.errors import Conflict, Invalid, NotFound, Overloaded, RateLimited, Unauthorized
from majlis.domain.events import SESSION_ENDED, SESSIONS_TOPIC, account_topic, event
from majlis.domain.model import Account, Session
from majlis.domain.notices import Notices
from majlis.domain.store import StoreConflict
from majlis.security.passwords import KdfBusy
from majlis.security.stream_tickets import TTL_S as TICKET_TTL_S
from majlis.security.stream_tickets import StreamTickets
from majlis.security.tokens import MAX_TOKEN_LENGTH, new_session_id, new_token, token_hash

log = logging.getLogger(__name__)

#: A session in use is marked used at most this often (a write per request would cost the auth
#: path; the idle expiry counts in days).
TOUCH_EVERY_S = 300
#: Sessions listed at most (most recently used first): a person has a few devices, not hundreds.
MAX_SESSIONS_LISTED = 100


class Accounts:
    def __init__(self, ctx: Context, notices: Notices, token_cache_max: int = 100_000) -> None:
        self._ctx = ctx
        self._notices = notices
        #: Revocation is immediate on this node (sign-out invalidates); other nodes within the TTL.
        self._token_cache: TtlCache[str, tuple[Account, Session]] = TtlCache(
            ctx.settings.token_cache_ttl_s, token_cache_max
        )
        self._tickets = StreamTickets(ctx.settings.resolved_secret())

    async def sign_up(self, handle: str, password: str, display_name: str, ip: str) -> Account:
        await self._limit(f"signup:ip:{ip}", self._ctx.settings.signup_per_ip_per_min)
        if await self._ctx.store.account_by_handle(handle) is not None:
            raise Conflict(f"the handle @{handle} is taken; choose another")
        password_hash = await self._hash(password)
        try:
            return await self._ctx.store.create_account(
                handle, display_name, password_hash, self._ctx.now()
            )
        except StoreConflict as exc:
            raise Conflict(f"the handle @{handle} is taken; choose another") from exc

    async def sign_in(self, handle: str, password: str, ip: str) -> tuple[str, Account]:
        settings = self._ctx.settings
        await self._limit(f"signin:ip:{ip}", settings.signin_per_ip_per_min)
        # Per handle *and* address: a guesser elsewhere cannot lock the owner out of their own
        # account (issue 14: ten wrong passwords from anywhere used to cost the owner a minute).
        await self._limit(
            f"signin:handle:{handle.lower()}:ip:{ip}", settings.signin_per_handle_per_min
        )
        credentials = await self._ctx.store.credentials(handle)
        try:
            ok = await self._ctx.kdf.verify(
                None if credentials is None else credentials.password_hash, password
            )
        except KdfBusy as exc:
            raise Overloaded("sign-in is busy; try again shortly", retry_after_s=2) from exc
        if not ok or credentials is None:
            raise Unauthorized("that handle and password do not match an account")
        token = new_token()
        await self._ctx.store.create_session(
            token_hash(token), new_session_id(), credentials.account.id, self._ctx.now()
        )
        account = await self._ctx.store.account_by_handle(credentials.account.handle)
        return token, account or credentials.account

    async def sign_out(self, token: str) -> None:
        found = await self.session(token)
        digest = token_hash(token)
        self._token_cache.invalidate(digest)
        await self._ctx.store.delete_session(digest)
        if found is not None:
            await self._ended(found[1])

    async def session(self, token: str) -> tuple[Account, Session] | None:
        """The account and session of a live token, cached briefly: this runs on every signed
        request. A session unused for
        ``session_idle_days`` ends here, on its first use after that; one in use is marked used
        at most every ``TOUCH_EVERY_S`` (the list's "last used" is that precise)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        digest = token_hash(token)
        cached = self._token_cache.peek(digest)
        if cached is not None:
            return cached
        found = await self._ctx.store.session_for_token(digest)
        if found is None:  # an unknown token is not remembered: it may be issued later
            return None
        now = self._ctx.now()
        account, session = found
        if now - session.last_used_at > timedelta(days=self._ctx.settings.session_idle_days):
            await self._ctx.store.delete_session(digest)
            await self._ended(session)
            return None
        if now - session.last_used_at > timedelta(seconds=TOUCH_EVERY_S):
            await self._ctx.store.touch_session(digest, now)
            session = replace(session, last_used_at=now)
        self._token_cache.put(digest, (account, session))
        return account, session

    async def sessions(self, me: Account, current: Session) -> list[tuple[Session, bool]]:
        """My sessions, most recently used first, each with whether it is the one asking."""
        listed = await self._ctx.store.sessions_of(me.id, MAX_SESSIONS_LISTED)
        return [(s, s.id == current.id) for s in listed]

    async def end_session(self, me: Account, session_id: str) -> None:
        """End one of my sessions: its token stops working (at once on this node, within
        ``token_cache_ttl_s`` on others) and its open streams close, on every node."""
        digest = await self._ctx.store.delete_session_by_id(me.id, session_id)
        if digest is None:
            raise NotFound("you have no session with that id (it may have ended already)")
        self._token_cache.invalidate(digest)
        await self._ended(Session(session_id, me.id, self._ctx.now(), self._ctx.now()))

    def stream_ticket(self, session: Session) -> str:
        """A ticket that opens one stream for ``session`` (``security/stream_tickets.py``)."""
        return self._tickets.issue(session.account_id, session.id)

    async def redeem_ticket(self, ticket: str) -> tuple[Account, Session] | None:
        """The account and session a ticket opens a stream for, once: None if it is forged,
        expired, spent, or its session has ended."""
        found = self._tickets.verify(ticket)
        if found is None:
            return None
        spent = await self._ctx.live.limiter.hit(f"ticket:{found.nonce}", 1, TICKET_TTL_S)
        if not spent.allowed:
            return None
        return await self._ctx.store.session_by_id(found.account_id, found.session_id)

    async def _ended(self, session: Session) -> None:
        """Tell every node: the streams (on the account's topic) and the WHIP sessions (the
        media planes follow ``SESSIONS_TOPIC``) opened with this session close."""
        ended = event(SESSION_ENDED, session=session.id)
        try:
            await self._ctx.live.bus.publish(account_topic(session.account_id), ended)
            await self._ctx.live.bus.publish(SESSIONS_TOPIC, ended)
        except Exception as exc:
            # The session is over (its token no longer works) whatever the bus does. Its
            # streams ended with the bus, and reopening one needs the token; the media planes
            # hang its WHIP sessions up when they catch up after the bus is back.
            log.warning("session ended while the event bus is away (%s)", exc)

    async def get(self, handle: str) -> Account:
        account = await self._ctx.store.account_by_handle(handle)
        if account is None:
            raise NotFound(f"there is no account @{handle}")
        return account

    async def follow(self, me: Account, handle: str) -> None:
        target = await self.get(handle)
        if target.id == me.id:
            raise Invalid("you cannot follow yourself")
        if await self._ctx.store.follow(me.id, target.id, self._ctx.now()):
            await self._notices.deliver(target.id, "follow", None, me)
            await self._ctx.live.bus.publish(
                account_topic(me.id), event("following", handle=handle)
            )

    async def unfollow(self, me: Account, handle: str) -> None:
        target = await self.get(handle)
        if await self._ctx.store.unfollow(me.id, target.id):
            await self._ctx.live.bus.publish(
                account_topic(me.id), event("following", handle=handle)
            )

    async def _hash(self, password: str) -> str:
        try:
            return await self._ctx.kdf.hash(password)
        except KdfBusy as exc:
            raise Overloaded("sign-up is busy; try again shortly", retry_after_s=2) from exc

    async def _limit(self, key: str, per_minute: int) -> None:
        decision = await self._ctx.live.limiter.hit(key, per_minute, 60.0)
        if not decision.allowed:
            raise RateLimited(
                "too many attempts; wait before trying again", retry_after_s=decision.retry_after_s
            )
