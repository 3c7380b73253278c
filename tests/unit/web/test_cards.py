"""The share card (og:image): a 1200x630 PNG that decodes, laid out right to left for an Arabic
title with its text shaped by raqm, a long title kept to three lines inside the margins, emoji and
odd characters dropped rather than crashing or drawn as boxes, and the same bytes every time.

Layout is checked on the pixels: the title and name are drawn white on the dark green gradient,
the @handle in the muted colour, so where each kind of ink lies says where the text went."""

from __future__ import annotations

import io
from typing import get_args

import numpy as np
import pytest
from PIL import Image, ImageFont

from majlis.web.cards import (
    HEIGHT,
    MARGIN,
    TITLE_LINES,
    WIDTH,
    Card,
    State,
    layout_title,
    render_card,
)

ARABIC_TITLE = "مجلس الأحد: مستقبل الإعلام العربي"
LONG_ENGLISH = " ".join(["What we learned shipping a self-hosted live audio platform"] * 4)
LONG_ARABIC = " ".join([ARABIC_TITLE, "في عصر الذكاء الاصطناعي والبودكاست والمنصات"] * 3)
#: The title band, between the header (the wordmark and pill end at y 120) and the footer (506).
TITLE_BAND = slice(130, 500)
#: The footer row, past the avatar on either side.
FOOTER_ROW = slice(506, 570)


def pixels(card: Card) -> np.ndarray:
    image = Image.open(io.BytesIO(render_card(card)))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB")).astype(int)


def white_ink(rgb: np.ndarray) -> np.ndarray:
    """Where white text is: the background is dark green and the sound wave only a faint veil."""
    return np.asarray((rgb > 200).all(axis=-1))


def columns(mask: np.ndarray) -> tuple[int, int]:
    xs = np.flatnonzero(mask.any(axis=0))
    assert xs.size, "no ink"
    return int(xs[0]), int(xs[-1])


def ink_bands(mask: np.ndarray, gap: int = 6) -> int:
    """Runs of inked rows separated by at least gap blank rows: lines of text."""
    rows = np.flatnonzero(mask.any(axis=1))
    return 0 if rows.size == 0 else 1 + int((np.diff(rows) > gap).sum())


@pytest.mark.parametrize("state", get_args(State))
def test_every_state_gives_a_1200x630_png_that_decodes(state: State) -> None:
    data = render_card(Card("Town hall", "Sam Okafor", "sam", state, "Sun 20 Oct, 8 pm"))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()
    assert (image.size, image.mode) == ((1200, 630), "RGB")


def test_an_arabic_title_hugs_the_right_margin_and_an_english_one_the_left() -> None:
    arabic = white_ink(pixels(Card(ARABIC_TITLE, "ليلى المنصوري", "laila", "live"))[TITLE_BAND])
    english = white_ink(pixels(Card("Town hall", "Laila", "laila", "live"))[TITLE_BAND])
    left, right = columns(arabic)
    assert abs(right - (WIDTH - MARGIN)) <= 8 and left > WIDTH // 4
    left, right = columns(english)
    assert abs(left - MARGIN) <= 8 and right < WIDTH // 2


def test_the_footer_mirrors_with_the_handle_after_the_name_in_reading_order() -> None:
    for title, name, rtl in ((ARABIC_TITLE, "ليلى المنصوري", True), ("Town hall", "Laila", False)):
        footer = pixels(Card(title, name, "laila_m", "ended"))[FOOTER_ROW, 160:-160]
        name_left, name_right = columns(white_ink(footer))
        muted = (np.abs(footer - (184, 222, 209)).max(axis=-1) <= 12) & ~white_ink(footer)
        handle_left, handle_right = columns(muted)
        if rtl:
            assert handle_right < name_left
        else:
            assert handle_left > name_right


def test_arabic_is_shaped_by_raqm() -> None:
    """Joined letters take other glyphs, with other advances, than the isolated forms BASIC
    layout draws one code point at a time."""
    from majlis.web.cards import _font

    raqm = _font(76, bold=True)
    assert raqm.layout_engine == ImageFont.Layout.RAQM
    basic = ImageFont.truetype(raqm.path, 76, layout_engine=ImageFont.Layout.BASIC)
    for word in ("مستقبل", "الإعلام"):  # joined forms are narrower; لا becomes one ligature
        assert raqm.getlength(word, direction="rtl") < 0.85 * basic.getlength(word)
    # A Latin word is much the same either way: the difference is shaping, not the engine.
    assert raqm.getlength("majlis") == pytest.approx(basic.getlength("majlis"), rel=0.02)


@pytest.mark.parametrize("title", [LONG_ENGLISH, LONG_ARABIC, "https://example.com/" + "x" * 300])
def test_a_long_title_takes_at_most_three_lines_inside_the_margins(title: str) -> None:
    direction = "rtl" if title is LONG_ARABIC else "ltr"
    font, lines = layout_title(title, direction, 320)
    assert 1 < len(lines) <= TITLE_LINES
    assert lines[-1].endswith("…")
    assert all(font.getlength(line, direction=direction) <= WIDTH - 2 * MARGIN for line in lines)

    ink = white_ink(pixels(Card(title, "Sam", "sam", "live"))[TITLE_BAND])
    left, right = columns(ink)
    assert left >= MARGIN - 4 and right <= WIDTH - MARGIN + 4
    if direction == "ltr":  # Arabic dots and marks stand apart from their line; Latin does not
        assert ink_bands(ink) == TITLE_LINES


def test_a_short_title_is_not_cut() -> None:
    font, lines = layout_title(ARABIC_TITLE, "rtl", 320)
    assert " ".join(lines) == ARABIC_TITLE
    assert font.size == 76


@pytest.mark.parametrize(
    "title",
    [
        "Friday 🎙️ jam ✨👩🏽‍💻🇸🇦",
        "🎙️🔥",
        "",
        "   \n\t ",
        "nul\x00 bell\x07 lone surrogate \ud800 private \ue000 unassigned \U000e0fff",
        "override \u202eesrever\u202c isolate \u2066x\u2069 zwj \u200d zwnj \u200c",
        "中文 ภาษาไทย עברית Ελληνικά Кириллица",
        "combining e\u0301\u0301\u0301 and a stack \u064b\u064b\u064b",
        "مجلس 🎙️ الأحد 😀 مع AI",
        "x" * 10_000,
    ],
)
def test_emoji_and_odd_characters_do_not_crash(title: str) -> None:
    image = Image.open(io.BytesIO(render_card(Card(title, title, title, "clip", title))))
    image.load()
    assert image.size == (WIDTH, HEIGHT)


def test_emoji_are_dropped_rather_than_drawn_as_boxes() -> None:
    with_emoji = render_card(Card("Friday 🎙️ jam ✨", "Omar 👋", "omar", "ended", "⏱ 1:02:33"))
    without = render_card(Card("Friday jam", "Omar", "omar", "ended", "1:02:33"))
    assert with_emoji == without


def test_the_same_card_gives_the_same_bytes() -> None:
    card = Card(ARABIC_TITLE, "ليلى المنصوري", "laila", "scheduled", "الأحد ٢٠ أكتوبر")
    first = render_card(card)
    render_card(Card("Something else", "Sam", "sam", "live"))
    assert render_card(card) == first
    assert render_card(Card(ARABIC_TITLE, "ليلى المنصوري", "laila", "live")) != first
