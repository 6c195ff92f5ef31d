"""An unsafe request to an API path without its final slash is a JSON 404 that names the
right path. Django's ``APPEND_SLASH`` had answered it with a redirect, which ``fetch``
follows as a ``GET``: a ``POST`` quietly became a read (with DEBUG on, a 500)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from recordings.models import StreamRecording
from users.models import FriendRequest


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/friends/requests"),
        ("patch", "/api/streams/settings"),
        ("delete", "/api/recordings/1"),
        ("delete", "/api/friends/bob"),
    ],
)
def test_an_unsafe_request_without_the_slash_is_404_and_changes_nothing(
    as_alice, bob, method, path, debug
):
    with override_settings(DEBUG=debug):
        if method == "delete":
            resp = as_alice.delete(path)
        else:
            resp = getattr(as_alice, method)(path, {"to_user": "bob", "atten_lim_db": 20})
    assert resp.status_code == 404, resp.content
    assert resp.json()["error"] == f"API paths end with '/': {path}/"
    assert not FriendRequest.objects.exists()
    assert not StreamRecording.objects.exists()


def test_a_read_without_the_slash_still_redirects(as_alice):
    resp = as_alice.get("/api/friends")
    assert resp.status_code == 301 and resp["Location"] == "/api/friends/"
