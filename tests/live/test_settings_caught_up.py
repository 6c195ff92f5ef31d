"""A settings change stored while the stream's host did not take it reaches the stream at
the host's next access check.

``PATCH /api/streams/settings/`` stores the change, then calls the process hosting the
stream. If that call is lost or not answered, the request answers 503, but the stream
kept running with the old values: a ``share_raw`` turned off left a friend on the raw
microphone until the stream ended. Now each look of the access watch reads the stored
settings of its streams and applies what a stream does not run with, unless a newer
change reached the stream while it read.
"""

from __future__ import annotations

import numpy as np
import pytest
from asgiref.sync import sync_to_async

from streams import services
from tests.live.conftest import ArrayTrack

pytestmark = pytest.mark.django_db(transaction=True)


def tone(seconds: float = 20.0) -> ArrayTrack:
    t = np.arange(int(48_000 * seconds)) / 48_000
    return ArrayTrack((0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32))


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


async def store(user, **change):
    """Store settings as a PATCH would, without telling the stream (its call was lost)."""
    fields = {"atten_lim_db": None, "model": None} | change
    await sync_to_async(services.do_update_settings)(user, **fields)


async def test_sharing_turned_off_while_the_host_did_not_answer_ends_raw_listening(clients, hub):
    alice, bob, _, _ = clients
    await alice.call("patch", "/api/streams/settings/", {"share_raw": True})
    assert (await alice.go_live(tone()))[0].status_code == 200
    resp, _ = await bob.listen("alice", level="raw")
    assert resp.status_code == 200 and resp.json()["level"] == "raw"
    session = hub.session_for(alice.user.pk)

    await store(alice.user, share_raw=False)
    assert session.listeners_at("raw")  # the stream did not hear of it

    assert await hub._access.catch_up_settings() == 1
    assert session.share_raw is False
    assert session.listeners_at("raw") == []
    assert [uid for _, uid in session.listeners_at("full")] == [bob.user.pk]
    assert await hub._access.catch_up_settings() == 0  # nothing left to catch up


async def test_an_attenuation_limit_the_host_did_not_take_is_applied(clients, hub):
    alice = clients[0]
    assert (await alice.go_live(tone()))[0].status_code == 200
    session = hub.session_for(alice.user.pk)
    before = session.atten_lim_db
    await store(alice.user, atten_lim_db=12.0)
    assert session.atten_lim_db == before

    await hub._access.check()  # the whole look, as its timer runs it
    assert session.atten_lim_db == 12.0


async def test_a_change_that_reaches_the_stream_while_the_watch_reads_is_kept(
    clients, hub, monkeypatch
):
    alice = clients[0]
    assert (await alice.go_live(tone()))[0].status_code == 200
    session = hub.session_for(alice.user.pk)
    await store(alice.user, atten_lim_db=30.0)  # what the watch will read
    read = hub._access._stored

    async def read_then_newer_change(user_ids):
        stored = await read(user_ids)
        # A PATCH stored and applied 20 dB meanwhile: the read above is stale.
        await store(alice.user, atten_lim_db=20.0)
        await hub.settings_here(alice.user.pk, 20.0, None)
        return stored

    monkeypatch.setattr(hub._access, "_stored", read_then_newer_change)
    assert await hub._access.catch_up_settings() == 0
    assert session.atten_lim_db == 20.0
