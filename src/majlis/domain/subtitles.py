"""A transcript as the files people and players read: WebVTT and SubRip (SRT).

Why both: WebVTT is what browsers, HLS and DASH players show (``<v>`` voice spans name the
speaker, and a player lays Arabic out right to left by itself); SRT is what editing tools and
video sites import. Both carry each cue's speaker, since captions per speaker are the point.
"""

from __future__ import annotations

from collections.abc import Iterable

from majlis.domain.model import Cue


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _one_line(text: str) -> str:
    """Cue text on one line: a blank line would end the cue early in both formats."""
    return " ".join(text.split())


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _span(cue: Cue) -> tuple[float, float]:
    """Start and end, the end at least a frame after the start (a player skips empty cues)."""
    return cue.start, max(cue.end, cue.start + 0.04)


def cue_block(cue: Cue, offset: float = 0.0) -> list[str]:
    """One WebVTT cue's lines (and the blank line that ends it); ``offset`` is subtracted from
    its times (a live segment's own start)."""
    start, end = _span(cue)
    speaker = _vtt_escape(_one_line(cue.speaker.display_name or cue.speaker.handle))
    return [
        str(cue.id),
        f"{_clock(start - offset, '.')} --> {_clock(end - offset, '.')}",
        f"<v {speaker}><lang {cue.language}>{_vtt_escape(_one_line(cue.text))}</lang></v>",
        "",
    ]


def webvtt(cues: Iterable[Cue]) -> str:
    """A WebVTT file of the whole transcript."""
    lines = ["WEBVTT", ""]
    for cue in cues:
        lines += cue_block(cue)
    return "\n".join(lines)


def srt(cues: Iterable[Cue]) -> str:
    """A SubRip file, each cue's text prefixed with its speaker's name."""
    lines: list[str] = []
    for number, cue in enumerate(cues, start=1):
        start, end = _span(cue)
        speaker = _one_line(cue.speaker.display_name or cue.speaker.handle)
        lines += [
            str(number),
            f"{_clock(start, ',')} --> {_clock(end, ',')}",
            f"{speaker}: {_one_line(cue.text)}",
            "",
        ]
    return "\n".join(lines)
