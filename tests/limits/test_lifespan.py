"""The ASGI lifespan: startup starts the job poller, shutdown finalizes live streams.

A server stopped with SIGTERM (Uvicorn) sends ``lifespan.shutdown``; the hub's
``shutdown`` is what ends every live stream and saves its recording (see
tests/live/test_live_end.py for what it does).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

from fc25_denoise import asgi, runtime
from users import events
from users.sessionstore import SESSION_SWEEP


class FakeRunner:
    def __init__(self) -> None:
        self.polling = False
        self.stopped = False

    def start_polling(self) -> None:
        self.polling = True

    def shutdown(self) -> None:
        self.stopped = True


class FakeNode:
    def __init__(self) -> None:
        self.started = False

    def start(self) -> None:
        self.started = True


class FakeHub:
    def __init__(self) -> None:
        self.shut_down = False
        self.node = FakeNode()

    async def shutdown(self) -> None:
        self.shut_down = True


async def run_lifespan(on_started: Any) -> list[str]:
    """Drive the lifespan protocol: startup, ``on_started()``, shutdown; the replies."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        replies.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            on_started()
            await inbox.put({"type": "lifespan.shutdown"})

    await inbox.put({"type": "lifespan.startup"})
    await asyncio.wait_for(asgi.application({"type": "lifespan"}, inbox.get, send), 5)
    return replies


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """Startup freezes the objects alive then; give them back to the collector afterwards."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeRunner, FakeHub]]:
    """Fake job runner and live hub in place of the process's own, for one test."""
    runner, hub = FakeRunner(), FakeHub()
    monkeypatch.setattr(asgi, "job_runner", lambda: runner)
    monkeypatch.setattr(asgi, "existing_job_runner", lambda: runner)
    monkeypatch.setattr(events, "_server_loop", None)
    previous = runtime.replace_live_hub(hub)  # type: ignore[arg-type]
    yield runner, hub
    runtime.replace_live_hub(previous)


async def test_lifespan_starts_and_stops_the_process_services(services):
    runner, hub = services
    seen: dict[str, bool] = {}

    def on_started() -> None:
        seen["polling"] = runner.polling
        seen["loop"] = events._server_loop is asyncio.get_running_loop()
        seen["hub_alive"] = not hub.shut_down
        seen["node_joined"] = hub.node.started
        seen["sessions_swept"] = SESSION_SWEEP.running

    replies = await run_lifespan(on_started)
    assert replies == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen == {
        "polling": True,
        "loop": True,
        "hub_alive": True,
        "node_joined": True,
        "sessions_swept": True,
    }
    assert hub.shut_down and runner.stopped and not SESSION_SWEEP.running


async def test_shutdown_without_a_hub_stops_the_runner(monkeypatch):
    runner = FakeRunner()
    monkeypatch.setattr(asgi, "job_runner", lambda: runner)
    monkeypatch.setattr(asgi, "existing_job_runner", lambda: runner)
    previous = runtime.replace_live_hub(None)
    try:
        replies = await run_lifespan(lambda: None)
    finally:
        runtime.replace_live_hub(previous)
    assert replies[-1] == "lifespan.shutdown.complete" and runner.stopped


async def test_startup_freezes_what_is_alive_out_of_the_collectors_way(services):
    frozen: list[int] = []
    assert gc.get_freeze_count() == 0
    await run_lifespan(lambda: frozen.append(gc.get_freeze_count()))
    assert frozen and frozen[0] > 10_000  # the modules, classes and functions of the process
