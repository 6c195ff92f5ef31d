"""One friend cannot flood a stream with listens being set up: at most two of their
listens to one stream are answered at once (two tabs pressing Listen together), more get
429, and those being set up count against the stream's listener limit (only an answered
one is replaced by the next, so it alone is not counted). Each listen being set up holds
a peer connection, its certificate and its ICE on the stream's event loop.

The offers go to ``hub.listen`` as the view hands them: Django's test client runs
requests through the sync middleware one at a time, where the server runs each in its
own context."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fc25_denoise.api import TooMany
from streams.hub import LiveHub
from streams.outcomes import Listening
from streams.webrtc import session as session_module
from tests.live.conftest import ArrayTrack, LiveClient, wait_until
from tests.live.test_listener_codec import tone
from tests.rtc import client_pc

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]


class HeldAnswers:
    """Stands in for the session's ``apply_client_offer``: every answer waits at the gate."""

    def __init__(self) -> None:
        self.waiting = 0
        self.gate = asyncio.Event()
        self._real = session_module.apply_client_offer

    async def __call__(self, pc: Any, offer: Any) -> Any:
        self.waiting += 1
        await self.gate.wait()
        return await self._real(pc, offer)


async def offer_from(client: LiveClient) -> Any:
    pc = client_pc()
    client.pcs.append(pc)
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription


async def listen(hub: LiveHub, broadcaster: LiveClient, listener: LiveClient) -> Any:
    """``listener``'s listen to ``broadcaster``: its Listening, or the TooMany raised."""
    offer = await offer_from(listener)
    try:
        key = listener.http.cookies["sessionid"].value
        return await hub.listen(broadcaster.user.pk, listener.user.pk, offer, session_key=key)
    except TooMany as exc:
        return exc


async def test_parallel_listens_from_one_friend_are_capped(
    clients: list[LiveClient], hub: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, _, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone(30.0)))
    assert resp.status_code == 200, resp.content
    session = hub.session_for(alice.user.pk)
    held = HeldAnswers()
    monkeypatch.setattr(session_module, "apply_client_offer", held)

    listens = [asyncio.create_task(listen(hub, alice, bob)) for _ in range(8)]
    await wait_until(lambda: sum(t.done() for t in listens) >= 6)
    refused = [t.result() for t in listens if t.done()]
    assert all(isinstance(r, TooMany) for r in refused), refused
    assert "still being set up" in str(refused[0])
    assert held.waiting == 2 and session.listeners == 2  # no peer for the refused ones

    held.gate.set()
    outcomes = [await t for t in listens]
    assert sum(isinstance(o, Listening) for o in outcomes) == 2, outcomes
    await wait_until(lambda: len(session.listener_ids(bob.user.pk)) == 1)  # the last answered
    # Answered, the next listen may be set up again (it replaces the one playing).
    assert isinstance(await listen(hub, alice, bob), Listening)


async def test_listens_being_set_up_count_against_the_limit(
    clients: list[LiveClient], hub: LiveHub, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.MAX_LISTENERS_PER_STREAM = 2
    alice, bob, _, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone(30.0)))
    assert resp.status_code == 200, resp.content
    assert isinstance(await listen(hub, alice, alice), Listening)  # one slot taken
    held = HeldAnswers()
    monkeypatch.setattr(session_module, "apply_client_offer", held)
    first = asyncio.create_task(listen(hub, alice, bob))
    await wait_until(lambda: held.waiting == 1)
    # Bob's second listen would be a third peer: his first, being set up, is not yet one
    # an answer replaces, so it counts.
    second = await asyncio.wait_for(listen(hub, alice, bob), 10)  # refused, not held
    assert isinstance(second, TooMany) and "listeners" in str(second), second
    held.gate.set()
    assert isinstance(await first, Listening)
    assert hub.session_for(alice.user.pk).listeners == 2
