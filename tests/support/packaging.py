"""PCM through a ``Packager`` in memory: its init segment and its parts, what each part's
``moof`` says (sequence number, decode time, sample count), and the box tree of either."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from majlis.media.hls import fmp4
from majlis.media.hls.packager import FrameEncoder, Packager


def package(
    pcm: npt.NDArray[np.float32],
    encoder: FrameEncoder | None,
    frames_per_part: int = 12,
    chunk: int = 960,
) -> tuple[bytes, list[tuple[bytes, float]]]:
    """``pcm`` through a Packager in ``chunk``-sample pushes: its init segment and its parts."""
    parts: list[tuple[bytes, float]] = []
    packager = Packager(
        lambda data, duration: parts.append((data, duration)), frames_per_part, encoder=encoder
    )
    for start in range(0, pcm.size, chunk):
        packager.push(pcm[start : start + chunk])
    packager.flush()
    return packager.init, parts


def fragment_info(data: bytes) -> fmp4.FragmentInfo:
    return fmp4.read_fragment(data, next(fmp4.iter_boxes(data)), default_sample_duration=0)


#: The boxes that hold other boxes, in the init segments and fragments we write.
CONTAINERS = frozenset({"moov", "trak", "mdia", "minf", "stbl", "mvex", "dinf", "moof", "traf"})


def box_tree(data: bytes, within: fmp4.Box | None = None) -> list[object]:
    """The box hierarchy as nested lists of types, descending into the containers."""
    boxes = fmp4.iter_boxes(data) if within is None else fmp4.children(data, within)
    out: list[object] = []
    for box in boxes:
        out.append(box.type)
        if box.type in CONTAINERS:
            out.append(box_tree(data, box))
    return out
