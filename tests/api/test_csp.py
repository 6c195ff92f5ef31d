"""Every page carries a Content-Security-Policy without 'unsafe-inline', and no rendered page
needs one: no inline <script>, no style attribute or <style> element, no on*= handler."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import ApiClient, befriend, make_user

TEMPLATES = Path(__file__).resolve().parents[2] / "frontend" / "templates"


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script_has_src = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        if tag == "script":
            self._script_has_src = "src" in names
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"<{tag} {n}=>" for n in names if n == "style" or n.startswith("on")]
        if any(
            (v or "").strip().lower().startswith("javascript:")
            for n, v in attrs
            if n in ("href", "src", "action")
        ):
            self.found.append(f"<{tag}> javascript: URL")

    def handle_data(self, data: str) -> None:
        if self.lasttag == "script" and not self._script_has_src and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:40]!r}")


def _inline(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found


def _assert_policy(resp) -> None:
    policy = resp["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self' ws://testserver",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in policy


@pytest.mark.parametrize("path", ["/login/", "/register/"])
def test_anonymous_pages(db, path):
    resp = Client().get(path)
    assert resp.status_code == 200
    _assert_policy(resp)
    assert _inline(resp.content.decode()) == []


def test_logged_in_pages(alice):
    befriend(alice, make_user("bob"))
    c = ApiClient("alice").client
    for path in ("/", "/recordings/", "/u/bob/"):
        resp = c.get(path)
        assert resp.status_code == 200, path
        _assert_policy(resp)
        assert _inline(resp.content.decode()) == [], path


def test_admin_login_page(db):
    resp = Client().get("/admin/login/")
    _assert_policy(resp)
    assert _inline(resp.content.decode()) == []


def test_api_responses_and_secure_websocket_origin(db):
    resp = Client().get("/api/auth/csrf/", secure=True)
    assert "connect-src 'self' wss://testserver" in resp["Content-Security-Policy"]


def test_template_sources_have_no_inline_code():
    for template in TEMPLATES.rglob("*.html"):
        assert _inline(template.read_text()) == [], template


def test_finder_finds_inline_code():
    html = '<script>alert(1)</script><p style="x" onclick="y"></p><style>p{}</style>'
    assert len(_inline(html)) == 4


def test_admin_pages_need_no_inline_code(alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    c = Client()
    c.force_login(alice)
    for path in (
        "/admin/",
        "/admin/users/user/",
        "/admin/users/user/add/",
        f"/admin/users/user/{alice.pk}/change/",
        "/admin/users/friendrequest/add/",
    ):
        resp = c.get(path)
        assert resp.status_code == 200, path
        _assert_policy(resp)
        assert _inline(resp.content.decode()) == [], path
