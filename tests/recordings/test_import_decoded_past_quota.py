"""An import whose audio decodes to more than the quota has room for is refused while it
is converted, not after the whole file was written out.

The quota was checked against the converted file once it was complete: a small lossy
upload of noise decodes to many times its size (17.5 times measured), and all of it was
written to the server's scratch disk first. Conversion now stops once the file passes
half the room left (its cleaned version will take as much again): 413 with the quota's
message, nothing kept.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recordings import audio
from recordings.models import StreamRecording

from .conftest import encoded, post_file

pytestmark = pytest.mark.django_db

RATE = 48_000


def noise(seconds: float) -> np.ndarray:
    return (0.3 * np.random.default_rng(5).standard_normal(int(RATE * seconds))).astype(np.float32)


def test_audio_that_decodes_past_the_quota_is_refused_while_converting(
    alice: Any, as_alice: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
):
    data = encoded(noise(40), "OGG")  # about 40 s of 16-bit noise once decoded: ~3.8 MB
    settings.RECORDINGS_QUOTA_BYTES = 3 * len(data)  # the upload itself would fit
    written: list[int] = []
    real_write = audio.write_frames

    def counting_write(fh: Any, block: Any) -> None:
        real_write(fh, block)
        written.append(os.path.getsize(fh.name))

    monkeypatch.setattr(audio, "write_frames", counting_write)
    resp = post_file(as_alice, data, "noise.ogg")

    assert resp.status_code == 413, resp.content
    assert "quota" in resp.json()["error"]
    assert not StreamRecording.objects.exists()
    room = settings.RECORDINGS_QUOTA_BYTES // 2
    assert written and max(written) < room + 2 * audio.BLOCK_FRAMES * 2  # stopped near it
    assert list(Path(settings.SPOOL_DIR, "tmp").rglob("*.flac")) == []


def test_the_same_audio_imports_with_room(alice: Any, as_alice: Any, settings: Any):
    data = encoded(noise(40), "OGG")
    settings.RECORDINGS_QUOTA_BYTES = 40 * 1024 * 1024
    resp = post_file(as_alice, data, "noise.ogg")
    assert resp.status_code == 202, resp.content
