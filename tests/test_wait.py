"""The tests' one wait helper: it returns the condition's value as soon as it holds, waits out
"not yet" (falsy, or an ignored exception), and on timeout says what it last saw."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from tests.support.wait import WaitTimeout, eventually, eventually_async


def test_returns_the_first_truthy_value_at_once() -> None:
    started = time.monotonic()
    assert eventually(lambda: "ready", timeout_s=5) == "ready"
    assert time.monotonic() - started < 1


def test_asks_again_until_the_condition_holds() -> None:
    answers = iter([None, 0, [], "third time"])
    assert eventually(lambda: next(answers), interval_s=0.01) == "third time"


def test_an_assertion_in_the_condition_means_not_yet() -> None:
    calls = itertools.count(1)

    def condition() -> int:
        call = next(calls)
        assert call >= 3, f"only {call}"
        return call

    assert eventually(condition, interval_s=0.01) == 3


def test_a_timeout_names_the_wait_and_the_last_value() -> None:
    with pytest.raises(WaitTimeout, match=r"the door stayed shut \(waited .* returned \[\]\)"):
        eventually(list, timeout_s=0.2, interval_s=0.01, message="the door stayed shut")


def test_a_timeout_shows_the_last_exception_and_chains_it() -> None:
    def condition() -> bool:
        raise AssertionError("status 404")

    with pytest.raises(WaitTimeout, match=r"raised AssertionError\(.status 404.\)") as caught:
        eventually(condition, timeout_s=0.2, interval_s=0.01, message=lambda: "from a callable")
    assert str(caught.value).startswith("from a callable")
    assert isinstance(caught.value.__cause__, AssertionError)
    assert isinstance(caught.value, AssertionError)  # pytest reports it as a failed check


def test_an_unexpected_exception_is_not_waited_out() -> None:
    started = time.monotonic()
    with pytest.raises(KeyError):
        eventually(lambda: {}["missing"], timeout_s=10)
    assert time.monotonic() - started < 1


def test_a_coroutine_is_refused_by_the_sync_wait() -> None:
    async def ready() -> bool:
        return True

    coroutine = ready()
    with pytest.raises(TypeError, match="eventually_async"):
        eventually(lambda: coroutine)
    coroutine.close()


def test_ignoring_names_the_exceptions_that_mean_not_yet() -> None:
    answers = iter([ConnectionError("refused"), "up"])

    def condition() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert eventually(condition, interval_s=0.01, ignoring=(ConnectionError,)) == "up"


def test_the_async_twin_takes_coroutines_and_plain_callables() -> None:
    answers = iter([False, False, 7])

    async def condition() -> int | bool:
        await asyncio.sleep(0)
        return next(answers)

    async def scenario() -> None:
        assert await eventually_async(condition, interval_s=0.01) == 7
        assert await eventually_async(lambda: "plain") == "plain"
        with pytest.raises(WaitTimeout, match=r"never \(waited .* returned 0\)"):
            await eventually_async(lambda: 0, timeout_s=0.2, interval_s=0.01, message="never")

    asyncio.run(scenario())


def test_the_async_twin_bounds_an_attempt_that_hangs() -> None:
    async def hangs() -> bool:
        await asyncio.Event().wait()
        return True

    async def scenario() -> None:
        started = time.monotonic()
        with pytest.raises(WaitTimeout, match="still running"):
            await eventually_async(hangs, timeout_s=0.2)
        assert time.monotonic() - started < 2

    asyncio.run(scenario())


def test_the_async_twin_does_not_block_the_loop() -> None:
    async def scenario() -> None:
        flag = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, flag.set)
        assert await eventually_async(flag.is_set, interval_s=0.01)

    asyncio.run(scenario())
