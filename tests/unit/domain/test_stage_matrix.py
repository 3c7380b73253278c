"""The stage's role x action matrix against the domain services, with no server.

The same table as the HTTP matrix (``tests/support/stage_table.py``), the same Space (host H,
cohosts C and C2, speakers S and S2, listener L1 who asked to speak, listener L2), the same
actors and targets (see ``tests/test_stage_matrix.py``), and the same verdicts: an allowed
action raises nothing and makes exactly the expected change; a refused one raises the error the
API turns into that status (403 Forbidden, 404 NotFound, 409 Conflict) and changes nothing.
The signed-out column is HTTP's alone (a 401 before any service is called).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from majlis.domain.errors import Conflict, Forbidden, NotFound
from tests.support.domain import Domain
from tests.support.stage_table import EXPECTED, ROLES, State

ACTORS = ROLES[:4]  # host, cohost, speaker, listener
STATUS = {Forbidden: 403, NotFound: 404, Conflict: 409}


@dataclass
class Case:
    d: Domain
    space_id: str
    actor: Any
    H: Any
    C: Any
    C2: Any
    S: Any
    S2: Any
    L1: Any
    L2: Any

    async def state(self) -> State:
        space = await self.d.store.space(self.space_id)
        assert space is not None
        requests = await self.d.store.requests(self.space_id)
        return State(
            state=space.state,
            stage={m.account.handle: (m.role, m.muted) for m in space.stage},
            requests=tuple(r.account.handle for r in requests),
        )

    def put(self, actor: Any, target: Any, role: str) -> Awaitable[Any]:
        return self.d.stage.put(actor, self.space_id, target.handle, role)  # type: ignore[arg-type]

    def mute(self, actor: Any, target: Any, muted: bool) -> Awaitable[None]:
        return self.d.stage.set_muted(actor, self.space_id, target.handle, muted)


Call = Callable[[Case], Awaitable[Any]]


@dataclass(frozen=True)
class Action:
    call: Call
    effect: Callable[[State, Case], State]
    prepare: Call | None = None
    check: Callable[[Any, Case], Awaitable[None]] | None = None
    scheduled: bool = False
    listener_actor: str = "L2"


async def free_a_cohost_seat(case: Case) -> None:
    await case.d.stage.take_off(case.H, case.space_id, case.C2.handle)


def unmute(who: str) -> Call:
    async def prepare(case: Case) -> None:
        user = getattr(case, who)
        await case.mute(user, user, False)

    return prepare


def set_own_mute(muted: bool) -> Call:
    """Bring an on-stage actor to the opposite of what the action will set."""

    async def prepare(case: Case) -> None:
        if case.actor.handle in (await case.state()).stage:
            await case.mute(case.actor, case.actor, muted)

    return prepare


def member_is(who: str, role: str) -> Callable[[Any, Case], Awaitable[None]]:
    async def check(member: Any, case: Case) -> None:
        assert (member.account.handle, member.role) == (getattr(case, who).handle, role)

    return check


def banned(who: str) -> Callable[[Any, Case], Awaitable[None]]:
    async def check(_: Any, case: Case) -> None:
        assert getattr(case, who).id in await case.d.store.banned_ids(case.space_id)

    return check


async def listed_l1(requests: Any, case: Case) -> None:
    assert [r.account.handle for r in requests] == [case.L1.handle]


def space_is(state: str) -> Callable[[Any, Case], Awaitable[None]]:
    async def check(space: Any, case: Case) -> None:
        assert space.state == state

    return check


ACTIONS: dict[str, Action] = {
    "put_listener_as_speaker": Action(
        lambda c: c.put(c.actor, c.L1, "speaker"),
        lambda s, c: s.with_member(c.L1.handle, "speaker", True).without_request(c.L1.handle),
        check=member_is("L1", "speaker"),
    ),
    "put_listener_as_cohost": Action(
        lambda c: c.put(c.actor, c.L1, "cohost"),
        lambda s, c: s.with_member(c.L1.handle, "cohost", True).without_request(c.L1.handle),
        prepare=free_a_cohost_seat,
        check=member_is("L1", "cohost"),
    ),
    "promote_speaker_to_cohost": Action(
        lambda c: c.put(c.actor, c.S2, "cohost"),
        lambda s, c: s.with_member(c.S2.handle, "cohost"),
        prepare=free_a_cohost_seat,
        check=member_is("S2", "cohost"),
    ),
    "demote_cohost_to_speaker": Action(
        lambda c: c.put(c.actor, c.C2, "speaker"),
        lambda s, c: s.with_member(c.C2.handle, "speaker"),
        check=member_is("C2", "speaker"),
    ),
    "change_host_role": Action(lambda c: c.put(c.actor, c.H, "speaker"), lambda s, c: s),
    "take_speaker_off_stage": Action(
        lambda c: c.d.stage.take_off(c.actor, c.space_id, c.S2.handle),
        lambda s, c: s.without_member(c.S2.handle),
    ),
    "take_cohost_off_stage": Action(
        lambda c: c.d.stage.take_off(c.actor, c.space_id, c.C2.handle),
        lambda s, c: s.without_member(c.C2.handle),
    ),
    "take_self_off_stage": Action(
        lambda c: c.d.stage.take_off(c.actor, c.space_id, c.actor.handle),
        lambda s, c: s.without_member(c.actor.handle),
    ),
    "mute_speaker": Action(
        lambda c: c.mute(c.actor, c.S2, True),
        lambda s, c: s.with_member(c.S2.handle, muted=True),
        prepare=unmute("S2"),
    ),
    "mute_cohost": Action(
        lambda c: c.mute(c.actor, c.C2, True),
        lambda s, c: s.with_member(c.C2.handle, muted=True),
        prepare=unmute("C2"),
    ),
    "mute_host": Action(
        lambda c: c.mute(c.actor, c.H, True), lambda s, c: s.with_member(c.H.handle, muted=True)
    ),
    "mute_self": Action(
        lambda c: c.mute(c.actor, c.actor, True),
        lambda s, c: s.with_member(c.actor.handle, muted=True),
        prepare=set_own_mute(False),
    ),
    "unmute_another": Action(lambda c: c.mute(c.actor, c.S2, False), lambda s, c: s),
    "unmute_self": Action(
        lambda c: c.mute(c.actor, c.actor, False),
        lambda s, c: s.with_member(c.actor.handle, muted=False),
        prepare=set_own_mute(True),
    ),
    "remove_speaker": Action(
        lambda c: c.d.stage.remove(c.actor, c.space_id, c.S2.handle),
        lambda s, c: s.without_member(c.S2.handle),
        check=banned("S2"),
    ),
    "remove_cohost": Action(
        lambda c: c.d.stage.remove(c.actor, c.space_id, c.C2.handle),
        lambda s, c: s.without_member(c.C2.handle),
        check=banned("C2"),
    ),
    "remove_host": Action(
        lambda c: c.d.stage.remove(c.actor, c.space_id, c.H.handle), lambda s, c: s
    ),
    "remove_listener": Action(
        lambda c: c.d.stage.remove(c.actor, c.space_id, c.L1.handle),
        lambda s, c: s.without_request(c.L1.handle),
        check=banned("L1"),
    ),
    "list_requests": Action(
        lambda c: c.d.stage.requests(c.actor, c.space_id), lambda s, c: s, check=listed_l1
    ),
    "decline_request": Action(
        lambda c: c.d.stage.drop_request(c.actor, c.space_id, c.L1.handle),
        lambda s, c: s.without_request(c.L1.handle),
    ),
    "withdraw_own_request": Action(
        lambda c: c.d.stage.drop_request(c.actor, c.space_id, c.actor.handle),
        lambda s, c: s.without_request(c.actor.handle),
        listener_actor="L1",
    ),
    "start_scheduled_space": Action(
        lambda c: c.d.spaces.start(c.actor, c.space_id),
        lambda s, c: replace(s, state="live"),
        check=space_is("live"),
        scheduled=True,
    ),
    "end_space": Action(
        lambda c: c.d.spaces.end(c.actor, c.space_id),
        lambda s, c: replace(s, state="ended", requests=()),
        check=space_is("ended"),
    ),
}


@dataclass
class Crew:
    """Accounts shared by every case; host and requester are fresh per case (a host runs one
    live Space at a time, and requests to speak are rate limited per account)."""

    C: Any
    C2: Any
    S: Any
    S2: Any
    L2: Any


@pytest.fixture(scope="module")
def crew(loop: asyncio.Runner, domain: Domain) -> Crew:
    async def make() -> Crew:
        return Crew(*[await domain.account(n.lower()) for n in ("C", "C2", "S", "S2", "L2")])

    return loop.run(make())


async def build_case(d: Domain, crew: Crew, action: Action) -> Case:
    """A fresh Space as the module docstring describes (scheduled, with nobody on its stage,
    for an action on a scheduled Space), with no actor yet."""
    host, requester = await d.account("h"), await d.account("l1")
    when = datetime.now(UTC) + timedelta(days=1) if action.scheduled else None
    space = await d.spaces.create(host, "Matrix", when, record=False)
    case = Case(d, space.id, None, host, crew.C, crew.C2, crew.S, crew.S2, requester, crew.L2)
    if not action.scheduled:
        for user, stage_role in (
            (crew.C, "cohost"),
            (crew.C2, "cohost"),
            (crew.S, "speaker"),
            (crew.S2, "speaker"),
        ):
            await case.put(host, user, stage_role)
        await d.stage.request(requester, space.id)
    return case


def cast(case: Case, action: Action, role: str) -> Case:
    """The case with ``role``'s actor."""
    people = {"H": case.H, "C": case.C, "S": case.S, "L1": case.L1, "L2": case.L2}
    actor_of = {"host": "H", "cohost": "C", "speaker": "S", "listener": action.listener_actor}
    return replace(case, actor=people[actor_of[role]])


def refused_as_it_is(action: Action, expected: int) -> bool:
    """A refusal on the Space as built changes nothing, so all of them share one Space."""
    return not 200 <= expected < 300 and action.prepare is None and not action.scheduled


@pytest.fixture(scope="module")
def shared_space(loop: asyncio.Runner, domain: Domain, crew: Crew) -> Iterator[Case]:
    case = loop.run(build_case(domain, crew, ACTIONS["end_space"]))
    yield case
    loop.run(domain.spaces.end(case.H, case.space_id))


@pytest.mark.parametrize("role", ACTORS)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_stage_authorization(
    loop: asyncio.Runner, domain: Domain, crew: Crew, shared_space: Case, name: str, role: str
) -> None:
    action = ACTIONS[name]
    expected = EXPECTED[name][ROLES.index(role)]
    shared = refused_as_it_is(action, expected)

    async def scenario() -> None:
        built = shared_space if shared else await build_case(domain, crew, action)
        case = cast(built, action, role)
        try:
            if action.prepare is not None:
                await action.prepare(case)
            before = await case.state()
            if not action.scheduled:
                assert before.state == "live"
                assert before.requests == (case.L1.handle,)
            if 200 <= expected < 300:
                result = await action.call(case)
                after = await case.state()
                if action.check is not None:
                    await action.check(result, case)
                assert after == action.effect(before, case)
                assert after != before or name == "list_requests"
            else:
                with pytest.raises(tuple(STATUS)) as refused:
                    await action.call(case)
                assert STATUS[type(refused.value)] == expected, refused.value
                assert await case.state() == before, "a refused action changed the Space"
        finally:
            if not shared and (await case.state()).state != "ended":
                await domain.spaces.end(case.H, case.space_id)

    loop.run(scenario())


def test_every_matrix_action_has_a_domain_call() -> None:
    assert set(ACTIONS) == set(EXPECTED)
