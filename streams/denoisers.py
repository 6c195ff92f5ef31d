"""A new stream's denoiser, built on the runtime's setup threads without leaking it when
the request that asked for it goes away."""

from __future__ import annotations

import asyncio

from denoise.base import DenoiseError, Denoiser
from fc25_denoise.api import ApiError

from .webrtc.runtime import LiveRuntime
from .webrtc.stream import StreamLog


def _close_unclaimed(building: asyncio.Future[Denoiser]) -> None:
    """(Done callback.) Close the denoiser of a go-live cancelled while it was built.

    On the loop, not the setup threads: a denoiser that never processed audio has no hop
    in flight and no worker thread to wait for, so closing it only leaves its scheduler
    (or frees its state). Left open, a batched one stays counted by the scheduler and
    every batch waits ``batch_wait_ms`` for its hops.
    """
    if building.cancelled() or building.exception() is not None:
        return  # nothing was built (an error nobody awaits any more is dropped here)
    building.result().close()


async def build_denoiser(
    runtime: LiveRuntime, model: str, atten_lim_db: float, log: StreamLog
) -> Denoiser:
    """A new stream's denoiser; the caller owns it (and closes it if the stream fails).

    Cancelling the caller (Django cancels the view when the client disconnects) does
    not stop the build, which runs on a setup thread: the denoiser it returns, held by
    nobody, is closed when it arrives.

    Raises:
        ApiError: 503, the model cannot be loaded.
        CancelledError: the caller was cancelled.
    """
    building = asyncio.ensure_future(runtime.create_denoiser(model, atten_lim_db))
    try:
        return await asyncio.shield(building)
    except asyncio.CancelledError:
        building.add_done_callback(_close_unclaimed)
        raise
    except DenoiseError as exc:
        log.error("cannot start the stream: model %s: %s", model, exc)
        raise ApiError(503, f"Noise removal is unavailable: {exc}") from None
