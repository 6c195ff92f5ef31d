"""A batched denoiser dropped without close() leaves its scheduler when it is collected:
a stream counted for ever would make every batch wait ``max_wait_ms`` for its hop."""

from __future__ import annotations

import gc
import threading
import time

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
    deadline = time.monotonic() + 5  # the finalizer unregisters on a thread of its own
    while sched.active_streams and time.monotonic() < deadline:
        time.sleep(0.01)
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
    time.sleep(0.2)  # time for a (wrong) unregistering thread to run
    assert sched.active_streams == 1  # ``kept`` is still counted
    kept.close()
    assert sched.active_streams == 0
    sched.close()


def test_collected_while_the_scheduler_lock_is_held_does_not_deadlock() -> None:
    """The collector may run on a thread holding the scheduler's lock (a worker slicing
    its queue): the finalizer must not wait on that lock on the same thread."""
    sched = BatchScheduler()
    denoiser = create_denoiser("dfn3-onnx", scheduler=sched)
    done = threading.Event()

    def collect_under_the_lock() -> None:
        nonlocal denoiser
        with sched._arrival:
            del denoiser
            gc.collect()
        done.set()

    worker = threading.Thread(target=collect_under_the_lock, daemon=True)
    worker.start()
    assert done.wait(5), "the finalizer deadlocked on the scheduler's lock"
    deadline = time.monotonic() + 5
    while sched.active_streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sched.active_streams == 0
    sched.close()
