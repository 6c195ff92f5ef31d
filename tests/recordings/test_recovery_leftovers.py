"""Recovery's odd cases: a raw spool file left alone after its session was saved is
removed (a kill between the removal of the two files left it for good, since recovery
starts from the cleaned files), and a spool file that cannot be opened is logged once,
where it had been skipped without a word at every pass."""

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


def test_a_saved_sessions_lone_raw_file_is_removed(friends: Any):
    alice = friends[0]
    saved, unsaved = uuid.uuid4(), uuid.uuid4()
    StreamRecording.objects.create(
        owner=alice, title="t", file="recordings/x.flac", session_id=saved
    )
    write_wav(spool_paths(alice.pk, saved).raw)
    write_wav(spool_paths(alice.pk, unsaved).raw)

    assert recover_spool(set) == 0

    assert not spool_paths(alice.pk, saved).raw.exists()
    assert spool_paths(alice.pk, unsaved).raw.exists()  # not known to be saved: kept
    assert StreamRecording.objects.count() == 1


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
