"""Waiting for a condition instead of sleeping for a guess: the one wait helper of the tests.

A fixed ``sleep(2)`` that waits for something to happen is wrong twice: on an idle machine it
wastes the time it over-guessed, and on a busy one (the suite runs on a shared 2-core box) the
guess is too short and the test flakes. ``eventually`` asks the question itself, every
``interval_s``, and returns the moment the answer is yes; its ``timeout_s`` is only an upper bound
for when things are broken, so it is generous: a generous bound costs nothing when things work.

Keep a real sleep only where the passing of time is what the test is about (a lease that must
lapse, a rate limiter that must refill, "nothing happens during this interval", pacing real-time
media or load), and say so next to it.

How a condition answers:

* a truthy value means "done": the wait returns that value, so it can be used at once;
* a falsy value means "not yet";
* an exception of a type in ``ignoring`` (``AssertionError`` by default, so a condition may
  ``assert`` with a helpful message) also means "not yet";
* any other exception propagates at once: an unexpected error is not waited out. To give up
  early on purpose (the process under test died), raise such an error, or ``pytest.fail``.

Where the bound itself is under test ("re-placed within 15 s"), pass it as ``timeout_s``.

On timeout the wait raises :class:`WaitTimeout` (an ``AssertionError``, so pytest reports it as a
failed check) with ``message``, the time waited, the number of attempts, and the last value or
exception the condition gave; the last exception is also chained as the cause.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: Upper bound of a wait unless a call says otherwise. Generous on purpose (see above); still
#: well inside the per-test timeout (pytest-timeout, 120 s).
TIMEOUT_S = 30.0
#: How often the condition is asked. Short, so a wait ends soon after its condition holds.
INTERVAL_S = 0.05

_REPR_LIMIT = 500


class WaitTimeout(AssertionError):
    """A condition did not hold within its wait's timeout."""


def eventually(
    condition: Callable[[], T],
    *,
    timeout_s: float = TIMEOUT_S,
    interval_s: float = INTERVAL_S,
    message: str | Callable[[], str] = "",
    ignoring: tuple[type[BaseException], ...] = (AssertionError,),
) -> T:
    """Call ``condition()`` until it returns a truthy value, and return that value.

    ``message`` says what was waited for (a callable is called only on timeout, e.g. to read a
    log). A single call of ``condition`` is not interrupted: keep it short (an HTTP request
    with its own timeout is fine). See the module's docstring for the rules.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    attempts = 0
    while True:
        attempts += 1
        try:
            value = condition()
        except ignoring as exc:
            outcome: _Outcome = _Outcome(error=exc)
        else:
            if inspect.isawaitable(value):
                raise TypeError("the condition returned an awaitable: use eventually_async")
            if value:
                return value
            outcome = _Outcome(value=value)
        left = deadline - time.monotonic()
        if left <= 0:
            raise outcome.timeout(message, time.monotonic() - started, attempts)
        time.sleep(min(interval_s, left))


async def eventually_async(
    condition: Callable[[], Awaitable[T]] | Callable[[], T],
    *,
    timeout_s: float = TIMEOUT_S,
    interval_s: float = INTERVAL_S,
    message: str | Callable[[], str] = "",
    ignoring: tuple[type[BaseException], ...] = (AssertionError,),
) -> T:
    """The twin of :func:`eventually` for event-loop code: the wait does not block the loop.

    ``condition`` may be a plain callable or return an awaitable (an ``async def`` function);
    an awaitable that is still pending at the deadline is cancelled and the wait times out.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    attempts = 0
    while True:
        attempts += 1
        try:
            value = await _answer(condition, deadline)
        except _StillPending:
            waited_s = time.monotonic() - started
            raise _Outcome(pending=True).timeout(message, waited_s, attempts) from None
        except ignoring as exc:
            outcome = _Outcome(error=exc)
        else:
            if value:
                return value
            outcome = _Outcome(value=value)
        left = deadline - time.monotonic()
        if left <= 0:
            raise outcome.timeout(message, time.monotonic() - started, attempts)
        await asyncio.sleep(min(interval_s, left))


class _StillPending(Exception):
    """An awaited attempt was still running at the deadline (never one of ``ignoring``)."""


async def _answer(condition: Callable[[], Awaitable[T]] | Callable[[], T], deadline: float) -> T:
    result = condition()
    if not inspect.isawaitable(result):
        return result
    try:
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())) as scope:
            value: T = await result
    except TimeoutError:
        if scope.expired():
            raise _StillPending from None
        raise  # the condition's own timeout: an error like any other
    return value


class _Outcome:
    """What the condition's last attempt gave: a falsy value, an exception, or nothing yet."""

    def __init__(
        self, value: object = None, error: BaseException | None = None, pending: bool = False
    ) -> None:
        self.value = value
        self.error = error
        self.pending = pending

    def timeout(
        self, message: str | Callable[[], str], waited_s: float, attempts: int
    ) -> WaitTimeout:
        what = (message() if callable(message) else message) or "the condition never held"
        if self.pending:
            last = "the last attempt was still running"
        elif self.error is not None:
            last = f"the last attempt raised {_short(self.error)}"
        else:
            last = f"the last attempt returned {_short(self.value)}"
        error = WaitTimeout(f"{what} (waited {waited_s:.1f} s, {attempts} attempts; {last})")
        error.__cause__ = self.error
        return error


def _short(thing: object) -> str:
    text = repr(thing)
    return text if len(text) <= _REPR_LIMIT else f"{text[:_REPR_LIMIT]}…"
