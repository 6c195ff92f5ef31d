"""A call that hangs until cancelled and then takes long to give up, as a channels-redis
call cancelled mid-read can take until its socket times out."""

from __future__ import annotations

import asyncio


class SlowUnwind:
    """``await hang()`` blocks until cancelled, then needs ``unwind_s`` to end."""

    def __init__(self, unwind_s: float) -> None:
        self.unwind_s = unwind_s
        self.calls = 0
        self.entered = asyncio.Event()
        self.unwound = asyncio.Event()

    async def hang(self) -> None:
        self.calls += 1
        self.entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(self.unwind_s)
            self.unwound.set()
            raise
