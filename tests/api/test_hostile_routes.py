"""Hostile requests Django itself refuses get a JSON 400 under /api/, never HTML.

Too many query or form fields, a Host this server does not serve, a multipart
body without a boundary, a query string that is not UTF-8 (refused by Django's
ASGI handler before any middleware), and Django's DEBUG pages.
"""

import json

import pytest
from django.test import Client, override_settings

from tests.asgi_scopes import http_scope
from tests.conftest import PASSWORD

MANY_FIELDS = "&".join(f"f{i}=1" for i in range(1200))


def _json_error(resp, status: int) -> str:
    assert resp.status_code == status, resp.content
    assert resp["Content-Type"] == "application/json"
    message = resp.json()["error"]
    assert message
    return message


@pytest.fixture
def browser(alice):
    client = Client(raise_request_exception=False)
    client.login(username="alice", password=PASSWORD)
    return client


@pytest.mark.parametrize(
    "path", ["/api/users/search/", "/api/recordings/1/audio/", "/api/recordings/1/peaks/"]
)
def test_too_many_query_fields_is_json_400(browser, path):
    message = _json_error(browser.get(f"{path}?{MANY_FIELDS}"), 400)
    assert "Too many query or form fields" in message


def test_too_many_form_fields_is_json_400(browser):
    resp = browser.post(
        "/api/recordings/import/", MANY_FIELDS, content_type="application/x-www-form-urlencoded"
    )
    assert "Too many query or form fields" in _json_error(resp, 400)


@pytest.mark.parametrize("host", ["evil.example", "bad host!", "127.0.0.1:notaport", "a" * 300])
def test_bad_host_is_json_400_under_api(db, host):
    client = Client(raise_request_exception=False)
    assert "Host header" in _json_error(client.get("/api/auth/me/", HTTP_HOST=host), 400)
    # Outside /api/ Django's own page stays.
    page = client.get("/", HTTP_HOST=host)
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\x7f"],
)
def test_multipart_without_boundary_is_json_400(browser, content_type):
    resp = browser.post("/api/recordings/import/", b"--x\r\n\r\n", content_type=content_type)
    assert "multipart body cannot be parsed" in _json_error(resp, 400)


@override_settings(DEBUG=True)
def test_debug_pages_are_json_under_api(browser):
    # With DEBUG on Django answers these with its HTML debug pages.
    assert "Too many" in _json_error(browser.get(f"/api/users/search/?{MANY_FIELDS}"), 400)
    assert _json_error(browser.get("/api/no/such/route/"), 404) == "Not Found."
    assert (
        _json_error(browser.get("/api/auth/me/", HTTP_HOST="evil.example"), 400) == "Bad Request."
    )


def test_permission_denied_is_json_403(rf):
    from django.core.exceptions import PermissionDenied
    from django.urls import get_resolver

    from fc25_denoise.errors import handler403

    assert get_resolver().resolve_error_handler(403) is handler403
    resp = handler403(rf.get("/api/friends/"), PermissionDenied())
    assert resp.status_code == 403 and resp["Content-Type"] == "application/json"
    assert json.loads(resp.content)["error"]


async def _asgi(path: str, query: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    from fc25_denoise.asgi import application

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = http_scope(path, query=query)
    await application(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), content


@pytest.mark.django_db(transaction=True)
async def test_query_string_not_utf8_is_json_400():
    status, headers, content = await _asgi("/api/users/search/", b"q=%ff\xff\xfe")
    assert status == 400
    assert headers[b"Content-Type"] == b"application/json"
    assert json.loads(content)["error"] == "Bad Request."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/users/search/?q=%00"),
        ("get", "/api/users/search/?q=a&x=%00"),
        ("delete", "/api/friends/bo%00b/"),
        ("post", "/api/webrtc/listen/ali%00ce/"),
    ],
)
def test_nul_in_path_or_query_is_json_400(browser, method, path):
    resp = getattr(browser, method)(path)
    assert _json_error(resp, 400) == "Text must not contain NUL characters."


def test_nul_in_a_form_field_is_json_400(browser):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("a.wav", b"RIFF")
    resp = browser.post("/api/recordings/import/", {"file": upload, "title": "x\x00y"})
    assert _json_error(resp, 400) == "Text must not contain NUL characters."
