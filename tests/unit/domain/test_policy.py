"""The stage's rules as pure functions (``majlis.domain.policy``), one table per question.

Each table reads like API.md "The stage": a row per target (and new role, or "about oneself"),
a column per actor role. The last test ties the tables to the HTTP matrix
(``tests/support/stage_table.py``): what the policy allows is what the server does not refuse
with 403.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from majlis.domain import policy
from majlis.domain.policy import ActorRole
from tests.support.stage_table import EXPECTED, ROLES

ACTORS: tuple[ActorRole, ...] = ("host", "cohost", "speaker", "listener")
Y, N = True, False

#: may_put_on_stage(actor, target, new_role), someone else.
#:                                   host cohost speaker listener
PUT_ON_STAGE: dict[tuple[ActorRole, str], tuple[bool, bool, bool, bool]] = {
    ("listener", "speaker"):        (Y,   Y,     N,      N),
    ("listener", "cohost"):         (Y,   N,     N,      N),
    ("speaker", "speaker"):         (Y,   Y,     N,      N),
    ("speaker", "cohost"):          (Y,   N,     N,      N),
    ("cohost", "speaker"):          (Y,   N,     N,      N),
    ("cohost", "cohost"):           (Y,   N,     N,      N),
    ("host", "speaker"):            (N,   N,     N,      N),
    ("host", "cohost"):             (N,   N,     N,      N),
}  # fmt: skip

#: may_put_on_stage(actor, actor's own role, new_role, is_self=True): managing oneself.
#:                                   host cohost speaker listener
PUT_SELF: dict[str, tuple[bool, bool, bool, bool]] = {
    "speaker":                      (N,   Y,     N,      N),
    "cohost":                       (N,   N,     N,      N),
}  # fmt: skip

#: may_take_off_stage(actor, is_self, target).
#:                                   host cohost speaker listener
TAKE_OFF: dict[tuple[ActorRole, bool], tuple[bool, bool, bool, bool]] = {
    ("speaker", False):             (Y,   Y,     N,      N),
    ("cohost", False):              (Y,   N,     N,      N),
    ("host", False):                (N,   N,     N,      N),
    ("listener", False):            (Y,   N,     N,      N),
}  # fmt: skip

#: may_take_off_stage(actor, is_self=True, target=actor): everyone but the host may leave.
TAKE_SELF_OFF = (N, Y, Y, Y)

#: may_remove(actor, target).
#:                                   host cohost speaker listener
REMOVE: dict[ActorRole, tuple[bool, bool, bool, bool]] = {
    "listener":                     (Y,   Y,     N,      N),
    "speaker":                      (Y,   Y,     N,      N),
    "cohost":                       (Y,   N,     N,      N),
    "host":                         (N,   N,     N,      N),
}  # fmt: skip

#:                                   host cohost speaker listener
MUTE_ANOTHER =                      (Y,   Y,     N,      N)  # fmt: skip
MANAGE_REQUESTS =                   (Y,   Y,     N,      N)  # fmt: skip
RUN_SPACE =                         (Y,   N,     N,      N)  # fmt: skip


def _cells(
    table: dict[tuple[ActorRole, str], tuple[bool, ...]],
) -> list[tuple[ActorRole, str, ActorRole, bool]]:
    return [
        (target, new_role, actor, row[i])
        for (target, new_role), row in table.items()
        for i, actor in enumerate(ACTORS)
    ]


@pytest.mark.parametrize(("target", "new_role", "actor", "allowed"), _cells(PUT_ON_STAGE))
def test_putting_someone_on_stage(
    target: ActorRole, new_role: str, actor: ActorRole, allowed: bool
) -> None:
    assert policy.may_put_on_stage(actor, target, new_role) is allowed


@pytest.mark.parametrize(
    ("new_role", "actor", "allowed"),
    [(new_role, a, row[i]) for new_role, row in PUT_SELF.items() for i, a in enumerate(ACTORS)],
)
def test_changing_ones_own_role(new_role: str, actor: ActorRole, allowed: bool) -> None:
    assert policy.may_put_on_stage(actor, actor, new_role, is_self=True) is allowed


@pytest.mark.parametrize(("target", "is_self", "actor", "allowed"), _cells(TAKE_OFF))  # type: ignore[arg-type]
def test_taking_someone_off_the_stage(
    target: ActorRole, is_self: bool, actor: ActorRole, allowed: bool
) -> None:
    assert policy.may_take_off_stage(actor, is_self, target) is allowed


@pytest.mark.parametrize(("actor", "allowed"), list(zip(ACTORS, TAKE_SELF_OFF, strict=True)))
def test_leaving_the_stage(actor: ActorRole, allowed: bool) -> None:
    assert policy.may_take_off_stage(actor, True, actor) is allowed


@pytest.mark.parametrize(
    ("target", "actor", "allowed"),
    [(target, a, row[i]) for target, row in REMOVE.items() for i, a in enumerate(ACTORS)],
)
def test_removing_someone(target: ActorRole, actor: ActorRole, allowed: bool) -> None:
    assert policy.may_remove(actor, target) is allowed


@pytest.mark.parametrize(("actor", "allowed"), list(zip(ACTORS, MUTE_ANOTHER, strict=True)))
def test_muting_another_is_for_staff_and_oneself_for_everyone(
    actor: ActorRole, allowed: bool
) -> None:
    assert policy.may_mute(actor, is_self=False) is allowed
    assert policy.may_mute(actor, is_self=True)


@pytest.mark.parametrize("actor", ACTORS)
def test_nobody_unmutes_another(actor: ActorRole) -> None:
    assert policy.may_unmute(is_self=True)
    assert not policy.may_unmute(is_self=False)


@pytest.mark.parametrize(("actor", "allowed"), list(zip(ACTORS, MANAGE_REQUESTS, strict=True)))
def test_requests_are_managed_by_staff(actor: ActorRole, allowed: bool) -> None:
    assert policy.may_manage_requests(actor) is allowed


@pytest.mark.parametrize(("actor", "allowed"), list(zip(ACTORS, RUN_SPACE, strict=True)))
def test_only_the_host_runs_the_space(actor: ActorRole, allowed: bool) -> None:
    assert policy.may_run_space(actor) is allowed


#: The HTTP matrix's actions as policy questions, for the actor role given: the matrix's
#: targets are a listener (L1), another speaker (S2), another cohost (C2) and the host.
POLICY_OF: dict[str, Callable[[ActorRole], bool]] = {
    "put_listener_as_speaker": lambda a: policy.may_put_on_stage(a, "listener", "speaker"),
    "put_listener_as_cohost": lambda a: policy.may_put_on_stage(a, "listener", "cohost"),
    "promote_speaker_to_cohost": lambda a: policy.may_put_on_stage(a, "speaker", "cohost"),
    "demote_cohost_to_speaker": lambda a: policy.may_put_on_stage(a, "cohost", "speaker"),
    "change_host_role": lambda a: policy.may_put_on_stage(a, "host", "speaker"),
    "take_speaker_off_stage": lambda a: policy.may_take_off_stage(a, False, "speaker"),
    "take_cohost_off_stage": lambda a: policy.may_take_off_stage(a, False, "cohost"),
    "take_self_off_stage": lambda a: policy.may_take_off_stage(a, True, a),
    "mute_speaker": lambda a: policy.may_mute(a, False),
    "mute_cohost": lambda a: policy.may_mute(a, False),
    "mute_host": lambda a: policy.may_mute(a, a == "host"),
    "mute_self": lambda a: policy.may_mute(a, True),
    "unmute_another": lambda a: policy.may_unmute(False),
    "unmute_self": lambda a: policy.may_unmute(True),
    "remove_speaker": lambda a: policy.may_remove(a, "speaker"),
    "remove_cohost": lambda a: policy.may_remove(a, "cohost"),
    "remove_host": lambda a: policy.may_remove(a, "host"),
    "remove_listener": lambda a: policy.may_remove(a, "listener"),
    "list_requests": policy.may_manage_requests,
    "decline_request": policy.may_manage_requests,
    "withdraw_own_request": lambda a: True,  # anyone may withdraw their own
    "start_scheduled_space": policy.may_run_space,
    "end_space": policy.may_run_space,
}

#: Answered before the policy is asked: the host leaving the stage is a conflict (409: end the
#: Space instead), not a refusal of the role.
ASKED_BEFORE_THE_POLICY = {("take_self_off_stage", "host")}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", list(EXPECTED))
def test_the_policy_refuses_what_the_http_matrix_refuses(action: str, actor: ActorRole) -> None:
    status = EXPECTED[action][ROLES.index(actor)]
    if (action, actor) in ASKED_BEFORE_THE_POLICY:
        assert status == 409 and not POLICY_OF[action](actor)
        return
    assert POLICY_OF[action](actor) is (status != 403), status


def test_every_matrix_action_is_a_policy_question() -> None:
    assert set(POLICY_OF) == set(EXPECTED)
