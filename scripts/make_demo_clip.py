"""Make the demo Space's speech clip: src/majlis/media/assets/demo-speech.ogg.

A sentence in English and one in Arabic, spoken by espeak-ng, joined and resampled by sox to
48 kHz mono, normalized, then encoded by PyAV (libopus, about 32 kb/s) into Ogg/Opus. The output
is small enough to commit (< 100 KB) and is what ``majlis demo``'s synthetic speaker plays.

Needs the ``espeak-ng`` and ``sox`` commands (Debian: ``apt-get install espeak-ng sox``) and
PyAV. Run from anywhere: ``python scripts/make_demo_clip.py [--out PATH]``. The encode is
bit-exact, so running it twice on one machine gives the same file.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "src" / "majlis" / "media" / "assets" / "demo-speech.ogg"

ENGLISH = (
    "Welcome to majlis. You are listening to a live demo Space. "
    "A few people speak, and everyone listens."
)
ARABIC = "أهلا بكم في مجلس. هذه مساحة صوتية تجريبية."

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms, Opus's usual frame
BIT_RATE = 32_000
MIN_SECONDS, MAX_SECONDS = 10.0, 15.0
MAX_BYTES = 100_000


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def synthesize(workdir: Path) -> Path:
    """Speak both sentences and join them into one 48 kHz mono 16-bit WAV."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: apt-get install espeak-ng sox)")
    english, arabic, joined = workdir / "en.wav", workdir / "ar.wav", workdir / "speech.wav"
    _run("espeak-ng", "-v", "en-us", "-s", "150", "-w", str(english), ENGLISH)
    _run("espeak-ng", "-v", "ar", "-s", "140", "-w", str(arabic), ARABIC)
    padded = workdir / "en-padded.wav"
    _run("sox", str(english), str(padded), "pad", "0.25", "0.6")  # lead-in; pause between
    _run(
        "sox",
        "-D",  # no dither: the output is then the same on every run
        str(padded),
        str(arabic),
        "-b",
        "16",
        "-c",
        "1",
        str(joined),
        "rate",
        "-v",
        str(SAMPLE_RATE),
        "norm",
        "-3",
        "pad",
        "0",
        "0.4",
    )
    return joined


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert wav.getframerate() == SAMPLE_RATE, wav.getframerate()
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").copy()


def encode_opus(samples: np.ndarray, out: Path) -> None:
    """Encode int16 mono 48 kHz samples into Ogg/Opus at about ``BIT_RATE``."""
    pad = (-len(samples)) % FRAME_SAMPLES
    samples = np.concatenate([samples, np.zeros(pad, dtype=np.int16)])
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), "w", format="ogg", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE)
        codec = stream.codec_context
        codec.layout = "mono"
        codec.format = "s16"
        codec.bit_rate = BIT_RATE
        codec.thread_count = 1
        codec.options = {"application": "voip", "frame_duration": "20", "vbr": "on"}
        codec.flags |= av.codec.context.Flags.bitexact
        stream.metadata["title"] = "majlis demo speech"
        for start in range(0, len(samples), FRAME_SAMPLES):
            chunk = samples[start : start + FRAME_SAMPLES].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .ogg")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="majlis-clip-") as tmp:
        samples = read_wav(synthesize(Path(tmp)))
    seconds = len(samples) / SAMPLE_RATE
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        sys.exit(f"the clip is {seconds:.1f} s; expected {MIN_SECONDS}-{MAX_SECONDS} s")
    encode_opus(samples, args.out)
    size = args.out.stat().st_size
    if size >= MAX_BYTES:
        sys.exit(f"{args.out} is {size} bytes; keep it under {MAX_BYTES}")
    print(f"wrote {args.out} ({seconds:.1f} s, {size / 1000:.1f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
