"""ThreadEnd: a worker thread's end, awaited without an executor thread."""

from __future__ import annotations

import asyncio
import threading
import time

from majlis.media.threads import ThreadEnd


def test_the_end_is_awaited_promptly_and_after_the_threads_last_deliveries() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        end, delivered = ThreadEnd(), []

        def work() -> None:
            time.sleep(0.2)  # the thread's work, long enough that the end is really awaited
            loop.call_soon_threadsafe(delivered.append, "last part")
            end.mark()

        threading.Thread(target=work).start()
        started = loop.time()
        assert await end.wait(5.0)
        assert loop.time() - started < 1.0
        assert delivered == ["last part"]  # queued before the end, so run before the waiter

    asyncio.run(scenario())


def test_an_ended_thread_is_seen_at_once_and_a_stuck_one_times_out() -> None:
    async def scenario() -> None:
        ended = ThreadEnd()
        ended.mark()
        assert await ended.wait(0.01)
        stuck = ThreadEnd()
        assert not await stuck.wait(0.05)

    asyncio.run(scenario())


def test_waiting_leaves_the_default_executor_free() -> None:
    """Six waits at once (as many as the executor has threads here) still let to_thread run."""

    async def scenario() -> None:
        ends = [ThreadEnd() for _ in range(8)]
        waits = [asyncio.create_task(end.wait(5.0)) for end in ends]
        assert await asyncio.wait_for(asyncio.to_thread(lambda: 42), 1.0) == 42
        for end in ends:
            end.mark()
        assert all(await asyncio.gather(*waits))

    asyncio.run(scenario())
