"""Server stop ends every thread lane: lanes register themselves, and the ASGI shutdown
stops them all, so a lane added later cannot be left running. Lanes made with
``keep_queued`` still run what was queued (bookkeeping); the others drop it."""

from __future__ import annotations

import threading
import uuid

import pytest

from fc25_denoise.threads import ThreadLane, lanes


def fresh_lane(**kwargs: bool) -> ThreadLane:
    return ThreadLane(f"test-lane-{uuid.uuid4().hex[:8]}", 1, **kwargs)


@pytest.mark.django_db(transaction=True)
async def test_the_server_stop_ends_every_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    from fc25_denoise import asgi, urls  # urls: the views' lanes (a request imports them)

    # Not this process's job runner and live hub: later tests still use them.
    monkeypatch.setattr(asgi, "existing_job_runner", lambda: None)
    monkeypatch.setattr(asgi, "existing_live_hub", lambda: None)

    assert urls.urlpatterns
    names = {lane.name for lane in lanes()}
    expected = {"live-db", "heartbeat", "readyz", "upload-spool", "session-check"}
    expected |= {"socket-db", "download"}
    assert expected <= names, names
    late = fresh_lane()  # a lane no shutdown code names
    for lane in lanes():
        lane.executor()
    assert all(lane.running for lane in lanes())

    await asgi.shutdown()

    assert not late.running
    assert [lane.name for lane in lanes() if lane.running] == []


def test_two_lanes_cannot_share_a_name() -> None:
    lane = fresh_lane()
    with pytest.raises(ValueError, match="exists already"):
        ThreadLane(lane.name, 1)


@pytest.mark.parametrize("keep_queued", [True, False])
def test_queued_calls_run_at_shutdown_only_on_a_keeping_lane(keep_queued: bool) -> None:
    lane = fresh_lane(keep_queued=keep_queued)
    release = threading.Event()
    queued_ran = threading.Event()
    lane.submit(release.wait, 10)  # holds the lane's one thread
    lane.submit(queued_ran.set)  # queued behind it
    lane.shutdown()
    release.set()
    assert queued_ran.wait(2 if keep_queued else 0.5) is keep_queued  # dropped: never runs
