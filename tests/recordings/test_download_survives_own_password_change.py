"""A download follows its login, as presence sockets do: a new password set from the
login that started it (Django's password-change view gives that session a new key) lets it
finish; the same download from the user's other login is cut short, since the new
password logged that one out."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client

from recordings import ranges
from tests.conftest import PASSWORD
from tests.presence.helpers import api_login
from tests.recordings.conftest import make_recording
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "another-horse-77x"


@pytest.fixture(autouse=True)
def _every_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranges, "CHUNK_BYTES", 64 * 1024)
    monkeypatch.setattr(ranges, "RECHECK_S", 0.0)


def change_own_password(client: Client) -> None:
    old_key = client.cookies["sessionid"].value
    resp = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert resp.status_code == 302, resp.content[:400]
    assert client.cookies["sessionid"].value != old_key  # the session has a new key


async def _start(browser: Client, url: str) -> tuple[Any, int]:
    """A download from ``browser``'s login: its chunks after the first, and their total."""
    client = AsyncClient()
    client.cookies = browser.cookies
    resp = await client.get(url)
    assert resp.status_code == 200
    chunks = aiter(resp.streaming_content)
    first = await anext(chunks)
    return chunks, int(resp["Content-Length"]) - len(first)


async def _rest(chunks: Any) -> int:
    return sum([len(chunk) async for chunk in chunks])


async def test_a_new_password_cuts_only_the_other_logins_downloads(friends, tmp_path):
    alice = friends[0]
    await sync_to_async(User.objects.filter(pk=alice.pk).update)(is_staff=True)
    rec = await sync_to_async(make_recording)(alice, tmp_path, seconds=8.0)
    laptop = await sync_to_async(api_login)("alice", Client())
    phone = await sync_to_async(api_login)("alice", Client())
    url = f"/api/recordings/{rec.pk}/audio/?download=1"
    on_laptop, laptop_due = await _start(laptop, url)
    on_phone, phone_due = await _start(phone, url)

    await sync_to_async(change_own_password)(laptop)

    assert await _rest(on_laptop) == laptop_due  # the login that set it: every byte
    assert await _rest(on_phone) < phone_due  # logged out by it: cut short
