"""The room's mixer clock on virtual time: one tick per 20 ms of loop time, caught up after a
late tick without drifting, and a gap (not a burst) after a stall of more than two seconds.

The program output is an in-memory recorder of what the clock hands it; no speaker, encoder or
network is involved (the frames are the mixer's silence).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import pytest

from majlis.media.mixer import FRAME_S, Pcm
from majlis.media.room import MAX_CATCH_UP_S, Room
from tests.support.virtual_time import VirtualClock


@dataclass
class Recorded:
    """A ``ProgramOutput`` stand-in: the virtual time of every frame submitted."""

    clock: VirtualClock
    #: tick number -> seconds of CPU that tick takes (virtual time moves on inside it).
    slow_ticks: dict[int, float] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    stopped: bool = False

    async def start(self) -> None:
        pass

    def submit(self, frame: Pcm) -> None:
        assert frame.size == int(FRAME_S * 48_000)
        self.times.append(self.clock.now)
        self.clock.now += self.slow_ticks.get(len(self.times), 0.0)

    async def stop(self) -> None:
        self.stopped = True


async def _publish(payload: object) -> None:
    pass


def run_room(seconds: float, slow_ticks: dict[int, float] | None = None) -> tuple[Room, Recorded]:
    clock = VirtualClock()
    program = Recorded(clock, slow_ticks or {})
    room = Room("s", program, _publish, shared_stage_encoding=False)  # type: ignore[arg-type]

    async def main() -> None:
        await room.start()
        await asyncio.sleep(seconds)
        await room.stop()

    loop = asyncio.new_event_loop()
    try:
        with clock.driving(loop):
            loop.run_until_complete(main())
    finally:
        loop.close()
    return room, program


#: Virtual seconds run -> ticks expected (the first is due one frame after the start; the
#: stop, due at the same instant as the last tick, may come first).
@pytest.mark.parametrize("seconds", [0.5, 2.0, 60.0])
def test_one_tick_per_frame_of_loop_time(seconds: float) -> None:
    room, program = run_room(seconds)
    frames = round(seconds / FRAME_S)
    assert room.ticks in (frames - 1, frames) and room.gaps == 0
    assert len(program.times) == room.ticks and program.stopped
    steps = {round(b - a, 9) for a, b in itertools.pairwise(program.times)}
    assert steps == {round(FRAME_S, 9)}  # on schedule to the nanosecond, over a minute too


#: A tick that took this long (s) -> how many ticks were due meanwhile: the clock runs them at
#: once when the stall ends (catching up), so the count of frames still matches loop time.
#: Beyond MAX_CATCH_UP_S it gives up instead: one gap, the missed frames skipped, no burst.
@pytest.mark.parametrize(
    ("stall_s", "caught_up", "gaps"),
    [(0.005, 0, 0), (0.1, 5, 0), (1.0, 50, 0), (MAX_CATCH_UP_S + 0.5, 1, 1)],
)
def test_a_late_tick_is_caught_up_and_a_stall_is_a_gap(
    stall_s: float, caught_up: int, gaps: int
) -> None:
    seconds = 5.0
    room, program = run_room(seconds, slow_ticks={10: stall_s})
    frames = round(seconds / FRAME_S)
    slow_tick_at = program.times[9]
    assert room.gaps == gaps
    assert program.times.count(slow_tick_at + stall_s) == caught_up
    skipped = int(stall_s / FRAME_S) - 1 if gaps else 0
    assert room.ticks in (frames - skipped - 1, frames - skipped)
    after = program.times[10 + caught_up :]
    assert {round(b - a, 9) for a, b in itertools.pairwise(after)} == {round(FRAME_S, 9)}
