"""Denoise an audio file of any rate and channel count, sample-aligned.

Pipeline per block: resample to 48 kHz -> one :class:`~denoise.base.Denoiser`
per channel -> drop the first ``latency_samples`` output samples (delay
compensation) -> resample back. Blocks keep memory flat for long files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .audiofile import (
    AudioFileError,
    close_writer,
    discard_writer,
    open_writer,
    output_format,
    probe_file,
    read_blocks,
    write_frames,
)
from .base import Denoiser
from .constants import ATTEN_LIM_MAX_DB, SAMPLE_RATE
from .frames import StreamResampler
from .registry import DEFAULT_MODEL, create_denoiser

Progress = Callable[[int, int], None]
"""Called as ``progress(frames_done, frames_total)`` after each block."""

BLOCK_SECONDS = 2


class _DelayCompensator:
    """Drops the first ``delay`` samples of every channel's output stream."""

    def __init__(self, delay: int) -> None:
        self.remaining = delay

    def __call__(self, y: NDArray[np.float32]) -> NDArray[np.float32]:
        skip = min(self.remaining, len(y))
        self.remaining -= skip
        return y[skip:]


def denoise_file(
    in_path: str | Path,
    out_path: str | Path,
    model: str = DEFAULT_MODEL,
    atten_lim_db: float = ATTEN_LIM_MAX_DB,
    progress: Progress | None = None,
) -> int:
    """Denoise ``in_path`` into ``out_path`` (WAV/FLAC/OGG by extension).

    The output has the input's sample rate, channel count and length, and is
    aligned with it sample-exactly (the model's delay is removed).
    Returns the number of frames written.

    Raises:
        AudioFileError: missing/empty/non-audio input, unwritable output, or a
            failed write (disk full); no output file is left behind.
        UnknownModelError, ModelLoadError: the model cannot be used.
        ValueError: ``atten_lim_db`` outside [6, 100].
    """
    info = probe_file(in_path)
    output_format(out_path)  # fail on a bad extension before the slow part
    if Path(in_path).resolve() == Path(out_path).resolve():
        raise AudioFileError("output file must differ from the input file")
    rate, channels, total = info.sample_rate, info.channels, info.frames
    denoisers = [create_denoiser(model, atten_lim_db) for _ in range(channels)]
    up = StreamResampler(rate, SAMPLE_RATE, channels)
    down = StreamResampler(SAMPLE_RATE, rate, channels)
    trim = [_DelayCompensator(d.latency_samples) for d in denoisers]
    written = done = 0
    try:
        out = open_writer(out_path, rate, channels)
        try:

            def emit(block48: NDArray[np.float32], last: bool) -> None:
                nonlocal written
                y = down.process(block48, last=last)[: total - written]
                write_frames(out, y)  # clipped to full scale, NaN as 0
                written += len(y)

            for block in read_blocks(in_path, BLOCK_SECONDS * rate):
                done += len(block)
                x48 = up.process(block, last=done >= total).reshape(-1, channels)
                emit(_run(denoisers, trim, x48, flush=False), last=False)
                if progress is not None:
                    progress(done, total)
            emit(_run(denoisers, trim, np.zeros((0, channels), np.float32), flush=True), last=True)
            if written < total:  # soxr rounding can leave a sample or two short
                write_frames(out, np.zeros((total - written, channels), np.float32))
                written = total
            close_writer(out)
        except BaseException:
            discard_writer(out, out_path)  # a half-written file would look like a result
            raise
    finally:
        for d in denoisers:
            d.close()
    return written


def _run(
    denoisers: list[Denoiser],
    trim: list[_DelayCompensator],
    x48: NDArray[np.float32],
    flush: bool,
) -> NDArray[np.float32]:
    """Process one 48 kHz block through each channel's denoiser; (frames, channels) out."""
    outs = []
    for ch, (d, t) in enumerate(zip(denoisers, trim, strict=True)):
        y = d.process(x48[:, ch])
        if flush:
            y = np.concatenate((y, d.flush()))
        outs.append(t(y))
    # All channels see identical lengths, so their outputs line up.
    return np.stack(outs, axis=1)
