"""The stage's role x action table (API.md "The stage"): what every role gets for every action,
and the Space state both matrices compare before and after.

One table for two layers: ``tests/test_stage_matrix.py`` asserts it over HTTP against real
servers, ``tests/unit/domain/test_stage_matrix.py`` against the domain services directly
(without the signed-out column, which only HTTP has).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

ROLES = ("host", "cohost", "speaker", "listener", "signed_out")

# The expected status of every (action, actor role), in the order of ROLES. 404 means "allowed,
# but there is nothing to act on" (a listener is not on the stage; only L1 has a request), and
# 409 a state conflict (the host cannot leave the stage). Only 2xx changes anything.
#
#                                  host  cohost speaker listener signed-out
EXPECTED: dict[str, tuple[int, int, int, int, int]] = {
    "put_listener_as_speaker":    (200,  200,   403,    403,     401),
    "put_listener_as_cohost":     (200,  403,   403,    403,     401),
    "promote_speaker_to_cohost":  (200,  403,   403,    403,     401),
    "demote_cohost_to_speaker":   (200,  403,   403,    403,     401),
    "change_host_role":           (403,  403,   403,    403,     401),
    "take_speaker_off_stage":     (204,  204,   403,    403,     401),
    "take_cohost_off_stage":      (204,  403,   403,    403,     401),
    "take_self_off_stage":        (409,  204,   204,    404,     401),
    "mute_speaker":               (204,  204,   403,    403,     401),
    "mute_cohost":                (204,  204,   403,    403,     401),
    "mute_host":                  (204,  204,   403,    403,     401),
    "mute_self":                  (204,  204,   204,    404,     401),
    "unmute_another":             (403,  403,   403,    403,     401),
    "unmute_self":                (204,  204,   204,    404,     401),
    "remove_speaker":             (204,  204,   403,    403,     401),
    "remove_cohost":              (204,  403,   403,    403,     401),
    "remove_host":                (403,  403,   403,    403,     401),
    "remove_listener":            (204,  204,   403,    403,     401),
    "list_requests":              (200,  200,   403,    403,     401),
    "decline_request":            (204,  204,   403,    403,     401),
    "withdraw_own_request":       (404,  404,   404,    204,     401),
    "start_scheduled_space":      (200,  403,   403,    403,     401),
    "end_space":                  (200,  403,   403,    403,     401),
}  # fmt: skip


@dataclass(frozen=True)
class State:
    """A Space as the matrix compares it (state, stage, requests): what a refused action
    must leave untouched, and what an allowed one must change exactly."""

    state: str
    stage: dict[str, tuple[str, bool]]
    requests: tuple[str, ...]

    def with_member(self, handle: str, role: str | None = None, muted: bool | None = None) -> State:
        old_role, old_muted = self.stage.get(handle, ("speaker", True))
        member = (role or old_role, old_muted if muted is None else muted)
        return replace(self, stage={**self.stage, handle: member})

    def without_member(self, handle: str) -> State:
        return replace(self, stage={h: m for h, m in self.stage.items() if h != handle})

    def without_request(self, handle: str) -> State:
        return replace(self, requests=tuple(h for h in self.requests if h != handle))
