"""A live recording whose save failed (storage down when its stream ended) keeps its
details for the recovery: its start, model, attenuation, gaps and noise-removed figures.

They had been lost: the live row that held them is deleted when the stream ends, and the
gaps and figures were only in the ending process's memory, so the recovery saved the
audio titled by the file's age, with no model, the default attenuation and no gaps.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
import soundfile as sf
from django.utils import timezone

from recordings import livesave
from recordings.livesave import LiveDetails, do_save_live_recording
from recordings.models import StreamRecording
from recordings.recovery import recover_spool
from recordings.storage import spool_paths
from tests.recordings.conftest import signal

pytestmark = pytest.mark.django_db(transaction=True)


class StorageDown(ConnectionError):
    pass


def refuse_to_store(*args: Any, **kwargs: Any) -> Any:
    raise StorageDown("storage is unreachable")


def spooled(user: Any) -> tuple[uuid.UUID, Any]:
    session_id = uuid.uuid4()
    paths = spool_paths(user.pk, session_id)
    paths.cleaned.parent.mkdir(parents=True, exist_ok=True)
    sf.write(paths.cleaned, signal(1.0), 48_000, subtype="PCM_16")
    sf.write(paths.raw, signal(1.0, seed=1), 48_000, subtype="PCM_16")
    return session_id, paths


def test_a_failed_save_keeps_the_details_and_the_recovery_uses_them(friends: Any, monkeypatch):
    alice = friends[0]
    session_id, paths = spooled(alice)
    started = timezone.now() - timedelta(hours=3)
    monkeypatch.setattr(livesave, "store_file", refuse_to_store)
    with pytest.raises(StorageDown):
        do_save_live_recording(
            alice, session_id, LiveDetails(started, "dfn3-onnx", 12.0, 0.42, [3.5, 7.25])
        )
    assert paths.cleaned.exists() and paths.raw.exists() and paths.details.exists()
    monkeypatch.undo()  # storage is back

    assert recover_spool(set) == 1

    rec = StreamRecording.objects.get()
    assert rec.session_id == session_id
    assert (rec.model, rec.atten_lim_db) == ("dfn3-onnx", 12.0)
    assert rec.gap_seconds == pytest.approx(0.42) and rec.db_removed == [3.5, 7.25]
    assert rec.title == f"Live {timezone.localtime(started):%Y-%m-%d %H:%M}"
    assert not paths.cleaned.exists() and not paths.raw.exists() and not paths.details.exists()


def test_unreadable_details_are_logged_and_the_audio_still_saved(friends: Any, caplog):
    alice = friends[0]
    session_id, paths = spooled(alice)
    paths.details.write_text('{"started_at": "not a time"')
    caplog.set_level(logging.WARNING, logger="recordings.livesave")

    assert recover_spool(set) == 1

    rec = StreamRecording.objects.get()
    assert rec.session_id == session_id and rec.model == "" and rec.gap_seconds == 0
    assert any("unreadable" in r.getMessage() for r in caplog.records)
    assert not paths.details.exists()


def test_details_left_without_their_audio_are_removed(friends: Any):
    """Saved or not, details with no cleaned WAV beside them can never be used (recovery
    starts from the WAV): removed unless their session is live
    (tests/recordings/test_recovery_leftovers.py)."""
    alice = friends[0]
    saved, unsaved = uuid.uuid4(), uuid.uuid4()
    StreamRecording.objects.create(
        owner=alice, title="t", file="recordings/x.flac", session_id=saved
    )
    for session_id in (saved, unsaved):
        details = spool_paths(alice.pk, session_id).details
        details.parent.mkdir(parents=True, exist_ok=True)
        details.write_text("{}")

    assert recover_spool(set) == 0

    assert not spool_paths(alice.pk, saved).details.exists()
    assert not spool_paths(alice.pk, unsaved).details.exists()
