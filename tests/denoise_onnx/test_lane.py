"""The lone-stream fast path (``onnx.lane.Lane``) equals the vectorised core for one stream."""

from __future__ import annotations

import numpy as np
import pytest

from denoise.backends.onnx.core import StreamCore, core_for
from denoise.backends.onnx.model import UPSTREAM_GATING, Gating

from .conftest import ONNX_MODELS, onnx_model

HOP = 480


def _frames(noisy: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Noisy speech, then a near-silent stretch, then clean speech: every gating stage."""
    x = np.concatenate([noisy[:48_000], 1e-4 * noisy[48_000:72_000], clean[72_000:120_000]])
    return x[: x.size // HOP * HOP].reshape(-1, HOP).astype(np.float32)


def _core(name: str) -> StreamCore:
    core = core_for(onnx_model(name))
    assert core.use_lanes
    return core


@pytest.mark.model
@pytest.mark.parametrize("name", ONNX_MODELS)
@pytest.mark.parametrize(
    ("gain", "gating"), [(None, None), (0.25, None), (0.1, UPSTREAM_GATING)], ids=str
)
def test_lane_equals_vectorised_core(
    speech, name: str, gain: float | None, gating: Gating | None
) -> None:
    clean, _, noisy, _ = speech
    core = _core(name)
    fast, ref = core.new_state(gain, gating), core.new_state(gain, gating)
    stages = set()
    for hop in _frames(noisy, clean):
        y, lsnr = core.process_one(fast, hop)
        y_ref, lsnr_ref = core.process_batch([ref], hop[None])
        assert np.array_equal(y, y_ref[0])
        assert lsnr == float(lsnr_ref[0])
        stages.add((True, False, True) if gating is None else gating.stages(lsnr))
    assert fast.lane is not None and ref.lane is None
    for field in ("ana", "syn", "mean_norm", "unit_norm", "xh", "yh", "cq", "cq_on"):
        assert np.array_equal(getattr(fast, field), getattr(ref, field)), field
    for a, b in zip([*fast.enc, *fast.erb, *fast.df], [*ref.enc, *ref.erb, *ref.df], strict=True):
        assert np.array_equal(a, b)
    if gating is not None:  # the input really went through zero-mask, mask-only and full frames
        assert len(stages) >= 3, stages


@pytest.mark.model
@pytest.mark.parametrize("name", ["dfn3-onnx", "dfn2"])
def test_streams_move_between_lane_and_batches(speech, name: str) -> None:
    """A stream alternating lone hops and batched hops keeps its state (the lane reloads it)."""
    clean, _, noisy, _ = speech
    frames = _frames(noisy, clean)[:200]
    other_frames = np.roll(frames, 7, axis=0)
    core = _core(name)
    a, b = core.new_state(0.1), core.new_state()
    solo_a, solo_b = core.new_state(0.1), core.new_state()
    for k, (x, z) in enumerate(zip(frames, other_frames, strict=True)):
        if k % 7 < 3:  # a few hops together, then alone
            y, _ = core.process([a, b], np.stack([x, z]))
            ya, yb = y[0], y[1]
        else:
            ya, _ = core.process_one(a, x)
            yb, _ = core.process_one(b, z)
        assert np.abs(ya - core.process_one(solo_a, x)[0]).max() < 1e-5
        assert np.abs(yb - core.process_one(solo_b, z)[0]).max() < 1e-5
    assert a.lane is not None and b.lane is not None and a.lane is not b.lane
