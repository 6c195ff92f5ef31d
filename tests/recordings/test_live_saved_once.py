"""A live session is saved as one recording, however often its save runs, and a save that
fails leaves nothing stored that no recording names.

* A process killed after the recording's row committed, before its spool files went,
  leaves its live row: the restart's sweep saved the session a second time (two rows,
  two copies in storage, the quota counted twice).
* A spool that could not be removed after the save (a disk gone read-only) made the
  save report failure ("spool kept", ``recording_id`` null) although the recording was
  saved, and every recovery pass saved it again.
* Two saves of one session racing (two processes) keep one recording.
* Files stored before the database refused the row were to go at a commit that a
  database that is away never reaches: they stayed in storage, named by no row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.core.files.storage import default_storage
from django.db import OperationalError, transaction
from django.utils import timezone

from recordings import livesave
from recordings.livesave import LiveDetails
from recordings.models import StreamRecording
from recordings.recovery import recover_spool
from recordings.storage import SpoolPaths, spool_paths
from streams.models import ActiveStream
from streams.services import clear_stale_streams, do_end_stream

pytestmark = pytest.mark.django_db(transaction=True)

RATE = 48000


class Killed(BaseException):
    """The process dying at that line (nothing after it runs)."""


def spool(user: Any) -> uuid.UUID:
    """A finished live session's spool files, both tracks, 2 s."""
    session_id = uuid.uuid4()
    paths = spool_paths(user.pk, session_id)
    paths.cleaned.parent.mkdir(parents=True, exist_ok=True)
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(2 * RATE) / RATE)).astype(np.float32)
    sf.write(paths.cleaned, tone, RATE, subtype="PCM_16")
    sf.write(paths.raw, tone, RATE, subtype="PCM_16")
    return session_id


def stored(user: Any) -> list[str]:
    """The user's files in storage."""
    folder = f"recordings/{user.pk}"
    return sorted(default_storage.listdir(folder)[1]) if default_storage.exists(folder) else []


def spool_left(user: Any, session_id: uuid.UUID) -> bool:
    paths = spool_paths(user.pk, session_id)
    return paths.cleaned.exists() or paths.raw.exists()


@pytest.fixture
def removal_fails(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    """Spool removal raises the exception put in the yielded list (while it holds one)."""
    failure: list[BaseException] = []
    real = SpoolPaths.remove

    def remove(self: SpoolPaths) -> None:
        if failure:
            raise failure[0]
        real(self)

    monkeypatch.setattr(SpoolPaths, "remove", remove)
    yield failure


def test_a_save_killed_before_its_spool_went_is_not_saved_again(friends, removal_fails):
    alice = friends[0]
    session_id = spool(alice)
    ActiveStream.objects.create(user=alice, session_id=session_id)  # left by the killed process
    removal_fails.append(Killed())
    with pytest.raises(Killed):
        do_end_stream(alice.pk, session_id)
    first = StreamRecording.objects.get()
    files = stored(alice)
    assert len(files) == 2 and spool_left(alice, session_id)

    removal_fails.clear()
    clear_stale_streams()  # the restart

    assert list(StreamRecording.objects.values_list("pk", flat=True)) == [first.pk]
    assert stored(alice) == files
    assert not spool_left(alice, session_id)
    assert not ActiveStream.objects.exists()


def test_a_spool_that_cannot_be_removed_keeps_the_save_and_goes_later(
    friends, removal_fails, caplog
):
    alice = friends[0]
    session_id = spool(alice)
    ActiveStream.objects.create(user=alice, session_id=session_id)
    removal_fails.append(PermissionError(13, "Read-only file system"))

    rec = do_end_stream(alice.pk, session_id)

    assert rec is not None and StreamRecording.objects.get().pk == rec.pk
    assert "spool files not removed" in caplog.text and str(session_id) in caplog.text
    for _ in range(3):  # recovery passes while the disk still refuses
        assert recover_spool(set) == 0
    removal_fails.clear()
    assert recover_spool(set) == 0
    assert list(StreamRecording.objects.values_list("pk", flat=True)) == [rec.pk]
    assert len(stored(alice)) == 2
    assert not spool_left(alice, session_id)


def test_of_two_racing_saves_the_first_recording_stays(friends, monkeypatch):
    alice = friends[0]
    session_id = spool(alice)
    real_store = livesave.store_file
    other: list[StreamRecording] = []

    def store_while_another_saves(local: Path, name: str) -> tuple[str, int]:
        if not other:  # another process finishes the same session's save meanwhile
            other.append(
                StreamRecording.objects.create(
                    owner=alice, title="theirs", file="recordings/x.flac", session_id=session_id
                )
            )
        return real_store(local, name)

    monkeypatch.setattr(livesave, "store_file", store_while_another_saves)
    rec = livesave.do_save_live_recording(
        alice, session_id, LiveDetails(timezone.now(), "identity", 100.0)
    )

    assert rec is not None and rec.pk == other[0].pk
    assert StreamRecording.objects.count() == 1
    assert stored(alice) == []  # this save's copies went
    assert not spool_left(alice, session_id)


def test_files_stored_before_the_database_went_away_are_deleted(friends, monkeypatch):
    alice = friends[0]
    session_id = spool(alice)
    real_store = livesave.store_file
    real_enter = transaction.Atomic.__enter__
    away: list[bool] = []

    def store_then_database_away(local: Path, name: str) -> tuple[str, int]:
        result = real_store(local, name)
        if "raw" in name:  # both tracks stored; then the database goes
            away.append(True)
        return result

    def enter(self: Any) -> None:
        if away:
            raise OperationalError("connection to server failed")
        real_enter(self)

    monkeypatch.setattr(livesave, "store_file", store_then_database_away)
    monkeypatch.setattr(transaction.Atomic, "__enter__", enter)
    with pytest.raises(OperationalError):
        livesave.do_save_live_recording(
            alice, session_id, LiveDetails(timezone.now(), "identity", 100.0)
        )
    monkeypatch.setattr(transaction.Atomic, "__enter__", real_enter)

    assert stored(alice) == []
    assert spool_left(alice, session_id)  # kept for recovery
    assert not StreamRecording.objects.exists()
