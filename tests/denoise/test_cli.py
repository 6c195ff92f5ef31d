"""The file CLI: formats, rates, channels, alignment and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from denoise.cli import main
from denoise.filedenoise import denoise_file
from denoise.frames import resample
from tests.audio_fixtures import noisy_speech

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def speech16k_stereo() -> np.ndarray:
    _, _, noisy, _ = noisy_speech(seconds=3.0, snr_db=20.0, seed=2)
    left = resample(noisy, 48_000, 16_000)
    return np.stack([left, 0.5 * np.roll(left, 800)], axis=1)


@pytest.mark.model
@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg"])
def test_formats_rate_channels_length(ext: str, tmp_path: Path, speech16k_stereo) -> None:
    src = tmp_path / f"in{ext}"
    sf.write(src, speech16k_stereo, 16_000)
    dst = tmp_path / f"out{ext}"
    assert main([str(src), str(dst), "-q", "--model", "dfn3"]) == 0
    info, ref = sf.info(dst), sf.info(src)
    assert (info.samplerate, info.channels, info.frames) == (16_000, 2, ref.frames)


@pytest.mark.model
def test_output_aligned_with_input(tmp_path: Path, speech16k_stereo) -> None:
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, speech16k_stereo, 16_000, subtype="FLOAT")
    denoise_file(src, dst, "dfn3")
    x, _ = sf.read(src, dtype="float32")
    y, _ = sf.read(dst, dtype="float32")
    for ch in range(2):
        lags = range(-200, 201)
        errs = [np.sum((np.roll(y[:, ch], -lag) - x[:, ch])[400:-400] ** 2) for lag in lags]
        assert lags[int(np.argmin(errs))] == 0, f"channel {ch} misaligned"


def test_identity_model_reproduces_input(tmp_path: Path, speech16k_stereo) -> None:
    src, dst = tmp_path / "in.wav", tmp_path / "out.flac"
    sf.write(src, speech16k_stereo, 16_000, subtype="FLOAT")
    calls: list[tuple[int, int]] = []
    n = denoise_file(src, dst, "identity", progress=lambda d, t: calls.append((d, t)))
    y, rate = sf.read(dst, dtype="float32")
    assert rate == 16_000 and y.shape == speech16k_stereo.shape and n == len(y)
    # Only 16-bit FLAC quantisation and the resamplers' band edge near 8 kHz remain.
    err = y - speech16k_stereo
    snr = 10 * np.log10(np.sum(speech16k_stereo**2) / np.sum(err**2))
    assert snr > 30, f"round trip SNR {snr:.1f} dB"
    assert calls and calls[-1][0] == calls[-1][1] == len(y)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "denoise", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize("case", ["missing", "empty", "not-audio", "bad-ext"])
def test_clear_errors(case: str, tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    dst = tmp_path / "out.wav"
    if case == "empty":
        sf.write(src, np.zeros((0, 1), np.float32), 48_000)
    elif case == "not-audio":
        src.write_text("this is not a wav file\n")
    elif case == "bad-ext":
        sf.write(src, np.zeros((480, 1), np.float32), 48_000)
        dst = tmp_path / "out.mp4"
    r = _cli(str(src), str(dst), "--model", "identity")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert {
        "missing": "not found",
        "empty": "no audio",
        "not-audio": "not a readable audio",
        "bad-ext": "unsupported output",
    }[case] in lines[0]
    assert not dst.exists()


def test_bad_atten_lim_is_an_error(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    sf.write(src, np.zeros((480, 1), np.float32), 48_000)
    assert main([str(src), str(tmp_path / "o.wav"), "--model", "identity", "--atten-lim", "3"]) == 1
