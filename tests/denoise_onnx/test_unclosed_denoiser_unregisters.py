"""A batched denoiser dropped without close() leaves its scheduler when it is collected:
a stream counted for ever would make every batch wait ``max_wait_ms`` for its hop."""

from __future__ import annotations

import gc

import pytest

from denoise.batching import BatchScheduler
from denoise.registry import create_denoiser

pytestmark = pytest.mark.model


def test_dropped_denoiser_unregisters_from_its_scheduler() -> None:
    sched = BatchScheduler()
    denoiser = create_denoiser("dfn3-onnx", scheduler=sched)
    assert sched.active_streams == 1
    del denoiser
    gc.collect()
    assert sched.active_streams == 0
    sched.close()


def test_closed_then_dropped_denoiser_unregisters_once() -> None:
    """The safety net and close() release one registration between them: a closed
    stream's collection must not take another stream's place."""
    sched = BatchScheduler()
    closed = create_denoiser("dfn3-onnx", scheduler=sched)
    kept = create_denoiser("dfn3-onnx", scheduler=sched)
    assert sched.active_streams == 2
    closed.close()
    closed.close()
    assert sched.active_streams == 1
    del closed
    gc.collect()
    assert sched.active_streams == 1  # ``kept`` is still counted
    kept.close()
    assert sched.active_streams == 0
    sched.close()
