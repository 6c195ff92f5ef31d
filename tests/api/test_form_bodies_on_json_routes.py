"""A form body sent to a JSON route: a multipart one (which the CSRF check has already
parsed, so its raw bytes are gone) is a clear 400, and form fields past
``DATA_UPLOAD_MAX_MEMORY_SIZE`` are 413, as a JSON body past its limit is (both were
a 500 and a 400 "Bad request.")."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.test.client import MULTIPART_CONTENT

JSON_POSTS = [
    "/api/auth/login/",
    "/api/auth/register/",
    "/api/friends/requests/",
    "/api/webrtc/offer/",
    "/api/webrtc/listen/bob/",
]


@pytest.mark.parametrize("path", JSON_POSTS)
def test_a_multipart_body_on_a_json_route_is_400(as_alice, bob, path):
    fields = {"username": "alice", "to_user": "bob"}  # the client encodes it as multipart
    resp = as_alice.client.post(
        path, fields, content_type=MULTIPART_CONTENT, HTTP_X_CSRFTOKEN=as_alice.csrf
    )
    assert resp.status_code == 400, resp.content
    assert "must be JSON" in resp.json()["error"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
@pytest.mark.parametrize("multipart", [False, True])
def test_form_fields_past_the_form_limit_are_413(as_alice, multipart):
    fields = {"to_user": "x" * 5000}
    body: object
    if multipart:
        body, content_type = fields, MULTIPART_CONTENT  # the client encodes it
    else:
        body, content_type = f"to_user={'x' * 5000}", "application/x-www-form-urlencoded"
    resp = as_alice.client.post(
        "/api/friends/requests/", body, content_type=content_type, HTTP_X_CSRFTOKEN=as_alice.csrf
    )
    assert resp.status_code == 413, resp.content
    assert "2048 bytes" in resp.json()["error"]
