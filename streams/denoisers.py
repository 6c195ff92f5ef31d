"""A new stream's denoiser, or the answer that says why there is none."""

from __future__ import annotations

from denoise.base import DenoiseError, Denoiser
from fc25_denoise.api import ApiError

from .webrtc.runtime import LiveRuntime
from .webrtc.stream import StreamLog


async def build_denoiser(
    runtime: LiveRuntime, model: str, atten_lim_db: float, log: StreamLog
) -> Denoiser:
    """A new stream's denoiser; the caller owns it (and closes it if the stream fails).

    A cancelled caller leaves nothing behind (:meth:`LiveRuntime.create_denoiser`).

    Raises:
        ApiError: 503, the model cannot be loaded (logged for the stream).
        CancelledError: the caller was cancelled.
    """
    try:
        return await runtime.create_denoiser(model, atten_lim_db)
    except DenoiseError as exc:
        log.error("cannot start the stream: model %s: %s", model, exc)
        raise ApiError(503, f"Noise removal is unavailable: {exc}") from None
