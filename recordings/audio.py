"""Audio file plumbing for the recordings library (no Django here).

* :func:`encode_flac` turns a finished spool WAV (or any readable file) into
  FLAC, block by block so memory stays flat for long recordings.
* :class:`WavRenderer` presents any stored recording (FLAC or WAV) as a
  byte-exact 16-bit PCM WAV that can be read at any byte offset, so HTTP Range
  requests decode only the frames they cover.
* :func:`peaks` computes min/max pairs per time bucket for a waveform.

Errors: :class:`AudioError` with a one-line, user-facing message.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from denoise.audiofile import (
    AudioFileError,
    close_writer,
    discard_writer,
    open_writer,
    write_frames,
)

BLOCK_FRAMES = 48_000 * 5
"""Frames per block when converting (5 s at 48 kHz)."""
WAV_HEADER_BYTES = 44
MAX_WAV_DATA_BYTES = 0xFFFFFFFF - 36
"""A RIFF size field is 32 bits: longer recordings are served as FLAC only."""


class AudioError(Exception):
    """The audio cannot be read or written; the message says why."""


class TooLongForWav(AudioError):
    """The recording exceeds what a WAV header can describe."""


class OverLimit(AudioError):
    """The audio is longer or has more channels than the caller allows."""


class OverSize(OverLimit):
    """The converted file grew past the bytes the caller allows (``max_bytes``)."""


class AudioWriteError(Exception):
    """The converted file could not be written (a full disk, an encoder failure).

    Not an :class:`AudioError`: the input is not at fault, and callers that refuse bad
    input must not refuse (or drop) good audio for it.
    """


DOWNMIX_ABOVE = 2
"""Files with more channels are stored as their mono mix (the model hears mono anyway)."""


Source = str | Path | IO[bytes]


def _open(source: Source) -> sf.SoundFile:
    try:
        if isinstance(source, str | Path):
            return sf.SoundFile(str(source))
        return sf.SoundFile(source)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"not a readable audio file ({_reason(exc)})") from exc


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.split(": ", 1)[-1][:160]


def encode_flac(
    source: Source,
    dest: Path,
    *,
    max_channels: int = 8,
    max_seconds: float | None = None,
    max_rate: int | None = None,
    max_bytes: int | None = None,
) -> tuple[int, int, int]:
    """Decode ``source`` completely and write it to ``dest`` as 16-bit FLAC.

    Returns ``(sample_rate, channels written, frames)``. Every block is decoded,
    so a file that is corrupt part-way fails here, not later in a job. A file
    with more than :data:`DOWNMIX_ABOVE` channels is written as its mono mix.
    Limits are checked against the header before anything is decoded, and
    again while decoding (a header may understate the length).

    Non-finite samples are written as silence (+-inf as full scale), as the live
    recordings are.

    Raises:
        OverLimit: more than ``max_channels`` channels, longer than ``max_seconds``, or
            sampled faster than ``max_rate`` Hz. OverSize: ``dest`` grew past ``max_bytes``
            (checked after every block: a small compressed file can decode to gigabytes,
            which must not be written out before the caller could refuse them).
        AudioError: not audio, no samples, corrupt.
        AudioWriteError: ``dest`` could not be written (nothing is left there).
    """
    with _open(source) as src:
        rate, channels = src.samplerate, src.channels
        if channels > max_channels:
            raise OverLimit(f"{channels} channels; at most {max_channels} are accepted")
        if max_rate is not None and rate > max_rate:
            raise OverLimit(f"{rate} Hz; at most {max_rate} Hz is accepted")
        max_frames = None if max_seconds is None else int(max_seconds * rate)
        if max_frames is not None and src.frames > max_frames:
            raise OverLimit(_too_long(src.frames / rate, max_seconds))
        out_channels = 1 if channels > DOWNMIX_ABOVE else channels
        frames = _convert(src, dest, out_channels, max_frames, max_seconds, max_bytes)
    if frames == 0:
        dest.unlink(missing_ok=True)
        raise AudioError("the file contains no audio")
    return rate, out_channels, frames


def _convert(
    src: sf.SoundFile,
    dest: Path,
    out_channels: int,
    max_frames: int | None,
    max_seconds: float | None,
    max_bytes: int | None = None,
) -> int:
    """Decode ``src`` block by block into FLAC at ``dest``; the frames written.

    On any failure ``dest`` is removed: a partial file must not pass for the recording.
    Reading and writing fail apart (:class:`AudioError` against :class:`AudioWriteError`),
    because only a read failure is the input's fault.
    """
    if dest.suffix.lower() != ".flac":
        raise ValueError(f"{dest} does not name a FLAC file")
    try:
        out = open_writer(dest, src.samplerate, out_channels)  # 16-bit FLAC, by its suffix
    except AudioFileError as exc:
        raise AudioWriteError(str(exc)) from exc
    frames = 0
    try:
        while True:
            try:
                block = src.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise AudioError(f"the audio is corrupt ({_reason(exc)})") from exc
            if not len(block):
                break
            frames += len(block)
            if max_frames is not None and frames > max_frames:
                raise OverLimit(_too_long(frames / src.samplerate, max_seconds))
            if out_channels != src.channels:
                block = block.mean(axis=1, keepdims=True)
            write_frames(out, block)
            if max_bytes is not None and dest.stat().st_size > max_bytes:
                raise OverSize(f"more than {max_bytes} bytes once converted")
        close_writer(out)
    except AudioFileError as exc:
        discard_writer(out, dest)
        raise AudioWriteError(str(exc)) from exc
    except BaseException:
        discard_writer(out, dest)
        raise
    return frames


def _too_long(seconds: float, max_seconds: float | None) -> str:
    return (
        f"{seconds / 60:.1f} minutes of audio; at most {(max_seconds or 0) / 60:.0f} are accepted"
    )


def duration_of(source: Source) -> float:
    """Seconds of audio in ``source``.

    Raises:
        AudioError: not readable.
    """
    with _open(source) as f:
        return f.frames / f.samplerate if f.samplerate else 0.0


def wav_header(rate: int, channels: int, frames: int) -> bytes:
    """The 44-byte header of a 16-bit PCM WAV with ``frames`` frames."""
    data = frames * channels * 2
    return b"".join(
        (
            b"RIFF",
            struct.pack("<I", 36 + data),
            b"WAVEfmt ",
            struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16),
            b"data",
            struct.pack("<I", data),
        )
    )


class WavRenderer:
    """A stored recording seen as a 16-bit WAV file of ``size`` bytes.

    ``read(offset, length)`` decodes only the frames the range covers (FLAC
    seeks), so a player seeking in a long recording stays cheap. Not
    thread-safe; call ``close()`` when done.

    Raises:
        AudioError: the source is not audio, or too long for a WAV header.
    """

    def __init__(self, source: BinaryIO | Path) -> None:
        self._file = _open(source)
        self.rate = self._file.samplerate
        self.channels = self._file.channels
        self.frames = self._file.frames
        self._frame_bytes = 2 * self.channels
        if self.frames * self._frame_bytes > MAX_WAV_DATA_BYTES:
            self._file.close()
            raise TooLongForWav("recording too long for WAV; download it as FLAC")
        self._header = wav_header(self.rate, self.channels, self.frames)
        self.size = WAV_HEADER_BYTES + self.frames * self._frame_bytes

    def read(self, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset + length)`` of the WAV file (clipped to its size)."""
        end = min(offset + length, self.size)
        out = bytearray()
        if offset < WAV_HEADER_BYTES:
            out += self._header[offset : min(end, WAV_HEADER_BYTES)]
            offset = WAV_HEADER_BYTES
        if end > offset:
            first = (offset - WAV_HEADER_BYTES) // self._frame_bytes
            last = (end - WAV_HEADER_BYTES + self._frame_bytes - 1) // self._frame_bytes
            self._file.seek(first)
            pcm = self._file.read(last - first, dtype="int16", always_2d=True).tobytes()
            skip = (offset - WAV_HEADER_BYTES) - first * self._frame_bytes
            out += pcm[skip : skip + (end - offset)]
        return bytes(out)

    def close(self) -> None:
        self._file.close()


ENVELOPE_POINTS = 8000
"""Resolution of a recording's cached envelope: twice the most buckets a client may ask for."""


def reduce_peaks(
    envelope: list[list[float]] | NDArray[np.float32], buckets: int
) -> list[list[float]]:
    """``buckets`` [min, max] pairs from a finer envelope (:func:`peaks` output).

    Each bucket takes the extremes of every envelope point that overlaps its
    span, so it contains what a direct :func:`peaks` of that span would show
    (and at most one point more on each side). No decoding: any bucket count
    costs the same.

    Raises:
        ValueError: ``buckets`` < 1 or more than the envelope has points.
    """
    n = len(envelope)
    if not 1 <= buckets <= n:
        raise ValueError(f"buckets must be between 1 and {n}")
    env = np.asarray(envelope, dtype=np.float32)
    b = np.arange(buckets)
    starts = (b * n) // buckets
    ends = -((-(b + 1) * n) // buckets)  # ceil: a point straddling an edge counts for both
    pairs = [
        [round(float(env[i:j, 0].min()), 4), round(float(env[i:j, 1].max()), 4)]
        for i, j in zip(starts, ends, strict=True)
    ]
    return pairs


def peaks(source: Source, buckets: int) -> tuple[float, list[list[float]]]:
    """``(duration, [[min, max], ...])`` of the channel mix in ``buckets`` time buckets.

    Raises:
        AudioError: not readable.
    """
    with _open(source) as f:
        rate, total = f.samplerate, f.frames
        edges = np.linspace(0, total, buckets + 1).astype(np.int64)
        lo = np.zeros(buckets, np.float32)
        hi = np.zeros(buckets, np.float32)
        start = 0
        for block in f.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True):
            mono = block.mean(axis=1)
            stop = start + len(mono)
            # Buckets overlapping this block (a bucket may span blocks: min/max merge).
            first = max(int(np.searchsorted(edges, start, side="right")) - 1, 0)
            last = min(int(np.searchsorted(edges, stop, side="left")), buckets)
            for b in range(first, last):
                a, z = max(edges[b], start) - start, min(edges[b + 1], stop) - start
                if z > a:
                    seg = mono[a:z]
                    lo[b] = min(lo[b], float(seg.min()))
                    hi[b] = max(hi[b], float(seg.max()))
            start = stop
    pairs = [[round(float(a), 4), round(float(b), 4)] for a, b in zip(lo, hi, strict=True)]
    return (total / rate if rate else 0.0), pairs
