"""Share cards: the 1200x630 PNG a link preview (og:image, twitter:image) shows for a Space, a
clip or a profile.

Drawn with Pillow in-process rather than by a headless browser: a card takes milliseconds, needs
no extra service, and the same card always gives the same bytes (so its ETag holds).

The one face, Noto Sans Arabic (vendored in static/fonts, see its README), has Arabic and Latin
glyphs. Pillow has no per-glyph font fallback, so one face for both scripts is what lets raqm
shape and reorder a mixed line (an Arabic title with a Latin word, an Arabic name beside an
@handle) in a single call. A title with Arabic script lays the whole card out right to left.
"""

from __future__ import annotations

import functools
import io
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
MARGIN = 80
TITLE_LINES = 3
_LONGEST = 300  # characters: more than three lines of the smallest title hold
State = Literal["live", "scheduled", "ended", "clip", "profile"]
_Font = ImageFont.FreeTypeFont
_RGB = tuple[int, int, int]
_RGBA = tuple[int, int, int, int]

_FONTS = Path(__file__).resolve().parent / "static" / "fonts"
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_DROP = {"Cc", "Cs", "Co", "Cn"}  # controls, surrogates, private use, unassigned
_MARKS = "\u200c\u200d\u200e\u200f"  # the joiners and direction marks Arabic text uses
_WHITE, _MUTED = (255, 255, 255), (184, 222, 209)
# Colours from majlis.css: --brand, --brand-strong, --brand-soft, --live, dark --accent.
_BRAND, _BRAND_STRONG, _BRAND_SOFT = (11, 117, 97), (7, 84, 70), (223, 241, 235)
_BG_END = (4, 48, 40)
# The state pill: (English, Arabic) label, background (RGBA, so it can be a veil), text colour.
_PILLS: dict[State, tuple[str, str, _RGBA, _RGB]] = {
    "live": ("LIVE", "مباشر", (192, 38, 45, 255), _WHITE),
    "scheduled": ("Scheduled", "مجدولة", (*_BRAND_SOFT, 255), _BRAND_STRONG),
    "ended": ("Ended", "انتهت", (*_WHITE, 40), _WHITE),
    "clip": ("Clip", "مقطع", (240, 180, 92, 255), (58, 37, 0)),
    "profile": ("Profile", "الملف الشخصي", (*_WHITE, 40), _WHITE),
}
# Heights of the sound-wave bars in the corner: the bars of icon.svg, drawn large and faint.
_WAVE = (0.35, 0.6, 1.0, 0.7, 0.45, 0.85, 0.55, 0.3, 0.5, 0.75, 0.4)
# Pillow's FreeType faces are shared by the cache below and are not safe to use from two threads
# at once; the server may render cards in its thread pool.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Card:
    title: str  # Space title, clip's Space title, or profile display name
    host_name: str  # display name of host / account
    host_handle: str
    state: State
    detail: str = ""  # optional second line, e.g. a start time or a duration, already formatted


@functools.lru_cache(maxsize=16)
def is_arabic(text: str) -> bool:
    """Whether a card of ``text`` is laid out right to left, in Arabic (its details too)."""
    return bool(_ARABIC.search(text))


def _font(size: int, bold: bool = False) -> _Font:
    name = "NotoSansArabic-Bold.ttf" if bold else "NotoSansArabic-Regular.ttf"
    return ImageFont.truetype(_FONTS / name, size, layout_engine=ImageFont.Layout.RAQM)


@functools.lru_cache(maxsize=1)
def _notdef() -> tuple[_Font, tuple[int, int], bytes]:
    """A BASIC-layout face (no shaping, so one code point, one glyph) and the missing-glyph box it
    draws for a private-use code point."""
    basic = ImageFont.truetype(_FONTS / "NotoSansArabic-Regular.ttf", 24, ImageFont.Layout.BASIC)
    box = basic.getmask("\ue000")
    return basic, box.size, bytes(box)


@functools.lru_cache(maxsize=4096)
def _drawable(char: str) -> bool:
    """Whether the face has a glyph for char: emoji and other scripts would show as boxes.
    Format characters are dropped too (but for the joiners and the direction marks Arabic text
    uses): a stray override in a title must not reverse it, nor a variation selector add a gap."""
    kind = unicodedata.category(char)
    if kind in _DROP or "\ufe00" <= char <= "\ufe0f" or (kind == "Cf" and char not in _MARKS):
        return False
    basic, size, box = _notdef()
    mask = basic.getmask(char)
    return mask.size != size or bytes(mask) != box


def _clean(text: str) -> str:
    """One line of text the face can draw: whitespace collapsed, glyph-less characters dropped,
    and no longer than three lines of the smallest title hold, which bounds the work any input
    can cause."""
    kept = (c for c in " ".join(text[: 4 * _LONGEST].split()) if c == " " or _drawable(c))
    return " ".join("".join(kept).split())[:_LONGEST]


def _prefix(text: str, font: _Font, width: float, direction: str | None, tail: str = "") -> int:
    """The length of the longest prefix of text that fits width with tail after it (at least 1)."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        fits = font.getlength(text[:middle] + tail, direction=direction) <= width
        low, high = (middle, high) if fits else (low, middle - 1)
    return low


def _fit(text: str, font: _Font, width: float, direction: str | None) -> str:
    """text, cut and ended with an ellipsis if it is wider than width: after a whole word where
    that keeps most of the line (a cut inside an Arabic word changes its letters' shapes)."""
    if not text or font.getlength(text, direction=direction) <= width:
        return text
    head = text[: _prefix(text, font, width, direction, "…")]
    if not text[len(head)].isspace() and " " in head:
        words = head.rsplit(" ", 1)[0]
        head = words if font.getlength(words, direction=direction) > width * 0.6 else head
    return head.rstrip() + "…"


def wrap(text: str, font: _Font, width: float, direction: str) -> list[str]:
    """Lines of at most width pixels, broken between words; a word wider than a line (a URL)
    is broken where it overflows. Measured with raqm, so Arabic is measured as shaped."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate, direction=direction) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while len(word) > 1 and font.getlength(word, direction=direction) > width:
            cut = _prefix(word, font, width, direction)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    return [*lines, current] if current else lines


def layout_title(text: str, direction: str, room: int) -> tuple[_Font, list[str]]:
    """The largest title size whose lines fit TITLE_LINES and the room; else the smallest size,
    its last line ellipsised."""
    width = WIDTH - 2 * MARGIN
    for size in (76, 66, 56):
        font = _font(size, bold=True)
        lines = wrap(text, font, width, direction)
        if len(lines) <= TITLE_LINES and len(lines) * _leading(size, direction) <= room:
            return font, _balance(text, font, width, direction, len(lines))
    last = " ".join(lines[TITLE_LINES - 1 :])  # wider than a line, so it gets its ellipsis
    return font, [*lines[: TITLE_LINES - 1], _fit(last, font, width, direction)]


def _balance(text: str, font: _Font, width: int, direction: str, count: int) -> list[str]:
    """The lines at the narrowest width that still takes count lines, so a two-line title does
    not leave one word alone on its second line."""
    low, high = width // 2, width
    while count > 1 and high - low > 8:
        middle = (low + high) // 2
        fits = len(wrap(text, font, middle, direction)) <= count
        low, high = (low, middle) if fits else (middle, high)
    return wrap(text, font, high, direction)


def _leading(size: float, direction: str) -> int:
    """Baseline to baseline: Arabic letters stand taller and reach lower than Latin ones."""
    return round(size * (1.5 if direction == "rtl" else 1.3))


def _shape(image: Image.Image, box: _RGBA, fill: _RGBA) -> None:
    """A pill or circle (radius half the height), anti-aliased: drawn 4x larger, scaled down."""
    x0, y0, x1, y1 = box
    big = Image.new("L", ((x1 - x0) * 4, (y1 - y0) * 4), 0)
    ImageDraw.Draw(big).rounded_rectangle((0, 0, *big.size), big.height // 2, 255)
    mask = big.resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS)
    if fill[3] < 255:
        mask = mask.point(lambda v: v * fill[3] // 255)
    image.paste(fill[:3], box, mask)


def _x(rtl: bool, pos: int, width: int = 0) -> int:
    """The left edge of a thing width wide, pos pixels from the start margin (the left one, or
    the right one on a right-to-left card): one layout serves both directions."""
    return WIDTH - MARGIN - pos - width if rtl else MARGIN + pos


@functools.lru_cache(maxsize=2)
def _background(rtl: bool) -> Image.Image:
    """What every card of a direction shares: the brand gradient, the icon and wordmark, a faint
    sound wave in the bottom corner. The gradient runs top to bottom only: rows of one colour
    keep the PNG small (40-90 KB; a diagonal one took 130-200 KB) and quick to compress."""
    t = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None]
    rows = np.array(_BRAND, np.float32) * (1 - t) + np.array(_BG_END, np.float32) * t
    image = Image.fromarray(np.repeat(rows.round().astype(np.uint8), WIDTH, axis=1), "RGB")
    for i, height in enumerate(_WAVE):
        left = _x(not rtl, i * 26, 14)
        _shape(image, (left, 566 - round(120 * height), left + 14, 566), (*_WHITE, 34))
    icon = _x(rtl, 0, 60)
    _shape(image, (icon, 60, icon + 60, 120), (*_WHITE, 255))
    big = Image.new("L", (240, 240), 0)  # icon.svg's three bars, drawn on its 32-unit grid
    for x, y, h in ((9, 12, 8), (14.25, 8, 16), (19.5, 11, 10)):
        box = (x * 7.5, y * 7.5, (x + 3.5) * 7.5, (y + h) * 7.5)
        ImageDraw.Draw(big).rounded_rectangle(box, 1.75 * 7.5, 255)
    image.paste(_BRAND, (icon, 60), big.resize((60, 60), Image.Resampling.LANCZOS))
    wordmark, anchor = ("مجلس", "rs") if rtl else ("majlis", "ls")
    ImageDraw.Draw(image).text((_x(rtl, 78), 104), wordmark, _WHITE, _font(42, True), anchor)
    return image


def render_card(card: Card) -> bytes:
    """The card as PNG bytes, 1200x630, the same bytes every time for the same card."""
    with _LOCK:
        image = _draw(card)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=3)  # 6: 15% fewer bytes, 60% more time
    return out.getvalue()


def _draw(card: Card) -> Image.Image:
    title, name = _clean(card.title), _clean(card.host_name)
    handle = _clean(card.host_handle).lstrip("@")
    rtl = is_arabic(title)
    direction, anchor = ("rtl", "rs") if rtl else ("ltr", "ls")
    image = _background(rtl).copy()
    draw = ImageDraw.Draw(image)

    def text(pos: int, y: int, value: str, font: _Font, fill: _RGB, way: str | None) -> int:
        """Draws value on the baseline y from pos on, in the direction way (None: that of its
        first strong letter), and gives its width."""
        draw.text((_x(rtl, pos), y), value, fill, font, anchor, direction=way)
        return round(font.getlength(value, direction=way))

    # The state pill at the header's end; a live one has a dot before its label.
    english, arabic, pill_bg, pill_fg = _PILLS[card.state]
    label, label_font = (arabic if rtl else english), _font(26, bold=True)
    dot = 26 if card.state == "live" else 0
    pill_w = round(label_font.getlength(label, direction=direction)) + 48 + dot
    pill = _x(rtl, WIDTH - 2 * MARGIN - pill_w, pill_w)
    _shape(image, (pill, 66, pill + pill_w, 114), pill_bg)
    if dot:
        dot_x = pill + pill_w - 38 if rtl else pill + 24
        _shape(image, (dot_x, 83, dot_x + 14, 97), (*_WHITE, 255))
    label_x = pill + pill_w // 2 + (-dot // 2 if rtl else dot // 2)
    draw.text((label_x, 91), label, pill_fg, label_font, "mm", direction=direction)

    # Title and detail, centred together between the header and the footer (y 156 to 476).
    detail = _fit(_clean(card.detail), _font(30), WIDTH - 2 * MARGIN, None)
    font, lines = layout_title(title, direction, 320 - (48 if detail else 0))
    leading = _leading(font.size, direction)
    block = len(lines) * leading + (48 if detail else 0)
    baseline = 156 + (320 - block) // 2 + round(font.size * (1.05 if rtl else 0.98))
    for line in lines:
        text(0, baseline, line, font, _WHITE, direction)
        baseline += leading
    if detail:
        below = round(font.size * (0.65 if rtl else 0.4)) + 40  # clear of the title's descenders
        text(0, baseline - leading + below, detail, _font(30), _MUTED, None)

    # Footer: an avatar with the initial, the name (not on a profile's own card), the @handle.
    avatar = _x(rtl, 0, 64)
    _shape(image, (avatar, 506, avatar + 64, 570), (*_BRAND_SOFT, 255))
    initial = next((c for c in name or handle if c.isalnum()), "")
    draw.text((avatar + 32, 538), initial.upper(), _BRAND_STRONG, _font(30, bold=True), "mm")
    room, pos, regular, bold = WIDTH - 2 * MARGIN - 384, 84, _font(30), _font(30, bold=True)
    at_handle = _fit("@" + handle, regular, room // 2, "ltr") if handle else ""
    if name and card.state != "profile":
        name_room = room - round(regular.getlength(f" · {at_handle}")) if at_handle else room
        pos += text(pos, 548, _fit(name, bold, name_room, None), bold, _WHITE, None)
        if at_handle:
            pos += text(pos, 548, " · ", regular, _MUTED, direction)
    if at_handle:  # on its own, so the bidi algorithm cannot put the @ after it
        text(pos, 548, at_handle, regular, _MUTED, "ltr")
    return image
