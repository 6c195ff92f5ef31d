"""Imports that pass the quota check together cannot pass the quota together.

The check runs again, under the owner's row lock, when the recording is created: an
import stored while another was between its first check and its creation counts, with
its cleaned version's share (twice its raw size) reserved until its job ends.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import default_storage

from recordings import jobs, services
from recordings.models import StreamRecording
from tests.recordings.conftest import encoded, signal, upload

pytestmark = pytest.mark.django_db(transaction=True)


def _no_job(job_id: int) -> None:
    """Jobs are not run here: only what the import itself stores matters."""


def _import(user: Any, data: bytes, title: str) -> StreamRecording:
    return services.do_import(user, upload(data), title, "identity", 0.0, _no_job)


def test_an_import_stored_meanwhile_counts(friends, settings, monkeypatch):
    alice, _, _ = friends
    data = encoded(signal(4.0), "WAV")
    first = _import(alice, data, "measure")
    raw_size = first.size_bytes
    assert services.storage_used(alice.pk) == 2 * raw_size  # a cleaned one as large reserved
    first.delete()
    # Room for one import, not for two (even counting the first one's raw file alone).
    settings.RECORDINGS_QUOTA_BYTES = int(3.5 * raw_size)
    real_store = services.store_file
    stored: list[str] = []

    def store_while_another_lands(src, name):  # type: ignore[no-untyped-def]
        if not stored:
            stored.append("outer")
            _import(alice, data, "inner")  # passes its checks while the outer one waits
        result = real_store(src, name)
        stored.append(result[0])
        return result

    monkeypatch.setattr(services, "store_file", store_while_another_lands)
    with pytest.raises(services.ApiError) as refused:
        _import(alice, data, "outer")
    assert refused.value.status == 413
    assert list(StreamRecording.objects.values_list("title", flat=True)) == ["inner"]
    assert services.storage_used(alice.pk) == 2 * raw_size
    inner_file, outer_file = stored[1], stored[2]
    assert default_storage.exists(inner_file)
    assert not default_storage.exists(outer_file)  # the refused import leaves nothing behind


def test_imports_within_the_quota_are_kept_and_the_next_is_not(friends, settings):
    alice, _, _ = friends
    data = encoded(signal(2.0), "WAV")
    _import(alice, data, "measure")
    reserved = services.storage_used(alice.pk)
    StreamRecording.objects.all().delete()
    settings.RECORDINGS_QUOTA_BYTES = int(3.25 * reserved)
    for title in ("one", "two", "three"):
        _import(alice, data, title)
    with pytest.raises(services.ApiError) as refused:
        _import(alice, data, "four")
    assert refused.value.status == 413
    assert StreamRecording.objects.filter(owner=alice).count() == 3


def test_a_failed_import_gives_its_reservation_back(friends):
    alice, _, _ = friends
    rec = services.do_import(
        alice, upload(encoded(signal(2.0), "WAV")), "t", "no-such-model", 0.0, _no_job
    )
    raw_size = default_storage.size(rec.raw_file.name)
    assert rec.size_bytes == raw_size
    assert services.storage_used(alice.pk) == 2 * raw_size
    jobs.run_job(rec.jobs.get().pk)  # the model cannot load: the job fails
    rec.refresh_from_db()
    assert rec.status == StreamRecording.Status.FAILED
    assert services.storage_used(alice.pk) == raw_size
