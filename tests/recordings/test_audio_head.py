"""HEAD on the audio route (RFC 9110 9.3.2): the headers a GET would send, Content-Length
of the file or range included, and no body. Players probe a file's size and range support
this way before they fetch; nothing is decoded or streamed for it, and access is checked
as for a GET."""

from __future__ import annotations

import pytest

from .conftest import body

pytestmark = pytest.mark.django_db(transaction=True)

DESCRIBING = ("Content-Type", "Content-Length", "Accept-Ranges", "ETag", "Cache-Control")


def _url(rec, query: str = "") -> str:  # type: ignore[no-untyped-def]
    return f"/api/recordings/{rec.pk}/audio/{query}"


@pytest.mark.parametrize("query", ["", "?format=flac", "?version=raw&download=1"])
def test_head_describes_the_file_without_sending_it(rec, as_bob, query, raw_shared):
    got = as_bob.client.get(_url(rec, query))
    data = body(got)
    head = as_bob.client.head(_url(rec, query))
    assert head.status_code == 200
    assert not head.streaming and head.content == b""  # nothing read for it
    for name in (*DESCRIBING, "Content-Disposition"):
        assert head[name] == got[name], name
    assert int(head["Content-Length"]) == len(data)


def test_head_with_a_range_describes_the_range(rec, as_alice):
    head = as_alice.client.head(_url(rec), HTTP_RANGE="bytes=100-1099")
    assert head.status_code == 206 and head.content == b""
    assert head["Content-Length"] == "1000"
    assert head["Content-Range"].startswith("bytes 100-1099/")
    got = as_alice.client.get(_url(rec), HTTP_RANGE="bytes=100-1099")
    assert head["Content-Range"] == got["Content-Range"] and len(body(got)) == 1000
    etag = head["ETag"]
    assert as_alice.client.head(_url(rec), HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert as_alice.client.head(_url(rec), HTTP_RANGE="bytes=99999999-").status_code == 416


def test_head_checks_access_as_get_does(rec, as_carol, anon):
    assert as_carol.client.head(_url(rec)).status_code == 404
    assert anon.client.head(_url(rec)).status_code == 401


def test_head_is_allowed_wherever_get_is(rec, as_alice):
    for path in ("/api/recordings/", f"/api/recordings/{rec.pk}/", "/healthz", "/recordings/"):
        resp = as_alice.client.head(path)
        assert resp.status_code == 200, path
        assert resp.content == b"", path
    # Not on a route without GET, and the 405 names what is allowed.
    refused = as_alice.client.head("/api/recordings/import/")
    assert refused.status_code == 405 and refused["Allow"] == "POST"
    put = as_alice.client.put(f"/api/recordings/{rec.pk}/", HTTP_X_CSRFTOKEN=as_alice.csrf)
    assert put["Allow"] == "DELETE, GET, HEAD, PATCH"
    # A HEAD takes the GET branch of a view that also deletes: the recording is still there.
    assert as_alice.client.get(f"/api/recordings/{rec.pk}/").status_code == 200
