"""``manage.py denoise_file`` runs the engine's CLI with the server's settings."""

import numpy as np
import pytest
import soundfile as sf
from django.core.management import CommandError, call_command


def test_denoise_file_identity_round_trip(tmp_path, settings):
    settings.DENOISE_MODEL = "identity"
    x = (0.2 * np.sin(np.arange(16_000) / 5)).astype(np.float32)
    src, dst = tmp_path / "in.wav", tmp_path / "out.flac"
    sf.write(src, x, 16_000)
    call_command("denoise_file", str(src), str(dst))
    y, rate = sf.read(dst, dtype="float32")
    assert rate == 16_000 and len(y) == len(x)
    # Identity model: only the 16k->48k->16k resampling differs (edges aside).
    assert np.max(np.abs(y - x)[200:-200]) < 5e-3


def test_denoise_file_bad_input(tmp_path, settings):
    settings.DENOISE_MODEL = "identity"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(CommandError):
        call_command("denoise_file", str(bad), str(tmp_path / "o.wav"))
