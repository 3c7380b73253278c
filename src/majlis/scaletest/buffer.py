"""A player's playback buffer, modelled: how a synthetic listener knows it would have stalled.

The buffer drains in real time while playing and each part adds its duration. Playback starts
once ``start_s`` of audio is buffered (hls.js starts about three parts behind the live edge);
when the buffer runs dry the player stalls until a part arrives and the buffer refills to
``start_s`` again. Pure arithmetic over timestamps, so it is tested without a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PlaybackBuffer:
    start_s: float
    buffered_s: float = 0.0
    playing: bool = False
    started_at: float | None = None
    stalls: int = 0
    stalled_s: float = 0.0
    played_s: float = 0.0
    _last: float | None = None
    _stall_began: float | None = None
    #: Stalls that ended since the caller last took them: (began, seconds).
    ended_stalls: list[tuple[float, float]] = field(default_factory=list)

    def _drain(self, now: float) -> None:
        if self._last is None:
            self._last = now
            return
        elapsed = max(0.0, now - self._last)
        self._last = now
        if not self.playing:
            return
        if elapsed <= self.buffered_s:
            self.buffered_s -= elapsed
            self.played_s += elapsed
            return
        # Ran dry part-way through the interval: a stall began when the buffer hit zero.
        self.played_s += self.buffered_s
        self._stall_began = now - (elapsed - self.buffered_s)
        self.buffered_s = 0.0
        self.playing = False
        self.stalls += 1

    def add(self, now: float, duration_s: float) -> bool:
        """A part of ``duration_s`` arrived at ``now``; True when this started playback."""
        self._drain(now)
        self.buffered_s += duration_s
        if self.playing or self.buffered_s + 1e-9 < self.start_s:
            return False
        self.playing = True
        if self._stall_began is not None:
            gap = now - self._stall_began
            self.stalled_s += gap
            self.ended_stalls.append((self._stall_began, gap))
            self._stall_began = None
            return False
        self.started_at = now
        return True

    def tick(self, now: float) -> None:
        """Advance the clock without a part (e.g. before giving up on a slow request)."""
        self._drain(now)

    def take_stalls(self) -> list[tuple[float, float]]:
        taken, self.ended_stalls = self.ended_stalls, []
        return taken
