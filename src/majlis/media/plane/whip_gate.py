"""The WHIP gate: who may connect a speaker to a room, and which node answers.

WHIP offers are authorized against the store, not the event stream, so a speaker can never
connect on stale information. An offer is answered only by the node that runs the Space's room;
any other node names that node (the routes redirect there, api/routes/media.py) and vouches for the
caller with a short-lived grant (security/grants.py), since clients drop Authorization across
origins.
"""

from __future__ import annotations

from dataclasses import dataclass

from majlis.cluster.ownership import Ownership
from majlis.domain.context import Context
from majlis.domain.errors import BadOffer, Conflict, Forbidden, NotFound, Overloaded
from majlis.domain.model import Account, Space
from majlis.domain.space_cache import SPACE_ID
from majlis.media.plane.rooms import Rooms
from majlis.media.whip import NegotiationFailed, SpeakerSession
from majlis.security.grants import Vouched, WhipGrants


@dataclass
class Answer:
    session_id: str
    sdp: str


class WhipGate:
    def __init__(self, ctx: Context, rooms: Rooms, ownership: Ownership | None) -> None:
        self._ctx = ctx
        self._rooms = rooms
        self._ownership = ownership
        self._grants = WhipGrants(ctx.settings.resolved_secret())

    async def authorize(self, space_id: str, me: Account) -> Space:
        """Refuse callers before reading their offer: unknown Space, not live, not on stage."""
        space = await self._ctx.store.space(space_id) if SPACE_ID.fullmatch(space_id) else None
        if space is None:
            raise NotFound(f"there is no Space {space_id!r}")
        if space.state != "live":
            raise Conflict(f"the Space is {space.state}; speakers connect only while it is live")
        if space.member(me.id) is None:
            raise Forbidden("only people on the stage can speak; ask to speak first")
        return space

    async def offer(self, space: Space, me: Account, sdp: str, auth_session: str = "") -> Answer:
        member = space.member(me.id)
        assert member is not None
        room = await self._rooms.open_room(space.id, space.record)
        await room.go_live()  # the Space is live (authorized): the pre-show, if any, is over
        try:
            session = await room.connect(me.handle, me.id, member.muted, sdp, auth_session)
        except NegotiationFailed as exc:
            raise BadOffer(f"the offer could not be answered: {exc}") from exc
        except OSError as exc:
            raise Overloaded("no media ports are free right now", retry_after_s=5) from exc
        return Answer(session_id=session.id, sdp=session.answer)

    async def hang_up(self, space_id: str, session_id: str, me: Account) -> None:
        room = self._rooms.get(space_id)
        session: SpeakerSession | None = room.session_by_id(session_id) if room else None
        if room is None or session is None:
            raise NotFound("there is no such WHIP session (it may have ended already)")
        if session.account_id != me.id:
            raise Forbidden("only the speaker can end their own WHIP session")
        await room.disconnect(session.key)

    async def offer_elsewhere(self, space_id: str) -> str | None:
        """The base URL of the node that runs ``space_id`` when it is not this one, placing
        the Space if nobody runs it yet (an offer to a live Space)."""
        if self._ownership is None:
            return None
        return await self._ownership.elsewhere(space_id)

    async def hang_up_elsewhere(self, space_id: str) -> str | None:
        """The base URL of the node whose room holds ``space_id``'s sessions, when that room is
        not here; only follows a placement (a hang-up never places a Space)."""
        if self._ownership is None or space_id in self._rooms or not SPACE_ID.fullmatch(space_id):
            return None
        if await self._ownership.placement.placement_of(space_id) is None:
            return None
        return await self._ownership.elsewhere(space_id)

    def grant(self, space_id: str, handle: str, auth_session: str) -> str:
        """Vouch for ``handle`` (signed in as ``auth_session``) across a redirect to the node
        that runs ``space_id``."""
        return self._grants.issue(space_id, handle, auth_session)

    def granted(self, space_id: str, grant: str) -> Vouched | None:
        """Whom a redirecting node vouched for, or None: forged, expired or malformed.

        A single node (no Redis) never redirects, so it never issues a grant: any grant it is
        shown was made elsewhere, and is refused however well it is signed."""
        if not self._ctx.settings.redis_url:
            return None
        return self._grants.verify(space_id, grant)
