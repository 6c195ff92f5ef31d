"""Streaming speech denoising engine (no Django here).

Public API for the live path and the CLI::

    from denoise import create_denoiser, available_models, check_model
    d = create_denoiser("dfn3", atten_lim_db=100)   # one per stream
    out = d.process(chunk_48k_mono_float32)         # any chunk length
    d.set_atten_lim(12); d.flush(); d.close()
"""

from .base import DenoiseError, Denoiser, ModelLoadError, UnknownModelError
from .registry import DEFAULT_MODEL, available_models, check_model, create_denoiser

__all__ = [
    "DEFAULT_MODEL",
    "DenoiseError",
    "Denoiser",
    "ModelLoadError",
    "UnknownModelError",
    "available_models",
    "check_model",
    "create_denoiser",
]
