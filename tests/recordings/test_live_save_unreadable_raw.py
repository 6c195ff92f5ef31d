"""A live recording whose raw track cannot be read is saved with its cleaned track only;
the cleaned audio is what the stream was for."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.utils import timezone

from recordings.livesave import LiveDetails, do_save_live_recording
from recordings.storage import spool_paths

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_unreadable_raw_track_leaves_the_cleaned_recording(friends: Any, caplog):
    alice = friends[0]
    session_id = uuid.uuid4()
    paths = spool_paths(alice.pk, session_id)
    paths.cleaned.parent.mkdir(parents=True, exist_ok=True)
    tone = (0.3 * np.sin(np.arange(48_000) / 9)).astype(np.float32)
    sf.write(paths.cleaned, tone, 48_000, subtype="PCM_16")
    paths.raw.write_bytes(b"RIFF not really a wave file")

    rec = do_save_live_recording(alice, session_id, LiveDetails(timezone.now(), "identity", 100.0))

    assert rec is not None and rec.file.name and rec.raw_file.name == ""
    assert rec.duration == pytest.approx(1.0)
    assert "raw track unreadable; not kept" in caplog.text
    assert not paths.cleaned.exists() and not paths.raw.exists()
