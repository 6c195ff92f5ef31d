"""While storage is down, a recovery pass tries one save, not every stuck spool.

Each pass (every heartbeat, on the sweep's loop) had encoded and tried to store every
orphaned spool file: minutes of CPU per pass for long streams during an S3 outage, and
the dead-stream sweep that follows it on the same loop waited. Now a pass stops at its
first failed save and the next tries wait, 15 s doubling to 10 minutes; a file that
failed is tried after the others, so one that always fails blocks none of them.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import soundfile as sf

from recordings import livesave, recovery
from recordings.models import StreamRecording
from recordings.recovery import RETRY_FIRST_S, RETRY_MAX_S, RetryBackoff, recover_spool
from recordings.storage import spool_paths
from tests.recordings.conftest import signal

pytestmark = pytest.mark.django_db(transaction=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FlakyStorage:
    """Stores through the real ``store_file`` unless down, or for a poisoned session."""

    def __init__(self) -> None:
        self.down = True
        self.poisoned: set[str] = set()
        self.tries: list[str] = []
        self._store = livesave.store_file

    def __call__(self, local: Any, name: str) -> Any:
        self.tries.append(name)
        if self.down or any(p in name for p in self.poisoned):
            raise ConnectionError("storage is unreachable")
        return self._store(local, name)


def spool(user: Any) -> uuid.UUID:
    session_id = uuid.uuid4()
    paths = spool_paths(user.pk, session_id)
    paths.cleaned.parent.mkdir(parents=True, exist_ok=True)
    sf.write(paths.cleaned, signal(0.5), 48_000, subtype="PCM_16")
    return session_id


def test_an_outage_costs_one_try_per_wait_and_the_wait_doubles(friends: Any, monkeypatch):
    alice = friends[0]
    sessions = [spool(alice) for _ in range(3)]
    storage, clock = FlakyStorage(), FakeClock()
    monkeypatch.setattr(livesave, "store_file", storage)
    backoff = RetryBackoff(clock)

    assert recover_spool(set, 0.0, backoff) == 0
    assert len(storage.tries) == 1  # stopped at the first failure, not all three
    clock.now += RETRY_FIRST_S - 1
    assert recover_spool(set, 0.0, backoff) == 0
    assert len(storage.tries) == 1  # still waiting
    clock.now += 1
    assert recover_spool(set, 0.0, backoff) == 0
    assert len(storage.tries) == 2
    clock.now += RETRY_FIRST_S
    assert recover_spool(set, 0.0, backoff) == 0
    assert len(storage.tries) == 2  # the wait doubled
    clock.now += RETRY_FIRST_S
    assert recover_spool(set, 0.0, backoff) == 0
    assert len(storage.tries) == 3
    assert len(set(storage.tries)) == 3  # each try was another file: failed ones go last

    storage.down = False
    clock.now += RETRY_MAX_S
    assert recover_spool(set, 0.0, backoff) == 3
    assert sorted(StreamRecording.objects.values_list("session_id", flat=True)) == sorted(sessions)


def test_the_wait_stops_growing_at_its_maximum(friends: Any):
    clock = FakeClock()
    backoff = RetryBackoff(clock)
    for _ in range(20):
        backoff.failed(spool_paths(1, uuid.uuid4()).cleaned)
    clock.now += RETRY_MAX_S - 1
    assert not backoff.ready()
    clock.now += 1
    assert backoff.ready()


def test_a_file_that_always_fails_holds_none_back(friends: Any, monkeypatch):
    alice = friends[0]
    sessions = sorted(spool(alice) for _ in range(3))
    storage, clock = FlakyStorage(), FakeClock()
    storage.down = False
    storage.poisoned = {str(sessions[0])}  # the first in name order
    monkeypatch.setattr(livesave, "store_file", storage)
    backoff = RetryBackoff(clock)

    assert recover_spool(set, 0.0, backoff) == 0  # the poisoned one first, then the stop
    clock.now += RETRY_FIRST_S
    assert recover_spool(set, 0.0, backoff) == 2  # the others now, before it again
    saved = set(StreamRecording.objects.values_list("session_id", flat=True))
    assert saved == set(sessions[1:])
    assert spool_paths(alice.pk, sessions[0]).cleaned.exists()


def test_a_spool_that_needs_no_storing_does_not_end_the_wait(friends: Any, monkeypatch):
    """A saved session's spool that cannot be removed (a failing disk) is found first by
    every pass and needs no storing: that says nothing about storage, so the wait for the
    file that failed still doubles."""
    alice = friends[0]
    saved = spool(alice)
    StreamRecording.objects.create(owner=alice, title="t", file="recordings/x", session_id=saved)
    unsaved = spool(alice)
    storage, clock = FlakyStorage(), FakeClock()
    monkeypatch.setattr(livesave, "store_file", storage)
    monkeypatch.setattr(recovery, "remove_spool", lambda paths, session_id, username: False)
    backoff = RetryBackoff(clock)

    for _ in range(2):  # the second try comes after the first wait
        assert recover_spool(set, 0.0, backoff) == 0
        clock.now += RETRY_FIRST_S
    assert len(storage.tries) == 2 and all(str(unsaved) in name for name in storage.tries)
    assert recover_spool(set, 0.0, backoff) == 0
    assert len(storage.tries) == 2  # the wait doubled to 30 s: 15 s is not enough
    clock.now += RETRY_FIRST_S
    assert recover_spool(set, 0.0, backoff) == 0
    assert len(storage.tries) == 3
