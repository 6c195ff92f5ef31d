"""The audio route's validator: a strong ETag per stored file and served format (a stored
name never changes content; a re-clean stores a new one). A Range under an If-Range that
is not the current ETag gets the whole file (RFC 9110 13.1.5): the client's partial copy
is of other bytes. If-None-Match naming the current ETag gets 304."""

from __future__ import annotations

import pytest

from recordings import jobs
from recordings.models import RecordingJob

from .conftest import body

pytestmark = pytest.mark.django_db(transaction=True)


def _get(client, rec, query: str = "", **headers: str):  # type: ignore[no-untyped-def]
    resp = client.get(f"/api/recordings/{rec.pk}/audio/{query}", **headers)
    return resp, body(resp) if resp.status_code in (200, 206) else resp.content


def test_each_file_and_format_has_its_own_strong_etag(rec, as_alice, as_bob):
    wav, _ = _get(as_alice, rec)
    tags = {
        "wav": wav["ETag"],
        "flac": _get(as_alice, rec, "?format=flac")[0]["ETag"],
        "raw": _get(as_alice, rec, "?version=raw")[0]["ETag"],
    }
    assert all(t.startswith('"') and t.endswith('"') for t in tags.values())  # not W/
    assert len(set(tags.values())) == 3
    assert _get(as_bob, rec)[0]["ETag"] == tags["wav"]  # the bytes', not the reader's
    assert _get(as_alice, rec, HTTP_RANGE="bytes=0-99")[0]["ETag"] == tags["wav"]

    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    jobs.run_job(job.pk)  # a new cleaned file
    assert _get(as_alice, rec)[0]["ETag"] != tags["wav"]
    assert _get(as_alice, rec, "?version=raw")[0]["ETag"] == tags["raw"]


def test_if_range_with_another_validator_gets_the_whole_file(rec, as_alice):
    full, data = _get(as_alice, rec)
    etag = full.get("ETag", "")
    # A date never holds (no Last-Modified is sent), a weak tag never does (strong comparison).
    for stale in ('"some-old-etag"', "Tue, 01 Dec 2026 07:00:00 GMT", f"W/{etag}"):
        resp, got = _get(as_alice, rec, HTTP_RANGE="bytes=1000-1999", HTTP_IF_RANGE=stale)
        assert resp.status_code == 200 and got == data, stale
        assert not resp.has_header("Content-Range")
    resp, got = _get(as_alice, rec, HTTP_RANGE="bytes=1000-1999", HTTP_IF_RANGE=etag)
    assert resp.status_code == 206 and got == data[1000:2000]


def test_if_none_match_with_the_current_etag_gets_304(rec, as_alice, as_carol):
    full, _ = _get(as_alice, rec)
    etag = full["ETag"]
    for current in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        resp, got = _get(as_alice, rec, HTTP_IF_NONE_MATCH=current)
        assert resp.status_code == 304 and got == b"", current
        assert resp["ETag"] == etag and resp["Cache-Control"] == full["Cache-Control"]
    resp, got = _get(as_alice, rec, HTTP_IF_NONE_MATCH='"other"')
    assert resp.status_code == 200 and len(got) == int(full["Content-Length"])
    # Access first: an outsider learns nothing from a validator.
    assert _get(as_carol, rec, HTTP_IF_NONE_MATCH="*")[0].status_code == 404
