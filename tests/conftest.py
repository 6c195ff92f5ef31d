"""Shared fixtures: named users (alice, bob = friends; carol = the outsider) and JSON clients.

Every client enforces CSRF like a browser does, so tests exercise the real
token flow (GET /api/auth/csrf/, then X-CSRFToken on unsafe requests).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client

PASSWORD = "correct-horse-battery-9"


class ApiClient:
    """A logged-in (or anonymous) browser-like JSON client."""

    def __init__(self, username: str | None = None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.username = username
        self.client.get("/api/auth/csrf/")
        if username:
            resp = self.post("/api/auth/login/", {"username": username, "password": PASSWORD})
            assert resp.status_code == 200, resp.content

    @property
    def csrf(self) -> str:
        return self.client.cookies["csrftoken"].value

    def get(self, path: str, **extra: Any) -> Any:
        return self.client.get(path, **extra)

    def _send(
        self, method: str, path: str, data: Any = None, raw: bytes | str | None = None
    ) -> Any:
        body = raw if raw is not None else (json.dumps(data) if data is not None else "")
        return getattr(self.client, method)(
            path, body, content_type="application/json", HTTP_X_CSRFTOKEN=self.csrf
        )

    def post(self, path: str, data: Any = None, raw: bytes | str | None = None) -> Any:
        return self._send("post", path, data, raw)

    def patch(self, path: str, data: Any = None, raw: bytes | str | None = None) -> Any:
        return self._send("patch", path, data, raw)

    def post_from(self, address: str, path: str, data: Any) -> Any:
        """POST ``data`` as JSON, as the client at ``address`` (the throttles count by it)."""
        return self.client.post(
            path,
            json.dumps(data),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=self.csrf,
            REMOTE_ADDR=address,
        )

    def delete(self, path: str) -> Any:
        return self._send("delete", path)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Login throttle counters and peaks envelopes live in the caches; each test starts clean.
    for alias in settings.CACHES:
        caches[alias].clear()


def make_user(username: str) -> Any:
    from users.models import User

    return User.objects.create_user(username=username, password=PASSWORD)


def befriend(a: Any, b: Any) -> None:
    from users.models import Friendship

    low, high = (a, b) if a.pk < b.pk else (b, a)
    Friendship.objects.create(user_low=low, user_high=high)


@pytest.fixture
def alice(db: None) -> Any:
    return make_user("alice")


@pytest.fixture
def bob(db: None) -> Any:
    return make_user("bob")


@pytest.fixture
def carol(db: None) -> Any:
    return make_user("carol")


@pytest.fixture
def friends(alice: Any, bob: Any, carol: Any) -> tuple[Any, Any, Any]:
    """alice and bob are friends; carol knows nobody."""
    befriend(alice, bob)
    return alice, bob, carol


@pytest.fixture
def as_alice(alice: Any) -> ApiClient:
    return ApiClient("alice")


@pytest.fixture
def as_bob(bob: Any) -> ApiClient:
    return ApiClient("bob")


@pytest.fixture
def as_carol(carol: Any) -> ApiClient:
    return ApiClient("carol")


@pytest.fixture
def anon(db: None) -> ApiClient:
    return ApiClient()


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> None:
    # channels-redis binds locks to the event loop it first ran on; every test
    # has its own loop, so each gets a new layer object.
    from channels.layers import channel_layers

    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _media_dirs(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Recordings (storage and spool) go to a per-test folder, never the checkout's data/.
    base = tmp_path_factory.mktemp("data")
    settings.MEDIA_ROOT = base / "media"
    settings.SPOOL_DIR = base / "spool"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Browser tests run last: Playwright's sync API keeps an event loop running in the
    # main thread until the session ends, and async tests after it could not start
    # their own. The sort is stable, so pytest-django's database ordering is kept.
    items.sort(key=lambda item: item.nodeid.startswith("tests/browser/"))
