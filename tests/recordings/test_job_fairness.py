"""Queued jobs are run fairly between accounts, not in the order they were queued.

One job thread per process took jobs first come, first served: an account that kept its
four re-cleans queued (a re-clean needs no upload) held every other account's job back
for all of them, over and over. A free thread now takes the job of the owner with the
fewest jobs running, then the one served longest ago.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from recordings import jobs
from recordings.models import RecordingJob
from recordings.runner import JobRunner, fair_order

from .conftest import make_recording

pytestmark = pytest.mark.django_db(transaction=True)


def queue(owner: Any, tmp_path: Path, title: str, **fields: Any) -> RecordingJob:
    rec = make_recording(owner, tmp_path, raw=False, title=title)
    return RecordingJob.objects.create(recording=rec, kind="reclean", model="identity", **fields)


def test_the_owner_served_longest_ago_goes_first(friends: Any, tmp_path: Path):
    alice, bob, carol = friends
    a = [queue(alice, tmp_path, f"a{i}") for i in range(3)]
    done = queue(alice, tmp_path, "a-done", status=RecordingJob.Status.DONE)
    RecordingJob.objects.filter(pk=done.pk).update(updated_at=timezone.now())
    b = queue(bob, tmp_path, "b")  # queued after all of alice's
    c_running = queue(carol, tmp_path, "c-running", status=RecordingJob.Status.RUNNING)
    c = queue(carol, tmp_path, "c")
    RecordingJob.objects.filter(pk=c_running.pk).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    ids = [j.pk for j in (*a, b, c)]

    order = fair_order([*ids, done.pk, c_running.pk])

    # bob never had a job; alice's ended just now; carol has one running.
    assert order == [b.pk, a[0].pk, a[1].pk, a[2].pk, c.pk]


def test_a_job_thread_takes_another_accounts_job_before_the_rest_of_a_queue(
    friends: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    alice, bob, _ = friends
    first, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def run(job_id: int, stop: threading.Event | None = None) -> bool:
        claimed = RecordingJob.objects.filter(pk=job_id, status="queued").update(
            status="running", updated_at=timezone.now()
        )
        if not claimed:
            return False
        ran.append(job_id)
        first.set()
        release.wait(10)
        RecordingJob.objects.filter(pk=job_id).update(status="done", updated_at=timezone.now())
        return True

    monkeypatch.setattr(jobs, "run_job", run)
    alice_jobs = [queue(alice, tmp_path, f"a{i}") for i in range(4)]
    runner = JobRunner(1)
    try:
        for job in alice_jobs:
            runner.submit(job.pk)
        assert first.wait(5)
        bob_job = queue(bob, tmp_path, "b")
        runner.submit(bob_job.pk)
        release.set()
        assert runner.wait_idle(20)
    finally:
        runner.shutdown()
    assert ran[0] == alice_jobs[0].pk
    assert ran[1] == bob_job.pk  # not after alice's three others
    assert sorted(ran[2:]) == sorted(j.pk for j in alice_jobs[1:])


def test_no_waiting_job_is_left_without_a_thread(
    friends: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Two threads: the first looks while the second takes the job it looked for; the job
    submitted meanwhile must still run (it had been left in the waiting set with no
    thread to run it, as every later submit of it returned early)."""
    from recordings import runner as runner_module

    alice, bob, _ = friends
    a_ran = threading.Event()
    ran: list[int] = []
    first_look = threading.Event()
    real_order = runner_module.fair_order

    def slow_first_look(job_ids: Any) -> list[int]:
        if not first_look.is_set():
            first_look.set()
            assert a_ran.wait(10)  # the other thread took and ran the job meanwhile
        return real_order(job_ids)

    def run(job_id: int, stop: threading.Event | None = None) -> bool:
        if not RecordingJob.objects.filter(pk=job_id, status="queued").update(status="done"):
            return False
        ran.append(job_id)
        a_ran.set()
        return True

    monkeypatch.setattr(jobs, "run_job", run)
    monkeypatch.setattr(runner_module, "fair_order", slow_first_look)
    a, b = queue(alice, tmp_path, "a"), queue(bob, tmp_path, "b")
    runner = JobRunner(2)
    try:
        runner.submit(a.pk)
        assert first_look.wait(5)
        runner.submit(b.pk)
        assert runner.wait_idle(20)
    finally:
        runner.shutdown()
    assert sorted(ran) == sorted([a.pk, b.pk])
