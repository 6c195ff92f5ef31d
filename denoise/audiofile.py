"""Audio file reading and writing (WAV, FLAC, OGG/Vorbis) via soundfile.

All errors are :class:`AudioFileError` with a one-line, user-facing message.
"""

from __future__ import annotations

import contextlib
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


_WRITE_ERRORS = (sf.LibsndfileError, RuntimeError, OSError, AssertionError)
"""What soundfile raises when a write fails. AssertionError included: it checks
that the encoder took every frame with a bare ``assert`` (a short write)."""


def write_frames(fh: sf.SoundFile, data: NDArray[np.float32]) -> None:
    """Write float samples (frames, channels) in [-1, 1] to a file from :func:`open_writer`.

    Non-finite samples are written as 0 (+-inf as +-1): the integer encoders
    would turn NaN into full-scale clicks (WAV) or fail (FLAC).

    Raises:
        AudioFileError: the write failed (disk full, encoder error).
    """
    clean = np.nan_to_num(data, nan=0.0, posinf=1.0, neginf=-1.0)
    try:
        fh.write(np.clip(clean, -1.0, 1.0))
    except _WRITE_ERRORS as exc:
        raise AudioFileError(f"cannot write {fh.name} ({_reason(exc)})") from exc


def close_writer(fh: sf.SoundFile) -> None:
    """Close a file from :func:`open_writer` (the encoder flushes its last frames here).

    Raises:
        AudioFileError: the final write failed.
    """
    try:
        fh.close()
    except _WRITE_ERRORS as exc:
        raise AudioFileError(f"cannot write {fh.name} ({_reason(exc)})") from exc


def discard_writer(fh: sf.SoundFile, path: str | Path) -> None:
    """Close ``fh`` and delete ``path``, after a failure: a half-written file looks like a result.

    Errors of the close are ignored (the failure that brought us here is the
    one to report); errors deleting the file propagate as OSError.
    """
    with contextlib.suppress(*_WRITE_ERRORS):
        fh.close()
    Path(path).unlink(missing_ok=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):  # soundfile's bare assert: fewer frames written
        return "short write"
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
