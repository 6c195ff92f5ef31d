"""A request body larger than FILE_UPLOAD_MAX_MEMORY_SIZE is written to disk, and its
file closed (so removed), on the ``upload-spool`` threads, never on the event loop (a slow
disk would stall every live stream of the process), and is read back whole. A client that disconnects mid-body gets
RequestAborted and its spooled file is closed (so removed)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django.core.exceptions import RequestAborted

from fc25_denoise import bodyspool
from fc25_denoise.bodyspool import SpooledBody, SpooledBodyHandler

CHUNK = 64 * 1024


class WatchedSpool(SpooledBody):
    """A body file that notes the thread of each write and of its close."""

    made: list[WatchedSpool] = []

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size)
        self.writers: list[tuple[int, str]] = []  # (bytes before the write, thread name)
        self.size = 0
        self.closed_on: str | None = None
        WatchedSpool.made.append(self)

    def write(self, data: Any) -> int:
        self.writers.append((self.size, threading.current_thread().name))
        self.size += len(data)
        return super().write(data)

    def close_now(self) -> None:
        self.closed_on = threading.current_thread().name
        super().close_now()


async def closed(spool: WatchedSpool) -> str:
    for _ in range(200):  # closed on the lane, not awaited
        if spool.closed_on is not None:
            return spool.closed_on
        await asyncio.sleep(0.01)
    raise AssertionError("never closed")


class Client:
    """An ASGI receive that sends ``chunks`` body chunks, then disconnects if ``vanish``."""

    def __init__(self, chunks: int, *, vanish: bool = False) -> None:
        self.left = chunks
        self.vanish = vanish
        self.sent = bytearray()

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(0)
        if self.left == 0 and self.vanish:
            return {"type": "http.disconnect"}
        self.left -= 1
        chunk = bytes([self.left % 251]) * CHUNK
        self.sent += chunk
        more = self.left > 0 or self.vanish
        return {"type": "http.request", "body": chunk, "more_body": more}


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch, settings: Any) -> type[WatchedSpool]:
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * CHUNK
    WatchedSpool.made = []
    monkeypatch.setattr(bodyspool, "SpooledBody", WatchedSpool)
    return WatchedSpool


async def test_the_disk_part_is_written_off_the_loop(watched):
    client = Client(16)
    body = await SpooledBodyHandler().read_body(client.receive)
    (spool,) = watched.made
    loop_thread = threading.current_thread().name
    for before, thread in spool.writers:
        on_loop = thread == loop_thread
        assert on_loop == (before + CHUNK <= 4 * CHUNK), (before, thread)
    assert any(t.startswith("upload-spool") for _, t in spool.writers)
    # The disk part (12 chunks, 768 KB) goes in one write, not a thread hop per chunk.
    assert sum(t.startswith("upload-spool") for _, t in spool.writers) == 1
    assert body.read() == bytes(client.sent)
    body.close()  # as Django's handler does, on the loop, once the response is sent
    assert (await closed(spool)).startswith("upload-spool")


async def test_a_small_body_stays_in_memory_on_the_loop(watched):
    client = Client(2)
    body = await SpooledBodyHandler().read_body(client.receive)
    (spool,) = watched.made
    assert {t for _, t in spool.writers} == {threading.current_thread().name}
    assert body.read() == bytes(client.sent)


async def test_a_client_that_vanishes_mid_body_leaves_no_file(watched):
    client = Client(8, vanish=True)
    with pytest.raises(RequestAborted):
        await SpooledBodyHandler().read_body(client.receive)
    (spool,) = watched.made
    assert (await closed(spool)).startswith("upload-spool")
