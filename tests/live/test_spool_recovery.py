"""Spool files of streams no longer live are saved as recordings, exactly once.

A process killed mid-stream leaves its spool; whichever process of the machine
sweeps next saves it, unless the stream is still live (its row exists), it was
written to very recently, or another process holds it.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid

import numpy as np
import pytest
import soundfile as sf

from recordings.models import StreamRecording
from recordings.storage import spool_paths
from streams.liveness import recover_orphan_spool
from streams.models import ActiveStream

pytestmark = pytest.mark.django_db(transaction=True)


def spool(user_id: int, age_s: float = 60.0) -> uuid.UUID:
    """A 1 s spool pair for a new session id, last written ``age_s`` ago."""
    session_id = uuid.uuid4()
    paths = spool_paths(user_id, session_id)
    paths.cleaned.parent.mkdir(parents=True, exist_ok=True)
    audio = (0.2 * np.sin(np.arange(48_000) / 10)).astype(np.float32)
    for path in (paths.cleaned, paths.raw):
        sf.write(path, audio, 48_000, subtype="PCM_16")
        then = time.time() - age_s
        os.utime(path, (then, then))
    return session_id


def test_orphans_are_saved_and_live_ones_left(friends):
    alice, bob, _ = friends
    orphan = spool(alice.pk)
    live = spool(bob.pk)
    ActiveStream.objects.create(user=bob, session_id=live)
    fresh = spool(alice.pk, age_s=0)
    assert recover_orphan_spool(idle_s=5) == 1
    rec = StreamRecording.objects.get()
    assert rec.owner_id == alice.pk and rec.session_id == orphan
    assert not spool_paths(alice.pk, orphan).cleaned.exists()
    assert spool_paths(bob.pk, live).cleaned.exists()
    assert spool_paths(alice.pk, fresh).cleaned.exists()
    assert recover_orphan_spool(idle_s=5) == 0  # nothing twice


def test_a_file_another_process_holds_is_skipped(friends):
    alice = friends[0]
    session_id = spool(alice.pk)
    with spool_paths(alice.pk, session_id).cleaned.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert recover_orphan_spool(idle_s=5) == 0
    assert recover_orphan_spool(idle_s=5) == 1
