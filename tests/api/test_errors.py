"""The contract's error format: JSON bodies, fitting statuses, never HTML under /api/."""

import pytest
from django.test import Client, override_settings

from tests.conftest import PASSWORD


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', b"\xff\xfe"])
def test_malformed_json_is_400(as_alice, raw):
    resp = as_alice.post("/api/friends/requests/", raw=raw)
    assert resp.status_code == 400
    assert resp.json()["error"]


@override_settings(API_MAX_BODY_BYTES=2048, DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
def test_oversized_body_is_413(as_alice):
    resp = as_alice.post("/api/friends/requests/", {"to_user": "x" * 5000})
    assert resp.status_code == 413
    assert resp.json()["error"]


def test_missing_csrf_is_json_403(alice):
    c = Client(enforce_csrf_checks=True)
    c.post(
        "/api/auth/login/",
        {"username": "alice", "password": PASSWORD},
        content_type="application/json",
    )
    c.get("/api/auth/csrf/")
    resp = c.post(
        "/api/auth/login/",
        {"username": "alice", "password": PASSWORD},
        content_type="application/json",
    )
    assert resp.status_code == 403
    assert "CSRF" in resp.json()["error"]


def test_unknown_api_route_is_json_404(as_alice):
    resp = as_alice.get("/api/no/such/route/")
    assert resp.status_code == 404
    assert resp.json()["error"]


def test_wrong_method_is_json_405(as_alice):
    resp = as_alice.post("/api/auth/me/")
    assert resp.status_code == 405
    assert resp.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/users/search/?q=a"),
        ("get", "/api/friends/"),
        ("get", "/api/friends/requests/"),
        ("post", "/api/friends/requests/"),
        ("post", "/api/friends/requests/1/accept/"),
        ("post", "/api/friends/requests/1/reject/"),
        ("delete", "/api/friends/requests/1/"),
        ("delete", "/api/friends/bob/"),
    ],
)
def test_every_friend_route_needs_login(anon, method, path):
    resp = getattr(anon, method)(path)
    assert resp.status_code == 401
    assert resp.json()["error"]
