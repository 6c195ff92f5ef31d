"""Log lines about a live stream name the stream and its user (``[stream <id> user=<name>]``,
or ``[user=<name>]`` before the stream has an id), so one stream's story can be followed
across the processes' logs: a model that cannot be loaded, a process that does not answer
a forwarded request, a full process passing an offer on, a recording quota that fills up.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone

from denoise.base import DenoiseError
from fc25_denoise import runtime
from streams.models import ActiveStream, LiveNode
from streams.quota import QuotaWatch
from tests.live.conftest import tone_track

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


def lines(caplog: pytest.LogCaptureFixture, logger: str, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and words in r.getMessage()]


async def test_a_model_that_cannot_load(clients, hub, caplog):
    alice = clients[0]

    async def broken(model: str, atten: float) -> Any:
        raise DenoiseError("the model file is missing")

    hub.runtime.create_denoiser = broken
    resp, _ = await alice.go_live(tone_track())
    assert resp.status_code == 503
    [line] = lines(caplog, "streams.host", "cannot start the stream")
    assert line.startswith("[stream ") and "user=alice]" in line, line


async def test_a_process_that_does_not_answer(clients, hub, other, settings, caplog):
    alice, bob, _, _ = clients
    settings.NODE_CALL_TIMEOUT_S = 0.1
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    session_id = hub.session_for(alice.user.pk).session_id
    silent = await get_channel_layer().new_channel()  # a hung host: nobody reads it
    await ActiveStream.objects.filter(user=alice.user).aupdate(node_channel=silent)
    runtime.replace_live_hub(other)
    resp, _ = await bob.listen("alice")
    assert resp.status_code == 503
    [line] = lines(caplog, "streams.link", "did not answer 'listen'")
    assert line.startswith(f"[stream {session_id} user=alice listener={bob.user.pk}]"), line
    runtime.replace_live_hub(hub)
    await hub.stop(alice.user.pk, "test over")


async def test_a_full_process_passing_the_offer_on(clients, hub, other, settings, caplog):
    carol = clients[2]
    settings.MAX_LIVE_STREAMS = 1
    caplog.set_level(logging.INFO, "streams.hub")
    hub.node.single = False  # the two hubs can reach each other
    other._sessions[-1] = None  # full since its last heartbeat, which said 0/1
    await LiveNode.objects.acreate(
        channel=await other.node.channel(), heartbeat=timezone.now(), streams=0, capacity=1
    )
    hub._sessions[-2] = None  # this one too: 429 in the end
    try:
        resp, _ = await carol.go_live(tone_track())
    finally:
        hub._sessions.pop(-2)
    assert resp.status_code == 429
    [line] = lines(caplog, "streams.hub", "could not take the stream")
    assert line.startswith("[user=carol] server process "), line


class FullSession:
    user_id = 7
    session_id = uuid.uuid4()
    recorded_bytes = 1000
    stopped = False

    def stop_soon(self, reason: str) -> None:
        pass

    def limit_recording(self, max_bytes: int) -> None:
        pass


async def test_a_recording_quota_that_fills_up(caplog):
    async def notify(user_id: int, event: dict[str, Any]) -> None:
        pass

    watch = QuotaWatch(notify, every_s=3600)
    watch.track(FullSession(), 1000, 0, tag="[stream 1234 user=alice]")
    await watch.check()
    await watch.close()
    [line] = lines(caplog, "streams.quota", "recording quota full")
    assert line.startswith("[stream 1234 user=alice] "), line
