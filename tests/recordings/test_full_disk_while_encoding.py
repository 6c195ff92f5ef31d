"""A write that fails while a recording is converted to FLAC (a full disk; here a file-size
limit, which fails the write the same way) is the server's failure, not the audio's:

* an import answers 507 and leaves no file or row behind, and the same file imports
  once there is room (it had been a 400 blaming the file, or a 500);
* a live recording keeps its spool files for recovery (its raw track had been dropped
  as "unreadable" and the spool removed: the raw audio was lost);
* :func:`encode_flac` leaves nothing at its destination.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.utils import timezone

from recordings import livesave, services
from recordings.audio import AudioWriteError, encode_flac
from recordings.livesave import LiveDetails
from recordings.models import RecordingJob, StreamRecording
from recordings.recovery import recover_spool
from recordings.storage import spool_paths
from tests.disk_limits import file_size_limit

from .conftest import RATE, encoded, post_file
from .conftest import signal as noisy_tone

pytestmark = pytest.mark.django_db(transaction=True)


def limited(nbytes: int) -> Any:
    """:func:`encode_flac` run under :func:`file_size_limit`: the real conversion, whose
    writes fail past ``nbytes``."""

    def encode(*args: Any, **kwargs: Any) -> Any:
        with file_size_limit(nbytes):
            return encode_flac(*args, **kwargs)

    return encode


def test_encode_flac_leaves_nothing_when_the_write_fails(tmp_path: Path):
    source = tmp_path / "in.wav"
    sf.write(source, noisy_tone(5.0), RATE, subtype="PCM_16")
    dest = tmp_path / "out.flac"
    with pytest.raises(AudioWriteError), file_size_limit(20_000):
        encode_flac(source, dest)
    assert not dest.exists()
    encode_flac(source, dest)  # room again: the same file converts
    assert sf.info(dest).frames == 5 * RATE


def test_an_import_that_cannot_be_written_is_507_and_leaves_nothing(
    friends: Any, as_alice: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
):
    data = encoded(noisy_tone(5.0), "WAV")
    monkeypatch.setattr(services, "encode_flac", limited(20_000))
    resp = post_file(as_alice, data, "take.wav")
    assert resp.status_code == 507, resp.content
    assert resp.json()["error"] == "The server could not store that file now; try again later."
    assert "file" not in resp.json().get("errors", {})  # the file is not blamed
    assert not StreamRecording.objects.exists() and not RecordingJob.objects.exists()
    assert not any(Path(settings.DATA_DIR).rglob("*.flac"))

    monkeypatch.setattr(services, "encode_flac", encode_flac)
    assert post_file(as_alice, data, "take.wav").status_code == 202


def _spool(user: Any) -> uuid.UUID:
    """A finished live session's spool: a clean tone, and the same tone with noise as
    raw (which compresses worse, so its FLAC is the larger)."""
    session_id = uuid.uuid4()
    paths = spool_paths(user.pk, session_id)
    paths.cleaned.parent.mkdir(parents=True, exist_ok=True)
    raw = noisy_tone(5.0)
    clean = (0.3 * np.sin(2 * np.pi * 220 * np.arange(raw.size) / RATE)).astype(np.float32)
    sf.write(paths.cleaned, clean, RATE, subtype="PCM_16")
    sf.write(paths.raw, raw, RATE, subtype="PCM_16")
    return session_id


def test_a_live_recording_whose_raw_track_cannot_be_written_keeps_its_spool(
    friends: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    alice = friends[0]
    session_id = _spool(alice)
    paths = spool_paths(alice.pk, session_id)
    sizes = {}
    for version, local in (("cleaned", paths.cleaned), ("raw", paths.raw)):
        encode_flac(local, tmp_path / f"{version}.flac")
        sizes[version] = (tmp_path / f"{version}.flac").stat().st_size
    assert sizes["cleaned"] < sizes["raw"]
    room = (sizes["cleaned"] + sizes["raw"]) // 2  # the cleaned track fits, the raw does not

    monkeypatch.setattr(livesave, "encode_flac", limited(room))
    with pytest.raises(AudioWriteError):
        services.do_save_live_recording(
            alice, session_id, LiveDetails(timezone.now(), "identity", 100.0)
        )
    assert not StreamRecording.objects.exists()
    assert paths.cleaned.exists() and paths.raw.exists()  # kept for recovery

    monkeypatch.setattr(livesave, "encode_flac", encode_flac)
    assert recover_spool(set) == 1
    rec = StreamRecording.objects.get()
    assert rec.file.name and rec.raw_file.name  # both tracks
    assert not paths.cleaned.exists() and not paths.raw.exists()
