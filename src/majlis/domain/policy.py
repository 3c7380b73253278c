"""Who may do what on the stage: the rules of API.md "The stage", as pure functions.

The host may do everything; a cohost may do everything except end the Space, remove or demote
the host or another cohost, or grant cohost. Speakers and listeners manage only themselves.
Keeping the rules pure makes the role x action matrix testable without a server, and lets the
media plane ask the same questions.
"""

from __future__ import annotations

from typing import Literal

ActorRole = Literal["host", "cohost", "speaker", "listener"]
STAFF: frozenset[ActorRole] = frozenset({"host", "cohost"})


def may_put_on_stage(
    actor: ActorRole, target: ActorRole, new_role: str, is_self: bool = False
) -> bool:
    """PUT stage/{handle} {role}: invite a listener, or change a speaker's or cohost's role."""
    if target == "host":
        return False
    if actor == "host":
        return True
    if is_self and actor == "cohost" and new_role == "speaker":
        return True  # stepping down is managing oneself
    # A cohost may bring up or keep speakers, but neither grant cohost nor demote a cohost.
    return actor == "cohost" and new_role == "speaker" and target in ("listener", "speaker")


def may_take_off_stage(actor: ActorRole, is_self: bool, target: ActorRole) -> bool:
    """DELETE stage/{handle}: back to listener. The host leaves only by ending the Space."""
    if target == "host":
        return False
    if is_self or actor == "host":
        return True
    return actor == "cohost" and target == "speaker"


def may_mute(actor: ActorRole, is_self: bool) -> bool:
    return is_self or actor in STAFF


def may_unmute(is_self: bool) -> bool:
    """Nobody turns on another person's microphone."""
    return is_self


def may_remove(actor: ActorRole, target: ActorRole) -> bool:
    if target == "host":
        return False
    if actor == "host":
        return True
    return actor == "cohost" and target in ("speaker", "listener")


def may_manage_requests(actor: ActorRole) -> bool:
    """See the queue of requests and decline them (anyone may withdraw their own)."""
    return actor in STAFF


def may_run_space(actor: ActorRole) -> bool:
    """Start and end are the host's alone."""
    return actor == "host"
