"""Folding text so two spellings of the same words compare equal: for scoring captions (word
error rate) and for finding a Space by what was said.

Why its own module, outside every layer (the store folds each cue as it keeps it; the benchmark
scores with it): the recognizer, the benchmark and search must agree on what "the same word"
is, or a transcript would score well and still not be found. Arabic needs more than case
folding: the same word is written with or without short vowels (harakat), stretched with a
tatweel, and with several alef, yeh and teh marbuta forms that writers (and Whisper) use
interchangeably. The Arabic rules follow Lucene's ``ArabicNormalizer`` (the folding most Arabic
search engines ship), plus alef wasla and Farsi yeh, which Whisper sometimes writes.
"""

from __future__ import annotations

import re
import unicodedata

#: Short vowels, tanween, shadda, sukun and the other combining marks of Arabic: harakat
#: (U+064B-U+065F), superscript alef (U+0670), Quranic annotation marks (U+06D6-U+06ED).
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"

#: Letter forms written interchangeably -> the one we keep.
_ARABIC_LETTERS = str.maketrans(
    {
        "\u0622": "\u0627",  # آ alef with madda above -> ا
        "\u0623": "\u0627",  # أ alef with hamza above -> ا
        "\u0625": "\u0627",  # إ alef with hamza below -> ا
        "\u0671": "\u0627",  # ٱ alef wasla -> ا
        "\u0649": "\u064a",  # ى alef maqsura (dotless yeh) -> ي
        "\u06cc": "\u064a",  # ی Farsi yeh -> ي
        "\u0629": "\u0647",  # ة teh marbuta -> ه
        _TATWEEL: None,  # ـ tatweel (kashida): stretches a word, is not a letter
    }
)

#: Arabic-Indic and extended (Persian) digits -> ASCII digits, so "٢٠٢٤" finds "2024".
_DIGITS = str.maketrans(
    {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}
)

#: Apostrophes join the pieces of a word ("don't" -> "dont"): Whisper and people both drop
#: them at will, and splitting would count one word as two.
_APOSTROPHES = re.compile("['\u2019\u02bc\u2018`]")


def fold_arabic(text: str) -> str:
    """Arabic letters only: drop harakat and tatweel; unify alef, yeh and teh marbuta forms.

    Leaves everything else (case, punctuation, Latin text) as it is.
    """
    return _ARABIC_MARKS.sub("", text).translate(_ARABIC_LETTERS)


def normalize(text: str) -> str:
    """Text reduced to lowercase words separated by single spaces, in any language.

    NFKC first (Arabic presentation forms and ligatures such as ﻻ become plain letters, full
    width Latin becomes ASCII), then case folding, the Arabic folding, ASCII digits, and every
    punctuation mark or symbol becomes a space (Arabic comma, semicolon and question mark too)
    while invisible direction marks vanish.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = fold_arabic(text).translate(_DIGITS)
    text = _APOSTROPHES.sub("", text)
    return " ".join("".join(map(_keep, text)).split())


def _keep(ch: str) -> str:
    """A character as it stays: punctuation, symbols, spaces and controls split words;
    invisible format marks (right-to-left marks, zero width joiners) vanish."""
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    return " " if category[0] in "PSZC" else ch


def words(text: str) -> list[str]:
    """The normalized words of ``text`` (what word error rate counts)."""
    return normalize(text).split()
