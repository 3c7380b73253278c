"""The Space page's copy of the stage rules (static/js/space-policy.js) is domain/policy.py's:
every JavaScript rule, run in Chromium over every actor, target, new role and self flag, answers
what the Python rule answers. The page shows only the controls these rules allow, so a rule
changed on one side only would show a control the server refuses (or hide one it allows)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, get_args

from majlis.domain import policy
from tests.support.server import RunningServer
from tests.web.conftest import ONE_SHAPE

pytestmark = ONE_SHAPE

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROLES: tuple[str, ...] = get_args(policy.ActorRole)
FLAGS = (False, True)

#: JavaScript name → (Python rule, the domain of its arguments).
RULES: dict[str, tuple[Callable[..., bool], list[tuple[Any, ...]]]] = {
    "isStaff": (lambda role: role in policy.STAFF, [(r,) for r in ROLES]),
    "mayPutOnStage": (
        policy.may_put_on_stage,
        list(itertools.product(ROLES, ROLES, ROLES, FLAGS)),
    ),
    "mayTakeOff": (policy.may_take_off_stage, list(itertools.product(ROLES, FLAGS, ROLES))),
    "mayMute": (policy.may_mute, list(itertools.product(ROLES, FLAGS))),
    "mayRemove": (policy.may_remove, list(itertools.product(ROLES, ROLES))),
    "mayManageRequests": (policy.may_manage_requests, [(r,) for r in ROLES]),
    "mayRunSpace": (policy.may_run_space, [(r,) for r in ROLES]),
}


def test_the_pages_stage_rules_are_domain_policy(
    server: RunningServer, page: Page, page_errors: list[str]
) -> None:
    assert ROLES == ("host", "cohost", "speaker", "listener")
    page.goto(f"{server.base_url}/signin")
    cases = {name: args for name, (_, args) in RULES.items()}
    answers: dict[str, list[bool]] = page.evaluate(
        """async cases => {
          const rules = await import("/static/js/space-policy.js");
          const out = {};
          for (const [name, args] of Object.entries(cases)) {
            out[name] = args.map(a => rules[name](...a));
          }
          out.exported = Object.keys(rules).sort();
          return out;
        }""",
        cases,
    )
    assert answers.pop("exported") == sorted(RULES), "a JS rule without its Python twin here"
    for name, (rule, args) in RULES.items():
        expected = [rule(*a) for a in args]
        wrong = [a for a, js, py in zip(args, answers[name], expected, strict=True) if js is not py]
        assert wrong == [], f"{name} disagrees with domain/policy.py for {wrong}"
    assert page_errors == []
