"""Re-clean: a background job re-runs the raw track; the old version stays until the new one is in."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from channels.db import database_sync_to_async
from django.core.files.storage import default_storage

from denoise.filedenoise import denoise_file
from recordings import jobs
from recordings.models import RecordingJob, StreamRecording
from tests.presence.helpers import connect, events, wait_for

from .conftest import make_recording, wait_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gated_engine(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """(gate, started): jobs signal ``started`` and wait for ``gate`` before cleaning."""
    gate, started = threading.Event(), threading.Event()

    def gated(*args, **kwargs):
        started.set()
        assert gate.wait(30)
        return denoise_file(*args, **kwargs)

    monkeypatch.setattr(jobs, "denoise_file", gated)
    return gate, started


def stored(name: str) -> np.ndarray:
    with default_storage.open(name) as fh:
        return sf.read(fh, dtype="int16")[0]


@pytest.mark.model
def test_reclean_output_matches_the_engine_on_the_raw_track(rec, as_alice, tmp_path: Path):
    old_name = rec.file.name
    resp = as_alice.post(
        f"/api/recordings/{rec.pk}/reclean/", {"model": "dfn3", "atten_lim_db": 20}
    )
    assert resp.status_code == 202, resp.content
    job = wait_job(resp.json()["job"]["id"], timeout=120)
    assert job.status == RecordingJob.Status.DONE, job.error

    raw = tmp_path / "raw.flac"
    raw.write_bytes(default_storage.open(rec.raw_file.name).read())
    expected = tmp_path / "expected.flac"
    denoise_file(raw, expected, "dfn3", 20.0)
    rec.refresh_from_db()
    np.testing.assert_array_equal(stored(rec.file.name), sf.read(expected, dtype="int16")[0])
    assert (rec.model, rec.atten_lim_db) == ("dfn3", 20.0)
    assert not default_storage.exists(old_name)  # the previous version is gone once replaced
    body = as_alice.get(f"/api/recordings/{rec.pk}/").json()
    assert body["job"]["status"] == "done" and body["model"] == "dfn3"


def test_previous_version_is_served_until_the_new_one_is_done(rec, as_alice, gated_engine):
    gate, started = gated_engine
    before = stored(rec.file.name)
    job_id = as_alice.post(f"/api/recordings/{rec.pk}/reclean/", {"model": "identity"}).json()[
        "job"
    ]["id"]
    assert started.wait(10)
    assert RecordingJob.objects.get(pk=job_id).status == "running"
    assert as_alice.get(f"/api/recordings/{rec.pk}/audio/").status_code == 200
    rec.refresh_from_db()
    np.testing.assert_array_equal(stored(rec.file.name), before)
    again = as_alice.post(f"/api/recordings/{rec.pk}/reclean/", {})
    assert again.status_code == 409 and "already" in again.json()["error"]
    gate.set()
    assert wait_job(job_id).status == "done"
    rec.refresh_from_db()
    # identity on the raw track: the cleaned version now *is* the raw one.
    np.testing.assert_array_equal(stored(rec.file.name), stored(rec.raw_file.name))


def test_failed_job_keeps_the_recording(rec, as_alice):
    with default_storage.open(rec.raw_file.name, "wb") as fh:
        fh.write(b"corrupted on disk")
    old_name = rec.file.name
    job_id = as_alice.post(f"/api/recordings/{rec.pk}/reclean/", {"model": "identity"}).json()[
        "job"
    ]["id"]
    job = wait_job(job_id)
    assert job.status == "failed" and "Could not clean" in job.error
    rec.refresh_from_db()
    assert rec.status == "ready" and rec.file.name == old_name
    assert default_storage.exists(old_name)


def test_reclean_needs_a_raw_track_and_valid_input(friends, as_alice, tmp_path):
    no_raw = make_recording(friends[0], tmp_path, raw=False, title="noraw")
    resp = as_alice.post(f"/api/recordings/{no_raw.pk}/reclean/", {})
    assert resp.status_code == 409 and "raw" in resp.json()["error"]
    assert as_alice.post(f"/api/recordings/{no_raw.pk}/reclean/", {"model": "x"}).status_code == 400
    bad = as_alice.post(f"/api/recordings/{no_raw.pk}/reclean/", {"atten_lim_db": 200})
    assert bad.status_code == 400
    assert as_alice.post(f"/api/recordings/{no_raw.pk}/reclean/", raw="{").status_code == 400


async def test_progress_reaches_the_owner_only(rec, as_alice):
    alice_ws, bob_ws = await connect("alice"), await connect("bob")
    resp = await database_sync_to_async(as_alice.post)(
        f"/api/recordings/{rec.pk}/reclean/", {"model": "identity"}
    )
    assert resp.status_code == 202
    seen = []
    while not seen or seen[-1]["job"]["status"] not in ("done", "failed"):
        seen.append(await wait_for(alice_ws, "recording_job", timeout=30))
    assert all(e["recording_id"] == rec.pk for e in seen)
    assert seen[0]["job"]["status"] == "running"
    assert seen[-1]["job"]["status"] == "done" and seen[-1]["job"]["progress"] == 1.0
    progress = [e["job"]["progress"] for e in seen]
    assert progress == sorted(progress)
    assert not [e for e in await events(bob_ws) if e["type"] == "recording_job"]
    await alice_ws.disconnect()
    await bob_ws.disconnect()


def test_deleting_during_a_job_leaves_no_files(rec, as_alice, gated_engine):
    gate, started = gated_engine
    job_id = as_alice.post(f"/api/recordings/{rec.pk}/reclean/", {"model": "identity"}).json()[
        "job"
    ]["id"]
    assert started.wait(10)
    assert as_alice.delete(f"/api/recordings/{rec.pk}/").status_code == 204
    gate.set()
    for _ in range(200):
        leftovers = list(Path(default_storage.location).rglob("*.flac"))
        if not leftovers:
            break
        threading.Event().wait(0.05)
    assert leftovers == []
    assert not StreamRecording.objects.exists()
    assert not RecordingJob.objects.filter(pk=job_id).exists()
