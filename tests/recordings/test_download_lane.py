"""Downloads whose storage reads hang (a stalled S3 range read) hold only the download
lane's threads: the loop's default executor, which other work shares (aioice resolves
STUN host names there), still answers at once. The reads finish once storage answers."""

from __future__ import annotations

import asyncio
import threading

from recordings.ranges import DOWNLOADS, Span, stream_bytes


class HangingStore:
    """A stored file whose reads wait until ``release`` is set (then return zeros)."""

    def __init__(self, release: threading.Event) -> None:
        self.size = 1000
        self.release = release
        self.closed = False

    def read(self, offset: int, length: int) -> bytes:
        self.release.wait(30)
        return bytes(length)

    def close(self) -> None:
        self.closed = True


async def _always() -> bool:
    return True


async def test_hung_downloads_leave_the_default_executor_free():
    release = threading.Event()
    stores = [HangingStore(release) for _ in range(DOWNLOADS.threads + 4)]
    responses = [
        stream_bytes(
            s, Span(0, 999, False, 1000), "a.wav", etag='"x"', download=False, may_read=_always
        )
        for s in stores
    ]
    bodies = [r.streaming_content for r in responses]  # one iterator each, kept
    firsts = [asyncio.ensure_future(anext(aiter(b))) for b in bodies]
    try:
        await asyncio.sleep(0.2)  # every lane thread is now waiting on storage
        assert not any(f.done() for f in firsts)
        loop = asyncio.get_running_loop()
        assert await asyncio.wait_for(loop.run_in_executor(None, lambda: "free"), 2) == "free"
    finally:
        release.set()
    assert [len(await f) for f in firsts] == [1000] * len(stores)
    for b in bodies:
        assert [c async for c in b] == []  # the whole span was the first chunk
    assert all(s.closed for s in stores)
