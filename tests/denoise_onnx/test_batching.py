"""Cross-stream batching: the scheduler on its own, and batched ONNX streams vs unbatched."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from denoise.backends.onnx.backend import OnnxBackend
from denoise.backends.onnx.model import UPSTREAM_GATING
from denoise.base import Denoiser
from denoise.batching import BatchScheduler
from denoise.registry import create_denoiser

from .conftest import onnx_model

JOIN_S = 60.0  # liveness bound only (a hang fails the test); no timing is asserted


class Doubler:
    """A fake model: doubles numbers and records the batch sizes it saw."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.sizes: list[int] = []
        self.fail_on = fail_on

    def run_batch(self, items: Sequence[Any]) -> list[Any]:
        self.sizes.append(len(items))
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError("boom")
        return [2 * x for x in items]


def _threads(targets: list[Any]) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_S)
        assert not t.is_alive(), "scheduler hung"


def test_scheduler_batches_all_registered_streams_in_order() -> None:
    sched = BatchScheduler(max_wait_ms=30_000, max_parallel=1)
    runner = Doubler()
    k, m = 5, 20
    results: dict[int, list[int]] = {}
    for _ in range(k):
        sched.register()

    def stream(i: int) -> None:
        results[i] = [sched.submit(runner, 1000 * i + j) for j in range(m)]

    _threads([lambda i=i: stream(i) for i in range(k)])
    for i in range(k):
        assert results[i] == [2 * (1000 * i + j) for j in range(m)]
    # Every stream is registered, so the collector waits for all of them: full batches.
    assert runner.sizes == [k] * m
    assert (sched.stats.batches, sched.stats.items, sched.stats.largest) == (m, k * m, k)


def test_scheduler_splits_oversized_batches_and_reports_errors() -> None:
    sched = BatchScheduler(max_wait_ms=30_000, max_batch=2)
    runner = Doubler(fail_on=3)
    for _ in range(6):
        sched.register()
    got: dict[int, Any] = {}

    def one(x: int) -> None:
        try:
            got[x] = sched.submit(runner, x)
        except ValueError as exc:
            got[x] = exc

    _threads([lambda x=x: one(x) for x in range(6)])
    assert max(runner.sizes) <= 2 and sum(runner.sizes) == 6
    assert isinstance(got[3], ValueError)
    ok = [x for x in range(6) if not isinstance(got[x], ValueError)]
    assert all(got[x] == 2 * x for x in ok)
    assert len(ok) >= 4  # only the failing item's batch (at most 2 items) fails


def test_unregister_releases_a_waiting_collector() -> None:
    sched = BatchScheduler(max_wait_ms=30_000)
    runner = Doubler()
    sched.register()
    sched.register()  # a second stream that never submits
    out: list[int] = []
    t = threading.Thread(target=lambda: out.append(sched.submit(runner, 21)))
    t.start()
    sched.unregister()
    t.join(JOIN_S)
    assert out == [42]


def _inputs(noisy: np.ndarray, n: int) -> list[np.ndarray]:
    xs = [np.roll(noisy, 9_601 * k)[:96_000].copy() for k in range(n)]
    xs[1][30_000:44_400] = 0.0  # 300 ms of digital silence in one stream
    return xs


def _batched(
    name: str,
    xs: list[np.ndarray],
    lims: list[float],
    sched: BatchScheduler,
    chunk: int = 960,
    gating: list[bool] | None = None,
) -> list[np.ndarray]:
    gating = gating or [False] * len(xs)
    model = onnx_model(name)
    ds = [
        Denoiser(OnnxBackend(model, lim, UPSTREAM_GATING if g else None, scheduler=sched), lim)
        for lim, g in zip(lims, gating, strict=True)
    ]
    outs: list[list[np.ndarray]] = [[] for _ in xs]

    def run(i: int) -> None:
        for j in range(0, xs[i].size, chunk):
            outs[i].append(ds[i].process(xs[i][j : j + chunk]))
        ds[i].close()

    _threads([lambda i=i: run(i) for i in range(len(xs))])
    return [np.concatenate(o) for o in outs]


def _alone(name: str, x: np.ndarray, lim: float, gated: bool = False) -> np.ndarray:
    backend = OnnxBackend(onnx_model(name), lim, UPSTREAM_GATING if gated else None)
    return Denoiser(backend, lim).process(x)


@pytest.mark.model
@pytest.mark.parametrize("name", ["dfn3-onnx", "dfn2"])
def test_batched_streams_equal_unbatched(speech, name: str) -> None:
    xs = _inputs(speech[2], 4)
    lims = [100.0, 12.0, 6.0, 30.0]
    sched = BatchScheduler(max_wait_ms=30_000)
    got = _batched(name, xs, lims, sched)
    assert sched.stats.largest == 4  # the hops really ran together
    assert sched.active_streams == 0  # every stream left on close
    for x, lim, y in zip(xs, lims, got, strict=True):
        ref = _alone(name, x, lim)
        assert y.shape == ref.shape
        assert np.abs(y - ref).max() < 1e-5


@pytest.mark.model
def test_batched_mixed_gating_and_chunking(speech) -> None:
    xs = _inputs(speech[2], 3)
    sched = BatchScheduler(max_wait_ms=1.0)  # short waits: batches of any size
    got = _batched("dfn2", xs, [100.0, 100.0, 20.0], sched, chunk=1_440, gating=[True, False, True])
    for x, y, lim, g in zip(xs, got, [100.0, 100.0, 20.0], [True, False, True], strict=True):
        assert np.abs(y - _alone("dfn2", x, lim, g)).max() < 1e-5


@pytest.mark.model
def test_stream_closed_while_its_hop_waits(speech) -> None:
    x = speech[2][:4_800]
    sched = BatchScheduler(max_wait_ms=30_000)
    a = create_denoiser("dfn3-onnx", scheduler=sched)
    b = create_denoiser("dfn3-onnx", scheduler=sched)  # registered, never submits
    assert sched.active_streams == 2
    out: list[np.ndarray] = []
    t = threading.Thread(target=lambda: out.append(a.process(x)))
    t.start()
    b.close()  # the collector stops waiting for b and runs a's hop alone
    t.join(JOIN_S)
    assert not t.is_alive()
    assert np.abs(out[0] - _alone("dfn3-onnx", x, 100.0)).max() < 1e-5
    a.close()
    assert sched.active_streams == 0
    with pytest.raises(RuntimeError):
        a.process(x)


@pytest.mark.model
def test_silent_stream_stops_holding_up_batches() -> None:
    sched = BatchScheduler(max_wait_ms=30_000)
    backend = OnnxBackend(onnx_model("dfn3-onnx"), scheduler=sched)
    assert sched.active_streams == 1
    backend.state.skip = 10  # as after a run of digital silence
    y, lsnr = backend.process_hop(np.zeros(480, np.float32))
    assert lsnr == -15.0 and not y.any()
    assert sched.active_streams == 0  # skipped hops never reach the scheduler
    backend.process_hop(np.full(480, 0.1, np.float32))
    assert sched.active_streams == 1
    backend.close()
    backend.close()
    assert sched.active_streams == 0


def test_scheduler_is_ignored_by_models_without_batching() -> None:
    sched = BatchScheduler()
    d = create_denoiser("identity", scheduler=sched)
    x = np.linspace(-0.5, 0.5, 960, dtype=np.float32)
    assert np.array_equal(d.process(x), x)
    assert sched.active_streams == 0
