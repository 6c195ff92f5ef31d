"""Every way a stream ends saves the recording, clears live state and tells friends."""

import asyncio

import numpy as np
import pytest
import soundfile as sf
from channels.db import database_sync_to_async
from django.conf import settings as django_settings

from recordings.models import StreamRecording
from streams.models import ActiveStream
from tests.live.conftest import ArrayTrack, wait_until
from tests.presence.helpers import connect, wait_for
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity_model(settings):
    settings.DENOISE_MODEL = "identity"
    settings.WEBRTC_MEDIA_TIMEOUT = 1.0


def tone(seconds: float = 60.0) -> np.ndarray:
    t = np.arange(int(48_000 * seconds)) / 48_000
    return (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


async def streamed(hub, user, seconds: float = 1.5) -> None:
    """Wait until ``user``'s stream has received ``seconds`` of audio (20 ms frames)."""
    await wait_until(lambda: hub.session_for(user.pk) is not None)
    session = hub.session_for(user.pk)
    await wait_until(lambda: session.stats["frames"] >= seconds * 50)


async def _assert_saved(min_seconds: float) -> StreamRecording:
    rec = await StreamRecording.objects.select_related("owner").aget()
    assert rec.owner.username == "alice"
    audio, rate = sf.read(django_settings.MEDIA_ROOT / rec.file.name, dtype="float32")
    assert len(audio) / rate == pytest.approx(rec.duration, abs=0.01)
    assert rec.duration >= min_seconds
    assert np.sqrt(np.mean(audio[rate // 2 :] ** 2)) > 0.1  # the tone, not silence
    assert not await ActiveStream.objects.aexists()
    assert not (await User.objects.aget(username="alice")).is_streaming
    return rec


async def test_stop_saves_recording_and_tells_friends(clients, hub):
    alice, _, _, _ = clients
    bob_ws = await connect("bob")
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200
    assert (await wait_for(bob_ws, "streaming_status"))["is_streaming"] is True
    assert (await alice.call("get", "/api/auth/me/")).json()["is_streaming"] is True
    await streamed(hub, alice.user)
    resp = await alice.call("post", "/api/streams/stop/")
    assert resp.status_code == 200
    rec = await _assert_saved(1.0)
    assert resp.json()["recording_id"] == rec.pk
    assert (await wait_for(bob_ws, "streaming_status"))["is_streaming"] is False
    await bob_ws.disconnect()


async def test_broadcaster_vanishes_mid_stream(clients, hub):
    """The browser stops sending without a word (crash, network gone): media timeout ends it."""
    alice, _, _, _ = clients
    bob_ws = await connect("bob")
    track = ArrayTrack(tone())
    await alice.go_live(track)
    assert (await wait_for(bob_ws, "streaming_status"))["is_streaming"] is True
    await streamed(hub, alice.user)
    track.paused = True
    event = await wait_for(bob_ws, "streaming_status", timeout=10)
    assert event["is_streaming"] is False
    await _assert_saved(1.0)
    await bob_ws.disconnect()


async def test_broadcaster_closes_connection(clients, hub):
    alice, _, _, _ = clients
    _, pc = await alice.go_live(ArrayTrack(tone()))
    await streamed(hub, alice.user)
    await pc.close()  # tab closed: DTLS goes away
    for _ in range(100):
        if await StreamRecording.objects.aexists() and not await ActiveStream.objects.aexists():
            break
        await asyncio.sleep(0.1)
    await _assert_saved(1.0)


async def test_server_shutdown_finalizes(clients, hub):
    alice, _, _, _ = clients
    await alice.go_live(ArrayTrack(tone()))
    await streamed(hub, alice.user)
    await hub.shutdown()
    await _assert_saved(1.0)


async def test_stale_rows_cleared_at_start(alice, bob, tmp_path, settings):
    """A server that died mid-stream: its partial WAV becomes a recording at next start."""
    from recordings.storage import spool_paths
    from streams.services import clear_stale_streams

    stream = await ActiveStream.objects.acreate(user=alice)
    await User.objects.filter(pk__in=[alice.pk, bob.pk]).aupdate(is_streaming=True)
    paths = spool_paths(alice.pk, stream.session_id)
    paths.cleaned.parent.mkdir(parents=True)
    sf.write(paths.cleaned, tone(2.0), 48_000, subtype="PCM_16")
    sf.write(paths.raw, tone(2.0), 48_000, subtype="PCM_16")
    cleared, recovered = await database_sync_to_async(clear_stale_streams)()
    assert (cleared, recovered) == (1, 1)
    rec = await StreamRecording.objects.aget()
    assert rec.duration == pytest.approx(2.0, abs=0.01)
    assert rec.file.name.endswith("-cleaned.flac") and rec.raw_file.name.endswith("-raw.flac")
    assert not paths.cleaned.exists() and not paths.raw.exists()
    assert not await ActiveStream.objects.aexists()
    assert not await User.objects.filter(is_streaming=True).aexists()
