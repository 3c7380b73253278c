"""The stage's role x action authorization matrix (API.md "The stage"), against a real server.

Every case acts on a live Space with host H, cohosts C and C2, speakers S and S2, listener L1
who has asked to speak, and listener L2. A case whose action is allowed, or needs preparing, or
a scheduled Space, builds a fresh one; the refusals that need nothing else all act on one Space
per server, which, as each of them checks, they leave as it was (building a Space per refusal
cost the suite ~20 s). The actor for each role is:

    host -> H, cohost -> C, speaker -> S, listener -> L2 (L1 for "withdraw own request"),
    signed-out -> no token.

Targets are never the actor unless the action is about oneself: "a speaker" is S2, "a cohost" is
C2 (so a cohost acting on it acts on *another* cohost), "a listener" is L1, "the host" is H.

An allowed action must answer its documented 2xx and make exactly the expected change; any other
answer must be a problem+json and change NOTHING (the Space's state and stage, and the requests
as the host sees them, are compared before and after).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from tests.support.client import Api, User, problem_of
from tests.support.server import RunningServer
from tests.support.stage_table import EXPECTED, ROLES, State


@dataclass
class Case:
    api: Api
    space_id: str
    actor: User | None
    H: User
    C: User
    C2: User
    S: User
    S2: User
    L1: User
    L2: User

    @property
    def me(self) -> User:
        """The actor as a target of a "self" action (the signed-out actor aims at S)."""
        return self.actor or self.S

    def base(self) -> str:
        return f"/api/v1/spaces/{self.space_id}"

    def state(self) -> State:
        space = self.api.space(self.space_id)
        listed = self.H.get(f"{self.base()}/requests")
        assert listed.status_code == 200, listed.text
        return State(
            state=space["state"],
            stage={m["handle"]: (m["role"], m["muted"]) for m in space["stage"]},
            requests=tuple(r["handle"] for r in listed.json()["items"]),
        )

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = self.base() + path
        if self.actor is None:
            return self.api.http.request(method, url, **kwargs)
        return self.actor.request(method, url, **kwargs)


def ok(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text)


@dataclass(frozen=True)
class Action:
    method: str
    path: Callable[[Case], str]
    effect: Callable[[State, Case], State]
    body: dict[str, str] | None = None
    prepare: Callable[[Case], None] | None = None
    check: Callable[[httpx.Response, State, Case], None] | None = None
    scheduled: bool = False
    listener_actor: str = "L2"


def free_a_cohost_seat(case: Case) -> None:
    ok(case.H.delete(f"{case.base()}/stage/{case.C2.handle}"), 204)


def unmute(who: Callable[[Case], User]) -> Callable[[Case], None]:
    def prepare(case: Case) -> None:
        user = who(case)
        ok(user.post(f"{case.base()}/stage/{user.handle}/unmute"), 204)

    return prepare


def set_own_mute(muted: bool) -> Callable[[Case], None]:
    """Bring an on-stage actor to the opposite of what the action will set."""

    def prepare(case: Case) -> None:
        if case.actor is not None and case.actor.handle in case.api.stage_of(case.space_id):
            verb = "mute" if muted else "unmute"
            ok(case.actor.post(f"{case.base()}/stage/{case.actor.handle}/{verb}"), 204)

    return prepare


def member_is(handle: Callable[[Case], str], role: str, muted: bool | None) -> Any:
    def check(response: httpx.Response, before: State, case: Case) -> None:
        body = response.json()
        assert body["handle"] == handle(case)
        assert body["role"] == role
        assert isinstance(body["display_name"], str)
        expected_muted = before.stage[handle(case)][1] if muted is None else muted
        assert body["muted"] is expected_muted

    return check


def listed_requests(response: httpx.Response, before: State, case: Case) -> None:
    items = response.json()["items"]
    assert tuple(i["handle"] for i in items) == before.requests == (case.L1.handle,)
    assert all(i["requested_at"] for i in items)


def removed_and_banned(target: Callable[[Case], User]) -> Any:
    def check(response: httpx.Response, before: State, case: Case) -> None:
        user = target(case)
        problem_of(user.post(f"{case.base()}/join"), 403)

    return check


def space_is(state: str) -> Any:
    def check(response: httpx.Response, before: State, case: Case) -> None:
        assert response.json()["state"] == state

    return check


ACTIONS: dict[str, Action] = {
    "put_listener_as_speaker": Action(
        "PUT",
        lambda c: f"/stage/{c.L1.handle}",
        lambda s, c: s.with_member(c.L1.handle, "speaker", True).without_request(c.L1.handle),
        body={"role": "speaker"},
        check=member_is(lambda c: c.L1.handle, "speaker", True),
    ),
    "put_listener_as_cohost": Action(
        "PUT",
        lambda c: f"/stage/{c.L1.handle}",
        lambda s, c: s.with_member(c.L1.handle, "cohost", True).without_request(c.L1.handle),
        body={"role": "cohost"},
        prepare=free_a_cohost_seat,
        check=member_is(lambda c: c.L1.handle, "cohost", True),
    ),
    "promote_speaker_to_cohost": Action(
        "PUT",
        lambda c: f"/stage/{c.S2.handle}",
        lambda s, c: s.with_member(c.S2.handle, "cohost"),
        body={"role": "cohost"},
        prepare=free_a_cohost_seat,
        check=member_is(lambda c: c.S2.handle, "cohost", None),
    ),
    "demote_cohost_to_speaker": Action(
        "PUT",
        lambda c: f"/stage/{c.C2.handle}",
        lambda s, c: s.with_member(c.C2.handle, "speaker"),
        body={"role": "speaker"},
        check=member_is(lambda c: c.C2.handle, "speaker", None),
    ),
    "change_host_role": Action(
        "PUT", lambda c: f"/stage/{c.H.handle}", lambda s, c: s, body={"role": "speaker"}
    ),
    "take_speaker_off_stage": Action(
        "DELETE", lambda c: f"/stage/{c.S2.handle}", lambda s, c: s.without_member(c.S2.handle)
    ),
    "take_cohost_off_stage": Action(
        "DELETE", lambda c: f"/stage/{c.C2.handle}", lambda s, c: s.without_member(c.C2.handle)
    ),
    "take_self_off_stage": Action(
        "DELETE", lambda c: f"/stage/{c.me.handle}", lambda s, c: s.without_member(c.me.handle)
    ),
    "mute_speaker": Action(
        "POST",
        lambda c: f"/stage/{c.S2.handle}/mute",
        lambda s, c: s.with_member(c.S2.handle, muted=True),
        prepare=unmute(lambda c: c.S2),
    ),
    "mute_cohost": Action(
        "POST",
        lambda c: f"/stage/{c.C2.handle}/mute",
        lambda s, c: s.with_member(c.C2.handle, muted=True),
        prepare=unmute(lambda c: c.C2),
    ),
    "mute_host": Action(
        "POST",
        lambda c: f"/stage/{c.H.handle}/mute",
        lambda s, c: s.with_member(c.H.handle, muted=True),
    ),
    "mute_self": Action(
        "POST",
        lambda c: f"/stage/{c.me.handle}/mute",
        lambda s, c: s.with_member(c.me.handle, muted=True),
        prepare=set_own_mute(False),
    ),
    "unmute_another": Action("POST", lambda c: f"/stage/{c.S2.handle}/unmute", lambda s, c: s),
    "unmute_self": Action(
        "POST",
        lambda c: f"/stage/{c.me.handle}/unmute",
        lambda s, c: s.with_member(c.me.handle, muted=False),
        prepare=set_own_mute(True),
    ),
    "remove_speaker": Action(
        "POST",
        lambda c: f"/removals/{c.S2.handle}",
        lambda s, c: s.without_member(c.S2.handle),
        check=removed_and_banned(lambda c: c.S2),
    ),
    "remove_cohost": Action(
        "POST",
        lambda c: f"/removals/{c.C2.handle}",
        lambda s, c: s.without_member(c.C2.handle),
        check=removed_and_banned(lambda c: c.C2),
    ),
    "remove_host": Action("POST", lambda c: f"/removals/{c.H.handle}", lambda s, c: s),
    "remove_listener": Action(
        "POST",
        lambda c: f"/removals/{c.L1.handle}",
        lambda s, c: s.without_request(c.L1.handle),
        check=removed_and_banned(lambda c: c.L1),
    ),
    "list_requests": Action("GET", lambda c: "/requests", lambda s, c: s, check=listed_requests),
    "decline_request": Action(
        "DELETE",
        lambda c: f"/requests/{c.L1.handle}",
        lambda s, c: s.without_request(c.L1.handle),
    ),
    "withdraw_own_request": Action(
        "DELETE",
        lambda c: f"/requests/{(c.actor or c.L1).handle}",
        lambda s, c: s.without_request(c.me.handle),
        listener_actor="L1",
    ),
    "start_scheduled_space": Action(
        "POST",
        lambda c: "/start",
        lambda s, c: replace(s, state="live"),
        check=space_is("live"),
        scheduled=True,
    ),
    "end_space": Action(
        "POST",
        lambda c: "/end",
        lambda s, c: replace(s, state="ended", requests=()),
        check=space_is("ended"),
    ),
}

assert set(ACTIONS) == set(EXPECTED)


@dataclass
class Crew:
    """Accounts shared by every case on one server; each case still gets a fresh Space.

    The host and the requester L1 are made fresh per case: a host can run one live Space at a
    time, and requests to speak are rate limited per account.
    """

    api: Api
    C: User
    C2: User
    S: User
    S2: User
    L2: User


@pytest.fixture(scope="module")
def crew(server: RunningServer) -> Iterator[Crew]:
    client = Api(server.base_url)
    users = {name: client.sign_up(name.lower()) for name in ("C", "C2", "S", "S2", "L2")}
    yield Crew(api=client, **users)
    client.close()


def put(host: User, space_id: str, user: User, role: str) -> None:
    response = host.put(f"/api/v1/spaces/{space_id}/stage/{user.handle}", json={"role": role})
    assert response.status_code == 200, response.text


def build_case(api: Api, crew: Crew, action: Action, role: str) -> Case:
    host = api.sign_up("h")
    requester = api.sign_up("l1")
    if action.scheduled:
        space = host.schedule_space("Later tonight")
    else:
        space = host.create_space("Matrix")
        for user, stage_role in (
            (crew.C, "cohost"),
            (crew.C2, "cohost"),
            (crew.S, "speaker"),
            (crew.S2, "speaker"),
        ):
            put(host, space["id"], user, stage_role)
        asked = requester.post(f"/api/v1/spaces/{space['id']}/requests")
        assert asked.status_code == 201, asked.text
    case = Case(
        api=api,
        space_id=space["id"],
        actor=None,
        H=host,
        C=crew.C,
        C2=crew.C2,
        S=crew.S,
        S2=crew.S2,
        L1=requester,
        L2=crew.L2,
    )
    return cast(case, action, role)


def cast(case: Case, action: Action, role: str) -> Case:
    """The case with ``role``'s actor (signed out: none)."""
    people = {"H": case.H, "C": case.C, "S": case.S, "L1": case.L1, "L2": case.L2}
    actor_of = {"host": "H", "cohost": "C", "speaker": "S", "listener": action.listener_actor}
    return replace(case, actor=people[actor_of[role]] if role in actor_of else None)


def refused_as_it_is(action: Action, expected: int) -> bool:
    """A refusal on the Space as built, so the shared one serves (see the module docstring)."""
    return not 200 <= expected < 300 and action.prepare is None and not action.scheduled


@pytest.fixture(scope="module")
def shared_space(crew: Crew) -> Iterator[Case]:
    case = build_case(crew.api, crew, ACTIONS["end_space"], "signed_out")
    yield case
    case.H.post(f"/api/v1/spaces/{case.space_id}/end")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_stage_authorization(
    api: Api, crew: Crew, shared_space: Case, name: str, role: str
) -> None:
    action = ACTIONS[name]
    expected = EXPECTED[name][ROLES.index(role)]
    shared = refused_as_it_is(action, expected)
    case = cast(shared_space, action, role) if shared else build_case(api, crew, action, role)
    try:
        if action.prepare is not None:
            action.prepare(case)
        before = case.state()
        if not action.scheduled:
            assert before.state == "live"
            assert before.requests == (case.L1.handle,)

        response = case.call(action.method, action.path(case), json=action.body)
        after = case.state()

        if 200 <= expected < 300:
            assert response.status_code == expected, (response.status_code, response.text)
            if expected == 204:
                assert response.content == b""
            if action.check is not None:
                action.check(response, before, case)
            assert after == action.effect(before, case)
            assert after != before or name == "list_requests"
        else:
            problem_of(response, expected)
            assert after == before, "a refused action changed the Space"
    finally:
        if not shared:
            case.H.post(f"/api/v1/spaces/{case.space_id}/end")
