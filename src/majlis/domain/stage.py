"""The stage: requests to speak, invitations and roles, leaving, muting, removal.

Every action reads the Space fresh from the store (not the audience cache), checks the rules of
``policy`` for the actor's role, then lets the store apply it atomically; a refused action
changes nothing. Each change is published on ``space:<id>`` for listeners and the media plane.
"""

from __future__ import annotations

from majlis.domain import policy
from majlis.domain.accounts import Accounts
from majlis.domain.context import Context
from majlis.domain.errors import Conflict, Forbidden, NotFound, RateLimited
from majlis.domain.events import event, space_topic
from majlis.domain.model import Account, Space, SpeakRequest, StageMember
from majlis.domain.notices import Notices
from majlis.domain.render import account_brief, member_json
from majlis.domain.spaces import Spaces, store_conflict
from majlis.domain.store import StoreConflict
from majlis.types import JSON, Role

MAX_COHOSTS = 2
MAX_SPEAKERS = 10


def role_of(space: Space, account_id: int) -> policy.ActorRole:
    member = space.member(account_id)
    return "listener" if member is None else member.role


class Stage:
    def __init__(self, ctx: Context, spaces: Spaces, accounts: Accounts, notices: Notices) -> None:
        self._ctx = ctx
        self._spaces = spaces
        self._accounts = accounts
        self._notices = notices

    async def _live(self, space_id: str) -> Space:
        space = await self._spaces.get(space_id)
        if space.state != "live":
            raise Conflict(f"the Space is {space.state}; the stage is open only while live")
        return space

    async def _publish(self, space: Space, payload: JSON) -> None:
        self._ctx.space_cache.invalidate(space.id)
        await self._ctx.live.bus.publish(space_topic(space.id), {**payload, "space_id": space.id})

    # requests to speak -----------------------------------------------------------------------

    async def request(self, me: Account, space_id: str) -> SpeakRequest:
        space = await self._live(space_id)
        decision = await self._ctx.live.limiter.hit(
            f"request:{me.id}", self._ctx.settings.requests_per_account_per_min, 60.0
        )
        if not decision.allowed:
            raise RateLimited("too many requests to speak", retry_after_s=decision.retry_after_s)
        now = self._ctx.now()
        try:
            await self._ctx.store.add_request(space.id, me.id, now)
        except StoreConflict as exc:
            raise store_conflict(exc) from exc
        await self._publish(space, event("request", action="added", **account_brief(me)))
        return SpeakRequest(account=me, created_at=now)

    async def requests(self, me: Account, space_id: str) -> list[SpeakRequest]:
        space = await self._spaces.get(space_id)
        if not policy.may_manage_requests(role_of(space, me.id)):
            raise Forbidden("only the host and cohosts see requests to speak")
        return await self._ctx.store.requests(space.id)

    async def drop_request(self, me: Account, space_id: str, handle: str) -> None:
        space = await self._spaces.get(space_id)
        target = await self._accounts.get(handle)
        if target.id != me.id and not policy.may_manage_requests(role_of(space, me.id)):
            raise Forbidden("only the host, cohosts or the requester can drop a request")
        if not await self._ctx.store.delete_request(space.id, target.id):
            raise NotFound(f"@{target.handle} has no pending request in this Space")
        await self._publish(space, event("request", action="removed", **account_brief(target)))

    # roles -----------------------------------------------------------------------------------

    async def put(self, me: Account, space_id: str, handle: str, role: Role) -> StageMember:
        space = await self._live(space_id)
        target = await self._accounts.get(handle)
        target_role = role_of(space, target.id)
        if not policy.may_put_on_stage(
            role_of(space, me.id), target_role, role, is_self=target.id == me.id
        ):
            raise Forbidden(f"your role cannot make @{target.handle} a {role}")
        if target_role == role:
            member = space.member(target.id)
            assert member is not None
            return member
        # Whether this answers their request: the notice says "approved" rather than "invited".
        asked = target_role == "listener" and await self._ctx.store.has_request(space.id, target.id)
        try:
            member = await self._ctx.store.put_on_stage(
                space.id, target.id, role, MAX_COHOSTS, MAX_SPEAKERS, self._ctx.now()
            )
        except StoreConflict as exc:
            raise store_conflict(exc) from exc
        await self._publish(space, event("stage", **member_json(member)))
        if target_role == "listener":
            # Their request (if any) is answered: say so, for queues built from events.
            await self._publish(space, event("request", action="removed", **account_brief(target)))
        if role == "cohost":
            await self._notices.deliver(target.id, "promoted", space, me)
        elif target_role == "listener":
            await self._notices.deliver(target.id, "approved" if asked else "invited", space, me)
        return member

    async def take_off(self, me: Account, space_id: str, handle: str) -> None:
        space = await self._live(space_id)
        target = await self._accounts.get(handle)
        target_role = role_of(space, target.id)
        is_self = target.id == me.id
        if target_role == "host" and is_self:
            raise Conflict("the host cannot leave the stage; end the Space instead")
        if not policy.may_take_off_stage(role_of(space, me.id), is_self, target_role):
            raise Forbidden(f"your role cannot take @{target.handle} off the stage")
        if not await self._ctx.store.leave_stage(space.id, target.id):
            raise NotFound(f"@{target.handle} is not on the stage")
        await self._publish(space, event("stage", **account_brief(target), role=None, muted=True))

    async def set_muted(self, me: Account, space_id: str, handle: str, muted: bool) -> None:
        space = await self._live(space_id)
        target = await self._accounts.get(handle)
        is_self = target.id == me.id
        allowed = (
            policy.may_mute(role_of(space, me.id), is_self) if muted else policy.may_unmute(is_self)
        )
        if not allowed:
            verb = "mute" if muted else "unmute"
            raise Forbidden(f"your role cannot {verb} @{target.handle}")
        if space.member(target.id) is None:
            raise NotFound(f"@{target.handle} is not on the stage")
        if await self._ctx.store.set_muted(space.id, target.id, muted):
            await self._publish(space, event("mute", **account_brief(target), muted=muted))

    async def remove(self, me: Account, space_id: str, handle: str) -> None:
        space = await self._live(space_id)
        target = await self._accounts.get(handle)
        if not policy.may_remove(role_of(space, me.id), role_of(space, target.id)):
            raise Forbidden(f"your role cannot remove @{target.handle}")
        try:
            newly = await self._ctx.store.remove_from_space(
                space.id, target.id, me.id, self._ctx.now()
            )
        except StoreConflict as exc:
            raise store_conflict(exc) from exc
        if newly:
            # Say everything that changed, so clients need not infer it from "removed".
            if role_of(space, target.id) != "listener":
                await self._publish(
                    space, event("stage", **account_brief(target), role=None, muted=True)
                )
            await self._publish(space, event("request", action="removed", **account_brief(target)))
            await self._publish(space, event("removed", **account_brief(target)))
            await self._notices.deliver(target.id, "removed", space, me)
