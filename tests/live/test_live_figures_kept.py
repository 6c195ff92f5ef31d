"""While a stream runs, its recording's figures (gaps, dB removed per second, model,
attenuation, start) are kept beside its spool every ``FC25_LIVE_FIGURES_EVERY`` seconds,
on a worker thread, so a process killed mid-stream loses at most those last seconds of
them; the recording's save removes them with the spool, and nothing is kept after it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from recordings.livesave import kept_details
from recordings.models import StreamRecording
from recordings.storage import spool_paths
from streams.webrtc.figures import FiguresKeeper
from tests.live.conftest import tone_track, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class FakeSpool:
    """What the keeper reads of a spool writer."""

    def __init__(self) -> None:
        self.received_samples = 0
        self.lost_samples = 0


class FakeMeter:
    def __init__(self) -> None:
        self.removed_per_second: list[float] = []


class Keep:
    """A ``keep`` that records its calls (and their thread), answers ``kept`` and, while
    ``hold`` is clear, blocks like a slow disk."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, list[float], float]] = []
        self.threads: set[str] = set()
        self.kept = True
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()

    def __call__(self, gap: float, db: list[float], atten: float) -> bool:
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        self.hold.wait(10)
        self.calls.append((gap, db, atten))
        return self.kept


async def wait_for_call(keep: Keep, count: int) -> None:
    await wait_until(lambda: len(keep.calls) >= count)


@pytest.fixture
def parts():
    with ThreadPoolExecutor(1, thread_name_prefix="spool-figures") as pool:
        spool, meter, keep = FakeSpool(), FakeMeter(), Keep()
        log = logging.getLogger("tests.figures")
        keeper = FiguresKeeper(keep, spool, meter, lambda: 18.0, pool, log, every_s=0.05)
        yield keeper, spool, meter, keep


async def test_kept_on_a_worker_thread_while_audio_comes(parts):
    keeper, spool, meter, keep = parts
    keeper.start()
    await asyncio.sleep(0.2)
    assert keep.calls == []  # no audio recorded yet: nothing to keep
    spool.received_samples, spool.lost_samples = 96_000, 4_800
    meter.removed_per_second = [6.0, 7.5]
    await wait_until(lambda: len(keep.calls) >= 1)
    assert keep.calls[0] == (0.1, [6.0, 7.5], 18.0)
    await asyncio.sleep(0.2)
    assert len(keep.calls) == 1  # nothing new since: not kept again
    spool.received_samples += 48_000
    meter.removed_per_second.append(8.0)
    await wait_until(lambda: len(keep.calls) >= 2)
    assert keep.calls[1] == (0.1, [6.0, 7.5, 8.0], 18.0)
    assert keep.threads and all(name.startswith("spool-figures") for name in keep.threads)
    await keeper.stop()


async def test_stop_waits_for_the_write_in_flight_and_keeps_nothing_after(parts):
    keeper, spool, _, keep = parts
    keep.hold.clear()  # the disk is slow
    spool.received_samples = 48_000
    keeper.start()
    await asyncio.get_running_loop().run_in_executor(None, keep.entered.wait, 5)
    stopping = asyncio.ensure_future(keeper.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()  # the save would remove the spool under that write
    keep.hold.set()
    await asyncio.wait_for(stopping, 5)
    assert len(keep.calls) == 1
    spool.received_samples += 48_000
    keeper.start()  # a stopped keeper starts no more
    await asyncio.sleep(0.2)
    assert len(keep.calls) == 1


async def test_a_refusing_disk_is_logged_once_and_its_return(parts, caplog):
    keeper, spool, _, keep = parts
    keeper.start()
    with caplog.at_level(logging.INFO, logger="tests.figures"):
        for refused in (True, True, True, False):
            keep.kept = not refused
            spool.received_samples += 48_000
            await wait_for_call(keep, len(keep.calls) + 1)
        await asyncio.sleep(0.1)
    await keeper.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "tests.figures"]
    assert len([m for m in lines if "cannot be kept" in m]) == 1, lines
    assert len([m for m in lines if "kept beside its spool again" in m]) == 1, lines


async def test_a_live_stream_keeps_its_figures_until_saved(clients, hub, settings):
    settings.DENOISE_MODEL = "identity"
    alice = clients[0]
    hub.runtime.config = dataclasses.replace(hub.runtime.config, figures_every=0.2)
    assert (await alice.go_live(tone_track(20)))[0].status_code == 200
    session = hub.session_for(alice.user.pk)
    paths = spool_paths(alice.user.pk, session.session_id)

    def kept_a_second() -> bool:
        kept = kept_details(paths)
        return kept is not None and len(kept.db_removed) >= 1

    await wait_until(kept_a_second)
    kept = kept_details(paths)
    assert kept is not None
    assert kept.model == "identity" and kept.atten_lim_db == session.atten_lim_db
    assert kept.gap_seconds == 0.0 and all(db == 0.0 for db in kept.db_removed)  # identity
    stopped = await alice.call("post", "/api/streams/stop/")
    assert stopped.status_code == 200
    rec = await StreamRecording.objects.aget(pk=stopped.json()["recording_id"])
    assert len(rec.db_removed) >= len(kept.db_removed)
    await asyncio.sleep(0.5)  # a keeper still running would write them again by now
    assert not paths.details.exists() and not paths.cleaned.exists()
