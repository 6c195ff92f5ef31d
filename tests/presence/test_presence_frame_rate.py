"""A presence socket that sends frames faster than ``FRAMES_PER_S`` past ``FRAME_BURST`` is
closed with 4408; frames at the page's pace are answered as before.

Every frame was answered, however fast it came: one socket sending pings held 0.9 of a
core of the event loop that also runs every live stream.
"""

from __future__ import annotations

import logging

import pytest

import fc25_denoise.asgi  # noqa: F401  (sets logging up before caplog's handler is added)
from fc25_denoise.bucket import TokenBucket
from tests.presence.helpers import connect
from users import consumers
from users.consumers import CLOSE_TOO_FAST, FRAME_BURST

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def frozen(monkeypatch) -> list[float]:
    """The sockets' frame buckets read this clock (it moves only when a test moves it)."""
    now = [1000.0]
    monkeypatch.setattr(
        consumers, "TokenBucket", lambda rate, burst: TokenBucket(rate, burst, lambda: now[0])
    )
    return now


async def test_a_flood_of_pings_closes_the_socket(friends, caplog, frozen):
    caplog.set_level(logging.WARNING, logger="users.consumers")
    alice_ws = await connect("alice")
    for _ in range(FRAME_BURST):
        await alice_ws.send_json_to({"type": "ping"})
        assert await alice_ws.receive_json_from(timeout=2) == {"type": "pong"}
    await alice_ws.send_json_to({"type": "ping"})  # one past the burst, in the same instant
    assert await alice_ws.receive_output(timeout=2) == {
        "type": "websocket.close",
        "code": CLOSE_TOO_FAST,
    }
    assert "presence user=alice: frames too fast" in caplog.text


async def test_bad_frames_count_too(friends, frozen):
    alice_ws = await connect("alice")
    for _ in range(FRAME_BURST):
        await alice_ws.send_to(text_data="not json")
        assert (await alice_ws.receive_json_from(timeout=2))["type"] == "error"
    await alice_ws.send_to(text_data="not json")
    assert (await alice_ws.receive_output(timeout=2))["code"] == CLOSE_TOO_FAST


async def test_frames_at_the_pages_pace_are_answered(friends, frozen):
    alice_ws = await connect("alice")
    for _ in range(3 * FRAME_BURST):  # a ping every 25 s, as the page sends them
        frozen[0] += 25.0
        await alice_ws.send_json_to({"type": "ping"})
        assert await alice_ws.receive_json_from(timeout=2) == {"type": "pong"}
    await alice_ws.disconnect()
