"""Streams share one set of ONNX Runtime sessions but keep independent state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from denoise.backends.onnx.backend import OnnxBackend
from denoise.registry import create_denoiser

from .conftest import run_all


def _backend(d) -> OnnxBackend:
    backend = d._backend
    assert isinstance(backend, OnnxBackend)
    return backend


@pytest.mark.model
def test_streams_share_sessions(speech) -> None:
    a, b = create_denoiser("dfn2"), create_denoiser("dfn2")
    ba, bb = _backend(a), _backend(b)
    assert ba.model is bb.model
    assert ba.model.enc.session is bb.model.enc.session
    so = ba.model.enc.session.get_session_options()
    assert (so.intra_op_num_threads, so.inter_op_num_threads) == (1, 1)
    assert ba.state.enc[0] is not bb.state.enc[0]


@pytest.mark.model
def test_interleaved_streams_are_independent(speech) -> None:
    clean, _, noisy, _ = speech
    x1, x2 = noisy[:48_000], clean[:48_000] + 0.01 * noisy[:48_000]
    alone1 = create_denoiser("dfn2").process(x1)
    alone2 = create_denoiser("dfn2").process(x2)
    d1, d2 = create_denoiser("dfn2"), create_denoiser("dfn2")
    out1, out2 = [], []
    for i in range(0, 48_000, 960):  # alternate hops between the two streams
        out1.append(d1.process(x1[i : i + 960]))
        out2.append(d2.process(x2[i : i + 960]))
    assert np.array_equal(np.concatenate(out1), alone1)
    assert np.array_equal(np.concatenate(out2), alone2)


@pytest.mark.model
def test_parallel_streams_in_threads(speech) -> None:
    _, _, noisy, _ = speech
    inputs = [np.roll(noisy, k * 4801)[:96_000] for k in range(4)]
    expected = [run_all(create_denoiser("dfn3-onnx"), x, 960) for x in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda x: run_all(create_denoiser("dfn3-onnx"), x, 960), inputs))
    for e, g in zip(expected, got, strict=True):
        assert np.array_equal(e, g)
