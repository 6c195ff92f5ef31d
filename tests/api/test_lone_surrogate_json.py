"""A JSON string holding an unpaired surrogate (``"\\ud800"``: valid JSON, but no UTF-8
text) gets a 400 JSON error on every JSON route, never a 500 from the database driver
that cannot encode it."""

import pytest


@pytest.fixture(autouse=True)
def _no_raise(as_alice):
    as_alice.client.raise_request_exception = False


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("post", "/api/friends/requests/", '{"to_user": "bo\\ud800b"}'),
        ("post", "/api/auth/login/", '{"username": "alice\\udfff", "password": "x"}'),
        (
            "post",
            "/api/auth/register/",
            '{"username": "z\\ud800ed", "password": "long-enough-pass"}',
        ),
        ("patch", "/api/streams/settings/", '{"model": "\\udc80"}'),
        ("post", "/api/friends/requests/", '{"\\ud800": 1, "to_user": "bob"}'),
    ],
)
def test_lone_surrogate_in_json_text_is_400(as_alice, method, path, raw):
    resp = getattr(as_alice, method)(path, raw=raw)
    assert resp.status_code == 400
    assert resp.json()["error"] == "Text must be valid Unicode (an unpaired surrogate was sent)."


def test_a_paired_surrogate_is_ordinary_text(as_alice):
    """An escaped surrogate pair is one character (U+1F600) and reaches the view."""
    resp = as_alice.post("/api/friends/requests/", raw='{"to_user": "\\ud83d\\ude00"}')
    assert resp.status_code == 404
    assert "Text must" not in resp.json()["error"]
