"""A process shutting down takes no new stream and leaves none behind.

While its live streams are being finalized (recordings saved, which can take long), the
process still beats: it must not offer the slots they free to placement, and a start
forwarded to it meanwhile is refused with 429 (the forwarding process tries the next
one). A stream being set up when shutdown began ends itself instead of being installed
after the sessions were stopped: it would run on a runtime that was shut down, and its
row would stay live until another process swept it.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from aiortc import RTCPeerConnection

from fc25_denoise.api import TooMany
from streams import services
from streams.models import ActiveStream
from tests.live.conftest import tone_track, wait_until
from tests.rtc import client_pc

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]

HOLD_S = 30.0  # liveness bound only: the test opens the gate long before


async def offer_of(pc: RTCPeerConnection):
    pc.addTrack(tone_track())
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription


async def test_a_start_during_shutdown_is_refused_and_no_room_is_offered(clients, hub, monkeypatch):
    alice, _, carol, _ = clients
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    gate, saving = threading.Event(), threading.Event()
    real_end = services.do_end_stream

    def slow_end(*args, **kwargs):  # alice's recording takes a while to save
        saving.set()
        gate.wait(HOLD_S)
        return real_end(*args, **kwargs)

    monkeypatch.setattr(services, "do_end_stream", slow_end)
    closing = asyncio.ensure_future(hub.shutdown())
    pc = client_pc()
    try:
        await wait_until(saving.is_set)
        channel = await hub.node.channel()
        assert hub._load(channel).full  # the beat offers no slot to placement
        with pytest.raises(TooMany):  # what a start forwarded here gets
            await hub.start_here(carol.user, await offer_of(pc))
    finally:
        gate.set()
        await closing
        await pc.close()
    assert hub.session_for(carol.user.pk) is None
    assert not await ActiveStream.objects.aexists()


async def test_a_stream_set_up_while_shutting_down_ends_itself(clients, hub, monkeypatch):
    alice = clients[0]
    entered, release = asyncio.Event(), asyncio.Event()
    real_create = hub.runtime.create_denoiser

    async def slow_create(*args, **kwargs):  # a model load under way
        entered.set()
        await release.wait()
        return await real_create(*args, **kwargs)

    monkeypatch.setattr(hub.runtime, "create_denoiser", slow_create)
    going = asyncio.ensure_future(alice.go_live(tone_track()))
    await asyncio.wait_for(entered.wait(), 10)
    closing = asyncio.ensure_future(hub.shutdown())
    await asyncio.sleep(0.2)  # the shutdown found no installed session to stop
    release.set()
    resp, _ = await asyncio.wait_for(going, 20)
    await asyncio.wait_for(closing, 20)
    assert resp.status_code == 429, resp.content
    assert hub.session_for(alice.user.pk) is None and not hub._sessions
    assert not await ActiveStream.objects.aexists()


async def test_shutdown_waits_for_a_failed_start_to_end_its_row(clients, hub, monkeypatch):
    """The slot of a start refused at shutdown is freed before its row is ended: shutdown
    returns only once the row is gone too (the database lanes close right after it)."""
    alice = clients[0]
    entered, release = asyncio.Event(), asyncio.Event()
    ending, finish = threading.Event(), threading.Event()
    real_create = hub.runtime.create_denoiser
    real_end = services.do_end_stream

    async def slow_create(*args, **kwargs):
        entered.set()
        await release.wait()
        return await real_create(*args, **kwargs)

    def slow_end(*args, **kwargs):  # a slow database: the failed start's end takes a while
        ending.set()
        finish.wait(HOLD_S)
        return real_end(*args, **kwargs)

    monkeypatch.setattr(hub.runtime, "create_denoiser", slow_create)
    monkeypatch.setattr(services, "do_end_stream", slow_end)
    going = asyncio.ensure_future(alice.go_live(tone_track()))
    await asyncio.wait_for(entered.wait(), 10)
    closing = asyncio.ensure_future(hub.shutdown())
    await asyncio.sleep(0.2)
    release.set()
    await wait_until(ending.is_set, timeout=10)
    done, _ = await asyncio.wait({closing}, timeout=3)
    assert not done, "shutdown returned while the failed start was still ending its row"
    finish.set()
    await asyncio.wait_for(closing, 20)
    assert not await ActiveStream.objects.aexists()
    resp, _ = await asyncio.wait_for(going, 20)
    assert resp.status_code == 429, resp.content
