"""Command line: ``python -m denoise IN OUT [--model NAME] [--atten-lim DB]``.

Exit status 0 on success, 1 on a user-facing error (one line on stderr),
2 on bad usage (argparse).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from .audiofile import probe_file
from .base import DenoiseError
from .constants import ATTEN_LIM_MAX_DB, SAMPLE_RATE
from .filedenoise import denoise_file
from .registry import DEFAULT_MODEL, available_models, get_spec

PROGRESS_MIN_SECONDS = 10
"""Files shorter than this finish too fast for a progress bar to help."""


class ProgressBar:
    """A dependency-free one-line progress bar redrawn in place on ``stream``."""

    WIDTH = 30

    def __init__(self, stream: TextIO = sys.stderr, label: str = "denoising") -> None:
        self.stream, self.label = stream, label
        self.start = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        filled = int(frac * self.WIDTH)
        elapsed = time.monotonic() - self.start
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {frac:4.0%} {elapsed:5.1f}s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m denoise",
        description="Remove background noise from a WAV/FLAC/OGG file (any rate, any channels).",
    )
    p.add_argument("input", help="input audio file")
    p.add_argument("output", help="output file; type from the extension (.wav, .flac, .ogg)")
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        choices=available_models(),
        help="; ".join(f"{n}: {get_spec(n).description}" for n in available_models())
        + f" (default: {DEFAULT_MODEL})",
    )
    p.add_argument(
        "--atten-lim",
        type=float,
        default=ATTEN_LIM_MAX_DB,
        metavar="DB",
        help="limit noise attenuation to DB (6..100, 100 = no limit)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting."""
    args = build_parser().parse_args(argv)
    progress = None
    if not args.quiet:
        progress = _maybe_progress(args.input)
    try:
        denoise_file(args.input, args.output, args.model, args.atten_lim, progress)
    except (DenoiseError, ValueError, OSError) as exc:
        # Write failures arrive as AudioFileError (a DenoiseError); OSError is
        # what is left of the file system (e.g. removing a half-written output).
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _maybe_progress(path: str) -> ProgressBar | None:
    try:
        info = probe_file(path)
    except DenoiseError:
        return None  # denoise_file reports the problem
    long_file = info.frames >= PROGRESS_MIN_SECONDS * min(info.sample_rate, SAMPLE_RATE)
    return ProgressBar() if long_file else None
