"""Logging out ends the listens of that login only: the same user's listen on another
device, whose session still logs in, goes on (as its presence sockets do).

A logout used to revoke every listen of the user, on every device.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from streams import access
from tests.live.access_helpers import ENDED_WITHIN_S, assert_audio_stopped, listening
from tests.live.conftest import LiveClient, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_access_polling")]


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.DENOISE_MODEL = "identity"


async def test_logout_on_one_device_keeps_the_other_devices_listen(clients, hub):
    alice, bob_laptop, _, _ = clients
    bob_phone = await LiveClient(bob_laptop.user).setup()
    try:
        _, laptop_capture = await listening(hub, alice, bob_laptop)
        session = hub.session_for(alice.user.pk)

        assert (await bob_phone.call("post", "/api/auth/logout/")).status_code == 204
        # The phone's logout is sent like any: a listen of the phone's login would end
        # within this time (test_revoke_logout.py); the laptop's must not.
        heard = len(laptop_capture.chunks)
        await wait_until(lambda: len(laptop_capture.chunks) > heard + 50, timeout=5)
        assert session.listeners == 1, "the laptop's listen ended with the phone's logout"

        # Logging out on the laptop ends the laptop's listen.
        assert (await bob_laptop.call("post", "/api/auth/logout/")).status_code == 204
        await wait_until(lambda: session.listeners == 0, timeout=ENDED_WITHIN_S)
        await assert_audio_stopped(laptop_capture)
    finally:
        await bob_phone.close()


async def test_a_logout_without_a_named_login_ends_every_listen(clients, hub):
    """Deactivation (no request, no login) still ends the user's listens everywhere."""
    alice, bob, _, _ = clients
    _, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)
    await sync_to_async(access.revoke_listener)(bob.user.pk)
    await wait_until(lambda: session.listeners == 0, timeout=ENDED_WITHIN_S)
    await assert_audio_stopped(capture)
