"""A storage that never answers holds one /readyz thread, however often /readyz is asked,
and neither the live path's database calls nor the heartbeat wait behind it; the
heartbeat does not wait behind a burst of live calls either."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django.test import RequestFactory

from fc25_denoise import health
from streams.dbtask import HEARTBEAT, LIVE_DB, db

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stuck_storage(monkeypatch: pytest.MonkeyPatch, settings: Any):
    release = threading.Event()
    entered: list[int] = []

    def hang() -> None:
        entered.append(threading.get_ident())
        release.wait(30)

    settings.DENOISE_MODEL = "identity"
    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.2)
    monkeypatch.setattr(health, "_storage", hang)
    yield entered
    release.set()


async def test_readyz_spam_holds_one_thread_and_starves_nothing(stuck_storage):
    factory = RequestFactory()
    for _ in range(3):  # rounds of concurrent requests, each past the check's timeout
        answers = await asyncio.gather(*(health.readyz(factory.get("/readyz")) for _ in range(8)))
        assert {resp.status_code for resp in answers} == {503}
    assert len(stuck_storage) == 1  # one run of the stuck check, awaited by all 24 requests
    loop = asyncio.get_running_loop()
    # The default executor, the live path's lane and the heartbeat's all answer at once.
    assert await asyncio.wait_for(loop.run_in_executor(None, lambda: 1), 2) == 1
    assert await asyncio.wait_for(db(lambda: 2), 2) == 2
    assert await asyncio.wait_for(db(lambda: 3, lane=HEARTBEAT), 2) == 3


async def test_the_heartbeat_does_not_queue_behind_live_calls():
    release = threading.Event()
    try:
        busy = [asyncio.ensure_future(db(release.wait, 30)) for _ in range(LIVE_DB.threads * 2)]
        await asyncio.sleep(0.1)
        assert await asyncio.wait_for(db(lambda: "beat", lane=HEARTBEAT), 2) == "beat"
    finally:
        release.set()
    assert all(await asyncio.gather(*busy))
