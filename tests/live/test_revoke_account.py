"""Deactivating the listener's account, or changing or disabling their password, ends listening
at once: by the change's own event, with no periodic check running (``no_access_polling``)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.live.access_helpers import (
    ENDED_WITHIN_S,
    active_listeners,
    assert_audio_stopped,
    heartbeat_listeners,
    listening,
    presence_socket,
)
from tests.live.conftest import wait_until
from tests.presence.helpers import wait_for
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_access_polling")]


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.DENOISE_MODEL = "identity"
    settings.STREAM_HEARTBEAT_S = 0.2


def deactivate(user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    user.is_active = False
    user.save()  # as the admin's change form does


def change_password(user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    user.set_password("a-new-password-42")
    user.save()


def disable_password(user_id: int) -> None:
    """The admin's "Password-based authentication: Disabled" (leaves ``_password`` unset)."""
    user = User.objects.get(pk=user_id)
    user.set_unusable_password()
    user.save()


@pytest.mark.parametrize("change", [deactivate, change_password, disable_password])
async def test_account_change_ends_listening(clients, hub, change):
    alice, bob, _, _ = clients
    bob_ws = await presence_socket(bob)
    listen_id, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)

    await sync_to_async(change)(bob.user.pk)
    await wait_until(lambda: session.listeners == 0, timeout=ENDED_WITHIN_S)
    event = await wait_for(bob_ws, "listen_ended", ENDED_WITHIN_S)
    assert event == {
        "type": "listen_ended",
        "listen_id": listen_id,
        "username": "alice",
        "reason": "logged_out",
    }
    await assert_audio_stopped(capture)
    assert await active_listeners(alice, "alice") == 0
    assert await heartbeat_listeners(alice.user.pk) == 0
    await bob_ws.disconnect()


async def test_other_saves_of_the_listener_keep_listening(clients, hub):
    alice, bob, _, _ = clients
    _, capture = await listening(hub, alice, bob)
    user = await User.objects.aget(pk=bob.user.pk)
    user.first_name = "Bob"
    await user.asave()
    before = len(capture.chunks)
    await wait_until(lambda: len(capture.chunks) > before + 25, timeout=3)
    assert hub.session_for(alice.user.pk).listeners == 1
