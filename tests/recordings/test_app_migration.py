"""Moving StreamRecording and RecordingJob from ``streams`` to ``recordings`` keeps every row.

The database is migrated back to the last migration before the move (the tables
named ``streams_*``), filled through the historical models, then migrated to the
latest state and read through :mod:`recordings.models` and the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models.fields.files import FieldFile

from recordings.models import RecordingJob, StreamRecording
from recordings.storage import storage_name, store_file
from tests.conftest import PASSWORD, ApiClient
from users.models import User

from .conftest import RATE, body, signal

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_MOVE = ("streams", "0005_live_node_channel")
MOVED_APPS = ("streams", "recordings")


def old_targets(executor: MigrationExecutor) -> list[tuple[str, str]]:
    """Every app at its latest migration, except streams before the move (and no recordings)."""
    leaves = executor.loader.graph.leaf_nodes()
    return [BEFORE_MOVE, *(node for node in leaves if node[0] not in MOVED_APPS)]


def migrate(targets: list[tuple[str, str]] | None = None) -> MigrationExecutor:
    """Migrate to ``targets`` (default: the latest of every app); a fresh executor each time."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return MigrationExecutor(connection)


@pytest.fixture
def old_database() -> Iterator[Any]:
    """The project's historical models before the move; the database is back at the latest
    state afterwards, whatever the test did."""
    executor = MigrationExecutor(connection)
    targets = old_targets(executor)
    migrate(targets)
    try:
        yield MigrationExecutor(connection).loader.project_state(targets).apps
    finally:
        migrate()


def tables() -> set[str]:
    return set(connection.introspection.table_names())


def row(model: Any, pk: int) -> dict[str, Any]:
    """A row's stored values by column (file fields as their stored names)."""
    obj = model.objects.get(pk=pk)
    values = {f.column: getattr(obj, f.attname) for f in model._meta.concrete_fields}
    return {k: v.name if isinstance(v, FieldFile) else v for k, v in values.items()}


def store_flac(owner_id: int, stem: str, version: str, tmp_path: Path, seed: int) -> str:
    local = tmp_path / f"{stem}-{version}.flac"
    sf.write(local, signal(1.0, seed=seed), RATE, subtype="PCM_16")
    return store_file(local, storage_name(owner_id, stem, version))[0]


def test_rows_files_and_permissions_survive_the_move(old_database: Any, tmp_path: Path) -> None:
    assert {"streams_streamrecording", "streams_recordingjob"} <= tables()
    assert not {"recordings_streamrecording", "recordings_recordingjob"} & tables()

    # The old world: a user, a live recording with both files, an open re-clean job,
    # a finished import, and a permission granted on the recording model.
    old_user = old_database.get_model("users", "User")
    old_recording = old_database.get_model("streams", "StreamRecording")
    old_job = old_database.get_model("streams", "RecordingJob")
    old_ct = old_database.get_model("contenttypes", "ContentType")
    old_permission = old_database.get_model("auth", "Permission")
    alice = old_user.objects.create(username="alice", password=make_password(PASSWORD))
    session = uuid.uuid4()
    live = old_recording.objects.create(
        owner=alice,
        title="Live 2026-11-24 06:00",
        file=store_flac(alice.pk, str(session), "cleaned", tmp_path, 1),
        raw_file=store_flac(alice.pk, str(session), "raw", tmp_path, 2),
        duration=1.0,
        session_id=session,
        source="live",
        status="ready",
        model="dfn3",
        atten_lim_db=24.0,
        size_bytes=1234,
    )
    imported = old_recording.objects.create(
        owner=alice,
        title="take",
        raw_file=store_flac(alice.pk, "take", "raw", tmp_path, 3),
        duration=1.0,
        source="import",
        status="failed",
        error="Could not clean the audio: boom.",
        model="dfn2",
    )
    job = old_job.objects.create(
        recording=live, kind="reclean", status="running", progress=0.25, model="dfn2"
    )
    failed = old_job.objects.create(
        recording=imported, kind="import", status="failed", model="dfn2", error="boom"
    )
    ct, _ = old_ct.objects.get_or_create(app_label="streams", model="streamrecording")
    view, _ = old_permission.objects.get_or_create(
        content_type=ct, codename="view_streamrecording", defaults={"name": "Can view"}
    )
    alice.user_permissions.add(view)
    before = {
        "recordings": {pk: row(old_recording, pk) for pk in (live.pk, imported.pk)},
        "jobs": {pk: row(old_job, pk) for pk in (job.pk, failed.pk)},
    }
    files = {
        name: default_storage.open(name).read()
        for name in (live.file.name, live.raw_file.name, imported.raw_file.name)
    }

    migrate()
    ContentType.objects.clear_cache()

    # Same tables, renamed; same rows, read through the new models.
    assert {"recordings_streamrecording", "recordings_recordingjob"} <= tables()
    assert not {"streams_streamrecording", "streams_recordingjob"} & tables()
    for model, old_rows in (
        (StreamRecording, before["recordings"]),
        (RecordingJob, before["jobs"]),
    ):
        for pk, old in old_rows.items():
            new = row(model, pk)
            # Every column the row had is kept; columns added later start at their defaults.
            assert {k: new[k] for k in old} == old
            assert {k: new[k] for k in new.keys() - old.keys()} == {
                f.column: f.get_default()
                for f in model._meta.concrete_fields
                if f.column not in old
            }
    rec = StreamRecording.objects.select_related("owner").get(pk=live.pk)
    assert rec.owner.username == "alice"
    assert [j.pk for j in rec.jobs.all()] == [job.pk]
    assert RecordingJob.objects.get(pk=failed.pk).recording == StreamRecording.objects.get(
        pk=imported.pk
    )
    for name, data in files.items():
        with default_storage.open(name) as fh:
            assert fh.read() == data

    # Content type relabelled in place: the granted permission follows the model.
    new_ct = ContentType.objects.get_for_model(StreamRecording)
    assert new_ct.pk == ct.pk
    assert User.objects.get(pk=alice.pk).has_perm("recordings.view_streamrecording")

    # Keys, constraints and the job -> recording foreign key still work.
    newer = StreamRecording.objects.create(owner_id=alice.pk, title="after", duration=1.0)
    assert newer.pk > imported.pk
    with pytest.raises(IntegrityError), transaction.atomic():  # job already open
        RecordingJob.objects.create(recording=rec, kind="reclean", model="dfn3")
    with pytest.raises(IntegrityError), transaction.atomic():
        RecordingJob.objects.create(recording_id=newer.pk + 1000, kind="import", model="dfn3")
    assert RecordingJob.objects.create(recording=newer, kind="import", model="dfn3").pk > failed.pk

    # The API serves the old recording and its stored audio.
    client = ApiClient("alice")
    listed = client.get("/api/recordings/").json()["recordings"]
    assert [(r["id"], r["title"]) for r in listed] == [
        (newer.pk, "after"),
        (imported.pk, "take"),
        (live.pk, "Live 2026-11-24 06:00"),
    ]
    assert listed[2]["job"]["id"] == job.pk and listed[2]["job"]["status"] == "running"
    resp = client.get(f"/api/recordings/{live.pk}/audio/?format=flac&version=raw")
    assert resp.status_code == 200
    assert body(resp) == files[live.raw_file.name]


def test_migrating_back_restores_the_old_tables(old_database: Any) -> None:
    """The move is reversible: before it, the tables and content types are the streams ones."""
    assert {"streams_streamrecording", "streams_recordingjob"} <= tables()
    content_types = old_database.get_model("contenttypes", "ContentType").objects
    assert not content_types.filter(app_label="recordings").exists()
