"""The labelled speech set the captions benchmark scores recognizers on.

Forty sentences with their exact transcripts, spoken by espeak-ng at run time (no audio is
stored in the repository): 20 English (voice en-us) and 20 Arabic (voice ar).

- English: the Harvard sentences (IEEE Recommended Practice for Speech Quality Measurements,
  1969; lists 1 and 2, with two sentences that contain numbers replaced from list 3, since how a
  recognizer spells a number is not what we measure). Phonetically balanced, public domain.
- Arabic: Modern Standard Arabic sentences written for this set (greetings and phrases a host
  says in a Space, everyday statements), fully vowelled: espeak-ng reads unvowelled Arabic
  poorly, and the reference is the same text with the harakat folded away by
  ``majlis.text_folding``, as Whisper writes Arabic without them.

espeak-ng is a formant synthesizer: clear but robotic, and its Arabic is weaker than its English.
Scores on this set are a floor for comparing models and settings, not a promise for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.support.speech import read_wav, speak, write_wav

ENGLISH = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "The small pup gnawed a hole in the sock.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The fish twisted and turned on the bent hook.",
)

ARABIC = (
    "مَرْحَبًا بِكُمْ فِي الْمَجْلِسِ.",
    "نَتَحَدَّثُ الْيَوْمَ عَنِ الطَّقْسِ فِي الْمَدِينَةِ.",
    "الْجَوُّ جَمِيلٌ وَالشَّمْسُ مُشْرِقَةٌ.",
    "ذَهَبَ الْوَلَدُ إِلَى الْمَدْرَسَةِ فِي الصَّبَاحِ.",
    "قَرَأْتُ كِتَابًا مُفِيدًا عَنِ التَّارِيخِ.",
    "أُحِبُّ أَنْ أَشْرَبَ الْقَهْوَةَ مَعَ أَصْدِقَائِي.",
    "السَّمَاءُ صَافِيَةٌ وَالْبَحْرُ هَادِئٌ.",
    "يَعْمَلُ الطَّبِيبُ فِي الْمُسْتَشْفَى كُلَّ يَوْمٍ.",
    "شُكْرًا جَزِيلًا عَلَى حُضُورِكُمْ.",
    "هَلْ تَسْمَعُونَنِي بِوُضُوحٍ؟",
    "سَنَبْدَأُ النِّقَاشَ بَعْدَ قَلِيلٍ.",
    "الْعِلْمُ نُورٌ وَالْجَهْلُ ظَلَامٌ.",
    "تَقَعُ الْقَاهِرَةُ عَلَى نَهْرِ النِّيلِ.",
    "اشْتَرَتْ أُمِّي خُبْزًا وَحَلِيبًا مِنَ السُّوقِ.",
    "الْكِتَابُ عَلَى الطَّاوِلَةِ.",
    "يُسَافِرُ أَخِي إِلَى بَيْرُوتَ غَدًا.",
    "أَرْجُو أَنْ تَكُونُوا بِخَيْرٍ.",
    "نَشْكُرُ ضَيْفَنَا عَلَى هَذَا الْحِوَارِ الْمُمْتِعِ.",
    "الْقِطَّةُ تَنَامُ تَحْتَ الشَّجَرَةِ.",
    "مَا رَأْيُكُمْ فِي هَذَا الْمَوْضُوعِ؟",
)

#: language -> (espeak-ng voice, sentences)
SETS = {"en": ("en-us", ENGLISH), "ar": ("ar", ARABIC)}


@dataclass(frozen=True)
class Utterance:
    id: str  # "en-07"
    language: str
    text: str  # the reference transcript (and what espeak-ng spoke)
    path: Path  # 16 kHz mono WAV

    def pcm(self) -> npt.NDArray[np.float32]:
        return read_wav(self.path)


def build(dest: Path, languages: tuple[str, ...] = ("en", "ar"), limit: int = 0) -> list[Utterance]:
    """Speak the set into ``dest`` (one WAV per sentence); ``limit`` > 0 keeps the first N per
    language (a quick run)."""
    dest.mkdir(parents=True, exist_ok=True)
    made = []
    for language in languages:
        voice, sentences = SETS[language]
        for index, text in enumerate(sentences[:limit] if limit else sentences, start=1):
            path = dest / f"{language}-{index:02d}.wav"
            write_wav(path, speak(text, voice))
            made.append(Utterance(f"{language}-{index:02d}", language, text, path))
    return made
