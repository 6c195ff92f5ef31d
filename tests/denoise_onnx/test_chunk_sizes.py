"""Output does not depend on how the input is chunked."""

from __future__ import annotations

import numpy as np
import pytest

from denoise.registry import create_denoiser

from .conftest import run_all


@pytest.mark.model
@pytest.mark.parametrize("name", ["dfn2", "dfn3-onnx"])
def test_chunk_size_independence(speech, name: str) -> None:
    _, _, noisy, _ = speech
    x = noisy[:96_000]
    reference = run_all(create_denoiser(name), x, 480)
    for chunk in (77, 960, 4801, None):
        assert np.array_equal(run_all(create_denoiser(name), x, chunk), reference), chunk


@pytest.mark.model
def test_single_sample_chunks(speech) -> None:
    _, _, noisy, _ = speech
    x = noisy[:4800]
    d = create_denoiser("dfn2")
    ones = np.concatenate([d.process(x[i : i + 1]) for i in range(x.size)])
    whole = create_denoiser("dfn2").process(x)
    assert ones.size == whole.size == 4800
    assert np.array_equal(ones, whole)
