"""Streaming speech denoising engine (no Django here).

Public API for the live path and the CLI::

    from denoise import create_denoiser, available_models, check_model
    d = create_denoiser("dfn3", atten_lim_db=100)   # one per stream
    out = d.process(chunk_48k_mono_float32)         # any chunk length, blocking
    out = await d.process_async(chunk)              # from asyncio, any model (see base)
    d.set_atten_lim(12); d.flush(); d.close()

Batching many streams of an ONNX model into shared runs (see ``denoise.batching``)::

    sched = BatchScheduler()                        # one per process/pool
    d = create_denoiser("dfn3-onnx", scheduler=sched)
    out = await d.process_async(chunk)              # no thread per stream
"""

from .base import DenoiseError, Denoiser, ModelLoadError, UnknownModelError
from .batching import BatchScheduler
from .registry import DEFAULT_MODEL, available_models, check_model, create_denoiser

__all__ = [
    "DEFAULT_MODEL",
    "BatchScheduler",
    "DenoiseError",
    "Denoiser",
    "ModelLoadError",
    "UnknownModelError",
    "available_models",
    "check_model",
    "create_denoiser",
]
