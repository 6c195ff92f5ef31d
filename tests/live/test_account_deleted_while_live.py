"""Deleting the account of a user who is live ends the stream at once: its listeners stop
hearing it (whatever order the deletion takes the friendship and stream rows in), nothing
is saved for the deleted account (its recordings went with it), and its spool files go."""

from __future__ import annotations

from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings

from recordings.models import StreamRecording
from streams.models import ActiveStream
from tests.live.access_helpers import (
    ENDED_WITHIN_S,
    assert_audio_stopped,
    listening,
    presence_socket,
)
from tests.live.conftest import wait_until
from tests.presence.helpers import wait_for
from users.models import User

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("identity_model", "no_access_polling"),
]


def delete_account(user_id: int) -> None:
    User.objects.get(pk=user_id).delete()  # as the admin's delete does


async def test_deleting_a_live_account_ends_its_stream(clients, hub):
    alice, bob, _, _ = clients
    bob_ws = await presence_socket(bob)
    listen_id, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)
    alice_id = alice.user.pk

    await sync_to_async(delete_account)(alice_id)

    await wait_until(lambda: hub.session_for(alice_id) is None, timeout=5)
    assert session.stopped
    event = await wait_for(bob_ws, "listen_ended", ENDED_WITHIN_S)
    assert event["listen_id"] == listen_id
    await assert_audio_stopped(capture)
    assert not await ActiveStream.objects.aexists()
    assert not await StreamRecording.objects.aexists()
    spool = Path(django_settings.SPOOL_DIR) / str(alice_id)
    assert not list(spool.glob("*.wav"))  # none left (glob of a missing folder is empty)
    await bob_ws.disconnect()
