"""JSON bodies built to break the parser get a 400 JSON error, never a 500.

Python's JSON decoder recurses once per nesting level (RecursionError past
~1,000) and refuses integers over 4,300 digits (ValueError); both are the
client's fault. A NUL character (PostgreSQL refuses it in text) or an unpaired
surrogate (``"\\ud800"``: valid JSON, but no UTF-8 a database driver can encode) in
any string or key is refused before a view reads it.
"""

import pytest


@pytest.fixture(autouse=True)
def _no_raise(as_alice):
    as_alice.client.raise_request_exception = False


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 1100 + "]" * 1100,
        '{"a":' * 1100 + "1" + "}" * 1100,
        '{"to_user": ' + "[" * 5000,
    ],
)
def test_deep_nesting_is_400(as_alice, raw):
    resp = as_alice.post("/api/friends/requests/", raw=raw)
    assert resp.status_code == 400
    assert resp["Content-Type"] == "application/json"
    assert resp.json()["error"]


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/api/friends/requests/", '{"to_user": ' + "9" * 5000 + "}"),
        ("/api/streams/settings/", '{"atten_lim_db": ' + "1" * 5000 + "}"),
        ("/api/auth/login/", '{"username": "alice", "password": -' + "7" * 5000 + "}"),
    ],
)
def test_huge_integer_is_400(as_alice, path, raw):
    send = as_alice.patch if "settings" in path else as_alice.post
    resp = send(path, raw=raw)
    assert resp.status_code == 400
    assert resp.json()["error"] == "Malformed JSON: a number has too many digits."


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity"])
def test_non_finite_numbers_are_400(as_alice, number):
    resp = as_alice.patch("/api/streams/settings/", raw='{"atten_lim_db": ' + number + "}")
    assert resp.status_code == 400
    assert resp.json()["error"]


def test_nesting_within_the_limit_is_an_ordinary_type_error(as_alice):
    resp = as_alice.post("/api/friends/requests/", raw='{"to_user": ' + "[" * 50 + "]" * 50 + "}")
    assert resp.status_code == 400
    assert "must be a string" in resp.json()["error"]


NUL = "Text must not contain NUL characters."
SURROGATE = "Text must be valid Unicode (an unpaired surrogate was sent)."
BAD_TEXT = {NUL: "\\u0000", SURROGATE: "\\ud800"}
"""The refusal, and a JSON escape it refuses (PostgreSQL refuses NUL in text; no driver
encodes an unpaired surrogate): such a value must never reach a query."""


@pytest.mark.parametrize("error", [NUL, SURROGATE])
@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("post", "/api/friends/requests/", '{"to_user": "bo%sb"}'),
        ("post", "/api/auth/login/", '{"username": "alice%s", "password": "x"}'),
        ("post", "/api/auth/register/", '{"username": "zed", "password": "long-enough-pass%s"}'),
        ("patch", "/api/streams/settings/", '{"model": ["%s"]}'),
        ("post", "/api/friends/requests/", '{"%s": 1, "to_user": "bob"}'),
    ],
)
def test_bad_text_in_json_is_400(as_alice, method, path, template, error):
    resp = getattr(as_alice, method)(path, raw=template % BAD_TEXT[error])
    assert resp.status_code == 400
    assert resp.json()["error"] == error


def test_a_paired_surrogate_is_ordinary_text(as_alice):
    """An escaped surrogate pair is one character (U+1F600) and reaches the view."""
    resp = as_alice.post("/api/friends/requests/", raw='{"to_user": "\\ud83d\\ude00"}')
    assert resp.status_code == 404
    assert "Text must" not in resp.json()["error"]
