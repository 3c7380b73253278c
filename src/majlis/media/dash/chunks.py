"""Counting CMAF chunks in a segment as its bytes stream in: what a listener we write holds.

A low-latency DASH client receives a segment over chunked transfer as it is produced; what it
can play is the chunks (``moof`` + ``mdat``) complete so far, however TCP or an edge cut the
bytes. ``Fragments`` keeps no more of them than each ``moof`` (to read the chunk's duration),
so thousands of simulated listeners cost the load generator little (``majlis scaletest``, the
benchmarks' and tests' lean listeners).
"""

from __future__ import annotations

from majlis.media.hls import fmp4


class Fragments:
    """The CMAF chunks (``moof`` + ``mdat``) completed in a byte stream, and how long each
    lasts (from its ``moof``), keeping no more of the bytes than the ``moof`` boxes: a chunk is
    done when its ``mdat`` is. Durations are in seconds of ``timescale`` ticks."""

    def __init__(self, timescale: int = 48000) -> None:
        self._timescale = timescale
        self._header = b""
        self._left = 0  # bytes of the current box still to come
        self._kind = b""
        self._moof = bytearray()
        self._duration_s = 0.0  # the last moof's
        self.done = 0

    def feed(self, data: bytes) -> list[float]:
        """Take the next bytes; returns the durations of the chunks they completed."""
        completed: list[float] = []
        view, i = memoryview(data), 0
        while i < len(view):
            if self._left:
                step = min(self._left, len(view) - i)
                if self._kind == b"moof":
                    self._moof += view[i : i + step]
                self._left -= step
                i += step
                if not self._left:
                    self._box_done(completed)
                continue
            need = 8 - len(self._header)
            self._header += bytes(view[i : i + need])
            i += need
            if len(self._header) == 8:
                size = int.from_bytes(self._header[:4], "big")
                if size < 8:
                    raise ValueError("a box size our segments never have (64-bit or to-end)")
                self._kind = self._header[4:]
                self._moof = bytearray(self._header) if self._kind == b"moof" else self._moof
                self._left, self._header = size - 8, b""
                if not self._left:
                    self._box_done(completed)
        return completed

    def _box_done(self, completed: list[float]) -> None:
        if self._kind == b"moof":
            box = next(fmp4.iter_boxes(self._moof))
            info = fmp4.read_fragment(self._moof, box)
            self._duration_s = info.duration / self._timescale
        elif self._kind == b"mdat":
            self.done += 1
            completed.append(self._duration_s)
