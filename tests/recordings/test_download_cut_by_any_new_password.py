"""A new password cuts every open download of the account, the one started from the
browser that set it included: that browser's session gets a new key, and the download
follows the key it started with, because a copy of the old cookie (someone else's) must
not keep its download going past the change. The browser's own download can resume with
a ``Range`` under the new key."""

from __future__ import annotations

from http.cookies import SimpleCookie
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


async def test_a_new_password_cuts_every_open_download(friends, tmp_path):
    alice = friends[0]
    await sync_to_async(User.objects.filter(pk=alice.pk).update)(is_staff=True)
    rec = await sync_to_async(make_recording)(alice, tmp_path, seconds=8.0)
    laptop = await sync_to_async(api_login)("alice", Client())
    phone = await sync_to_async(api_login)("alice", Client())
    url = f"/api/recordings/{rec.pk}/audio/?download=1"
    on_laptop, laptop_due = await _start(laptop, url)
    on_phone, phone_due = await _start(phone, url)
    copied = Client()  # the laptop's cookie, copied before the change
    copied.cookies = SimpleCookie(laptop.cookies.output(header="", sep=";"))
    with_copy, copy_due = await _start(copied, url)

    await sync_to_async(change_own_password)(laptop)

    assert await _rest(on_laptop) < laptop_due
    assert await _rest(on_phone) < phone_due
    assert await _rest(with_copy) < copy_due
    # The browser that set it resumes under its new key.
    resumed, _ = await _start(laptop, url)
    assert await _rest(resumed) > 0
