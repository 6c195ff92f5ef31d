"""Listing recordings loads only each recording's newest job, however many it ever had.

Job rows are never deleted (one per import and re-clean), so loading them all made every
list of a user's recordings, and of their friends', slower as the history grew.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext

from recordings.models import RecordingJob, StreamRecording
from recordings.services import JOB_ORDER, latest_job
from tests.conftest import ApiClient

from .conftest import make_recording

pytestmark = pytest.mark.django_db

OLD_JOBS = 300


def add_jobs(rec: StreamRecording, n: int) -> None:
    """``n`` finished re-cleans of ``rec``, older than any job created after this."""
    RecordingJob.objects.bulk_create(
        RecordingJob(
            recording=rec,
            kind=RecordingJob.Kind.RECLEAN,
            status=RecordingJob.Status.DONE,
            progress=1.0,
            model="identity",
        )
        for _ in range(n)
    )


def newest_job(rec: StreamRecording) -> RecordingJob:
    """A failed re-clean created after every other job of ``rec``: easy to tell apart."""
    return RecordingJob.objects.create(
        recording=rec,
        kind=RecordingJob.Kind.RECLEAN,
        status=RecordingJob.Status.FAILED,
        model="identity",
        atten_lim_db=42.0,
        error="the newest one",
    )


@contextmanager
def counting_jobs_loaded() -> Iterator[list[int]]:
    """Count RecordingJob objects built from database rows inside the block (``[n]``)."""
    loaded = [0]

    def count(**_: Any) -> None:
        loaded[0] += 1

    post_init.connect(count, sender=RecordingJob, weak=False)
    try:
        yield loaded
    finally:
        post_init.disconnect(count, sender=RecordingJob)


def get_measured(client: ApiClient, path: str) -> tuple[Any, int, int]:
    """``(json body, queries run, job objects loaded)`` of ``GET path``."""
    with counting_jobs_loaded() as loaded, CaptureQueriesContext(connection) as queries:
        resp = client.get(path)
    assert resp.status_code == 200, resp.content
    return resp.json(), len(queries.captured_queries), loaded[0]


def test_list_shows_the_newest_job_and_loads_only_it(
    friends: Any, as_alice: ApiClient, as_bob: ApiClient, tmp_path: Path
) -> None:
    alice = friends[0]
    busy = make_recording(alice, tmp_path, title="Busy")
    quiet = make_recording(alice, tmp_path, title="Quiet")
    add_jobs(busy, 1)
    _, few_queries, _ = get_measured(as_alice, "/api/recordings/")

    add_jobs(busy, OLD_JOBS)
    newest = newest_job(busy)
    body, queries, loaded = get_measured(as_alice, "/api/recordings/")

    by_id = {r["id"]: r for r in body["recordings"]}
    assert by_id[busy.pk]["job"] == {
        "id": newest.pk,
        "kind": "reclean",
        "status": "failed",
        "progress": 0.0,
        "model": "identity",
        "atten_lim_db": 42.0,
        "error": "the newest one",
    }
    assert by_id[quiet.pk]["job"] is None
    assert queries == few_queries, "the list's queries grew with the job history"
    assert loaded == 1, f"{loaded} job rows loaded for one recording with jobs"

    # A friend sees no job, so their list loads none: alice's history cannot slow it.
    body, _, loaded = get_measured(as_bob, "/api/recordings/")
    assert {r["id"]: r["job"] for r in body["recordings"]} == {busy.pk: None, quiet.pk: None}
    assert loaded == 0


def test_detail_shows_the_newest_job_and_loads_only_it(
    friends: Any, as_alice: ApiClient, tmp_path: Path
) -> None:
    rec = make_recording(friends[0], tmp_path)
    add_jobs(rec, 1)
    _, few_queries, _ = get_measured(as_alice, f"/api/recordings/{rec.pk}/")

    add_jobs(rec, OLD_JOBS)
    newest = newest_job(rec)
    body, queries, loaded = get_measured(as_alice, f"/api/recordings/{rec.pk}/")

    assert body["job"]["id"] == newest.pk
    assert body["job"]["error"] == "the newest one"
    assert queries == few_queries
    assert loaded == 1


def test_jobs_query_keeps_one_row_per_recording(
    friends: Any, as_alice: ApiClient, tmp_path: Path
) -> None:
    """The limit is in the SQL: each recording's newest job is picked by a LIMIT 1
    subquery (one index seek), not by reading every job row of the recording."""
    rec = make_recording(friends[0], tmp_path)
    add_jobs(rec, OLD_JOBS)
    with CaptureQueriesContext(connection) as queries:
        assert as_alice.get("/api/recordings/").status_code == 200
    table = RecordingJob._meta.db_table
    job_sql = [q["sql"].upper() for q in queries.captured_queries if table in q["sql"]]
    assert len(job_sql) == 1
    assert "LIMIT 1" in job_sql[0], job_sql[0]
    assert "ROW_NUMBER()" not in job_sql[0], "a window reads and sorts every job row"


def test_the_newest_job_query_has_an_index(db: None) -> None:
    """The subquery's filter and order are exactly the index's columns."""
    index = next(i for i in RecordingJob._meta.indexes if i.name == "job_newest_per_recording")
    assert index.fields == ["recording", "-created_at", "-id"]
    assert tuple(f"-{f.lstrip('-')}" for f in index.fields[1:]) == JOB_ORDER


def test_latest_job_of_a_recording_loaded_without_the_prefetch(
    friends: Any, tmp_path: Path
) -> None:
    rec = make_recording(friends[0], tmp_path)
    assert latest_job(StreamRecording.objects.get(pk=rec.pk)) is None
    add_jobs(rec, 3)
    newest = newest_job(rec)
    assert latest_job(StreamRecording.objects.get(pk=rec.pk)) == newest
