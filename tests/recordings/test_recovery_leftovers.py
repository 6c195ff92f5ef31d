"""Recovery's odd cases: spool files left alone without their cleaned WAV (a raw file,
the details, a details write cut short) are removed, whether their session was saved or
found nothing to save (a kill between the removals left them for good, since recovery
starts from the cleaned files), unless their session is live; and a spool file that
cannot be opened is logged once, where it had been skipped without a word at every
pass."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from recordings import recovery
from recordings.models import StreamRecording
from recordings.recovery import recover_spool
from recordings.storage import spool_paths

pytestmark = pytest.mark.django_db(transaction=True)


def write_wav(path, seconds: float = 1.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tone = (0.3 * np.sin(np.arange(int(48_000 * seconds)) / 9)).astype(np.float32)
    sf.write(path, tone, 48_000, subtype="PCM_16")


def test_files_left_without_their_cleaned_wav_are_removed(friends: Any):
    alice = friends[0]
    saved, unsaved, live = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    StreamRecording.objects.create(
        owner=alice, title="t", file="recordings/x.flac", session_id=saved
    )
    for session in (saved, unsaved, live):
        paths = spool_paths(alice.pk, session)
        write_wav(paths.raw)
        paths.details.write_text("{}")
        paths.details_part.write_text("{")  # a details write a kill cut short

    assert recover_spool(lambda: {live}) == 0

    for session in (saved, unsaved):
        paths = spool_paths(alice.pk, session)
        left = [p for p in (paths.raw, paths.details, paths.details_part) if p.exists()]
        assert left == [], (session, left)
    paths = spool_paths(alice.pk, live)  # its stream runs in another process: all kept
    assert paths.raw.exists() and paths.details.exists() and paths.details_part.exists()
    assert StreamRecording.objects.count() == 1


def test_a_sessions_spool_removal_takes_every_file(friends: Any):
    paths = spool_paths(friends[0].pk, uuid.uuid4())
    write_wav(paths.cleaned)
    write_wav(paths.raw)
    paths.details.write_text("{}")
    paths.details_part.write_text("{")
    paths.remove()
    assert not any(
        p.exists() for p in (paths.cleaned, paths.raw, paths.details, paths.details_part)
    )


def test_a_spool_that_cannot_be_opened_is_logged_once(friends: Any, monkeypatch, caplog):
    alice = friends[0]
    session_id = uuid.uuid4()
    write_wav(spool_paths(alice.pk, session_id).cleaned)

    def refused(path, idle_s):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(recovery, "_claimed", refused)
    caplog.set_level(logging.ERROR, logger="recordings.recovery")
    for _ in range(3):
        assert recover_spool(set) == 0
    lines = [r.getMessage() for r in caplog.records if "cannot be recovered" in r.getMessage()]
    assert len(lines) == 1 and str(session_id) in lines[0] and "Permission denied" in lines[0]
