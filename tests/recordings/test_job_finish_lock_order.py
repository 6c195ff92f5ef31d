"""A job finishing while its owner's account is deleted: neither waits for the other.

A finishing job locks its owner's row (the quota's lock), then its recording's. Deleting a
recording, alone or with its owner's account, had locked the recording first and the
owner's row last (the account's own delete): each then waited for the other, and
PostgreSQL killed one of them (a failed account deletion, or a job failed with its
output left in storage). Every path now locks the owner first. SQLite runs one write
transaction at a time, so this is PostgreSQL's.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections, transaction

from recordings.models import StreamRecording
from recordings.quota import lock_owner
from users.models import User

from .conftest import make_recording

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def test_a_job_finishing_during_its_owners_account_deletion(friends: Any, tmp_path: Any):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite serialises its writers)")
    alice = friends[0]
    rec = make_recording(alice, tmp_path)
    owner_locked, finish = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def finishing_job() -> None:
        try:
            with transaction.atomic():
                lock_owner(alice.pk)
                owner_locked.set()
                assert finish.wait(30)
                StreamRecording.objects.select_for_update().filter(pk=rec.pk).first()
            outcome["job"] = "done"
        except Exception as exc:
            outcome["job"] = exc
        finally:
            connections.close_all()

    def deleting_the_account() -> None:
        try:
            User.objects.get(pk=alice.pk).delete()
            outcome["deletion"] = "done"
        except Exception as exc:
            outcome["deletion"] = exc
        finally:
            connections.close_all()

    job = threading.Thread(target=finishing_job)
    job.start()
    assert owner_locked.wait(30)
    deletion = threading.Thread(target=deleting_the_account)
    deletion.start()
    deadline = time.monotonic() + 30
    while waiting_for_a_lock() == 0:  # the deletion is held up by the job's lock
        assert time.monotonic() < deadline, "the deletion never waited for the job"
        time.sleep(0.05)
    finish.set()
    job.join(60)
    deletion.join(60)
    assert outcome == {"job": "done", "deletion": "done"}
    assert not StreamRecording.objects.filter(pk=rec.pk).exists()
