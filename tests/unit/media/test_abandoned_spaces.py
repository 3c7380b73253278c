"""Which live rooms the abandoned-Space watch ends, pass by pass (media/plane/abandoned.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from majlis.media.plane.abandoned import AbandonedSpaces


@dataclass
class _Room:
    preshow: bool = False
    sessions: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Rooms:
    open: dict[str, _Room] = field(default_factory=dict)


async def _never(_: str) -> None:
    raise AssertionError("due() only says which; the watch loop ends them")


def test_a_live_room_is_due_once_its_stage_has_been_empty_for_the_whole_time() -> None:
    now = [0.0]
    rooms = _Rooms({"live": _Room(), "preshow": _Room(preshow=True), "busy": _Room()})
    rooms.open["busy"].sessions["host"] = object()
    watch = AbandonedSpaces(rooms, _never, after_s=600, clock=lambda: now[0])  # type: ignore[arg-type]
    assert watch.check_s == 5.0
    assert watch.due() == []  # empty from now on
    now[0] = 599.0
    assert watch.due() == []
    now[0] = 600.0
    assert watch.due() == ["live"]  # not the pre-show, not the room with a speaker


def test_a_speaker_who_comes_back_restarts_the_count_and_closed_rooms_are_forgotten() -> None:
    now = [0.0]
    rooms = _Rooms({"a": _Room(), "b": _Room()})
    watch = AbandonedSpaces(rooms, _never, after_s=60, clock=lambda: now[0])  # type: ignore[arg-type]
    watch.due()
    now[0] = 50.0
    rooms.open["a"].sessions["host"] = object()  # the host reconnects to a
    assert watch.due() == []
    del rooms.open["a"].sessions["host"]  # and leaves again
    del rooms.open["b"]  # b's room closed (it ended)
    now[0] = 100.0
    assert watch.due() == []  # a's count starts at the first pass that finds it empty
    rooms.open["b"] = _Room()  # b's room opens again (re-placed here): counted afresh
    now[0] = 110.0
    assert watch.due() == []
    now[0] = 160.0
    assert watch.due() == ["a"]
    now[0] = 169.0
    assert "b" not in watch.due()
    now[0] = 170.0
    assert "b" in watch.due()
