"""Audio file reading and writing (WAV, FLAC, OGG/Vorbis) via soundfile.

All errors are :class:`AudioFileError` with a one-line, user-facing message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from .base import DenoiseError

FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}
"""Output container and sample format by file extension."""


class AudioFileError(DenoiseError):
    """The file is missing, empty, not audio, or cannot be written."""


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int


def probe_file(path: str | Path) -> AudioInfo:
    """Describe an audio file.

    Raises:
        AudioFileError: missing, unreadable, not audio, or no samples.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioFileError(f"input file not found: {p}")
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"{p} is not a readable audio file ({_reason(exc)})") from exc
    if info.frames <= 0 or info.channels <= 0:
        raise AudioFileError(f"{p} contains no audio")
    return AudioInfo(int(info.samplerate), int(info.channels), int(info.frames))


def read_blocks(path: str | Path, block_frames: int) -> Iterator[NDArray[np.float32]]:
    """Yield float32 blocks of shape (frames, channels) from ``path``.

    Raises:
        AudioFileError: as :func:`probe_file`, or the file is corrupt mid-way.
    """
    probe_file(path)
    try:
        with sf.SoundFile(str(path)) as fh:
            while True:
                block = fh.read(block_frames, dtype="float32", always_2d=True)
                if not len(block):
                    return
                yield block
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"error reading {path} ({_reason(exc)})") from exc


def read_audio(path: str | Path) -> tuple[NDArray[np.float32], int]:
    """Read a whole file as float32 (frames, channels) and its sample rate.

    Raises:
        AudioFileError: see :func:`probe_file`.
    """
    info = probe_file(path)
    blocks = list(read_blocks(path, 1 << 16))
    data = np.concatenate(blocks) if blocks else np.zeros((0, info.channels), np.float32)
    return data, info.sample_rate


def output_format(path: str | Path) -> tuple[str, str]:
    """(format, subtype) for an output path.

    Raises:
        AudioFileError: unsupported extension.
    """
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        supported = ", ".join(sorted(FORMATS))
        raise AudioFileError(f"unsupported output type {ext or '(none)'!r}; use one of {supported}")
    return FORMATS[ext]


def open_writer(path: str | Path, sample_rate: int, channels: int) -> sf.SoundFile:
    """Open ``path`` for writing in the format its extension names.

    Raises:
        AudioFileError: unsupported extension or the file cannot be created.
    """
    fmt, subtype = output_format(path)
    try:
        return sf.SoundFile(
            str(path), "w", samplerate=sample_rate, channels=channels, format=fmt, subtype=subtype
        )
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"cannot write {path} ({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
