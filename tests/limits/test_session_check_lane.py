"""The body limit's session look-up (before Django sees a request with a body) runs on
a lane of its own, not on asgiref's one thread that every thread-sensitive call outside
a request shares: a slow call there (a query waiting on a lock) no longer holds the
login check of every upload and form post."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from fc25_denoise.limits import session_user_id

pytestmark = pytest.mark.django_db(transaction=True)


def _session_for(user: Any) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


async def test_session_lookups_do_not_wait_behind_the_shared_thread(alice):
    key = await sync_to_async(_session_for)(alice)
    scope = {"type": "http", "headers": [(b"cookie", f"sessionid={key}".encode())]}
    release = threading.Event()
    busy = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)(30))
    try:
        await asyncio.sleep(0.1)  # the shared thread is now held
        assert await asyncio.wait_for(session_user_id(scope), 5) == alice.pk
    finally:
        release.set()
    assert await busy
