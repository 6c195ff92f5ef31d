"""A login that ends while its revoke is lost (a Redis blip) no longer leaves its listen
going until the stream ends: the access check also looks at each listen's login
(:func:`users.logins.ended_logins`) and ends those whose login logged out, was deleted or
expired, with reason ``logged_out``. A login that goes on under a renewed key, or one the
cache lost the record of, keeps listening."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.utils import timezone

from tests.conftest import befriend
from tests.live.access_helpers import (
    ENDED_WITHIN_S,
    assert_audio_stopped,
    delete_row,
    listening,
    session_row,
)
from tests.live.conftest import LiveClient, wait_until
from users.logins import LOGIN_TAG_KEY, RECORD_PREFIX
from users.sessionstore import SessionStore

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("identity_model", "fast_access_check"),
]


async def log_out(client: LiveClient) -> None:
    assert (await client.call("post", "/api/auth/logout/")).status_code in (200, 204)


async def expire_row(client: LiveClient) -> None:
    """Expired, not swept yet: no revoke is even sent before the sweep's next round."""
    past = timezone.now() - timedelta(seconds=1)
    assert await sync_to_async(session_row(client).update, thread_sensitive=False)(expire_date=past)


@pytest.mark.parametrize(
    "end", [log_out, delete_row, expire_row], ids=["logout", "deleted", "expired"]
)
async def test_a_login_that_ends_while_its_revoke_is_lost_ends_the_listen(
    clients, hub, revokes_lost, said, end
):
    alice, bob, _, _ = clients
    _, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)

    await end(bob)

    await wait_until(lambda: session.listeners == 0, timeout=ENDED_WITHIN_S)
    await assert_audio_stopped(capture)
    assert any("ended by the access check (logged_out)" in line for line in said), said


async def test_only_the_ended_login_loses_its_listen(clients, hub, revokes_lost):
    """Bob listens to Alice from one browser and to Carol (his friend too) from another:
    logging out of the first ends that browser's listen only."""
    alice, bob, carol, _ = clients
    await sync_to_async(befriend, thread_sensitive=False)(bob.user, carol.user)
    other_browser = await LiveClient(bob.user).setup()
    try:
        _, capture_a = await listening(hub, alice, bob)
        _, capture_c = await listening(hub, carol, other_browser)
        await log_out(bob)
        alice_session = hub.session_for(alice.user.pk)
        await wait_until(lambda: alice_session.listeners == 0, timeout=ENDED_WITHIN_S)
        heard = len(capture_c.chunks)
        await wait_until(lambda: len(capture_c.chunks) > heard + 50, timeout=5)  # many looks
        assert hub.session_for(carol.user.pk).listeners == 1
        await assert_audio_stopped(capture_a)
    finally:
        await other_browser.close()


async def test_a_renewed_key_of_the_same_login_keeps_listening(clients, hub):
    alice, bob, _, _ = clients
    _, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)
    store = SessionStore(bob.http.cookies["sessionid"].value)
    await sync_to_async(store.load, thread_sensitive=False)()
    await sync_to_async(store.cycle_key, thread_sensitive=False)()  # a new row, the old gone

    heard = len(capture.chunks)
    await wait_until(lambda: len(capture.chunks) > heard + 50, timeout=5)  # many looks
    assert session.listeners == 1


async def test_a_login_whose_record_the_cache_lost_keeps_listening(clients, hub):
    alice, bob, _, _ = clients
    _, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)
    tag = await sync_to_async(lambda: SessionStore(bob.http.cookies["sessionid"].value).load())()
    # Lost with the cache (Redis restarted, say): only this record, the layer keeps its own.
    await sync_to_async(cache.delete, thread_sensitive=False)(RECORD_PREFIX + tag[LOGIN_TAG_KEY])

    heard = len(capture.chunks)
    await wait_until(lambda: len(capture.chunks) > heard + 50, timeout=5)
    assert session.listeners == 1
