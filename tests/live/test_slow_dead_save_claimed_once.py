"""A dead process's stream whose recording takes longer to save than the dead threshold
is still ended, and saved, by one sweep only: the sweep that claimed it keeps its row
fresh while it saves."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.utils import timezone

import recordings.services as recording_services
from recordings.models import StreamRecording
from streams.liveness import clear_dead_streams
from streams.models import ActiveStream
from tests.live.test_spool_recovery import spool

pytestmark = pytest.mark.django_db(transaction=True)

DEAD_AFTER_S = 1.0


def test_a_slow_save_is_claimed_once(friends, monkeypatch):
    alice = friends[0]
    session_id = spool(alice.pk)  # a dead process's spool, on this machine
    ActiveStream.objects.create(user=alice, session_id=session_id, node_channel="specific.dead!x")
    ActiveStream.objects.filter(session_id=session_id).update(
        heartbeat=timezone.now() - timedelta(seconds=60)
    )
    encode = recording_services.encode_flac

    def slow_encode(src, dst):  # a long recording: encoding and storing take a while
        time.sleep(3 * DEAD_AFTER_S)
        return encode(src, dst)

    monkeypatch.setattr(recording_services, "encode_flac", slow_encode)
    ended: dict[str, int] = {}

    def sweep(name: str) -> None:
        try:
            ended[name] = clear_dead_streams(DEAD_AFTER_S, f"specific.{name}!x")
        finally:
            close_old_connections()

    first = threading.Thread(target=sweep, args=("first",))
    first.start()
    time.sleep(1.5 * DEAD_AFTER_S)  # past the dead threshold after the first claim
    sweep("second")
    time.sleep(1.5 * DEAD_AFTER_S)
    sweep("third")
    first.join()
    assert ended == {"first": 1, "second": 0, "third": 0}
    rec = StreamRecording.objects.get(session_id=session_id)
    assert rec.file and rec.raw_file  # both tracks kept
    assert not ActiveStream.objects.filter(session_id=session_id).exists()
